"""Part 11: the fast poetry server, twisted-server-1/fastpoetry.py."""

import re

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import ServerFactory
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase, fetch, load_script, poem, read_poem

SCRIPT = "twisted-server-1/fastpoetry.py"


class PoetryProtocolTests(SynchronousTestCase):
    """The protocol alone, on a StringTransport: no sockets."""

    def setUp(self):
        self.fastpoetry = load_script(SCRIPT)
        self.factory = self.fastpoetry.PoetryFactory(b"A poem,\nin bytes.\n")

    def connect(self):
        proto = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 12345))
        transport = StringTransport()
        proto.makeConnection(transport)
        return transport

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


class FastPoetryScriptTests(ScriptTestCase):
    """The real script, started as a learner would start it."""

    def test_servingLine(self):
        """The server prints the poem and the address it really listens on."""
        d = self.start_server(SCRIPT, "--port", "0", poem("fascination.txt"))

        def started(server):
            self.assertRegex(
                server.stdout,
                r"^Serving poetry/fascination.txt on IPv4Address\(type='TCP',"
                rf" host='127.0.0.1', port={server.port}\)\.\n$",
            )

        return d.addCallback(started)

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

    @defer.inlineCallbacks
    def test_missingPoemFile(self):
        """A poem file that does not exist gives one line naming it and status 1."""
        result = yield self.run_script(SCRIPT, "poetry/no-such-poem.txt")

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            "fastpoetry.py: cannot read poetry/no-such-poem.txt:"
            " No such file or directory\n",
        )
        self.assertEqual(result.stdout, "")

    @defer.inlineCallbacks
    def test_portInUse(self):
        """A port that is taken gives one clear line and status 1, not a traceback."""
        from twisted.internet import reactor

        taken = reactor.listenTCP(0, ServerFactory(), interface="127.0.0.1")
        self.addCleanup(taken.stopListening)

        result = yield self.run_script(
            SCRIPT, "--port", taken.getHost().port, poem("science.txt")
        )

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            f"fastpoetry.py: cannot listen on localhost:{taken.getHost().port}:"
            " Address already in use\n",
        )

    @defer.inlineCallbacks
    def test_badPort(self):
        """A port that is not a number is a usage error: status 2 and the usage line."""
        result = yield self.run_script(SCRIPT, "--port", "ten", poem("science.txt"))

        self.assertEqual(result.exit_code, 2)
        self.assertIn("usage: fastpoetry.py", result.stderr)
        self.assertIn("invalid int value: 'ten'", result.stderr)

    @defer.inlineCallbacks
    def test_portOutOfRange(self):
        """A port above 65535 is refused before anything is started."""
        result = yield self.run_script(SCRIPT, "--port", "70000", poem("science.txt"))

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--port must be between 0 and 65535", result.stderr)

    @defer.inlineCallbacks
    def test_noPoemFile(self):
        """Leaving out the poem file is a usage error."""
        result = yield self.run_script(SCRIPT)

        self.assertEqual(result.exit_code, 2)
        self.assertIn(
            "the following arguments are required: poetry-file", result.stderr
        )

    @defer.inlineCallbacks
    def test_helpShowsTheCommand(self):
        """--help prints the docstring, with the tutorial's command line."""
        result = yield self.run_script(SCRIPT, "--help")

        self.assertEqual(result.exit_code, 0)
        self.assertIn(
            "python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt",
            result.stdout,
        )
        self.assertTrue(re.search(r"--iface IFACE", result.stdout))
