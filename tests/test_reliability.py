"""Servers under a client that hangs up in the middle of a slow or large send.

The servers run in the test's own reactor (listenTCP on 127.0.0.1, port 0),
wrapped in a ConnectionCounter, so the test can see every server-side
connection close and check that nothing is left behind: no open transport,
no reader or writer in the reactor, no pending delayed call.
"""

import gc
import weakref

from twisted.internet import defer, protocol, task
from twisted.trial.unittest import TestCase

from tests.helpers import (
    fetch,
    first_bytes_then_reset,
    large_poem,
    listen_counted,
    load_script,
    poem_bytes,
)

# Far larger than the socket buffers on both sides, so the server is still
# writing when the first client hangs up.
LARGE_POEM = large_poem(300_000)


class ReliabilityMixin:
    def listen(self, factory):
        """Serve `factory` in this reactor, counted, on a free loopback port."""
        self.counter = listen_counted(self, factory)
        return self.counter.port

    def assertNothingLeftBehind(self):
        """No server connection is open, and the reactor holds none of them."""
        from twisted.internet import reactor

        self.assertEqual(self.counter.open, 0)
        held = set(reactor.getReaders()) | set(reactor.getWriters())
        self.assertEqual([t for t in self.counter.transports if t in held], [])
        # Only the server's own calls: trial keeps one for the test's time-out.
        server_protocol = self.counter.wrappedFactory.protocol
        pending = [
            call
            for call in reactor.getDelayedCalls()
            if isinstance(getattr(call.func, "__self__", None), server_protocol)
        ]
        self.assertEqual(pending, [])


class FastPoetryLargePoemTests(ReliabilityMixin, TestCase):
    """fastpoetry.py sending a poem far larger than the socket buffers."""

    timeout = 15

    def setUp(self):
        fastpoetry = load_script("twisted-server-1/fastpoetry.py")
        built = self.built = []

        class RecordingFactory(fastpoetry.PoetryFactory):
            def buildProtocol(self, addr):
                proto = super().buildProtocol(addr)
                built.append(weakref.ref(proto))
                return proto

        self.port = self.listen(RecordingFactory(LARGE_POEM))

    @defer.inlineCallbacks
    def test_clientGoneMidSend(self):
        """A client that resets mid-poem is dropped; a client after it gets every byte."""
        first = yield first_bytes_then_reset(self.port)
        whole = yield fetch(self.port)

        self.assertTrue(LARGE_POEM.startswith(first))
        self.assertLess(len(first), len(LARGE_POEM))
        self.assertEqual(whole, LARGE_POEM)

    @defer.inlineCallbacks
    def test_othersServedMeanwhile(self):
        """While several clients hang up mid-poem, the others are served in full."""
        results = yield defer.gatherResults(
            [first_bytes_then_reset(self.port) for _ in range(3)]
            + [fetch(self.port) for _ in range(3)]
        )

        self.assertEqual(results[3:], [LARGE_POEM] * 3)

    @defer.inlineCallbacks
    def test_nothingLeftBehind(self):
        """Once every client is gone, no server transport is open or held by the reactor."""
        yield first_bytes_then_reset(self.port)
        yield fetch(self.port)
        yield first_bytes_then_reset(self.port)

        yield self.counter.whenAllClosed()

        self.assertEqual(self.counter.made, 3)
        self.assertNothingLeftBehind()

    @defer.inlineCallbacks
    def test_protocolIsReleased(self):
        """The protocol of a client that left mid-poem can be garbage-collected."""
        yield first_bytes_then_reset(self.port)
        yield self.counter.whenAllClosed()

        gc.collect()

        self.assertEqual(len(self.built), 1)
        self.assertIsNone(self.built[0]())


class SlowPoetryDisconnectTests(ReliabilityMixin, TestCase):
    """slowpoetry.py over real sockets, with a Clock driving its delays."""

    timeout = 15

    def setUp(self):
        slowpoetry = load_script("twisted-server-1/slowpoetry.py")
        self.poem = poem_bytes("ecstasy.txt")
        self.clock = task.Clock()
        clock = self.clock

        class ClockedPoetryProtocol(slowpoetry.PoetryProtocol):
            callLater = staticmethod(clock.callLater)

        factory = slowpoetry.PoetryFactory(self.poem, num_bytes=100, delay=1.0)
        factory.protocol = ClockedPoetryProtocol
        self.port = self.listen(factory)

    def fetch_advancing_clock(self):
        """Fetch the poem, moving the clock on one delay each time a piece arrives."""
        from twisted.internet import reactor

        clock = self.clock
        done = defer.Deferred()

        class Reader(protocol.Protocol):
            received = b""

            def dataReceived(self, data):
                self.received += data
                clock.advance(1.0)

            def connectionLost(self, reason):
                done.callback(self.received)

        connecting = protocol.ClientCreator(reactor, Reader).connectTCP(
            "127.0.0.1", self.port
        )
        return connecting.addCallback(lambda _: done)

    @defer.inlineCallbacks
    def test_clientGoneMidPoem(self):
        """A client that resets after the first piece leaves no delayed call behind."""
        first = yield first_bytes_then_reset(self.port)
        yield self.counter.whenAllClosed()

        self.assertEqual(first, self.poem[:100])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNothingLeftBehind()

    @defer.inlineCallbacks
    def test_othersStillServed(self):
        """After one client leaves mid-poem, the next gets the whole poem, then nothing is left."""
        yield first_bytes_then_reset(self.port)

        whole = yield self.fetch_advancing_clock()
        yield self.counter.whenAllClosed()

        self.assertEqual(whole, self.poem)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNothingLeftBehind()
