"""Part 14's poetry client, twisted-client-4/get-poetry.py (client 4.0)."""

import inspect

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    assert_printed,
    free_port,
    listen_silent,
    load_script,
    poem_text,
    serve_poem,
)
from tests.mixins import ClientUsageMixin

CLIENT = "twisted-client-4/get-poetry.py"
PROXY = "twisted-server-1/poetry-proxy.py"


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


class Client4EndToEndTests(ClientUsageMixin, ScriptTestCase):
    """The real client against real servers, each in its own process."""

    CLIENT = CLIENT
    VERSION = "4.0 (Part 8, run again in Part 14)"
    EXAMPLE = "10000"

    @defer.inlineCallbacks
    def test_onePoem(self):
        """The client prints the poem exactly as served, UTF-8 intact, and exits 0."""
        port = yield serve_poem(self, "alla-sera.txt")

        proc = yield self.run_script(CLIENT, port)

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stdout, poem_text("alla-sera.txt") + "\n")
        self.assertEqual(proc.stderr, "")

    @defer.inlineCallbacks
    def test_severalPoems(self):
        """Given several servers, the client prints every poem."""
        first = yield serve_poem(self, "ecstasy.txt")
        second = yield serve_poem(self, "science.txt")

        proc = yield self.run_script(CLIENT, first, f"localhost:{second}")

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        assert_printed(
            self, proc.stdout, [poem_text("ecstasy.txt"), poem_text("science.txt")]
        )

    @defer.inlineCallbacks
    def test_serverDown(self):
        """A server that is down is reported on stderr; the other poem still prints."""
        up = yield serve_poem(self, "science.txt")

        proc = yield self.run_script(CLIENT, free_port(), up)

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, poem_text("science.txt") + "\n")
        self.assertRegex(proc.stderr, r"^Poem failed: Connection was refused .*\n$")

    @defer.inlineCallbacks
    def test_silentServer(self):
        """A server that accepts and never sends times out; the client finishes."""
        up = yield serve_poem(self, "science.txt")
        silent = listen_silent(self)

        proc = yield self.run_script(CLIENT, "--timeout", "0.5", silent.port, up)

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, poem_text("science.txt") + "\n")
        self.assertEqual(proc.stderr, "Poem failed: Timed out after 0.5 s.\n")

    @defer.inlineCallbacks
    def test_throughProxy(self):
        """Through the Part 14 proxy, the client gets the poem twice, the same."""
        upstream = yield serve_poem(self, "fascination.txt")
        proxy = yield self.start_server(PROXY, "--port", "0", upstream)

        first = yield self.run_script(CLIENT, proxy.port)
        second = yield self.run_script(CLIENT, proxy.port)

        self.assertEqual(first.stdout, poem_text("fascination.txt") + "\n")
        self.assertEqual(second.stdout, poem_text("fascination.txt") + "\n")
        self.assertEqual((first.exit_code, second.exit_code), (0, 0))
