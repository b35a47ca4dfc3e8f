"""Part 11, exercise 3: the slow poetry server, twisted-server-1/slowpoetry.py."""

from twisted.internet import defer, task
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    connect_protocol,
    first_bytes_then_reset,
    load_script,
    poem_bytes,
    poem_path,
)
from tests.mixins import PoemFileServerMixin, ServerEndToEndMixin, ServingReactor
from tools import launch

SCRIPT = launch.SLOWPOETRY
POEM = b"Twenty bytes a poem."


class SlowPoetryProtocolTests(SynchronousTestCase):
    """The protocol on a StringTransport, with a Clock for time: no sockets, no waiting."""

    def setUp(self):
        self.slowpoetry = load_script(SCRIPT)
        self.clock = task.Clock()
        self.factory = self.slowpoetry.PoetryFactory(POEM, num_bytes=8, delay=1.0)

    def connect(self):
        return connect_protocol(self.factory, self.clock)

    def test_firstPieceAtOnce(self):
        """A new connection gets the first --num-bytes of the poem straight away."""
        _, transport = self.connect()

        self.assertEqual(transport.value(), b"Twenty b")

    def test_nothingMoreBeforeTheDelay(self):
        """The next piece waits for the whole delay."""
        _, transport = self.connect()

        self.clock.advance(0.99)

        self.assertEqual(transport.value(), b"Twenty b")

    def test_onePiecePerDelay(self):
        """Each delay adds one more piece, until the whole poem is sent."""
        _, transport = self.connect()

        self.clock.advance(1.0)
        second = transport.value()
        self.clock.advance(1.0)

        self.assertEqual(second, b"Twenty bytes a p")
        self.assertEqual(transport.value(), POEM)

    def test_closesOneDelayAfterTheLastPiece(self):
        """The connection closes one delay after the last piece, as the blocking server does."""
        _, transport = self.connect()

        self.clock.advance(1.0)
        self.clock.advance(1.0)
        open_after_last_piece = not transport.disconnecting
        self.clock.advance(1.0)

        self.assertTrue(open_after_last_piece)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_wholePoemInOnePiece(self):
        """With --num-bytes larger than the poem, the poem goes out in one write."""
        self.factory.num_bytes = 1000
        _, transport = self.connect()

        self.assertEqual(transport.value(), POEM)

    def test_clientGoneStopsWriting(self):
        """A client that hangs up mid-poem leaves no delayed call and gets no more writes."""
        proto, transport = self.connect()

        proto.connectionLost(Failure(ConnectionLost()))
        self.clock.advance(10.0)

        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(transport.value(), b"Twenty b")

    def test_othersStillServed(self):
        """When one client hangs up mid-poem, the others still get the whole poem."""
        gone, _ = self.connect()
        _, transport = self.connect()

        gone.connectionLost(Failure(ConnectionLost()))
        self.clock.advance(1.0)
        self.clock.advance(1.0)
        self.clock.advance(1.0)

        self.assertEqual(transport.value(), POEM)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_defaultsOfTheBlockingServer(self):
        """The factory's defaults are the blocking slow server's: 10 bytes every 0.7 s."""
        factory = self.slowpoetry.PoetryFactory(POEM)

        self.assertEqual((factory.num_bytes, factory.delay), (10, 0.7))


class SlowPoetryCommandLineTests(PoemFileServerMixin, SynchronousTestCase):
    SCRIPT = SCRIPT
    COMMAND = "python twisted-server-1/slowpoetry.py --port 10001 poetry/ecstasy.txt"
    OPTIONS = PoemFileServerMixin.OPTIONS + ("--num-bytes NUM_BYTES", "--delay DELAY")

    def test_badNumBytes(self):
        """--num-bytes below 1 is a usage error: status 2 and a clear message."""
        result = self.run_main("--num-bytes", "0", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("usage: slowpoetry.py", result.stderr)
        self.assertIn("--num-bytes must be at least 1, not 0", result.stderr)

    def test_badDelay(self):
        """A delay that is not a number is a usage error."""
        result = self.run_main("--delay", "soon", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("invalid float value: 'soon'", result.stderr)

    def test_negativeDelay(self):
        """A negative delay is refused before anything is started."""
        result = self.run_main("--delay=-1", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--delay must not be negative, not -1.0", result.stderr)

    def test_nanDelay(self):
        """A delay that is not a number (nan) is refused, not served."""
        result = self.run_main("--delay", "nan", *self.ARGS)

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--delay must not be negative, not nan", result.stderr)

    def test_delayNotShorterThanTimeout(self):
        """A delay the guard would reset every client for is a usage error."""
        for delay, timeout in [("60", "60"), ("5", "2")]:
            result = self.run_main("--delay", delay, "--timeout", timeout, *self.ARGS)

            self.assertEqual(result.exit_code, 2)
            self.assertIn(
                f"--delay ({delay}) must be less than --timeout ({timeout})",
                result.stderr,
            )

    def test_longDelayWithoutTimeout(self):
        """With --timeout 0 (no time-out), any delay will do."""
        reactor = ServingReactor()

        result = self.run_main(
            "--delay", "600", "--timeout", "0", *self.ARGS, reactor=reactor
        )

        self.assertEqual(result.exit_code, 0)
        self.assertEqual(reactor.listening[0].factory.wrappedFactory.delay, 600)


class SlowPoetryEndToEndTests(ServerEndToEndMixin, ScriptTestCase):
    """The real script: pieces, half-close, and a client that leaves."""

    SCRIPT = SCRIPT
    ARGS = ("--num-bytes", "300", "--delay", "0.01", poem_path("alla-sera.txt"))
    STARTUP = f"Serving {poem_path('alla-sera.txt')}"
    REQUEST = b""
    ANSWER = poem_bytes("alla-sera.txt")

    @defer.inlineCallbacks
    def test_clientThatLeavesIsLogged(self):
        """A client that hangs up mid-poem is logged, and the next client is served."""
        server = yield self.start_server(
            SCRIPT,
            *("--num-bytes", "10", "--delay", "60", "--timeout", "0"),
            poem_path("science.txt"),
        )

        first = yield first_bytes_then_reset(server.port)
        yield server.wait_for(rb"lost after 10 of \d+ bytes; stopped sending")
        second = yield first_bytes_then_reset(server.port)

        self.assertEqual(first, poem_bytes("science.txt")[:10])
        self.assertEqual(second, first)
