"""Part 11: the fast poetry server, twisted-server-1/fastpoetry.py."""

from twisted.internet import defer
from twisted.internet.protocol import ServerFactory
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ROOT,
    ScriptTestCase,
    connect_protocol,
    fetch,
    load_script,
    poem_bytes,
    poem_path,
)
from tests.mixins import PoemFileServerMixin, ServerEndToEndMixin
from tools import launch

SCRIPT = launch.FASTPOETRY


class PoetryProtocolTests(SynchronousTestCase):
    """The protocol alone, on a StringTransport: no sockets."""

    def setUp(self):
        self.fastpoetry = load_script(SCRIPT)
        self.factory = self.fastpoetry.PoetryFactory(b"A poem,\nin bytes.\n")

    def connect(self):
        return connect_protocol(self.factory)[1]

    def test_sendsPoemOnConnect(self):
        """A new connection is sent the whole poem straight away."""
        transport = self.connect()

        self.assertEqual(transport.value(), b"A poem,\nin bytes.\n")

    def test_closesAfterPoem(self):
        """The server closes the connection once the poem is queued."""
        transport = self.connect()

        self.assertTrue(transport.disconnecting)

    def test_everyClientGetsThePoem(self):
        """Each connection gets its own protocol and its own copy of the poem."""
        first, second = self.connect(), self.connect()

        self.assertEqual(first.value(), second.value())
        self.assertEqual(second.value(), b"A poem,\nin bytes.\n")

    def test_factoryIsServerFactory(self):
        """PoetryFactory is a ServerFactory, as listenTCP expects."""
        self.assertIsInstance(self.factory, ServerFactory)


class FastPoetryCommandLineTests(PoemFileServerMixin, SynchronousTestCase):
    SCRIPT = SCRIPT
    COMMAND = (
        "python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt"
    )


class ReadPoemTests(SynchronousTestCase):
    """read_poem, which every poetry server shares, on real files."""

    def test_exactBytes(self):
        """A poem is read as the file's exact bytes, UTF-8 left alone."""
        read = load_script(SCRIPT).read_poem

        self.assertEqual(
            read(ROOT / poem_path("alla-sera.txt")), poem_bytes("alla-sera.txt")
        )


class FastPoetryEndToEndTests(ServerEndToEndMixin, ScriptTestCase):
    """The real script, started as a learner would start it."""

    SCRIPT = SCRIPT
    ARGS = (poem_path("alla-sera.txt"),)
    STARTUP = f"Serving {poem_path('alla-sera.txt')}"
    REQUEST = b""
    ANSWER = poem_bytes("alla-sera.txt")

    @defer.inlineCallbacks
    def test_manyClientsAtOnce(self):
        """Fifty clients connecting together all get the whole poem."""
        server = yield self.start_server(SCRIPT, poem_path("ecstasy.txt"))

        poems = yield defer.gatherResults([fetch(server.port) for _ in range(50)])

        self.assertEqual(set(poems), {poem_bytes("ecstasy.txt")})
