"""Part 14: the caching poetry proxies, twisted-server-1/ and twisted-server-2/poetry-proxy.py.

Both versions must behave the same from outside, so each test body lives in a
mixin and runs once per version (the SCRIPT attribute). Only the tests of
what the part changes (what get_poem returns on a hit, maybeDeferred) are
written per version.
"""

import io
import sys

from twisted.internet import defer, protocol, task
from twisted.internet.error import (
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
)
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.helpers import (
    CLIENT_ADDR,
    FASTPOETRY,
    CapturedLog,
    ScriptTestCase,
    connect_protocol,
    fetch,
    free_port,
    listen,
    listen_silent,
    load_script,
    poem_text,
    read_poem,
    serve_poem,
)
from tests.mixins import ServerCommandLineMixin

PROXY_1 = "twisted-server-1/poetry-proxy.py"
PROXY_2 = "twisted-server-2/poetry-proxy.py"
CLIENT_4 = "twisted-client-4/get-poetry.py"


class FakeService:
    """Stands in for ProxyService: get_poem gives back what the test set."""

    host = "127.0.0.1"
    port = 10001

    def __init__(self, result):
        self.result = result

    def get_poem(self):
        return self.result


class FakeConnector:
    """Stands in for the IConnector a factory is given by connectTCP."""

    disconnected = False

    def disconnect(self):
        self.disconnected = True


class ProxyProtocolTestsMixin:
    """PoetryProxyProtocol on a StringTransport, with a fake service and a Clock."""

    def setUp(self):
        self.module = load_script(self.SCRIPT)
        self.clock = task.Clock()

    def connect(self, result):
        factory = self.module.PoetryProxyFactory(FakeService(result))
        with CapturedLog() as log:
            proto, transport = connect_protocol(factory, self.clock)
        return proto, transport, log

    def test_servesPoem(self):
        """A poem the service has ready is written, then the connection closes."""
        proto, transport, _ = self.connect(defer.succeed(b"a poem"))

        self.assertEqual(transport.value(), b"a poem")
        self.assertTrue(transport.disconnecting)

    def test_waitsForFetch(self):
        """While the service fetches, nothing is written; then the poem and the close."""
        fetching = defer.Deferred()
        proto, transport, _ = self.connect(fetching)
        self.assertEqual(transport.value(), b"")
        self.assertFalse(transport.disconnecting)

        fetching.callback(b"a poem")

        self.assertEqual(transport.value(), b"a poem")
        self.assertTrue(transport.disconnecting)

    def test_fetchFailed(self):
        """A failed fetch closes the connection with nothing written, logged in one line."""
        fetching = defer.Deferred()
        proto, transport, _ = self.connect(fetching)

        with CapturedLog() as log:
            fetching.errback(ConnectionRefusedError())

        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(
            log.messages,
            ["No poem from 127.0.0.1:10001: Connection was refused by other side."],
        )

    def test_slowClientDropped(self):
        """A client still connected after the time-out is dropped and logged."""
        proto, transport, _ = self.connect(defer.Deferred())

        self.clock.advance(proto.factory.timeout - 1)
        self.assertFalse(transport.disconnecting)
        with CapturedLog() as log:
            self.clock.advance(1)

        self.assertTrue(transport.disconnected)  # aborted, not closed politely
        self.assertEqual(log.messages, ["Client still connected after 60 s; dropping"])

    def test_timeoutCancelledOnClose(self):
        """A finished connection leaves no time-out behind."""
        proto, transport, _ = self.connect(defer.succeed(b"a poem"))

        proto.connectionLost(Failure(ConnectionDone()))

        self.assertEqual(self.clock.getDelayedCalls(), [])


class Proxy1ProtocolTests(ProxyProtocolTestsMixin, SynchronousTestCase):
    SCRIPT = PROXY_1

    def test_plainValue(self):
        """Thanks to maybeDeferred, a service may hand back the poem itself."""
        proto, transport, _ = self.connect(b"a poem")

        self.assertEqual(transport.value(), b"a poem")
        self.assertTrue(transport.disconnecting)


class Proxy2ProtocolTests(ProxyProtocolTestsMixin, SynchronousTestCase):
    SCRIPT = PROXY_2


class PoetryClientTestsMixin:
    """The proxy's client pair, on a StringTransport."""

    def setUp(self):
        module = load_script(self.SCRIPT)
        self.factory = module.PoetryClientFactory()
        self.deferred = self.factory.deferred
        self.connector = FakeConnector()
        self.factory.startedConnecting(self.connector)
        self.proto = self.factory.buildProtocol(CLIENT_ADDR)
        self.proto.makeConnection(StringTransport())

    def lose(self, reason):
        """Close the connection as the reactor does: protocol, then factory."""
        self.proto.connectionLost(Failure(reason))
        self.factory.clientConnectionLost(self.connector, Failure(reason))

    def test_poemOnCleanClose(self):
        """The poem is every byte received before the server closed cleanly."""
        poem = read_poem("alla-sera.txt")
        self.proto.dataReceived(poem[:10])
        self.proto.dataReceived(poem[10:])

        self.lose(ConnectionDone())

        self.assertEqual(self.successResultOf(self.deferred), poem)

    def test_cutOff(self):
        """A connection cut off half-way is a failure, not a short poem."""
        self.proto.dataReceived(b"half a po")

        self.lose(ConnectionLost())

        self.failureResultOf(self.deferred, ConnectionLost)

    def test_nothingSent(self):
        """A server that closes without sending anything has failed."""
        self.lose(ConnectionDone())

        self.failureResultOf(self.deferred, ConnectionDone)

    def test_cancelClosesConnection(self):
        """Cancelling fails the Deferred once and closes the connection."""
        self.proto.dataReceived(b"half a po")

        self.deferred.cancel()
        self.lose(ConnectionDone())

        self.failureResultOf(self.deferred, defer.CancelledError)
        self.assertTrue(self.connector.disconnected)


class Proxy1ClientTests(PoetryClientTestsMixin, SynchronousTestCase):
    SCRIPT = PROXY_1


class Proxy2ClientTests(PoetryClientTestsMixin, SynchronousTestCase):
    SCRIPT = PROXY_2


class CachedPoemTests(SynchronousTestCase):
    """What get_poem gives back on a hit: the lesson of Part 14."""

    def hit(self, script):
        service = load_script(script).ProxyService("127.0.0.1", 10001)
        service.poem = b"a poem"
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        result = service.get_poem()
        self.assertEqual(out.getvalue(), "Using cached poem.\n")
        return result

    def test_version1ReturnsPoem(self):
        """Proxy 1.0 returns the cached poem itself, not a Deferred."""
        self.assertEqual(self.hit(PROXY_1), b"a poem")

    def test_version2ReturnsFiredDeferred(self):
        """Proxy 2.0 returns a Deferred that has already fired with the poem."""
        result = self.hit(PROXY_2)

        self.assertIsInstance(result, defer.Deferred)
        self.assertEqual(self.successResultOf(result), b"a poem")


class ProxyServiceTestsMixin:
    """ProxyService.get_poem in the test's reactor, against a server on loopback."""

    timeout = 10

    def setUp(self):
        self.module = load_script(self.SCRIPT)
        self.out = io.StringIO()
        self.patch(sys, "stdout", self.out)

    @defer.inlineCallbacks
    def test_fetchesThenCaches(self):
        """The first call fetches the poem and keeps it; the second uses the copy."""
        fastpoetry = load_script(FASTPOETRY)
        port = listen(self, fastpoetry.PoetryFactory(read_poem("alla-sera.txt")))
        service = self.module.ProxyService("127.0.0.1", port)

        first = yield service.get_poem()
        second = yield defer.maybeDeferred(service.get_poem)

        self.assertEqual(first, read_poem("alla-sera.txt"))
        self.assertEqual(second, first)
        self.assertEqual(
            self.out.getvalue(), "Fetching poem from server.\nUsing cached poem.\n"
        )

    @defer.inlineCallbacks
    def test_failureNotCached(self):
        """When the server is down the fetch fails and nothing is cached."""
        service = self.module.ProxyService("127.0.0.1", free_port())

        yield self.assertFailure(service.get_poem(), ConnectionRefusedError)

        self.assertIsNone(service.poem)

    @defer.inlineCallbacks
    def test_emptyReplyNotCached(self):
        """A server that closes without a poem fails the fetch; nothing is cached."""

        class HangUp(protocol.Protocol):
            def connectionMade(self):
                self.transport.loseConnection()

        port = listen(self, protocol.Factory.forProtocol(HangUp))
        service = self.module.ProxyService("127.0.0.1", port)

        yield self.assertFailure(service.get_poem(), ConnectionDone)

        self.assertIsNone(service.poem)


class Proxy1ServiceTests(ProxyServiceTestsMixin, TestCase):
    SCRIPT = PROXY_1


class Proxy2ServiceTests(ProxyServiceTestsMixin, TestCase):
    SCRIPT = PROXY_2


class ProxyEndToEndTestsMixin(ServerCommandLineMixin):
    """The real proxy in its own process, between real servers and clients."""

    ARGS = ("10001",)  # the upstream server, which it only dials on a request
    STARTUP = "Proxying 127.0.0.1:10001"
    OPTIONS = ServerCommandLineMixin.OPTIONS + (
        "--timeout TIMEOUT",
        "--upstream-timeout UPSTREAM_TIMEOUT",
    )

    @defer.inlineCallbacks
    def stopped(self, proxy):
        """Stop the proxy and fire with its whole output, as (stdout lines, stderr)."""
        yield proxy.stop()
        return proxy.stdout.splitlines(), proxy.stderr

    @defer.inlineCallbacks
    def test_missThenHit(self):
        """The first client makes the proxy fetch; the second gets the cached poem."""
        upstream = yield serve_poem(self, "fascination.txt")
        proxy = yield self.start_server(self.SCRIPT, "--port", "0", upstream)

        first = yield self.run_script(CLIENT_4, proxy.port)
        second = yield self.run_script(CLIENT_4, proxy.port)
        out, err = yield self.stopped(proxy)

        printed = poem_text("fascination.txt") + "\n"
        self.assertEqual((first.stdout, second.stdout), (printed, printed))
        self.assertEqual(
            out,
            [
                f"Proxying 127.0.0.1:{upstream} on IPv4Address(type='TCP',"
                f" host='127.0.0.1', port={proxy.port}).",
                "Fetching poem from server.",
                "Using cached poem.",
            ],
        )

    @defer.inlineCallbacks
    def test_upstreamDownThenUp(self):
        """While the server is down clients are closed on; once it is up, caching starts."""
        upstream = free_port()
        proxy = yield self.start_server(self.SCRIPT, "--port", "0", upstream)

        refused = yield fetch(proxy.port)
        yield serve_poem(self, "science.txt", port=upstream)
        first = yield fetch(proxy.port)
        second = yield fetch(proxy.port)
        out, err = yield self.stopped(proxy)

        self.assertEqual(refused, b"")
        self.assertEqual((first, second), (read_poem("science.txt"),) * 2)
        self.assertEqual(
            out[1:],
            [
                "Fetching poem from server.",
                "Fetching poem from server.",
                "Using cached poem.",
            ],
        )
        self.assertEqual(err.count(f"No poem from 127.0.0.1:{upstream}:"), 1)
        self.assertIn("Connection was refused", err)

    @defer.inlineCallbacks
    def test_hungUpstream(self):
        """A server that never sends times out: the proxy closes both connections."""
        silent = listen_silent(self)
        proxy = yield self.start_server(
            self.SCRIPT, "--port", "0", "--upstream-timeout", "0.5", silent.port
        )

        first = yield fetch(proxy.port)
        yield silent.whenAllClosed()  # the proxy gave up on the upstream connection
        second = yield fetch(proxy.port)  # nothing cached: it tries again
        out, err = yield self.stopped(proxy)

        self.assertEqual((first, second), (b"", b""))
        self.assertEqual(silent.made, 2)
        self.assertEqual(out[1:], ["Fetching poem from server."] * 2)
        self.assertEqual(
            err.count(f"No poem from 127.0.0.1:{silent.port}: Timed out after 0.5 s."),
            2,
        )

    @defer.inlineCallbacks
    def test_noUpstream(self):
        """Without the upstream address the proxy gives a usage error."""
        proc = yield self.run_script(self.SCRIPT, "--port", "0")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("usage:", proc.stderr)

    @defer.inlineCallbacks
    def test_badUpstream(self):
        """A malformed upstream address is a usage error naming it."""
        proc = yield self.run_script(self.SCRIPT, "poetry")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn("invalid address 'poetry'", proc.stderr)


class Proxy1EndToEndTests(ProxyEndToEndTestsMixin, ScriptTestCase):
    SCRIPT = PROXY_1
    COMMAND = f"python {PROXY_1} --port 10000 10001"


class Proxy2EndToEndTests(ProxyEndToEndTestsMixin, ScriptTestCase):
    SCRIPT = PROXY_2
    COMMAND = f"python {PROXY_2} --port 10000 10001"
