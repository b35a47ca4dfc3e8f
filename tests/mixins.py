"""Tests that run unchanged against several scripts.

Each mixin holds the tests of a behaviour that several tutorial scripts
share; a script's own test module combines it with ScriptTestCase and sets
the class attributes that name the script and say what really differs
between the scripts (a message, the example command line in the help). The
tests a single script needs stay in that script's module.
"""

import re
from pathlib import PurePosixPath

from twisted.internet import defer
from twisted.internet.protocol import ServerFactory

from tests.helpers import (
    assert_printed,
    free_port,
    listen,
    listen_silent,
    lowered,
    poem,
    poem_text,
    serve_poems,
    serve_transforms,
)


class ClientUsageMixin:
    """A poetry client's command line: help without an address, bad input refused."""

    CLIENT = None  # the script, e.g. "twisted-client-4/get-poetry.py"
    VERSION = None  # from its header line, e.g. "4.0 (Part 8, run again in Part 14)"
    EXAMPLE = None  # the addresses its docstring's command gives, e.g. "10000"

    @defer.inlineCallbacks
    def test_noAddress(self):
        """With no address the client prints its help and exits with status 2."""
        proc = yield self.run_script(self.CLIENT)

        self.assertEqual(proc.exit_code, 2)
        self.assertIn(
            f"Get Poetry Now! client, Twisted version {self.VERSION}", proc.stderr
        )
        self.assertIn(f"python {self.CLIENT} {self.EXAMPLE}", proc.stderr)

    @defer.inlineCallbacks
    def test_badAddress(self):
        """A malformed address is a usage error naming it."""
        proc = yield self.run_script(self.CLIENT, "10001", "poetry:server")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("invalid address 'poetry:server'", proc.stderr)

    @defer.inlineCallbacks
    def test_badTimeout(self):
        """A time-out that is not positive is a usage error."""
        proc = yield self.run_script(self.CLIENT, "--timeout", "0", "10001", "10002")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("--timeout must be more than 0, not 0.0", proc.stderr)


class ClientEndToEndMixin(ClientUsageMixin):
    """A transforming client (6, 7 or 8) against real servers, each in its own process."""

    EXAMPLE = "10001 10002 10003"
    # How the client starts its line for a poem that could not be downloaded:
    # client 6 prints "The poem download failed." and the reason, clients 7
    # and 8 "The poem download failed:".
    DOWNLOAD_FAILED = None

    # A client run against loopback servers takes well under a second; the
    # five-server test starts six servers first.
    timeout = 20

    @defer.inlineCallbacks
    def test_allUp(self):
        """Every poem comes back lower-cased, UTF-8 intact, and the status is 0."""
        xform = yield serve_transforms(self)
        first, second = yield serve_poems(self, "fascination.txt", "alla-sera.txt")

        proc = yield self.run_script(self.CLIENT, xform, first, f"127.0.0.1:{second}")

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        assert_printed(
            self, proc.stdout, [lowered("fascination.txt"), lowered("alla-sera.txt")]
        )

    @defer.inlineCallbacks
    def test_transformServerDown(self):
        """With the transform server down, each poem prints untransformed."""
        first, second = yield serve_poems(self, "fascination.txt", "science.txt")

        proc = yield self.run_script(self.CLIENT, free_port(), first, second)

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stderr, "Cummingsify failed!\n" * 2)
        assert_printed(
            self, proc.stdout, [poem_text("fascination.txt"), poem_text("science.txt")]
        )

    @defer.inlineCallbacks
    def test_poetryServerDown(self):
        """A poetry server that is down is reported; the other poem still prints."""
        xform = yield serve_transforms(self)
        [up] = yield serve_poems(self, "science.txt")

        proc = yield self.run_script(self.CLIENT, xform, free_port(), up)

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, lowered("science.txt") + "\n")
        self.assertRegex(
            proc.stderr,
            rf"^{re.escape(self.DOWNLOAD_FAILED)} Connection was refused .*\n$",
        )

    @defer.inlineCallbacks
    def test_fivePoetryServers(self):
        """Five poetry servers at once: five transformed poems, status 0."""
        names = [
            "ecstasy.txt",
            "fascination.txt",
            "science.txt",
            "alla-sera.txt",
            "fascination.txt",
        ]
        xform = yield serve_transforms(self)
        ports = yield serve_poems(self, *names)

        proc = yield self.run_script(self.CLIENT, xform, *ports)

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        assert_printed(self, proc.stdout, [lowered(name) for name in names])

    @defer.inlineCallbacks
    def test_silentPoetryServer(self):
        """A poetry server that accepts and never sends times out; the rest print."""
        xform = yield serve_transforms(self)
        [up] = yield serve_poems(self, "science.txt")
        silent = listen_silent(self)

        proc = yield self.run_script(
            self.CLIENT, "--timeout", "0.5", xform, silent.port, up
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, lowered("science.txt") + "\n")
        self.assertEqual(
            proc.stderr, f"{self.DOWNLOAD_FAILED} Timed out after 0.5 s.\n"
        )

    @defer.inlineCallbacks
    def test_silentTransformServer(self):
        """A transform server that never answers times out; the poem prints as sent."""
        [up] = yield serve_poems(self, "science.txt")
        silent = listen_silent(self)

        proc = yield self.run_script(self.CLIENT, "--timeout", "0.5", silent.port, up)

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stderr, "Cummingsify failed!\n")
        self.assertEqual(proc.stdout, poem_text("science.txt") + "\n")

    @defer.inlineCallbacks
    def test_transformServerOnly(self):
        """One address (no poetry server) is a usage error."""
        proc = yield self.run_script(self.CLIENT, "10001")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("at least one poetry server", proc.stderr)


class ServerCommandLineMixin:
    """A server as a learner starts it: start-up line, help, bad --port, port in use."""

    SCRIPT = None  # e.g. "twisted-server-1/fastpoetry.py"
    ARGS = ()  # what it needs besides the options, e.g. (poem("science.txt"),)
    # Its start-up line up to " on <address>.", e.g. "Serving transforms".
    STARTUP = None
    COMMAND = None  # the command its docstring gives, as the help must show it
    OPTIONS = ("--port PORT", "--iface IFACE", "--backlog BACKLOG")

    @property
    def program(self):
        """The name the script gives itself in its messages, e.g. "fastpoetry.py"."""
        return PurePosixPath(self.SCRIPT).name

    @defer.inlineCallbacks
    def test_servingLine(self):
        """The server prints one line on stdout, naming the address it really listens on."""
        server = yield self.start_server(self.SCRIPT, "--port", "0", *self.ARGS)

        self.assertEqual(
            server.stdout,
            f"{self.STARTUP} on IPv4Address(type='TCP', host='127.0.0.1',"
            f" port={server.port}).\n",
        )

    @defer.inlineCallbacks
    def test_portInUse(self):
        """A port that is taken gives one clear line and status 1, not a traceback."""
        taken = listen(self, ServerFactory())

        result = yield self.run_script(self.SCRIPT, "--port", taken, *self.ARGS)

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            f"{self.program}: cannot listen on localhost:{taken}:"
            " Address already in use\n",
        )
        self.assertEqual(result.stdout, "")

    @defer.inlineCallbacks
    def test_badPort(self):
        """A port that is not a number is a usage error: status 2 and the usage line."""
        result = yield self.run_script(self.SCRIPT, "--port", "ten", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn(f"usage: {self.program}", result.stderr)
        self.assertIn("invalid int value: 'ten'", result.stderr)

    @defer.inlineCallbacks
    def test_portOutOfRange(self):
        """A port above 65535 is refused before anything is started."""
        result = yield self.run_script(self.SCRIPT, "--port", "70000", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--port must be between 0 and 65535, not 70000", result.stderr)

    @defer.inlineCallbacks
    def test_helpShowsTheCommand(self):
        """--help prints the docstring: the tutorial's command line and the options."""
        result = yield self.run_script(self.SCRIPT, "--help")

        self.assertEqual(result.exit_code, 0)
        self.assertIn(self.COMMAND, result.stdout)
        for option in self.OPTIONS:
            self.assertIn(option, result.stdout)


class PoemFileServerMixin(ServerCommandLineMixin):
    """A poetry server's command line, which also names the poem file to serve."""

    ARGS = (poem("science.txt"),)
    STARTUP = f"Serving {poem('science.txt')}"

    @defer.inlineCallbacks
    def test_missingPoemFile(self):
        """A poem file that does not exist gives one line naming it and status 1."""
        result = yield self.run_script(self.SCRIPT, "poetry/no-such-poem.txt")

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            f"{self.program}: cannot read poetry/no-such-poem.txt:"
            " No such file or directory\n",
        )
        self.assertEqual(result.stdout, "")

    @defer.inlineCallbacks
    def test_noPoemFile(self):
        """Leaving out the poem file is a usage error."""
        result = yield self.run_script(self.SCRIPT)

        self.assertEqual(result.exit_code, 2)
        self.assertIn(
            "the following arguments are required: poetry-file", result.stderr
        )
