"""Part 12: the poetry transformation server, twisted-server-1/transformedpoetry.py."""

from twisted.internet import defer
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    connect_protocol,
    dead_port,
    fetch,
    load_script,
    logged_messages,
    netstring,
    path_with_python_only,
    poem_bytes,
)
from tests.mixins import ServerCommandLineMixin, ServerEndToEndMixin
from tools import launch

SCRIPT = launch.TRANSFORM
MAX_LENGTH = 99999  # NetstringReceiver.MAX_LENGTH

# Requests that must each close their connection with no reply and one line
# in the log, while the server goes on serving everyone else.
BAD_REQUESTS = {
    "malformed netstring": b"12:cummingsify.HI;",
    "length above MAX_LENGTH": b"%d:cummingsify." % (MAX_LENGTH + 1,),
    "no dot": b"11:cummingsify,",
    "unknown transform": b"13:shakespeare.HI,",
    "__init__": b"11:__init__.HI,",
    "transform": b"12:transform.HI,",
    "_xform": b"9:_xform.HI,",
    "xform_cummingsify": b"20:xform_cummingsify.HI,",
    "not UTF-8": b"16:cummingsify.\xff\xfe\xfd\xfc,",
    # Bad only once the client stops sending: the test half-closes it.
    "cut off half-way": b"30:cummingsify.HALF A POE",
    "random garbage": b"\x00\x9f GET / HTTP/1.1\r\n\r\n",
}

GOOD_REQUEST = b"27:cummingsify.HERE IS MY POEM,"
GOOD_ANSWER = b"15:here is my poem,"


class TransformServiceTests(SynchronousTestCase):
    def setUp(self):
        self.service = load_script(SCRIPT).TransformService()

    def test_cummingsifyLowersCase(self):
        """cummingsify lower-cases the poem."""
        self.assertEqual(self.service.cummingsify("HERE Is My Poem"), "here is my poem")

    def test_cummingsifyLowersNonAscii(self):
        """cummingsify works on text, so capitals beyond ASCII are lowered too."""
        self.assertEqual(
            self.service.cummingsify("ÀLLA SERA, QUÏETE"), "àlla sera, quïete"
        )


class TransformFactoryTests(SynchronousTestCase):
    def setUp(self):
        self.module = load_script(SCRIPT)
        self.factory = self.module.TransformFactory(self.module.TransformService())
        self.log = self.enterContext(logged_messages())

    def test_knownTransform(self):
        """A transform with an xform_ method is applied to the poem."""
        self.assertEqual(self.factory.transform("cummingsify", "A POEM"), "a poem")

    def test_unknownTransform(self):
        """An unknown transform name gives None and one line in the log."""
        self.assertIsNone(self.factory.transform("shakespeare", "A POEM"))
        self.assertEqual(self.log, ["no such transform: 'shakespeare'"])

    def test_otherAttributesUnreachable(self):
        """Names of other attributes cannot be called through transform."""
        for name in ["__init__", "transform", "_xform", "xform_cummingsify", "service"]:
            self.assertIsNone(self.factory.transform(name, "A POEM"), name)

    def test_failingTransform(self):
        """A transform that raises gives None, and the error is logged."""

        class BrokenService:
            def cummingsify(self, poem):
                raise ValueError("the muse is out")

        factory = self.module.TransformFactory(BrokenService())

        self.assertIsNone(factory.transform("cummingsify", "A POEM"))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)


class TransformProtocolTests(SynchronousTestCase):
    """The protocol on a StringTransport: no sockets."""

    def setUp(self):
        self.module = load_script(SCRIPT)
        self.factory = self.module.TransformFactory(self.module.TransformService())
        self.log = self.enterContext(logged_messages())

    def connect(self):
        return connect_protocol(self.factory)

    def close(self, proto, reason=ConnectionDone):
        proto.connectionLost(Failure(reason()))

    def test_transformsAndCloses(self):
        """A valid request gets the transformed poem as a netstring, then the close."""
        proto, transport = self.connect()

        proto.dataReceived(GOOD_REQUEST)

        self.assertEqual(transport.value(), GOOD_ANSWER)
        self.assertTrue(transport.disconnecting)

    def test_requestInPieces(self):
        """A request that arrives a byte at a time is answered once it is whole."""
        proto, transport = self.connect()

        for i in range(len(GOOD_REQUEST)):
            self.assertEqual(transport.value(), b"")
            proto.dataReceived(GOOD_REQUEST[i : i + 1])

        self.assertEqual(transport.value(), GOOD_ANSWER)

    def test_utf8RoundTrip(self):
        """A UTF-8 poem comes back lower-cased and still UTF-8."""
        proto, transport = self.connect()
        poem = poem_bytes("alla-sera.txt")

        proto.dataReceived(netstring(b"cummingsify." + poem))

        self.assertEqual(
            transport.value(), netstring(poem.decode("utf-8").lower().encode("utf-8"))
        )

    def test_oneRequestPerConnection(self):
        """A second request on the same connection is not answered."""
        proto, transport = self.connect()

        proto.dataReceived(GOOD_REQUEST + GOOD_REQUEST)

        self.assertEqual(transport.value(), GOOD_ANSWER)

    def test_badRequests(self):
        """The server closes each bad request's connection, with no reply and one log line."""
        for name, request in BAD_REQUESTS.items():
            self.log.clear()
            proto, transport = self.connect()

            proto.dataReceived(request)
            if name == "cut off half-way":
                proto.readConnectionLost()  # the client has finished sending

            self.assertTrue(transport.disconnecting, name)
            # Closed before a byte was written: the ServerGuard around the
            # protocol in the script makes that a reset.
            self.close(proto, ConnectionAborted)
            self.assertEqual(transport.value(), b"", name)
            self.assertEqual(len(self.log), 1, (name, self.log))

    def test_resetAtOnce(self):
        """A client that goes away without a word is logged once."""
        proto, transport = self.connect()

        self.close(proto)

        self.assertEqual(self.log, ["connection closed before a whole request arrived"])

    def test_halfClosedPartialRequest(self):
        """A client that stops sending half-way is logged once, guarded or not."""
        half_way = "bad request: the client stopped sending half-way;"
        for guarded, reason in [(False, ConnectionDone), (True, ConnectionAborted)]:
            self.log.clear()
            factory = self.factory
            if guarded:
                factory = self.module.ServerGuard(factory, 0)
            proto, transport = connect_protocol(factory)

            proto.dataReceived(BAD_REQUESTS["cut off half-way"])
            proto.readConnectionLost()
            # Without the guard the protocol closes; the guard resets instead.
            self.assertEqual(
                (transport.disconnecting, transport.disconnected), (True, guarded)
            )
            proto.connectionLost(Failure(reason()))

            self.assertEqual(transport.value(), b"")
            self.assertEqual(self.log, [f"{half_way} closing the connection"], guarded)


class TransformScriptTests(ScriptTestCase):
    """The real server, bad clients included."""

    SCRIPT = SCRIPT  # or modern/transformedpoetry.py (tests/test_modern_servers.py)

    @defer.inlineCallbacks
    def setUp(self):
        self.server = yield self.start_server(self.SCRIPT, "--port", "0")

    def logged(self, count):
        """Wait until the server has logged `count` refused requests."""
        return self.server.wait_for(
            rb"bad request|no such transform|connection closed before", count=count
        )

    @defer.inlineCallbacks
    def test_badRequestsThenGood(self):
        """Every bad request is reset unanswered and logged once; service goes on."""
        for count, (name, request) in enumerate(BAD_REQUESTS.items(), start=1):
            answer = yield fetch(self.server.port, request, half_close=True)
            self.assertEqual(answer, b"", name)
            yield self.logged(count)

            answer = yield fetch(self.server.port, GOOD_REQUEST)
            self.assertEqual(answer, GOOD_ANSWER, name)

        self.assertEqual(self.logged_lines(), len(BAD_REQUESTS))

    @defer.inlineCallbacks
    def test_concurrentClients(self):
        """Many clients at once, good and bad mixed, each get the right answer."""
        requests = [GOOD_REQUEST, BAD_REQUESTS["no dot"]] * 25

        answers = yield defer.gatherResults(
            [fetch(self.server.port, r) for r in requests]
        )

        self.assertEqual(answers, [GOOD_ANSWER, b""] * 25)

    def logged_lines(self):
        return sum(
            1
            for line in self.server.stderr.splitlines()
            if "bad request" in line
            or "no such transform" in line
            or "closed before" in line
        )


class TransformCommandLineTests(ServerCommandLineMixin, SynchronousTestCase):
    """The server's command line: help, bad --port, port in use."""

    SCRIPT = SCRIPT
    COMMAND = "python twisted-server-1/transformedpoetry.py --port 11000"


class TransformEndToEndTests(ServerEndToEndMixin, ScriptTestCase):
    """The real server: a UTF-8 poem from a client that half-closes, as netcat -N does."""

    SCRIPT = SCRIPT
    STARTUP = "Serving transforms"
    REQUEST = netstring(b"cummingsify." + poem_bytes("alla-sera.txt"))
    ANSWER = netstring(poem_bytes("alla-sera.txt").decode("utf-8").lower().encode())


class TransformTestScriptTests(ScriptTestCase):
    """twisted-server-1/transform-test, on a machine with no netcat."""

    @defer.inlineCallbacks
    def test_printsTheAnswer(self):
        """transform-test prints the netstring the tutorial shows."""
        server = yield self.start_server(SCRIPT)
        no_netcat = path_with_python_only(self)

        result = yield launch.spawn(
            [launch.script("twisted-server-1/transform-test"), str(server.port)],
            env=launch.child_env(PATH=no_netcat),
        )

        self.assertEqual(
            (result.exit_code, result.stdout), (0, "15:here is my poem,\n")
        )

    @defer.inlineCallbacks
    def test_serverDown(self):
        """With nothing listening, transform-test says so and fails."""
        no_netcat = path_with_python_only(self)

        result = yield launch.spawn(
            [launch.script("twisted-server-1/transform-test"), str(dead_port(self))],
            env=launch.child_env(PATH=no_netcat),
        )

        self.assertEqual(result.exit_code, 1)
        self.assertIn("cannot talk to localhost", result.stderr)

    @defer.inlineCallbacks
    def test_usage(self):
        """Without a port, transform-test prints its usage and exits 2."""
        result = yield launch.spawn([launch.script("twisted-server-1/transform-test")])

        self.assertEqual(result.exit_code, 2)
        self.assertIn("usage:", result.stderr)
