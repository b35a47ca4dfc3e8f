"""Part 11: the fast poetry server, twisted-server-1/fastpoetry.py."""

from twisted.internet import defer
from twisted.internet.protocol import ServerFactory
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    connect_protocol,
    fetch,
    load_script,
    poem,
    read_poem,
)
from tests.mixins import PoemFileServerMixin

SCRIPT = "twisted-server-1/fastpoetry.py"


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


class FastPoetryScriptTests(PoemFileServerMixin, ScriptTestCase):
    """The real script, started as a learner would start it."""

    SCRIPT = SCRIPT
    COMMAND = (
        "python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt"
    )

    @defer.inlineCallbacks
    def test_servesExactBytes(self):
        """A client receives the poem file's exact bytes, then the connection closes."""
        server = yield self.start_server(SCRIPT, poem("fascination.txt"))

        received = yield fetch(server.port)

        self.assertEqual(received, read_poem("fascination.txt"))

    @defer.inlineCallbacks
    def test_utf8Poem(self):
        """A poem with non-ASCII letters arrives intact, as UTF-8."""
        server = yield self.start_server(SCRIPT, poem("alla-sera.txt"))

        received = yield fetch(server.port)

        self.assertEqual(received, read_poem("alla-sera.txt"))
        self.assertIn("perché della fatal quïete", received.decode("utf-8"))

    @defer.inlineCallbacks
    def test_manyClientsAtOnce(self):
        """Fifty clients connecting together all get the whole poem."""
        server = yield self.start_server(SCRIPT, poem("ecstasy.txt"))

        poems = yield defer.gatherResults([fetch(server.port) for _ in range(50)])

        self.assertEqual(set(poems), {read_poem("ecstasy.txt")})
