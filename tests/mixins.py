"""Tests that run unchanged against several scripts.

Each mixin holds the tests of a behaviour that several tutorial scripts
share; a script's own test module combines it with ScriptTestCase and sets
the class attributes that name the script and say what really differs
between the scripts (a message, the example command line in the help). The
tests a single script needs stay in that script's module.
"""

import errno
import os
import re
import subprocess
from pathlib import PurePosixPath

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import CannotListenError, ConnectionRefusedError
from twisted.internet.protocol import ServerFactory
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from tests.helpers import (
    FASTPOETRY,
    ROOT,
    TRANSFORM,
    assert_printed,
    dead_port,
    fetch,
    listen,
    load_script,
    lowered_text,
    poem_bytes,
    poem_path,
    run_in_process,
    serve_poems,
    serve_transforms,
)
from tools import launch


class ClientCommandLineMixin:
    """A poetry client's command line, parsed in this process: help, bad input refused."""

    CLIENT = None  # the script, e.g. "twisted-client-4/get-poetry.py"
    VERSION = None  # from its header line, e.g. "4.0 (Part 8, run again in Part 14)"
    EXAMPLE = None  # the addresses its docstring's command gives, e.g. "10000"

    def parse(self, *argv):
        """Run the client's parse_args on `argv`; return how it ended."""
        return run_in_process(load_script(self.CLIENT).parse_args, *argv)

    def test_noAddress(self):
        """With no address the client prints its help on stderr and exits with 2."""
        result = self.parse()

        self.assertEqual(result.exit_code, 2)
        self.assertIn(
            f"Get Poetry Now! client, Twisted version {self.VERSION}", result.stderr
        )
        self.assertIn(f"python {self.CLIENT} {self.EXAMPLE}", result.stderr)

    def test_help(self):
        """--help shows the example command and both limits, with their defaults."""
        result = self.parse("--help")

        self.assertEqual(result.exit_code, 0)
        self.assertIn(f"python {self.CLIENT} {self.EXAMPLE}", result.stdout)
        self.assertIn("(default: 60)", result.stdout)
        self.assertIn("--max-poem-size", result.stdout)

    def test_badAddress(self):
        """A malformed address is a usage error naming it."""
        result = self.parse("10001", "poetry:server")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("invalid address 'poetry:server'", result.stderr)

    def test_badTimeout(self):
        """A time-out that is not positive is a usage error."""
        result = self.parse("--timeout", "0", "10001", "10002")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--timeout must be more than 0, not 0", result.stderr)

    def test_nanTimeout(self):
        """A time-out that is not a number (nan) is a usage error too."""
        result = self.parse("--timeout", "nan", "10001", "10002")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--timeout must be more than 0, not nan", result.stderr)

    def test_badMaxPoemSize(self):
        """A size limit below one byte is a usage error."""
        result = self.parse("--max-poem-size", "0", "10001", "10002")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--max-poem-size must be at least 1, not 0", result.stderr)


class FakeReactor(MemoryReactorClock):
    """Stands in for the reactor in poetry_main: run() plays the test's scene."""

    def __init__(self, scene):
        super().__init__()
        self.scene = scene
        self.stops = 0

    def run(self):
        self.running = True
        self.scene()

    def stop(self):
        self.stops += 1


class FakeTransformProxy:
    """Stands in for TransformProxy: each xform returns a Deferred the test fires."""

    def __init__(self):
        self.address = None
        self.requests = []

    def __call__(self, host, port):
        self.address = (host, port)
        return self

    def xform(self, xform_name, poem):
        d = defer.Deferred()
        self.requests.append((xform_name, poem, d))
        return d


class FakedClientMixin:
    """A client's poetry_main with get_poetry, TransformProxy and the reactor faked.

    The test fires every Deferred itself, inside the fake reactor's run(),
    so it can look at what the client has done between two steps.
    """

    CLIENT = None
    # How the client starts its line for a poem that could not be downloaded:
    # client 6 prints "The poem download failed." and the reason, clients 7
    # and 8 "The poem download failed:".
    DOWNLOAD_FAILED = None

    def setUp(self):
        self.module = load_script(self.CLIENT)
        self.downloads = {}
        self.proxy = FakeTransformProxy()
        self.patch(self.module, "get_poetry", self.fake_get_poetry)
        if hasattr(self.module, "TransformProxy"):  # client 4 transforms nothing
            self.patch(self.module, "TransformProxy", self.proxy)
        guard = self.module.DownloadGuard
        self.patch(guard, "timeout", guard.timeout)
        self.patch(guard, "max_size", guard.max_size)

    def fake_get_poetry(self, host, port):
        d = defer.Deferred()
        self.downloads[(host, port)] = d
        return d

    def download(self, port):
        return self.downloads[("127.0.0.1", port)]

    def run_main(self, scene, *argv):
        """Run poetry_main with `argv`; return how it ended."""
        self.reactor = FakeReactor(scene)
        return run_in_process(self.module.poetry_main, *argv, reactor=self.reactor)


class TransformingMainMixin(FakedClientMixin):
    """The tests of poetry_main that clients 6, 7 and 8 all pass."""

    def test_transformWaitsForDownload(self):
        """The transformation is asked for once the poem is in; the result prints."""

        def scene():
            self.assertEqual(self.proxy.requests, [])
            self.download(10002).callback(b"A POEM\n")

            [(xform_name, poem, d)] = self.proxy.requests
            self.assertEqual((xform_name, poem), ("cummingsify", b"A POEM\n"))
            d.callback(b"a poem\n")

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual(self.proxy.address, ("127.0.0.1", 10001))
        self.assertEqual(result.stdout, "a poem\n\n")
        self.assertEqual((result.stderr, result.exit_code), ("", 0))

    def test_stopsAfterLastPoem(self):
        """The reactor is stopped once, when the last poem is done."""

        def scene():
            self.download(10003).callback(b"B")
            self.proxy.requests[0][2].callback(b"b")
            self.assertEqual(self.reactor.stops, 0)

            self.download(10002).errback(ConnectionRefusedError())
            self.assertEqual(self.reactor.stops, 1)

        self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual(self.reactor.stops, 1)

    def test_downloadFailed(self):
        """A failed download is reported, not transformed, and makes the status 1."""

        def scene():
            self.download(10002).errback(
                self.module.DownloadFailed("127.0.0.1:10002: Timed out after 60 s.")
            )
            self.download(10003).callback(b"B")
            self.proxy.requests[0][2].callback(b"b")

        result = self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual(
            result.stderr,
            f"{self.DOWNLOAD_FAILED} 127.0.0.1:10002: Timed out after 60 s.\n",
        )
        self.assertEqual([r[1] for r in self.proxy.requests], [b"B"])
        self.assertEqual((result.stdout, result.exit_code), ("b\n", 1))

    def test_transformFailed(self):
        """A failed transformation is reported and the original poem printed."""

        def scene():
            self.download(10002).callback(b"A POEM")
            self.proxy.requests[0][2].errback(Failure(ConnectionRefusedError()))

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual(result.stderr, "Cummingsify failed!\n")
        self.assertEqual((result.stdout, result.exit_code), ("A POEM\n", 0))

    def test_stoppedEarly(self):
        """Stopped (Ctrl-C) before every poem is in: status 1, no partial poem."""

        def scene():
            self.download(10003).callback(b"B")
            self.proxy.requests[0][2].callback(b"b")

        result = self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual((result.stdout, result.exit_code), ("b\n", 1))

    def test_noStopWhileStopping(self):
        """A poem failing while the reactor stops (Ctrl-C) does not stop it again."""

        def scene():
            self.reactor.running = False
            self.download(10002).errback(ConnectionRefusedError())

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual(self.reactor.stops, 0)
        self.assertEqual(result.exit_code, 1)

    def test_limitsFromCommandLine(self):
        """--timeout and --max-poem-size set the guard around every connection."""
        self.run_main(
            lambda: None, "--timeout", "2.5", "--max-poem-size", "9", "1", "2"
        )

        self.assertEqual(self.module.DownloadGuard.timeout, 2.5)
        self.assertEqual(self.module.DownloadGuard.max_size, 9)

    def test_utf8Poem(self):
        """A UTF-8 poem is decoded once, for printing."""
        poem = poem_bytes("alla-sera.txt")

        def scene():
            self.download(10002).callback(poem)
            self.proxy.requests[0][2].callback(poem.lower())

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual(result.stdout, lowered_text("alla-sera.txt") + "\n")


class TransformingCommandLineMixin(ClientCommandLineMixin):
    """Client 6, 7 or 8's command line: also needs a transformation server."""

    EXAMPLE = "10001 10002 10003"

    def test_transformServerOnly(self):
        """One address (no poetry server) is a usage error."""
        result = self.parse("10001")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("at least one poetry server", result.stderr)


class ClientEndToEndMixin:
    """A transforming client (6, 7 or 8) as typed: real servers, each in its own process."""

    CLIENT = None
    DOWNLOAD_FAILED = None
    # The servers it is run against: the classic ones, or modern/'s.
    POETRY_SERVER = FASTPOETRY
    TRANSFORM_SERVER = TRANSFORM

    @defer.inlineCallbacks
    def test_poemsAndFailure(self):
        """Poems come back lower-cased, UTF-8 intact; a dead server is named; status 1."""
        xform = yield serve_transforms(self, script=self.TRANSFORM_SERVER)
        first, second = yield serve_poems(
            self, "fascination.txt", "alla-sera.txt", script=self.POETRY_SERVER
        )
        dead = dead_port(self)

        proc = yield self.run_script(
            self.CLIENT, xform, first, f"127.0.0.1:{second}", dead
        )

        assert_printed(
            self,
            proc.stdout,
            [lowered_text("fascination.txt"), lowered_text("alla-sera.txt")],
        )
        self.assertRegex(
            proc.stderr,
            rf"^{re.escape(self.DOWNLOAD_FAILED)} 127\.0\.0\.1:{dead}:"
            r" Connection was refused .*\n$",
        )
        self.assertEqual(proc.exit_code, 1)


# Address space for a child that might read without end (1 GiB).
MEMORY_LIMIT = 1 << 30


def memory_limited(argv):
    """The command line `argv`, run under MEMORY_LIMIT (by prlimit)."""
    return ["prlimit", f"--as={MEMORY_LIMIT}", *argv]


class NotToBeRun(MemoryReactorClock):
    """A reactor for a main() that should exit before serving: running it fails."""

    def run(self):
        raise AssertionError("main() went on to run the reactor")


class RecordedPort:
    """What ServingReactor.listenTCP returns: a port that notes when it is stopped."""

    def __init__(self, port, factory, interface):
        self.port = port
        self.factory = factory
        self.interface = interface
        self.stopped = False

    def getHost(self):
        return IPv4Address("TCP", "127.0.0.1", self.port)

    def stopListening(self):
        self.stopped = True


class ServingReactor(MemoryReactorClock):
    """A reactor for a server's main() run in this process, serving nothing.

    Each listenTCP is recorded in `listening` (a RecordedPort, whose factory
    is what main() passed, a ServerGuard around the lesson's factory); the
    ports in `taken` are refused as a real reactor refuses a port in use.
    run() returns at once, having noted that it ran.
    """

    def __init__(self, taken=()):
        super().__init__()
        self.taken = set(taken)
        self.listening = []
        self.ran = False

    def listenTCP(self, port, factory, backlog=50, interface=""):
        if port in self.taken:
            raise CannotListenError(
                interface, port, OSError(errno.EADDRINUSE, "Address already in use")
            )
        recorded = RecordedPort(port, factory, interface)
        self.listening.append(recorded)
        return recorded

    def run(self):
        self.ran = True

    def shut_down(self):
        """Run the "before shutdown" triggers main() added; fire when they are done."""
        return defer.gatherResults(
            [
                defer.maybeDeferred(f, *a, **kw)
                for f, a, kw in self.triggers["before"]["shutdown"]
            ]
        )


class ServerCommandLineMixin:
    """A server's command line, checked in this process: help, bad options, port in use.

    main() runs here with a fake reactor, so a mistake cannot start a real
    server inside the test run; `ServerEndToEndMixin` runs the real command.
    """

    SCRIPT = None  # e.g. "twisted-server-1/fastpoetry.py"
    ARGS = ()  # what it needs besides the options, e.g. (poem_path("science.txt"),)
    COMMAND = None  # the command its docstring gives, as the help must show it
    OPTIONS = ("--port PORT", "--iface IFACE", "--backlog BACKLOG", "--timeout TIMEOUT")

    @property
    def program(self):
        """The name the script gives itself in its messages, e.g. "fastpoetry.py"."""
        return PurePosixPath(self.SCRIPT).name

    def run_main(self, *argv, reactor=None):
        """Run the script's main() here with `argv`; return how it ended."""
        from twisted.python import log

        # Starting the log here would take over the test run's own log.
        self.patch(log, "startLogging", lambda *args, **kwargs: None)
        module = load_script(self.SCRIPT)
        return run_in_process(module.main, *argv, reactor=reactor or NotToBeRun())

    def test_helpShowsTheCommand(self):
        """--help prints the docstring: the tutorial's command line and the options."""
        result = self.run_main("--help")

        self.assertEqual(result.exit_code, 0)
        self.assertIn(self.COMMAND, result.stdout)
        for option in self.OPTIONS:
            self.assertIn(option, result.stdout)

    def test_badPort(self):
        """A port that is not a number is a usage error: status 2 and the usage line."""
        result = self.run_main("--port", "ten", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn(f"usage: {self.program}", result.stderr)
        self.assertIn("invalid int value: 'ten'", result.stderr)

    def test_portOutOfRange(self):
        """A port above 65535 is refused before anything is started."""
        result = self.run_main("--port", "70000", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--port must be between 0 and 65535, not 70000", result.stderr)

    def test_negativeTimeout(self):
        """A negative time-out is a usage error."""
        result = self.run_main("--timeout=-1", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--timeout must not be negative, not -1", result.stderr)

    def test_nanTimeout(self):
        """A time-out that is not a number (nan) is a usage error, not a crash."""
        result = self.run_main("--timeout", "nan", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--timeout must not be negative, not nan", result.stderr)

    def test_portInUse(self):
        """A port that is taken gives one clear line and status 1, not a traceback."""
        taken = listen(self, ServerFactory())
        from twisted.internet import reactor as real

        class Listening(NotToBeRun):
            def listenTCP(self, *args, **kwargs):
                return real.listenTCP(*args, **kwargs)

        result = self.run_main("--port", taken, *self.ARGS, reactor=Listening())

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            f"{self.program}: cannot listen on localhost:{taken}:"
            " Address already in use\n",
        )
        self.assertEqual(result.stdout, "")


class PoemFileServerMixin(ServerCommandLineMixin):
    """A poetry server's command line, which also names the poem file to serve."""

    # Absolute: trial runs the tests in a directory of its own.
    ARGS = (str(ROOT / poem_path("science.txt")),)

    def assertRefused(self, path, why):
        """The server will not serve `path`: one line saying why, and status 1."""
        result = self.run_main(path)

        self.assertEqual(
            (result.exit_code, result.stdout, result.stderr),
            (1, "", f"{self.program}: cannot read {path}: {why}\n"),
        )

    def test_missingPoemFile(self):
        """A poem file that does not exist is named, with the reason."""
        self.assertRefused("poetry/no-such-poem.txt", "No such file or directory")

    def assertRefusedSafely(self, path, why):
        """As assertRefused, in a child that a regression cannot let run away.

        Reading /dev/zero never ends, and opening a FIFO with no writer never
        returns: the child runs under a memory limit and a time-out.
        """
        result = subprocess.run(
            memory_limited(launch.python_argv(self.SCRIPT, path)),
            cwd=ROOT,
            env=launch.child_env(),
            capture_output=True,
            text=True,
            timeout=10,
        )

        self.assertEqual(
            (result.returncode, result.stdout, result.stderr),
            (1, "", f"{self.program}: cannot read {path}: {why}\n"),
        )

    def test_deviceIsNotAPoem(self):
        """/dev/zero, which never ends, is refused without reading it."""
        self.assertRefusedSafely("/dev/zero", "not a regular file")

    def test_fifoIsNotAPoem(self):
        """A FIFO with no writer is refused instead of waiting for ever."""
        fifo = os.path.abspath(self.mktemp())
        os.mkfifo(fifo)

        self.assertRefusedSafely(fifo, "not a regular file")

    def test_emptyPoem(self):
        """An empty file is not a poem."""
        empty = os.path.abspath(self.mktemp())
        open(empty, "wb").close()

        self.assertRefused(empty, "the file is empty")

    def test_hugePoem(self):
        """A file over 64 MiB is refused (a sparse file: no disk is used)."""
        huge = os.path.abspath(self.mktemp())
        with open(huge, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)

        self.assertRefused(huge, "larger than 67108864 bytes")

    def test_noPoemFile(self):
        """Leaving out the poem file is a usage error."""
        result = self.run_main()

        self.assertEqual(result.exit_code, 2)
        self.assertIn(
            "the following arguments are required: poetry-file", result.stderr
        )


class ServerEndToEndMixin:
    """A server started as a learner starts it, and a client that half-closes."""

    SCRIPT = None
    ARGS = ()
    STARTUP = (
        None  # its start-up line up to " on <address>.", e.g. "Serving transforms"
    )
    REQUEST = None  # what a client sends, if anything, before half-closing
    ANSWER = None  # what the client must get back
    # How the log on stderr begins: twisted.python.log's startLogging opens
    # it with "Log opened." (twisted.logger's observers write no such line).
    LOG_OPENED = r"^\S+ \S+ \[-\] Log opened\.\n"

    @defer.inlineCallbacks
    def test_asTyped(self):
        """One line on stdout, the log on stderr; a half-closing client gets it all."""
        server = yield self.start_server(self.SCRIPT, "--port", "0", *self.ARGS)

        received = yield fetch(server.port, self.REQUEST, half_close=True)

        self.assertEqual(received, self.ANSWER)
        self.assertEqual(
            server.stdout,
            f"{self.STARTUP} on IPv4Address(type='TCP', host='127.0.0.1',"
            f" port={server.port}).\n",
        )
        self.assertRegex(server.stderr, self.LOG_OPENED)
