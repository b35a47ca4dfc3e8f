"""The servers' treatment of connections, the same in both editions.

The modern servers keep their guard in a base class where the classic ones
wrap the lesson's factory (compare modern/fastpoetry.py with
twisted-server-1/fastpoetry.py); what a client and the log see must not
differ. So the end-to-end guard tests run on both editions: the classic
poetry server's (tests/test_server_guard.py) and transformation server's
(tests/test_transformedpoetry.py) through a modern subclass here, the
single-flight proxy's (tests/test_proxy_waiters.py) likewise, and the
mixins below through a classic and a modern class each. Between them: a
connection the server has sent nothing new for --timeout is reset with one
log line, a half-closed client is still served, a request that gets no
answer is reset rather than closed, connections beyond the descriptor limit
are refused with one line when refusing starts and one when it stops, and
the connections still open when the server stops are reset. A unit test
covers the modern guard's timer on its own, and the last classes run both
fastpoetry plugins under `twist`.

Written in today's trial style: the test methods are `async def`, and
await the helpers' Deferreds.
"""

import signal

from twisted.internet import error
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests import test_proxy_waiters, test_server_guard, test_transformedpoetry
from tests.helpers import (
    TRANSFORM,
    TWISTD_STARTING,
    ScriptTestCase,
    connect_protocol,
    connect_receiver,
    fetch,
    load_script,
    logged_messages,
    poem_bytes,
    poem_path,
    receive,
)
from tests.test_proxy_waiters import HeldUpstream
from tests.test_twistd import TwistdTestCase, twistd_env
from tools import launch

MODERN_FASTPOETRY = "modern/fastpoetry.py"
MODERN_TRANSFORM = "modern/transformedpoetry.py"
MODERN_PROXY = "modern/poetry-proxy.py"
CLASSIC_PROXY = launch.PROXY_WAITERS
GOOD_REQUEST = b"27:cummingsify.HERE IS MY POEM,"
GOOD_ANSWER = b"15:here is my poem,"
# How a client ends when the server resets its connection without a word.
RESET = (b"", False)


class GuardedProtocolTests(SynchronousTestCase):
    """The modern guard's idle timer, on a StringTransport and a MemoryReactorClock.

    The four modern servers carry the same copy (tests/test_stages.py);
    this one is modern/fastpoetry.py's.
    """

    def setUp(self):
        self.module = load_script(MODERN_FASTPOETRY)
        self.clock = MemoryReactorClock()
        self.log = self.enterContext(logged_messages())

    def connect(self, **options):
        factory = self.module.GuardedFactory(self.clock, 4.0, **options)
        factory.protocol = self.module.GuardedProtocol
        return connect_protocol(factory)

    def test_silenceIsReset(self):
        """A connection the server writes nothing to is reset after the time-out."""
        _, transport = self.connect()

        self.clock.advance(4)

        self.assertTrue(transport.disconnected)
        self.assertEqual(
            self.log,
            ["nothing new to send to 127.0.0.1:12345 in 4 s; resetting the connection"],
        )

    def test_unansweredLeftAlone(self):
        """With reset_unanswered=False the time-out counts from the first write."""
        proto, transport = self.connect(reset_unanswered=False)

        self.clock.advance(3600)
        self.assertFalse(transport.disconnected)
        proto.wrote()
        self.clock.advance(3.9)
        self.assertFalse(transport.disconnected)
        self.clock.advance(0.1)

        self.assertTrue(transport.disconnected)

    def test_noTimerAfterTheClose(self):
        """A reply written after its client has gone starts no timer."""
        proto, _ = self.connect(reset_unanswered=False)

        proto.connectionLost(Failure(error.ConnectionLost()))
        proto.wrote()

        self.assertEqual(self.clock.getDelayedCalls(), [])


# -- the classic end-to-end tests, on the modern scripts ------------------------


class ModernBigPoemServerTests(test_server_guard.BigPoemServerTests):
    """The descriptor limit, the stuck clients, the cut on stop and half-close."""

    SCRIPT = MODERN_FASTPOETRY


class ModernTransformScriptTests(test_transformedpoetry.TransformScriptTests):
    """Every bad request (one cut off by a half-close too) refused with one line."""

    SCRIPT = MODERN_TRANSFORM


class ModernSingleFlightScriptTests(test_proxy_waiters.SingleFlightScriptTests):
    """Fifty cold clients, one fetch; a failed fetch resets them all."""

    SCRIPT = MODERN_PROXY


# -- guard tests for both editions ---------------------------------------------


class GuardTestCase(ScriptTestCase):
    """Starts the script under test (SCRIPT)."""

    SCRIPT = None
    timeout = 20

    async def stop_server(self, server):
        server.send_signal("TERM")
        await server.when_ended()
        self.assertEqual(server.exit_code, 0, server.stderr)


class TransformGuardMixin:
    """The transformation server (SCRIPT) and its clients."""

    async def test_silentClientReset(self):
        """A client that sends nothing is reset after --timeout, with one log line."""
        server = await self.start_server(self.SCRIPT, "--port", "0", "--timeout", "0.5")

        received = await receive(server.port)

        self.assertEqual(received, RESET)
        await server.wait_for(rb"127\.0\.0\.1:\d+ in 0\.5 s; resetting the connection")
        self.assertEqual(server.stderr.count("resetting the connection"), 1)

    async def test_unansweredIsReset(self):
        """A request that gets no answer ends in a reset; an answer in a clean close."""
        server = await self.start_server(self.SCRIPT, "--port", "0")

        bad = receive(server.port, b"11:cummingsify,")
        good = receive(server.port, GOOD_REQUEST)

        self.assertEqual(await bad, RESET)
        self.assertEqual(await good, (GOOD_ANSWER, True))

    async def test_resetOnShutdown(self):
        """When the server stops, a client half-way through its request is reset."""
        server = await self.start_server(self.SCRIPT, "--port", "0")
        client = connect_receiver(server.port, send=b"27:cummingsify.HERE")
        # Connections are accepted in order: once a later one is answered,
        # the server holds the client's, and its reactor handles signals.
        self.assertEqual(await fetch(server.port, GOOD_REQUEST), GOOD_ANSWER)

        await self.stop_server(server)

        self.assertEqual(await client.done, RESET)
        self.assertIn("stopping: resetting 1 connections", server.stderr)


class ClassicTransformGuardTests(TransformGuardMixin, GuardTestCase):
    SCRIPT = TRANSFORM


class ModernTransformGuardTests(TransformGuardMixin, GuardTestCase):
    SCRIPT = MODERN_TRANSFORM


class ProxyGuardMixin:
    """The single-flight proxy (SCRIPT), its clients and its upstream server."""

    async def start_proxy(self, upstream_port, *options):
        return await self.start_server(
            self.SCRIPT, "--port", "0", *options, upstream_port
        )

    async def test_waitingClientTimedByFetch(self):
        """A client waiting for the poem outlasts --timeout: the fetch's time-out ends its wait."""
        upstream = HeldUpstream(self)
        proxy = await self.start_proxy(
            upstream.port, "--timeout", "0.2", "--upstream-timeout", "1"
        )

        received = await receive(proxy.port)

        self.assertEqual(received, RESET)
        await proxy.wait_for(
            rb"No poem from 127\.0\.0\.1:%d: Timed out after 1 s\." % upstream.port
        )
        self.assertNotIn("resetting the connection", proxy.stderr)
        # Nor does a fetch log the start of a factory of Twisted's own.
        self.assertNotIn("Starting factory <twisted", proxy.stderr)

    async def test_shutdownInterruptsFetch(self):
        """Stopping the proxy resets its waiting client and logs the fetch as interrupted."""
        upstream = HeldUpstream(self)
        proxy = await self.start_proxy(upstream.port)
        client = connect_receiver(proxy.port)
        # A fetch under way means the reactor runs, and so handles the signal.
        await upstream.counter.whenMade(1)

        await self.stop_server(proxy)

        self.assertEqual(await client.done, RESET)
        self.assertIn("stopping: resetting 1 connections", proxy.stderr)
        self.assertRegex(
            proxy.stderr, rf"No poem from 127\.0\.0\.1:{upstream.port}: Interrupted"
        )


class ClassicProxyGuardTests(ProxyGuardMixin, GuardTestCase):
    SCRIPT = CLASSIC_PROXY


class ModernProxyGuardTests(ProxyGuardMixin, GuardTestCase):
    SCRIPT = MODERN_PROXY


# -- the plugins, under twist as well as twistd ---------------------------------


class TwistTests(TwistdTestCase):
    """Both fastpoetry plugins run by `twist`, and the modern one by twistd.

    The modern plugin is twisted/plugins/modern_fastpoetry_plugin.py.
    """

    async def twist(self, tapname):
        proc = await launch.spawn(
            launch.twist_argv(
                "--log-format",
                "text",
                tapname,
                "--port",
                "0",
                "--poem",
                poem_path("ecstasy.txt"),
            ),
            ready=TWISTD_STARTING,
            env=twistd_env(),
        )
        self.addCleanup(proc.stop)
        return proc

    async def assertServesThenStops(self, server):
        received = await fetch(server.port)
        await server.wait_for(rb"sending 2765 bytes of poetry to")
        server.send_signal("TERM")
        await server.when_ended()

        self.assertEqual(received, poem_bytes("ecstasy.txt"))
        self.assertIn("Received SIGTERM, shutting down.", server.stdout)
        # twist stops cleanly, then ends itself with the signal it was sent,
        # so that whoever started it sees why it stopped.
        self.assertEqual(server.signal, signal.SIGTERM, server.stdout)

    async def test_classicPluginUnderTwist(self):
        """twist runs the text's plugin: it serves the poem and stops on SIGTERM."""
        await self.assertServesThenStops(await self.twist("fastpoetry"))

    async def test_modernPluginUnderTwist(self):
        """twist runs the modern plugin the same way."""
        server = await self.twist("modern-fastpoetry")

        await self.assertServesThenStops(server)
        self.assertIn("[modern-fastpoetry#info] loaded a poem from:", server.stdout)

    async def test_modernPluginUnderTwistd(self):
        """twistd runs the modern plugin too, with its pid file."""
        server = await self.start_twistd(
            "modern-fastpoetry", "--port", "0", "--poem", poem_path("ecstasy.txt")
        )

        received = await fetch(server.port)
        self.assertTrue(self.pidfile.exists())
        server.send_signal("INT")
        await server.when_ended()

        self.assertEqual(received, poem_bytes("ecstasy.txt"))
        self.assertShutdown(server.stdout + server.stderr, "SIGINT")
        self.assertFalse(self.pidfile.exists())

    async def test_modernPluginBadPoem(self):
        """A poem file that cannot be read is one line from the plugin, status 1."""
        result = await self.run_twistd(
            "--nodaemon",
            "--pidfile",
            self.pidfile,
            "modern-fastpoetry",
            "--poem",
            "poetry/no-such-poem.txt",
        )

        self.assertEqual(result.exit_code, 1)
        self.assertIn(
            "modern-fastpoetry: cannot read poetry/no-such-poem.txt:"
            " No such file or directory",
            result.stderr,
        )

    async def test_modernPluginLogFolderMissing(self):
        """A --logfile in a folder that does not exist: one line, before anything starts."""
        folder = self.dir / "no-such-folder"

        result = await self.run_twistd(
            "--pidfile",
            self.pidfile,
            "--logfile",
            folder / "twistd.log",
            "modern-fastpoetry",
            "--port",
            "0",
            "--poem",
            poem_path("ecstasy.txt"),
        )

        self.assertEqual(
            (result.exit_code, result.stdout, result.stderr),
            (
                1,
                "",
                f"modern-fastpoetry: cannot write the log file {folder}/twistd.log:"
                f" no folder {folder}\n",
            ),
        )
        self.assertFalse(self.pidfile.exists())
