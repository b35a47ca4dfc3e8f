"""Part 16: the tac file (twisted-server-3/fastpoetry.py) and the fastpoetry plugin.

The unit tests build the services in this process and start nothing. The
end-to-end tests run the real twistd as a learner would, from the repository
root with no PYTHONPATH, but with --pidfile (and, for daemons, --logfile) in
a temporary directory, so nothing lands in the checkout. twistd's plugin scan
writes twisted/plugins/dropin.cache; every twistd test here starts without
one and leaves the file as it found it. (trial's own scan for reporter
plugins writes one as well, before any test runs; removing that one is the
test runner's job.)
"""

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from twisted.application import internet, service
from twisted.internet import defer
from twisted.internet.protocol import ServerFactory
from twisted.plugin import IPlugin
from twisted.python import usage
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from tests.helpers import (
    ROOT,
    ScriptTestCase,
    connect_protocol,
    drain,
    fetch,
    large_poem,
    listen,
    poem_bytes,
    poem_path,
    slow_readers,
    tac_copy,
    without_plugin_caches,
)
from tests.mixins import memory_limited
from tools import launch
from tools.launch import DROPIN_CACHE, TAC, poll, process_gone

ECSTASY = poem_bytes("ecstasy.txt")

# The lines twistd logs as it stops, in this order, from the signal handler
# to app.py's last message.
SHUTDOWN = [
    r"\(TCP Port \d+ Closed\)",
    r"Stopping factory <\S*PoetryFactory object",
    r"Main loop terminated\.",
    r"Server Shut Down\.",
]


def twistd_env(**extra):
    """The child environment, minus any PYTHONPATH (the install alone must do), plus `extra`."""
    env = launch.child_env()
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def proc_ids(pid, field):
    """The real, effective, saved and file-system ids ("Uid" or "Gid") of `pid`."""
    status = Path(f"/proc/{pid}/status").read_text()
    return [int(n) for n in re.search(rf"^{field}:\s+(.*)$", status, re.M)[1].split()]


class TwistdTestCase(ScriptTestCase):
    """Runs twistd in the checkout, with a clean plugin cache and temporary files."""

    # twistd starts in about a second; a daemon's stop is polled for.
    timeout = 20

    def setUp(self):
        # Start every test without dropin.cache (the first-run case, which is
        # when twistd imports the plugin), and put back whatever was there.
        without_plugin_caches(self, DROPIN_CACHE)

        self.dir = Path(self.mktemp()).resolve()
        self.dir.mkdir()
        self.pidfile = self.dir / "twistd.pid"
        self.logfile = self.dir / "twistd.log"

    def start_twistd(self, *args, env=None, **kwargs):
        """Start twistd in the foreground; fire once it logs its port."""
        return super().start_twistd(
            "--nodaemon",
            "--pidfile",
            self.pidfile,
            *args,
            env=env or twistd_env(),
            **kwargs,
        )

    def run_twistd(self, *args, limited=False, env=None, **kwargs):
        """Run twistd to completion (for a daemon: until the parent exits).

        With `limited`, under a memory limit (mixins.memory_limited).
        """
        argv = launch.twistd_argv(*args)
        if limited:
            argv = memory_limited(argv)
        return launch.spawn(argv, env=env or twistd_env(), **kwargs)

    @defer.inlineCallbacks
    def assertOneLine(self, message, *args, modes=([], ["--nodaemon"]), **kwargs):
        """twistd `args` fails at once with `message`: one line, no traceback, no pid file.

        Daemon and foreground alike (`modes`): the check happens before twistd
        goes into the background. `kwargs` go to run_twistd.
        """
        for daemon in modes:
            proc = yield self.run_twistd(
                *daemon,
                "--pidfile",
                self.pidfile,
                "--logfile",
                self.logfile,
                *args,
                **kwargs,
            )

            self.assertEqual(
                (proc.exit_code, proc.stdout, proc.stderr), (1, "", message + "\n")
            )
            self.assertFalse(self.pidfile.exists())

    def start_plugin(self, *args):
        return self.start_twistd(
            "fastpoetry", "--port", "0", "--poem", poem_path("ecstasy.txt"), *args
        )

    @defer.inlineCallbacks
    def serving(self, server):
        """Fetch a poem from a foreground twistd, and wait for its log line.

        twistd logs "starting on" before its reactor runs and installs the
        signal handlers; a poem served proves they are in place, so a signal
        sent after this gets the clean shutdown.
        """
        received = yield fetch(server.port)
        yield server.wait_for(rb"sending \d+ bytes of poetry to")
        return received

    def assertShutdown(self, output, signame):
        """`output` ends with twistd's clean shutdown after `signame`."""
        lines = [rf"Received {signame}, shutting down\.", *SHUTDOWN]
        self.assertRegex(output, "(?s)" + ".*".join(lines))

    @defer.inlineCallbacks
    def run_daemon(self, *args):
        """Start a daemon and fire with its pid once it is serving.

        twistd's parent process only exits after the daemon has written its
        pid file, bound its port and started its services, so no polling is
        needed until after this.
        """
        parent = yield self.run_twistd(
            "--pidfile", self.pidfile, "--logfile", self.logfile, *args
        )
        self.assertEqual(parent.exit_code, 0, parent.stdout + parent.stderr)
        pid = int(self.pidfile.read_text())
        self.addCleanup(self.kill_daemon, pid)
        # The command returned quietly, its log going to the file, and the
        # server it forked is still running.
        self.assertEqual(parent.out, b"")
        self.assertFalse(process_gone(pid))
        return pid

    def kill_daemon(self, pid):
        """Make sure a daemon started by a failed test does not outlive it."""
        try:
            running = not process_gone(pid)
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return
        if running and b"twistd" in command:
            os.kill(pid, signal.SIGKILL)

    def daemon_port(self):
        return int(launch.TWISTD_STARTING.search(self.logfile.read_bytes())[1])

    def log_text(self):
        return self.logfile.read_text(encoding="utf-8")

    @defer.inlineCallbacks
    def stop_daemon(self, pid):
        """SIGTERM the daemon, as `kill $(cat twistd.pid)` does; wait until it is gone."""
        os.kill(pid, signal.SIGTERM)
        yield poll(lambda: not self.pidfile.exists(), "the pid file to go")
        yield poll(lambda: "Server Shut Down." in self.log_text(), "Server Shut Down.")
        yield poll(lambda: process_gone(pid), f"process {pid} to exit")


# -- the tac file -------------------------------------------------------------


class TacServiceTests(unittest.SynchronousTestCase):
    """The tac file's classes and service tree, built in this process."""

    def setUp(self):
        # Loading the tac file itself checks its port and poem, as twistd
        # needs; the plugin carries the same classes (tests/test_stages.py)
        # and can be imported anywhere.
        from twisted.plugins import fastpoetry_plugin as tac

        self.tac = tac
        self.poem_path = self.mktemp()
        Path(self.poem_path).write_bytes(poem_bytes("alla-sera.txt"))

    def load(self):
        """The application a twistd run from the repository root would load."""
        copy = tac_copy(self, TAC, port=0)
        # Its poem path is relative, as in the text: load it from the root.
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(ROOT)
        return service.loadApplication(str(copy), "python")

    def test_applicationTree(self):
        """The application holds a MultiService: PoetryService, CutOnStop, a TCPServer."""
        (top_service,) = list(service.IServiceCollection(self.load()))
        poetry_service, cut_on_stop, tcp_service = list(top_service)

        self.assertIsInstance(top_service, service.MultiService)
        self.assertEqual(type(poetry_service).__name__, "PoetryService")
        self.assertEqual(poetry_service.poetry_file, "poetry/ecstasy.txt")
        self.assertIsInstance(tcp_service, internet.TCPServer)
        port, guard = tcp_service.args
        self.assertEqual(port, 0)
        self.assertEqual(
            tcp_service.kwargs, {"interface": "localhost", "backlog": 1024}
        )
        self.assertIs(cut_on_stop.guard, guard)
        self.assertEqual(guard.timeout, 60)
        self.assertIs(guard.wrappedFactory.service, poetry_service)

    def test_loadingStartsNothing(self):
        """Loading the tac only builds the application: no service is running."""
        (top_service,) = list(service.IServiceCollection(self.load()))

        self.assertFalse(top_service.running)
        self.assertFalse(any(child.running for child in top_service))

    def test_serviceLoadsPoemOnStart(self):
        """startService reads the poem file's bytes, not before."""
        poetry_service = self.tac.PoetryService(self.poem_path)
        self.assertFalse(hasattr(poetry_service, "poem"))

        poetry_service.startService()
        self.addCleanup(poetry_service.stopService)

        self.assertTrue(poetry_service.running)
        self.assertEqual(poetry_service.poem, poem_bytes("alla-sera.txt"))

    def test_protocolSendsPoemFromService(self):
        """A connection gets the service's poem, UTF-8 bytes intact, then closes."""
        poetry_service = self.tac.PoetryService(self.poem_path)
        poetry_service.startService()
        self.addCleanup(poetry_service.stopService)
        factory = self.tac.PoetryFactory(poetry_service)

        _, transport = connect_protocol(factory)

        self.assertEqual(transport.value(), poem_bytes("alla-sera.txt"))
        self.assertTrue(transport.disconnecting)

    def test_checkSettings(self):
        """check_settings names what is wrong with the poem or the port, or says nothing."""
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        check = self.tac.check_settings

        self.assertIsNone(check(self.poem_path, 0, "127.0.0.1"))
        self.assertEqual(
            check("poetry/nope.txt", 0, "127.0.0.1"),
            "cannot read poetry/nope.txt: No such file or directory"
            " (run from the repository root)",
        )
        self.assertEqual(
            check(str(ROOT / "poetry"), 0, "127.0.0.1"),
            f"cannot read {ROOT / 'poetry'}: not a regular file",
        )
        self.assertEqual(
            check(self.poem_path, busy, "127.0.0.1"),
            f"cannot listen on 127.0.0.1:{busy}: Address already in use"
            " (choose another port)",
        )


class TacScriptTests(TwistdTestCase):
    """The tac file run with python, and served for real by twistd."""

    def tac_copy(self, **settings):
        return tac_copy(self, TAC, **{"port": 0, **settings})

    @defer.inlineCallbacks
    def test_pythonDoesNothing(self):
        """`python twisted-server-3/fastpoetry.py` prints nothing and exits 0."""
        proc = yield self.run_script(TAC)

        self.assertEqual((proc.exit_code, proc.out, proc.err), (0, b"", b""))

    @defer.inlineCallbacks
    def test_twistdServesThenCtrlC(self):
        """twistd serves the exact poem, logs each send; Ctrl-C stops it cleanly."""
        server = yield self.start_twistd("--python", self.tac_copy())
        self.assertEqual(int(self.pidfile.read_text()), server.transport.pid)

        received = yield self.serving(server)
        yield server.stop("INT")

        self.assertEqual(received, ECSTASY)
        self.assertIn("loaded a poem from: poetry/ecstasy.txt", server.stdout)
        self.assertRegex(
            server.stdout,
            rf"\[builtins\.PoetryFactory\] sending {len(ECSTASY)} bytes of poetry to "
            r"IPv4Address\(type='TCP', host='127.0.0.1', port=\d+\)",
        )
        self.assertShutdown(server.stdout, "SIGINT")
        self.assertFalse(self.pidfile.exists())

    def test_missingPoem(self):
        """A poem file that is not there: one line naming it, foreground or daemon."""
        tac = self.tac_copy(poetry_file="poetry/no-such-poem.txt")

        return self.assertOneLine(
            f"{tac}: cannot read poetry/no-such-poem.txt: No such file or directory"
            " (run from the repository root)",
            "--python",
            tac,
        )

    def test_deviceIsNotAPoem(self):
        """/dev/zero, which never ends, is refused without reading it (a limited child)."""
        tac = self.tac_copy(poetry_file="/dev/zero")

        return self.assertOneLine(
            f"{tac}: cannot read /dev/zero: not a regular file",
            "--python",
            tac,
            limited=True,
        )

    def test_runFromElsewhere(self):
        """Run from another directory, the relative poem path is explained."""
        tac = self.tac_copy()

        return self.assertOneLine(
            f"{tac}: cannot read poetry/ecstasy.txt: No such file or directory"
            " (run from the repository root)",
            "--python",
            tac,
            cwd=self.dir,
            modes=[["--nodaemon"]],
        )

    def test_portInUse(self):
        """A port that is taken: one line saying so."""
        busy = listen(self, ServerFactory())
        tac = self.tac_copy(port=busy)

        return self.assertOneLine(
            f"{tac}: cannot listen on localhost:{busy}: Address already in use"
            " (choose another port)",
            "--python",
            tac,
            modes=[["--nodaemon"]],
        )


# -- the plugin ---------------------------------------------------------------


class PluginOptionsTests(unittest.SynchronousTestCase):
    """The plugin's Options and service maker, used in this process."""

    def setUp(self):
        from twisted.plugins import fastpoetry_plugin

        self.plugin = fastpoetry_plugin
        # Port 10000, the default, may be taken on this machine: the check
        # that would say so is tested on its own (TacServiceTests).
        self.patch(self.plugin, "check_can_listen", lambda port, iface: None)

    def parse(self, *args):
        options = self.plugin.Options()
        options.parseOptions(list(args))
        return options

    def test_pluginInterfaces(self):
        """service_maker provides IPlugin and IServiceMaker, with the text's names."""
        maker = self.plugin.service_maker

        self.assertTrue(verifyObject(IPlugin, maker))
        self.assertTrue(verifyObject(service.IServiceMaker, maker))
        self.assertEqual(maker.tapname, "fastpoetry")
        self.assertEqual(maker.description, "A fast poetry service.")
        self.assertIs(maker.options, self.plugin.Options)

    def test_defaults(self):
        """Only --poem is needed: port 10000, localhost, backlog 1024, time-out 60 s."""
        options = self.parse("--poem", str(ROOT / "poetry/ecstasy.txt"))

        self.assertEqual(
            (options["port"], options["iface"], options["backlog"], options["timeout"]),
            (10000, "localhost", 1024, 60.0),
        )

    def test_help(self):
        """The help twistd prints for `twistd fastpoetry --help`: options and defaults."""
        text = str(self.plugin.Options())

        for option in [
            r"-p, --port=\s+The port number to listen on\. \[default: 10000\]",
            r"--poem=\s+The file containing the poem\.",
            r"--iface=\s+The interface to listen on\. \[default: localhost\]",
            r"--backlog=.*\[default: 1024\]",
            r"--timeout=\s+Seconds from the server's last write to a connection",
        ]:
            self.assertRegex(text, option)

    def test_shortPortOption(self):
        """-p is short for --port."""
        options = self.parse("-p", "10002", "--poem", str(ROOT / "poetry/science.txt"))

        self.assertEqual(options["port"], 10002)

    def test_makeService(self):
        """makeService builds the tac file's tree from the options."""
        science = str(ROOT / "poetry/science.txt")
        options = self.parse(
            "--port", "0", "--poem", science, "--iface", "127.0.0.1", "--timeout", "5"
        )

        top_service = self.plugin.service_maker.makeService(options)
        poetry_service, cut_on_stop, tcp_service = list(top_service)

        self.assertIsInstance(top_service, service.MultiService)
        self.assertEqual(poetry_service.poetry_file, science)
        port, guard = tcp_service.args
        self.assertEqual((port, guard.timeout), (0, 5.0))
        self.assertIs(cut_on_stop.guard, guard)
        self.assertIs(guard.wrappedFactory.service, poetry_service)
        self.assertEqual(
            tcp_service.kwargs, {"interface": "127.0.0.1", "backlog": 1024}
        )

    def test_usageErrors(self):
        """Bad option values are UsageErrors with a message naming the option."""
        ecstasy = str(ROOT / "poetry/ecstasy.txt")
        cases = [
            (["--poem", ecstasy, "--port", "abc"], "--port must be a number"),
            (["--poem", ecstasy, "--port", "65536"], "--port must be between 0 and"),
            (["--poem", ecstasy, "--backlog", "0"], "--backlog must be at least 1"),
            (["--poem", ecstasy, "--timeout=-1"], "--timeout must not be negative"),
            (["--poem", ecstasy, "--timeout", "nan"], "must not be negative, not nan"),
            ([], "--poem is required"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                error = self.assertRaises(usage.UsageError, self.parse, *args)
                self.assertIn(message, str(error))

    def test_poemProblemsInOneLine(self):
        """A poem that will not do ends twistd with one line naming it."""
        for poem_file, why in [
            (os.path.abspath(self.mktemp()), "No such file or directory"),
            (str(ROOT / "poetry"), "not a regular file"),
        ]:
            with self.subTest(poem_file=poem_file):
                stop = self.assertRaises(SystemExit, self.parse, "--poem", poem_file)
                self.assertEqual(
                    stop.code, f"twistd fastpoetry: cannot read {poem_file}: {why}"
                )


class PluginScriptTests(TwistdTestCase):
    """twistd running the plugin, found through the editable install."""

    @defer.inlineCallbacks
    def test_listedInTheCheckout(self):
        """`twistd --help` in the checkout lists fastpoetry, with no PYTHONPATH."""
        proc = yield self.run_twistd("--help")

        self.assertEqual(proc.exit_code, 0)
        self.assertRegex(proc.stdout, r"\n +fastpoetry +A fast poetry service\.\n")

    @defer.inlineCallbacks
    def test_listedElsewhere(self):
        """`twistd --help` run outside the checkout lists fastpoetry too."""
        proc = yield self.run_twistd("--help", cwd=self.dir)

        self.assertEqual(proc.exit_code, 0)
        self.assertRegex(proc.stdout, r"\n +fastpoetry +A fast poetry service\.\n")

    @defer.inlineCallbacks
    def test_servesThenCtrlC(self):
        """The plugin serves the exact poem; its pid file comes and goes; Ctrl-C is clean."""
        server = yield self.start_plugin()
        written, pid = self.pidfile.read_text(), server.transport.pid

        received = yield self.serving(server)
        yield server.stop("INT")

        self.assertEqual(received, ECSTASY)
        self.assertIn("loaded a poem from: poetry/ecstasy.txt", server.stdout)
        self.assertEqual(written, str(pid))
        self.assertFalse(self.pidfile.exists())
        self.assertShutdown(server.stdout, "SIGINT")
        # twistd ends by re-raising the signal, so the shell sees "killed by
        # SIGINT"; it was not our SIGKILL of last resort.
        self.assertEqual(server.signal, signal.SIGINT)

    @defer.inlineCallbacks
    def test_daemon(self):
        """As a daemon the plugin logs to --logfile; SIGTERM to its pid stops it cleanly."""
        pid = yield self.run_daemon(
            "fastpoetry", "--port", "0", "--poem", poem_path("ecstasy.txt")
        )

        received = yield fetch(self.daemon_port())
        yield poll(lambda: "bytes of poetry to" in self.log_text(), "the send line")
        yield self.stop_daemon(pid)

        self.assertEqual(received, ECSTASY)
        self.assertShutdown(self.log_text(), "SIGTERM")

    @defer.inlineCallbacks
    def test_pollReactorWithoutDropinCache(self):
        """`twistd -r poll fastpoetry` works when the plugin scan has to import it.

        setUp removed dropin.cache, so twistd imports the plugin to scan it
        (unless a twistd in another trial worker has just written a new one:
        test_importLeavesReactorAlone shows the import alone is harmless).
        """
        server = yield self.start_twistd(
            "-r",
            "poll",
            "fastpoetry",
            "--port",
            "0",
            "--poem",
            poem_path("ecstasy.txt"),
        )
        received = yield fetch(server.port)

        self.assertIn(
            "reactor class: twisted.internet.pollreactor.PollReactor", server.stdout
        )
        self.assertEqual(received, ECSTASY)

    @defer.inlineCallbacks
    def test_importLeavesReactorAlone(self):
        """Importing the plugin module does not import twisted.internet.reactor."""
        proc = yield launch.spawn(
            [
                sys.executable,
                "-c",
                "import sys, twisted.plugins.fastpoetry_plugin;"
                " print('twisted.internet.reactor' in sys.modules)",
            ],
            env=twistd_env(),
        )

        self.assertEqual((proc.exit_code, proc.stdout), (0, "False\n"))

    @defer.inlineCallbacks
    def test_usageError(self):
        """A bad option: twistd prints the plugin's help, then the reason; exit 1."""
        proc = yield self.run_twistd(
            "--nodaemon", "--pidfile", self.pidfile, "fastpoetry", "--port", "ten"
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertIn("--poem=", proc.stdout)
        last_line = proc.stdout.rstrip("\n").splitlines()[-1]
        self.assertTrue(
            last_line.endswith(": --port must be a number, not 'ten'"), proc.stdout
        )
        self.assertFalse(self.pidfile.exists())

    def test_missingPoemFile(self):
        """A --poem that does not exist: one line naming it."""
        return self.assertOneLine(
            "twistd fastpoetry: cannot read poetry/nope.txt: No such file or"
            " directory (run from the repository root)",
            "fastpoetry",
            "--poem",
            "poetry/nope.txt",
            modes=[["--nodaemon"]],
        )

    def test_deviceIsNotAPoem(self):
        """--poem /dev/zero, which never ends, is refused without reading it (a limited child)."""
        return self.assertOneLine(
            "twistd fastpoetry: cannot read /dev/zero: not a regular file",
            "fastpoetry",
            "--poem",
            "/dev/zero",
            limited=True,
        )

    def test_portInUse(self):
        """A --port that is taken: one line saying so, foreground or daemon."""
        busy = listen(self, ServerFactory())

        return self.assertOneLine(
            f"twistd fastpoetry: cannot listen on localhost:{busy}: Address already"
            " in use (choose another port)",
            "fastpoetry",
            "--port",
            busy,
            "--poem",
            poem_path("ecstasy.txt"),
        )

    @defer.inlineCallbacks
    def test_logFolderMissing(self):
        """A --logfile in a folder that does not exist: one line, before anything starts."""
        folder = self.dir / "no-such-folder"

        proc = yield self.run_twistd(
            "--pidfile",
            self.pidfile,
            "--logfile",
            folder / "twistd.log",
            "fastpoetry",
            "--port",
            "0",
            "--poem",
            poem_path("ecstasy.txt"),
        )

        self.assertEqual(
            (proc.exit_code, proc.stdout, proc.stderr),
            (
                1,
                "",
                f"twistd fastpoetry: cannot write the log file {folder}/twistd.log:"
                f" no folder {folder}\n",
            ),
        )

    @defer.inlineCallbacks
    def test_namesTheRunner(self):
        """Under twist, the one-line errors name twist, not twistd."""
        folder = poem_path("")  # a folder: not a regular file

        proc = yield launch.spawn(
            launch.twist_argv("fastpoetry", "--port", "0", "--poem", folder),
            env=twistd_env(),
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"twist fastpoetry: cannot read {folder}: not a regular file\n",
        )

    @defer.inlineCallbacks
    def test_logFileNotCreatable(self):
        """A --logfile that cannot be created, in a folder that exists: one line."""
        # /proc takes no new files, whoever asks (root included).
        proc = yield self.run_twistd(
            "--pidfile", self.pidfile, "--logfile", "/proc/twistd.log",
            "fastpoetry", "--port", "0", "--poem", poem_path("ecstasy.txt"),
        )  # fmt: skip

        self.assertEqual(proc.exit_code, 1)
        self.assertRegex(
            proc.stderr,
            r"^twistd fastpoetry: cannot write the log file /proc/twistd\.log: .+\n$",
        )

    @defer.inlineCallbacks
    def test_stopCutsPoems(self):
        """Stopping the daemon mid-poem resets its clients: a cut poem cannot look whole."""
        big = self.dir / "big-poem.txt"
        big.write_bytes(large_poem())
        pid = yield self.run_daemon("fastpoetry", "--port", "0", "--poem", big)
        readers = slow_readers(self, self.daemon_port(), 2)

        yield self.stop_daemon(pid)
        results = [drain(reader) for reader in readers]

        for received, clean in results:
            self.assertFalse(clean)
            self.assertLess(len(received), big.stat().st_size)
        self.assertIn("stopping: resetting 2 connections", self.log_text())


class PrivilegeTests(TwistdTestCase):
    """twistd --uid/--gid: bind as root, then serve as an unprivileged user."""

    @defer.inlineCallbacks
    def test_dropsToUnprivilegedUser(self):
        """Started by root with --uid/--gid, the daemon serves as nobody."""
        if os.getuid() != 0:
            raise unittest.SkipTest(
                "needs root: only root can switch to another user with --uid/--gid"
            )
        user = pwd.getpwnam("nobody")
        group = grp.getgrgid(user.pw_gid)
        # The user must reach the poem (loaded after the switch) and remove
        # the pid file (also after the switch), but the checkout and trial's
        # directories may be private to root: use a directory of its own,
        # straight under the system's temporary directory, with a copy of
        # the poem in it.
        self.dir = Path(tempfile.mkdtemp(prefix="twisted-intro-uid-"))
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.pidfile = self.dir / "twistd.pid"
        self.logfile = self.dir / "twistd.log"
        poem_copy = self.dir / "ecstasy.txt"
        poem_copy.write_bytes(ECSTASY)
        poem_copy.chmod(0o644)
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.dir.chmod(0o755)

        pid = yield self.run_daemon(
            "--uid",
            user.pw_name,
            "--gid",
            group.gr_name,
            "fastpoetry",
            "--port",
            "0",
            "--poem",
            poem_copy,
        )
        uids, gids = proc_ids(pid, "Uid"), proc_ids(pid, "Gid")
        received = yield fetch(self.daemon_port())
        yield self.stop_daemon(pid)

        self.assertEqual(uids, [user.pw_uid] * 4)
        self.assertEqual(gids, [user.pw_gid] * 4)
        self.assertEqual(received, ECSTASY)
        self.assertIn(f"set uid/gid {user.pw_uid}/{user.pw_gid}", self.log_text())
        self.assertFalse(self.pidfile.exists())
