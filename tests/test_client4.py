"""Part 14's poetry client, twisted-client-4/get-poetry.py (client 4.0)."""

import inspect

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    free_port,
    listen_silent,
    load_script,
    poem,
    read_poem,
)

CLIENT = "twisted-client-4/get-poetry.py"
FASTPOETRY = "twisted-server-1/fastpoetry.py"
PROXY = "twisted-server-1/poetry-proxy.py"


def as_printed(name):
    """The text of poetry/<name>, as the client prints it (with print's newline)."""
    return read_poem(name).decode("utf-8") + "\n"


class SameAsClient6Tests(SynchronousTestCase):
    """The classes the text calls unchanged are the same code as client 6's."""

    def test_sharedCodeIdentical(self):
        """PoetryProtocol, PoetryClientFactory, get_poetry and helpers match client 6."""
        client4 = load_script(CLIENT)
        client6 = load_script("twisted-client-6/get-poetry.py")

        for name in [
            "parse_address",
            "PoetryProtocol",
            "PoetryClientFactory",
            "get_poetry",
            "timed_out",
        ]:
            self.assertEqual(
                inspect.getsource(getattr(client4, name)),
                inspect.getsource(getattr(client6, name)),
                name,
            )


class Client4EndToEndTests(ScriptTestCase):
    """The real client against real servers, each in its own process."""

    @defer.inlineCallbacks
    def serve(self, name):
        proc = yield self.start_server(FASTPOETRY, "--port", "0", poem(name))
        return proc.port

    @defer.inlineCallbacks
    def test_onePoem(self):
        """The client prints the poem exactly as served, UTF-8 intact, and exits 0."""
        port = yield self.serve("alla-sera.txt")

        proc = yield self.run_script(CLIENT, port)

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stdout, as_printed("alla-sera.txt"))
        self.assertEqual(proc.stderr, "")

    @defer.inlineCallbacks
    def test_severalPoems(self):
        """Given several servers, the client prints every poem."""
        first = yield self.serve("ecstasy.txt")
        second = yield self.serve("science.txt")

        proc = yield self.run_script(CLIENT, first, f"localhost:{second}")

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertIn(as_printed("ecstasy.txt"), proc.stdout)
        self.assertIn(as_printed("science.txt"), proc.stdout)
        self.assertEqual(
            len(proc.stdout),
            len(as_printed("ecstasy.txt")) + len(as_printed("science.txt")),
        )

    @defer.inlineCallbacks
    def test_serverDown(self):
        """A server that is down is reported on stderr; the other poem still prints."""
        up = yield self.serve("science.txt")

        proc = yield self.run_script(CLIENT, free_port(), up)

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, as_printed("science.txt"))
        self.assertRegex(proc.stderr, r"^Poem failed: Connection was refused .*\n$")

    @defer.inlineCallbacks
    def test_silentServer(self):
        """A server that accepts and never sends times out; the client finishes."""
        up = yield self.serve("science.txt")
        silent = listen_silent(self)

        proc = yield self.run_script(CLIENT, "--timeout", "0.5", silent.port, up)

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, as_printed("science.txt"))
        self.assertEqual(proc.stderr, "Poem failed: Timed out after 0.5 s.\n")

    @defer.inlineCallbacks
    def test_throughProxy(self):
        """Through the Part 14 proxy, the client gets the poem twice, the same."""
        upstream = yield self.serve("fascination.txt")
        proxy = yield self.start_server(PROXY, "--port", "0", upstream)

        first = yield self.run_script(CLIENT, proxy.port)
        second = yield self.run_script(CLIENT, proxy.port)

        self.assertEqual(first.stdout, as_printed("fascination.txt"))
        self.assertEqual(second.stdout, as_printed("fascination.txt"))
        self.assertEqual((first.exit_code, second.exit_code), (0, 0))

    @defer.inlineCallbacks
    def test_noAddress(self):
        """With no address the client prints its help and exits with status 2."""
        proc = yield self.run_script(CLIENT)

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("Get Poetry Now! client, Twisted version 4.0", proc.stderr)
        self.assertIn("twisted-client-4/get-poetry.py 10000", proc.stderr)

    @defer.inlineCallbacks
    def test_badAddress(self):
        """A malformed address is a usage error naming it."""
        proc = yield self.run_script(CLIENT, "localhost:port")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("invalid address 'localhost:port'", proc.stderr)

    @defer.inlineCallbacks
    def test_badTimeout(self):
        """A time-out that is not positive is a usage error."""
        proc = yield self.run_script(CLIENT, "--timeout", "0", "10000")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("--timeout must be more than 0", proc.stderr)
