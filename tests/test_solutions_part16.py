"""Part 16's exercise answers: two tac files and two twistd plugins.

Exercise 1, solutions/part-16/fastpoetry-two-poems.py: a tac file serving
two poems, each poem's services under a MultiService of its own. Exercise
2, solutions/part-16/poetry-proxy.py: a tac file running proxy 2.0.
Exercise 3, solutions/part-16/twisted/plugins/fastpoetry2_plugin.py: the
fastpoetry plugin with an optional second poem, found by twistd only with
PYTHONPATH=solutions/part-16. Exercise 4, twisted/plugins/poetryproxy_plugin.py:
a plugin for the proxy, found like fastpoetry, with no PYTHONPATH.

Each is built in this process first: the tac files are run as plain python
runs them (which checks nothing and starts nothing) to read the service
tree they build, or loaded by twistd's own loadApplication from a copy
whose ports are rewritten; the plugins' options and makeService are called
directly. Then each runs once under the real twistd, --nodaemon, with its
pid file in a temporary directory, on ports the system picks. twistd's
plugin scan writes a dropin.cache beside each plugin directory it searches;
every test here starts without one and leaves each as it found it.
"""

import runpy
import socket
import sys

from twisted.application import internet, service
from twisted.internet import defer
from twisted.internet.protocol import ServerFactory
from twisted.plugin import IPlugin, getPlugins
from twisted.python import usage
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from tests.helpers import (
    ROOT,
    TWISTD_STARTING,
    fetch,
    listen,
    load_script,
    poem_bytes,
    poem_path,
    serve_poem,
    serving_ports,
    tac_copy,
    without_plugin_caches,
)
from tests.test_twistd import TwistdTestCase, twistd_env
from tools import launch
from tools.launch import DROPIN_CACHE

TWO_POEMS = "solutions/part-16/fastpoetry-two-poems.py"
PROXY_TAC = "solutions/part-16/poetry-proxy.py"
PART16_PATH = "solutions/part-16"
FASTPOETRY2 = f"{PART16_PATH}/twisted/plugins/fastpoetry2_plugin.py"
PART16_CACHE = ROOT / PART16_PATH / "twisted" / "plugins" / "dropin.cache"
ECSTASY = poem_bytes("ecstasy.txt")
FASCINATION = poem_bytes("fascination.txt")


def run_as_python(path):
    """Run a tac file as `python <path>` does and return its module variables."""
    return runpy.run_path(str(ROOT / path), run_name="__main__")


class TwistdCase(TwistdTestCase):
    """TwistdTestCase, also without solutions/part-16's plugin cache."""

    def setUp(self):
        super().setUp()
        without_plugin_caches(self, PART16_CACHE)


# -- exercise 1: two poems in one tac file ----------------------------------


class TwoPoemsTreeTests(unittest.SynchronousTestCase):
    """The service tree the two-poem tac file builds, read without starting it."""

    def setUp(self):
        self.tac = run_as_python(TWO_POEMS)
        (self.top_service,) = list(service.IServiceCollection(self.tac["application"]))

    def test_twoNamedMultiServices(self):
        """Under top_service: one MultiService per poem, named, found by name."""
        first, second = list(self.top_service)

        self.assertIs(self.top_service, self.tac["top_service"])
        self.assertIsInstance(first, service.MultiService)
        self.assertIsInstance(second, service.MultiService)
        self.assertEqual((first.name, second.name), ("first poem", "second poem"))
        self.assertIs(self.top_service.getServiceNamed("second poem"), second)

    def test_eachPoemHasItsOwnServices(self):
        """Each poem: its PoetryService, CutOnStop and TCPServer, on its own port."""
        groups = list(self.top_service)
        expected = [("poetry/ecstasy.txt", 10000), ("poetry/fascination.txt", 10001)]

        for group, (poetry_file, port) in zip(groups, expected, strict=True):
            with self.subTest(group=group.name):
                poetry_service, cut_on_stop, tcp_service = list(group)
                self.assertEqual(type(poetry_service).__name__, "PoetryService")
                self.assertEqual(poetry_service.poetry_file, poetry_file)
                self.assertIsInstance(tcp_service, internet.TCPServer)
                tcp_port, guard = tcp_service.args
                self.assertEqual(tcp_port, port)
                self.assertEqual(
                    tcp_service.kwargs, {"interface": "localhost", "backlog": 1024}
                )
                self.assertIs(guard.wrappedFactory.service, poetry_service)
                self.assertIs(cut_on_stop.guard, guard)

    def test_loadingStartsNothing(self):
        """Building the application starts no service."""
        self.assertFalse(self.top_service.running)
        self.assertFalse(
            any(child.running for group in self.top_service for child in group)
        )


class TwoPoemsLoadTests(unittest.TestCase):
    """The tac file as twistd loads it, from a copy with other settings."""

    timeout = 10

    def load(self, **settings):
        """loadApplication on a copy of the tac with `settings` rewritten."""
        settings.setdefault("poetry_file", str(ROOT / poem_path("ecstasy.txt")))
        settings.setdefault(
            "second_poetry_file", str(ROOT / poem_path("fascination.txt"))
        )
        copy = tac_copy(self, TWO_POEMS, **settings)
        return service.loadApplication(str(copy), "python")

    def test_samePortRefused(self):
        """Both poems on one port: one line naming it, before anything is built."""
        error = self.assertRaises(SystemExit, self.load, port=10005, second_port=10005)

        self.assertIn("both poems are set to port 10005", str(error.code))

    def test_secondPoemChecked(self):
        """The second poem's file is checked like the first's."""
        missing = str(ROOT / poem_path("no-such-poem.txt"))

        error = self.assertRaises(
            SystemExit, self.load, port=0, second_port=0, second_poetry_file=missing
        )

        self.assertIn(f"cannot read {missing}", str(error.code))

    @defer.inlineCallbacks
    def test_poemsStopSeparately(self):
        """Stopping one poem's MultiService closes its port; the other poem is served."""
        application = self.load(port=0, second_port=0)
        (top_service,) = list(service.IServiceCollection(application))
        service.IService(application).startService()
        self.addCleanup(service.IService(application).stopService)
        first = top_service.getServiceNamed("first poem")
        second = top_service.getServiceNamed("second poem")
        first_port = list(first)[2]._port.getHost().port
        second_port = list(second)[2]._port.getHost().port

        got = yield defer.gatherResults([fetch(first_port), fetch(second_port)])
        yield second.stopService()
        again = yield fetch(first_port)

        self.assertEqual(got, [ECSTASY, FASCINATION])
        self.assertEqual(again, ECSTASY)
        self.assertTrue(first.running)
        self.assertFalse(second.running)
        self.assertRaises(
            ConnectionRefusedError,
            socket.create_connection,
            ("127.0.0.1", second_port),
        )


class TwoPoemsTwistdTests(TwistdCase):
    """The two-poem tac file under the real twistd."""

    @defer.inlineCallbacks
    def test_servesBothPoems(self):
        """twistd opens both ports and serves each poem on its own."""
        copy = tac_copy(self, TWO_POEMS, port=0, second_port=0)

        server = yield self.start_twistd("--python", copy)
        first, second = yield serving_ports(server, 2, TWISTD_STARTING)
        got = yield defer.gatherResults([fetch(first), fetch(second)])

        self.assertEqual(got, [ECSTASY, FASCINATION])
        yield server.wait_for(rb"loaded a poem from: poetry/fascination\.txt")
        self.assertIn("loaded a poem from: poetry/ecstasy.txt", server.stdout)


# -- exercise 2: the proxy as a tac file -----------------------------------


class ProxyTacTreeTests(unittest.TestCase):
    """The service tree the proxy's tac file builds, read without starting it."""

    # A TestCase: the port test_busyPortRefused takes is closed by the reactor.
    timeout = 10

    def setUp(self):
        self.tac = run_as_python(PROXY_TAC)
        (self.top_service,) = list(service.IServiceCollection(self.tac["application"]))

    def test_tree(self):
        """A ProxyService, a CutOnStop and a TCPServer, as in the tac file of Part 16."""
        proxy_service, cut_on_stop, tcp_service = list(self.top_service)

        self.assertIsInstance(self.top_service, service.MultiService)
        self.assertIsInstance(proxy_service, service.Service)
        self.assertIsInstance(proxy_service, self.tac["ProxyService"])
        self.assertEqual((proxy_service.host, proxy_service.port), ("127.0.0.1", 10001))
        port, guard = tcp_service.args
        self.assertEqual(port, 10000)
        self.assertEqual(
            tcp_service.kwargs, {"interface": "localhost", "backlog": 1024}
        )
        self.assertIsInstance(guard.wrappedFactory, self.tac["PoetryProxyFactory"])
        self.assertIs(guard.wrappedFactory.service, proxy_service)
        self.assertIs(cut_on_stop.guard, guard)

    def test_guardSettings(self):
        """The configuration block sets both guards: clients' and the fetches'."""
        guard = list(self.top_service)[2].args[1]

        self.assertEqual(guard.timeout, 60)
        self.assertEqual(self.tac["DownloadGuard"].timeout, 60)
        self.assertEqual(self.tac["DownloadGuard"].max_size, 64 * 1024 * 1024)

    def test_loadingStartsNothing(self):
        """Building the application starts no service."""
        self.assertFalse(any(child.running for child in self.top_service))

    def test_busyPortRefused(self):
        """twistd loading the tac on a port in use gets one line saying so."""
        taken = listen(self, ServerFactory())
        copy = tac_copy(self, PROXY_TAC, port=taken, iface="127.0.0.1")

        error = self.assertRaises(
            SystemExit, service.loadApplication, str(copy), "python"
        )

        self.assertIn(f"cannot listen on 127.0.0.1:{taken}", str(error.code))


class ProxyTacTwistdTests(TwistdCase):
    """The proxy's tac file under the real twistd, in front of a real fastpoetry."""

    @defer.inlineCallbacks
    def test_fetchesThenCaches(self):
        """The first client makes the proxy fetch; the second gets its copy."""
        upstream = yield serve_poem(self, "fascination.txt")
        copy = tac_copy(self, PROXY_TAC, port=0, server_port=upstream)

        server = yield self.start_twistd("--python", copy)
        cold = yield fetch(server.port)
        yield server.wait_for(rb"Fetching poem from server\.")
        cached = yield fetch(server.port)
        yield server.wait_for(rb"Using cached poem\.")

        self.assertEqual((cold, cached), (FASCINATION, FASCINATION))
        self.assertIn("PoetryProxyFactory starting on", server.stdout)
        self.assertEqual(server.stdout.count("Fetching poem from server."), 1)


# -- exercise 3: the fastpoetry plugin with a second poem ------------------


class Fastpoetry2OptionsTests(unittest.SynchronousTestCase):
    """The fastpoetry2 plugin's options and makeService, used in this process."""

    def setUp(self):
        self.plugin = load_script(FASTPOETRY2)
        self.ecstasy = str(ROOT / poem_path("ecstasy.txt"))
        self.fascination = str(ROOT / poem_path("fascination.txt"))

    def parse(self, *args):
        options = self.plugin.Options()
        options.parseOptions(list(args))
        return options

    def tree(self, *args):
        """The groups of services makeService builds from `args`, each as a list."""
        top_service = self.plugin.service_maker.makeService(self.parse(*args))
        self.assertIsInstance(top_service, service.MultiService)
        return {group.name: list(group) for group in top_service}

    def test_pluginInterfaces(self):
        """service_maker provides IPlugin and IServiceMaker, under its own name."""
        maker = self.plugin.service_maker

        self.assertTrue(verifyObject(IPlugin, maker))
        self.assertTrue(verifyObject(service.IServiceMaker, maker))
        self.assertEqual(maker.tapname, "fastpoetry2")

    def test_defaults(self):
        """No second poem unless asked; its port defaults to 10001."""
        options = self.parse("--poem", self.ecstasy)

        self.assertEqual((options["poem2"], options["port2"]), (None, 10001))

    def test_onePoem(self):
        """Without --poem2: one MultiService, the first poem's three services."""
        groups = self.tree("--poem", self.ecstasy, "--port", "0")

        self.assertEqual(list(groups), ["first poem"])
        poetry_service, _, tcp_service = groups["first poem"]
        self.assertEqual(poetry_service.poetry_file, self.ecstasy)
        self.assertEqual(tcp_service.args[0], 0)

    def test_twoPoems(self):
        """With --poem2: a second MultiService, its poem on --port2."""
        groups = self.tree(
            "--poem", self.ecstasy, "--port", "0",
            "--poem2", self.fascination, "--port2", "0",
            "--iface", "127.0.0.1",
        )  # fmt: skip

        self.assertEqual(list(groups), ["first poem", "second poem"])
        (first, _, first_tcp), (second, _, second_tcp) = groups.values()
        self.assertEqual(
            (first.poetry_file, second.poetry_file), (self.ecstasy, self.fascination)
        )
        self.assertIs(first_tcp.args[1].wrappedFactory.service, first)
        self.assertIs(second_tcp.args[1].wrappedFactory.service, second)
        self.assertEqual(second_tcp.kwargs["interface"], "127.0.0.1")

    def test_usageErrors(self):
        """A bad --port2, or the same port twice, is a UsageError naming it."""
        cases = [
            (["--port2", "70000"], "--port2 must be between 0 and 65535, not 70000"),
            (["--port2", "x"], "--port2 must be a number, not 'x'"),
            (["--port", "10007", "--port2", "10007"], "--port2 must differ from"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                error = self.assertRaises(
                    usage.UsageError,
                    self.parse,
                    "--poem",
                    self.ecstasy,
                    "--poem2",
                    self.fascination,
                    *args,
                )
                self.assertIn(message, str(error))

    def test_missingSecondPoem(self):
        """A --poem2 that cannot be read stops twistd with one line naming it."""
        missing = str(ROOT / poem_path("no-such-poem.txt"))

        error = self.assertRaises(
            SystemExit,
            self.parse,
            "--poem", self.ecstasy, "--port", "0",
            "--poem2", missing, "--port2", "0",
        )  # fmt: skip

        self.assertEqual(
            error.code,
            f"twistd fastpoetry2: cannot read {missing}: No such file or directory",
        )


class Fastpoetry2TwistdTests(TwistdCase):
    """twistd finds fastpoetry2 only with PYTHONPATH=solutions/part-16, and runs it."""

    @defer.inlineCallbacks
    def test_foundOnlyWhenAsked(self):
        """`twistd --help` lists fastpoetry2 with the PYTHONPATH, and not without."""
        plain = yield self.run_twistd("--help")
        asked = yield self.run_twistd("--help", env=twistd_env(PYTHONPATH=PART16_PATH))

        self.assertIn(" fastpoetry ", plain.stdout)
        # the proxy's plugin (exercise 4) is found with no PYTHONPATH at all
        self.assertRegex(plain.stdout, r"\n +poetry-proxy +A caching poetry proxy\.\n")
        self.assertNotIn("fastpoetry2", plain.stdout)
        self.assertRegex(
            asked.stdout,
            r"\n +fastpoetry2 +A fast poetry service, with an optional second poem\.\n",
        )
        self.assertIn(" fastpoetry ", asked.stdout)

    @defer.inlineCallbacks
    def test_servesBothPoems(self):
        """twistd fastpoetry2 --poem2 serves both poems, each on its port."""
        server = yield self.start_twistd(
            "fastpoetry2",
            "--port", "0", "--poem", poem_path("ecstasy.txt"),
            "--port2", "0", "--poem2", poem_path("fascination.txt"),
            env=twistd_env(PYTHONPATH=PART16_PATH),
        )  # fmt: skip
        first, second = yield serving_ports(server, 2, TWISTD_STARTING)
        got = yield defer.gatherResults([fetch(first), fetch(second)])

        self.assertEqual(got, [ECSTASY, FASCINATION])


# -- exercise 4: the proxy as a plugin --------------------------------------


class ProxyPluginTests(unittest.TestCase):
    """The poetry-proxy plugin, found and used in this process."""

    # A TestCase: the port test_portInUse takes is closed by the reactor.
    timeout = 10

    def setUp(self):
        from twisted.plugins import poetryproxy_plugin

        self.plugin = poetryproxy_plugin
        guard = self.plugin.DownloadGuard
        self.patch(guard, "timeout", guard.timeout)
        self.patch(guard, "max_size", guard.max_size)

    def parse(self, *args):
        options = self.plugin.Options()
        options.parseOptions(list(args))
        return options

    def test_foundByGetPlugins(self):
        """getPlugins(IServiceMaker) finds it by its tapname, as twistd does."""
        without_plugin_caches(self, DROPIN_CACHE, PART16_CACHE)

        found = {maker.tapname: maker for maker in getPlugins(service.IServiceMaker)}

        self.assertIn("poetry-proxy", found)
        self.assertEqual(
            type(found["poetry-proxy"]).__module__, "twisted.plugins.poetryproxy_plugin"
        )
        self.assertTrue(verifyObject(IPlugin, found["poetry-proxy"]))

    def test_defaults(self):
        """Port 10000 on localhost, and proxy 2.0's limits, by default."""
        options = self.parse("--server", "10001")

        self.assertEqual(options["server"], ("127.0.0.1", 10001))
        self.assertEqual((options["port"], options["iface"]), (10000, "localhost"))
        self.assertEqual(options["timeout"], 60)
        self.assertEqual(options["upstream-timeout"], 60)
        self.assertEqual(options["max-poem-size"], 64 * 1024 * 1024)

    def test_ipv6Server(self):
        """--server takes [IPv6 host]:port, as proxy 2.0's command line does."""
        options = self.parse("--server", "[::1]:10001", "--port", "0")

        self.assertEqual(options["server"], ("::1", 10001))

    def test_makeService(self):
        """makeService builds the tac file's tree and sets the fetches' guard."""
        options = self.parse(
            "--server", "poetry.example:10001", "--port", "0",
            "--upstream-timeout", "5", "--max-poem-size", "1000",
        )  # fmt: skip

        top_service = self.plugin.service_maker.makeService(options)
        proxy_service, cut_on_stop, tcp_service = list(top_service)

        self.assertIsInstance(proxy_service, self.plugin.ProxyService)
        self.assertEqual(
            (proxy_service.host, proxy_service.port), ("poetry.example", 10001)
        )
        port, guard = tcp_service.args
        self.assertEqual(port, 0)
        self.assertIs(guard.wrappedFactory.service, proxy_service)
        self.assertIs(cut_on_stop.guard, guard)
        self.assertEqual(
            (self.plugin.DownloadGuard.timeout, self.plugin.DownloadGuard.max_size),
            (5, 1000),
        )

    def test_usageErrors(self):
        """Bad option values are UsageErrors naming the option."""
        cases = [
            ([], "--server is required"),
            (["--server", "poetry:server"], "--server: invalid address"),
            (["--server", "1", "--port", "70000"], "--port must be between"),
            (["--server", "1", "--upstream-timeout", "0"], "--upstream-timeout must"),
            (["--server", "1", "--max-poem-size", "0"], "--max-poem-size must be"),
            (["--server", "1", "--timeout", "-1"], "--timeout must not be negative"),
            (["--server", "1", "--timeout", "nan"], "must not be negative, not nan"),
            (["--server", "1", "--upstream-timeout", "nan"], "more than 0, not nan"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                error = self.assertRaises(usage.UsageError, self.parse, *args)
                self.assertIn(message, str(error))

    def test_portInUse(self):
        """A port in use stops twistd with one line, before it starts anything."""
        taken = listen(self, ServerFactory())

        error = self.assertRaises(
            SystemExit,
            self.parse,
            "--server", "10001", "--iface", "127.0.0.1", "--port", str(taken),
        )  # fmt: skip

        self.assertIn(
            f"twistd poetry-proxy: cannot listen on 127.0.0.1:{taken}", error.code
        )


class ProxyPluginTwistdTests(TwistdCase):
    """twistd running the poetry-proxy plugin, with no PYTHONPATH."""

    @defer.inlineCallbacks
    def test_coldThenCached(self):
        """With no plugin cache, the proxy's plugin is found and serves; the first
        client makes it fetch, the next gets its copy."""
        upstream = yield serve_poem(self, "fascination.txt")
        args = ["poetry-proxy", "--port", "0", "--server", upstream]

        cold = yield self.start_twistd(*args)
        got = yield fetch(cold.port)
        again = yield fetch(cold.port)
        yield cold.wait_for(rb"Using cached poem\.")
        yield cold.stop()

        self.assertEqual((got, again), (FASCINATION,) * 2)
        self.assertEqual(cold.stdout.count("Fetching poem from server."), 1)

    @defer.inlineCallbacks
    def test_importLeavesReactorAlone(self):
        """Importing the plugin does not import twisted.internet.reactor."""
        proc = yield launch.spawn(
            [
                sys.executable,
                "-c",
                "import sys, twisted.plugins.poetryproxy_plugin;"
                " print('twisted.internet.reactor' in sys.modules)",
            ],
            env=twistd_env(),
        )

        self.assertEqual((proc.exit_code, proc.stdout), (0, "False\n"))
