"""The ServerGuard that every server and proxy wraps around its factory.

Every script carries the same copy (tests/test_stages.py checks that), so the
tests here run on fastpoetry.py's. Unit tests use a StringTransport and a
task.Clock; the end-to-end tests at the bottom attack a real fastpoetry.py
over loopback.
"""

import os
import resource

from twisted.internet import defer, error, protocol, task
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.python import log, reflect
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    CLIENT_ADDR,
    FASTPOETRY,
    ScriptTestCase,
    connect_protocol,
    drain,
    large_poem,
    load_script,
    logged_messages,
    poem_bytes,
    poem_path,
    receive,
    slow_readers,
)
from tools import launch


class Silent(protocol.Protocol):
    """A server protocol that writes only when the test tells it to."""


class SilentFactory(protocol.Factory):
    protocol = Silent
    noisy = False


class ServerGuardTests(SynchronousTestCase):
    """The guard around a factory, with a Clock for time: no sockets, no waiting."""

    def setUp(self):
        self.module = load_script(FASTPOETRY)
        self.clock = task.Clock()
        self.log = self.enterContext(logged_messages())

    def guard(self, factory=None, timeout=4.0, **kwargs):
        guard = self.module.ServerGuard(factory or SilentFactory(), timeout, **kwargs)
        guard.clock = self.clock
        guard.doStart()
        self.addCleanup(guard.doStop)
        return guard

    def close(self, proto, reason=error.ConnectionDone):
        proto.connectionLost(Failure(reason()))

    def test_servesThroughTheGuard(self):
        """The lesson's protocol sends its poem and closes, as without the guard."""
        guard = self.guard(self.module.PoetryFactory(b"A poem\n"))

        _, transport = connect_protocol(guard)

        self.assertEqual(transport.value(), b"A poem\n")
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)

    def test_silenceIsReset(self):
        """A connection with nothing written for the time-out is reset, and logged."""
        guard = self.guard()
        _, transport = connect_protocol(guard)

        self.clock.advance(4)
        self.assertFalse(transport.disconnected)
        self.clock.advance(1)

        self.assertTrue(transport.disconnected)
        self.assertEqual(
            self.log,
            ["nothing new to send to 127.0.0.1:12345 in 4 s; resetting the connection"],
        )

    def test_writesAreProgress(self):
        """A server that writes a little every three seconds is never reset."""
        guard = self.guard()
        proto, transport = connect_protocol(guard)

        for _ in range(10):
            self.clock.advance(3)
            proto.wrappedProtocol.transport.write(b"x")

        self.assertFalse(transport.disconnected)

    def test_writeSequenceIsProgress(self):
        """writeSequence counts as a write: progress, and a clean close after it."""
        guard = self.guard()
        proto, transport = connect_protocol(guard)

        for _ in range(10):
            self.clock.advance(3)
            proto.wrappedProtocol.transport.writeSequence([b"x", b"y"])
        proto.wrappedProtocol.transport.loseConnection()

        self.assertEqual(transport.value(), b"xy" * 10)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)

    def test_unansweredLeftAlone(self):
        """With reset_unanswered false, only a connection written to can time out."""
        guard = self.guard(reset_unanswered=False)
        proto, transport = connect_protocol(guard)

        self.clock.advance(3600)
        self.assertFalse(transport.disconnected)
        proto.wrappedProtocol.transport.write(b"the poem")
        self.clock.advance(4)
        self.assertFalse(transport.disconnected)
        self.clock.advance(1)

        self.assertTrue(transport.disconnected)
        self.assertEqual(
            self.log,
            ["nothing new to send to 127.0.0.1:12345 in 4 s; resetting the connection"],
        )

    def test_clientBytesAreNotProgress(self):
        """A client sending a byte now and then cannot keep its connection."""
        guard = self.guard()
        proto, transport = connect_protocol(guard)

        for _ in range(5):
            self.clock.advance(1)
            proto.dataReceived(b"x")

        self.assertTrue(transport.disconnected)

    def test_noTimeout(self):
        """With a time-out of 0, nothing is ever reset."""
        guard = self.guard(timeout=0)
        _, transport = connect_protocol(guard)

        self.clock.advance(3600)

        self.assertFalse(transport.disconnected)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_halfCloseKeepsConnection(self):
        """A client that stops sending still gets everything: the wrapper says so."""
        guard = self.guard()
        proto, transport = connect_protocol(guard)

        self.assertTrue(IHalfCloseableProtocol.providedBy(proto))
        proto.readConnectionLost()
        proto.wrappedProtocol.transport.write(b"still here")

        self.assertEqual(transport.value(), b"still here")
        self.assertFalse(transport.disconnecting)

    def test_closeWithoutWritingResets(self):
        """Closing before any byte was written resets the connection."""
        guard = self.guard()
        proto, transport = connect_protocol(guard)

        proto.wrappedProtocol.transport.loseConnection()

        self.assertTrue(transport.disconnected)

    def test_closeAfterWritingIsClean(self):
        """Closing after a write is an ordinary close, once the data is sent."""
        guard = self.guard()
        proto, transport = connect_protocol(guard)

        proto.wrappedProtocol.transport.write(b"poem")
        proto.wrappedProtocol.transport.loseConnection()

        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)

    def test_limitRefusesOncePerBurst(self):
        """Past the limit new clients are refused: one line when it starts, one after."""
        guard = self.guard()
        guard.limit = 2
        first, _ = connect_protocol(guard)
        connect_protocol(guard)

        refused = [guard.buildProtocol(CLIENT_ADDR) for _ in range(3)]
        self.close(first)
        connect_protocol(guard)

        self.assertEqual(refused, [None, None, None])
        self.assertEqual(
            self.log,
            [
                "2 connections open; refusing new clients",
                "accepting clients again (3 refused meanwhile)",
            ],
        )

    def test_limitFromDescriptors(self):
        """The limit is the descriptors left over, shared by each client's needs."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)

        one = self.guard()
        two = self.guard(descriptors_per_client=2)

        self.assertEqual(one.limit, soft - one.spare_descriptors)
        self.assertEqual(two.limit, (soft - two.spare_descriptors) // 2)

    def test_cutConnections(self):
        """Stopping resets every open connection and fires once they are closed."""
        guard = self.guard()
        connections = [connect_protocol(guard) for _ in range(2)]

        d = guard.cutConnections()

        self.assertTrue(all(t.disconnected for _, t in connections))
        self.assertNoResult(d)
        for proto, _ in connections:
            self.close(proto, error.ConnectionAborted)
        self.successResultOf(d)

    def test_cutNothing(self):
        """With no connection open, cutting fires at once."""
        self.successResultOf(self.guard().cutConnections())

    def test_logNamesTheLessonFactory(self):
        """Twisted's lines name the lesson's factory and protocol, not the guard."""
        guard = self.guard(self.module.PoetryFactory(b"A poem\n"))
        proto, _ = connect_protocol(guard)

        self.assertEqual(guard.logPrefix(), "PoetryFactory")
        self.assertEqual(proto.logPrefix(), "PoetryProtocol")

    def test_connectionMadeLogsUnderTheLessonFactory(self):
        """What the protocol logs as it connects is prefixed with its factory's name."""
        events = []
        log.addObserver(events.append)
        self.addCleanup(log.removeObserver, events.append)

        class Greeting(protocol.Protocol):
            def connectionMade(self):
                log.msg("hello")

        class GreetingFactory(protocol.Factory):
            protocol = Greeting
            noisy = False

        connect_protocol(self.guard(GreetingFactory()))

        [event] = [e for e in events if e["message"] == ("hello",)]
        self.assertEqual(event["system"], reflect.qual(GreetingFactory))


class BigPoemServerTests(ScriptTestCase):
    """A real fastpoetry.py with a poem far larger than the socket buffers."""

    SCRIPT = FASTPOETRY  # or modern/fastpoetry.py (tests/test_modern_servers.py)
    timeout = 20

    def setUp(self):
        self.poem_file = os.path.abspath(self.mktemp())
        with open(self.poem_file, "wb") as f:
            f.write(large_poem())

    @defer.inlineCallbacks
    def test_descriptorsRunOut(self):
        """Clients beyond the descriptors are refused, once logged; served again later."""
        server = yield self.start_server(
            self.SCRIPT,
            "--port",
            "0",
            self.poem_file,
            prefix=("prlimit", "--nofile=64"),
        )
        held = slow_readers(self, server.port, 40, read_first=False)
        yield server.wait_for(rb"refusing new clients")

        refused = yield receive(server.port)
        for sock in held:
            sock.close()
        yield server.wait_for(rb"accepting clients again")
        served = yield receive(server.port)

        self.assertEqual(refused, (b"", True))
        self.assertEqual(len(served[0]), os.path.getsize(self.poem_file))
        self.assertEqual(server.stderr.count("refusing new clients"), 1)

    @defer.inlineCallbacks
    def test_stuckClientsDropped(self):
        """Clients that take nothing are reset after the time-out, one line each."""
        server = yield self.start_server(
            self.SCRIPT, "--port", "0", "--timeout", "0.4", self.poem_file
        )
        held = slow_readers(self, server.port, 3, read_first=False)

        yield server.wait_for(rb"resetting the connection", count=3)

        for sock in held:
            sock.close()
        self.assertEqual(server.stderr.count("nothing new to send to 127.0.0.1:"), 3)

    @defer.inlineCallbacks
    def test_stopCutsPoems(self):
        """SIGTERM while poems are being sent resets them: no cut poem looks whole."""
        server = yield self.start_server(self.SCRIPT, "--port", "0", self.poem_file)
        readers = slow_readers(self, server.port, 5)

        server.send_signal("TERM")
        yield server.when_ended()
        results = [drain(reader) for reader in readers]

        size = os.path.getsize(self.poem_file)
        for received, clean in results:
            self.assertFalse(clean)
            self.assertLess(len(received), size)
        self.assertIn("stopping: resetting 5 connections", server.stderr)

    @defer.inlineCallbacks
    def test_halfClose(self):
        """A client that shuts down its side at once still gets the whole poem."""
        server = yield self.start_server(
            self.SCRIPT, "--port", "0", poem_path("ecstasy.txt")
        )

        received, clean = yield receive(server.port, half_close=True)

        self.assertEqual(received, poem_bytes("ecstasy.txt"))
        self.assertTrue(clean)


class ProxyWaitingTests(ScriptTestCase):
    """A real proxy with a short --timeout in front of a slow poetry server."""

    @defer.inlineCallbacks
    def test_slowFetchOutlastsTimeout(self):
        """A client waiting longer than --timeout for a fetch that goes on gets its poem."""
        # Three pieces, 0.3 s apart: the fetch takes about 0.9 s.
        upstream = yield self.start_server(
            launch.SLOWPOETRY,
            "--port",
            "0",
            "--num-bytes",
            "300",
            "--delay",
            "0.3",
            poem_path("science.txt"),
        )
        proxy = yield self.start_server(
            launch.PROXY_1, "--port", "0", "--timeout", "0.4", str(upstream.port)
        )

        received, clean = yield receive(proxy.port)

        self.assertEqual(received, poem_bytes("science.txt"))
        self.assertTrue(clean)
        self.assertNotIn("resetting the connection", proxy.stderr)
