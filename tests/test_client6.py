"""Part 13: client 6, twisted-client-6/get-poetry.py, and its transform proxy."""

import argparse

from twisted.internet import defer, task
from twisted.internet.address import IPv4Address
from twisted.internet.error import (
    ConnectionDone,
    ConnectionRefusedError,
)
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.helpers import (
    FASTPOETRY,
    TRANSFORM,
    ScriptTestCase,
    free_port,
    listen,
    listen_silent,
    load_script,
    lowered,
    netstring,
    read_poem,
)
from tests.mixins import ClientEndToEndMixin

CLIENT = "twisted-client-6/get-poetry.py"
ADDR = IPv4Address("TCP", "127.0.0.1", 10001)


class FakeConnector:
    """Stands in for the IConnector a factory is given by connectTCP."""

    disconnected = False

    def disconnect(self):
        self.disconnected = True


class ParseAddressTests(SynchronousTestCase):
    def setUp(self):
        self.parse_address = load_script(CLIENT).parse_address

    def test_portOnly(self):
        """A bare port means that port on 127.0.0.1."""
        self.assertEqual(self.parse_address("10001"), ("127.0.0.1", 10001))

    def test_hostAndPort(self):
        """host:port gives that host and port."""
        self.assertEqual(self.parse_address("localhost:10002"), ("localhost", 10002))

    def test_badAddresses(self):
        """Anything else is refused with a message naming the address."""
        for text in ["", "poetry", "0", "65536", "-1", "localhost:", "10001:x"]:
            with self.assertRaises(argparse.ArgumentTypeError) as caught:
                self.parse_address(text)
            self.assertIn(repr(text), str(caught.exception))


class PoetryClientTests(SynchronousTestCase):
    """PoetryProtocol and PoetryClientFactory on a StringTransport."""

    def setUp(self):
        module = load_script(CLIENT)
        self.deferred = defer.Deferred()
        self.factory = module.PoetryClientFactory(self.deferred)
        self.proto = self.factory.buildProtocol(ADDR)
        self.proto.makeConnection(StringTransport())

    def test_poemIsEverythingUntilClose(self):
        """The poem is every byte received, in pieces, until the server closes."""
        poem = read_poem("alla-sera.txt")

        self.proto.dataReceived(poem[:7])
        self.proto.dataReceived(poem[7:])
        self.assertNoResult(self.deferred)
        self.proto.connectionLost(Failure(ConnectionDone()))

        self.assertEqual(self.successResultOf(self.deferred), poem)

    def test_connectionFailed(self):
        """A failed connection fails the Deferred with its reason."""
        self.factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))

        self.failureResultOf(self.deferred, ConnectionRefusedError)

    def test_firesOnlyOnce(self):
        """After the poem, a late failure report is ignored."""
        self.factory.poem_finished(b"a poem")

        self.factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))

        self.assertEqual(self.successResultOf(self.deferred), b"a poem")


class TransformClientTests(SynchronousTestCase):
    """TransformClientProtocol and TransformClientFactory on a StringTransport."""

    def setUp(self):
        self.module = load_script(CLIENT)
        self.poem = read_poem("alla-sera.txt")
        self.factory = self.module.TransformClientFactory("cummingsify", self.poem)
        self.deferred = self.factory.deferred
        self.connector = FakeConnector()
        self.factory.startedConnecting(self.connector)
        self.proto = self.factory.buildProtocol(ADDR)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def test_sendsRequest(self):
        """On connecting, the client sends one netstring: name, a dot, the poem bytes."""
        self.assertEqual(self.transport.value(), netstring(b"cummingsify." + self.poem))

    def test_answerFiresDeferred(self):
        """The answer fires the factory's Deferred, and the client hangs up."""
        self.proto.dataReceived(netstring(b"a poem"))

        self.assertEqual(self.successResultOf(self.deferred), b"a poem")
        self.assertTrue(self.transport.disconnecting)

    def test_secondAnswerIgnored(self):
        """A server that answers twice at once cannot fire the Deferred twice."""
        self.proto.dataReceived(netstring(b"first") + netstring(b"second"))

        self.assertEqual(self.successResultOf(self.deferred), b"first")

    def test_closedWithoutAnswer(self):
        """A connection closed before the answer fails the Deferred."""
        self.proto.connectionLost(Failure(ConnectionDone()))
        self.factory.clientConnectionLost(self.connector, Failure(ConnectionDone()))

        self.failureResultOf(self.deferred, ConnectionDone)

    def test_connectionFailed(self):
        """A transform server that is down fails the Deferred."""
        self.factory.clientConnectionFailed(
            self.connector, Failure(ConnectionRefusedError())
        )

        self.failureResultOf(self.deferred, ConnectionRefusedError)

    def test_cancelClosesConnection(self):
        """Cancelling fails the Deferred once and closes the connection."""
        self.deferred.cancel()
        self.factory.clientConnectionLost(self.connector, Failure(ConnectionDone()))

        self.failureResultOf(self.deferred, defer.CancelledError)
        self.assertTrue(self.connector.disconnected)

    def test_againstTransformServer(self):
        """Against the real transform protocol, a UTF-8 poem comes back lower-cased."""
        server = load_script(TRANSFORM)
        server_factory = server.TransformFactory(server.TransformService())
        clock = task.Clock()

        def server_protocol():
            proto = server_factory.buildProtocol(ADDR)
            proto.callLater = clock.callLater  # its time-out, kept off the reactor
            return proto

        factory = self.module.TransformClientFactory("cummingsify", self.poem)
        factory.startedConnecting(FakeConnector())
        d = factory.deferred

        _, _, pump = iosim.connectedServerAndClient(
            server_protocol, lambda: factory.buildProtocol(ADDR), clock=clock
        )
        pump.flush()

        self.assertEqual(
            self.successResultOf(d).decode("utf-8"), lowered("alla-sera.txt")
        )
        self.assertEqual(clock.getDelayedCalls(), [])


class TimedOutTests(SynchronousTestCase):
    def setUp(self):
        self.timed_out = load_script(CLIENT).timed_out

    def test_cancelledBecomesTimeout(self):
        """The cancellation made by a time-out becomes a TimeoutError that says so."""
        with self.assertRaises(defer.TimeoutError) as caught:
            self.timed_out(Failure(defer.CancelledError()), 1.5)

        self.assertEqual(str(caught.exception), "Timed out after 1.5 s.")

    def test_otherResultsPassThrough(self):
        """A poem, or a failure other than the cancellation, goes on unchanged."""
        self.assertEqual(self.timed_out(b"a poem", 60), b"a poem")
        with self.assertRaises(ConnectionDone):
            self.timed_out(Failure(ConnectionDone()), 60)


class GetPoetryTests(TestCase):
    """get_poetry in the test's own reactor, against servers on loopback."""

    timeout = 10

    def setUp(self):
        self.module = load_script(CLIENT)

    @defer.inlineCallbacks
    def test_downloadsPoem(self):
        """get_poetry fires with exactly the bytes the server sent."""
        fastpoetry = load_script(FASTPOETRY)
        port = listen(self, fastpoetry.PoetryFactory(read_poem("alla-sera.txt")))

        poem = yield self.module.get_poetry("127.0.0.1", port)

        self.assertEqual(poem, read_poem("alla-sera.txt"))

    def test_serverDown(self):
        """A server that is down fails the Deferred with ConnectionRefusedError."""
        d = self.module.get_poetry("127.0.0.1", free_port())

        return self.assertFailure(d, ConnectionRefusedError)

    def test_cancelWhileConnecting(self):
        """Cancelling before the connection is made fails the Deferred just once."""
        silent = listen_silent(self)

        d = self.module.get_poetry("127.0.0.1", silent.port)
        d.cancel()

        self.failureResultOf(d, defer.CancelledError)

    @defer.inlineCallbacks
    def test_timeoutClosesConnection(self):
        """A server that never sends times out, and the client closes the connection."""
        silent = listen_silent(self)
        clock = task.Clock()
        d = self.module.get_poetry("127.0.0.1", silent.port)
        d.addTimeout(5, clock, self.module.timed_out)
        yield silent.whenMade(1)

        clock.advance(5)

        failure = self.failureResultOf(d, defer.TimeoutError)
        self.assertEqual(failure.getErrorMessage(), "Timed out after 5 s.")
        yield silent.whenAllClosed()
        self.assertEqual(clock.getDelayedCalls(), [])


class TransformProxyTests(TestCase):
    """TransformProxy.xform against a real transform server in the test's reactor."""

    timeout = 10

    def setUp(self):
        self.module = load_script(CLIENT)

    def listen_transforms(self):
        server = load_script(TRANSFORM)
        return listen(self, server.TransformFactory(server.TransformService()))

    @defer.inlineCallbacks
    def test_xform(self):
        """xform fires with the transformed poem, still UTF-8 bytes."""
        proxy = self.module.TransformProxy("127.0.0.1", self.listen_transforms())

        poem = yield proxy.xform("cummingsify", read_poem("alla-sera.txt"))

        self.assertEqual(poem.decode("utf-8"), lowered("alla-sera.txt"))

    def test_unknownTransform(self):
        """A transform the server does not know fails: it closes without answering."""
        proxy = self.module.TransformProxy("127.0.0.1", self.listen_transforms())

        d = proxy.xform("shakespearify", b"A POEM")

        return self.assertFailure(d, ConnectionDone)

    def test_serverDown(self):
        """A transform server that is down fails the Deferred."""
        proxy = self.module.TransformProxy("127.0.0.1", free_port())

        return self.assertFailure(
            proxy.xform("cummingsify", b"A POEM"), ConnectionRefusedError
        )

    @defer.inlineCallbacks
    def test_cancelClosesConnection(self):
        """Cancelling a request to a server that never answers closes the connection."""
        silent = listen_silent(self)
        proxy = self.module.TransformProxy("127.0.0.1", silent.port)
        d = proxy.xform("cummingsify", b"A POEM")
        yield silent.whenMade(1)

        d.cancel()

        self.failureResultOf(d, defer.CancelledError)
        yield silent.whenAllClosed()


class Client6EndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT
    VERSION = "6.0 (Part 13)"
    DOWNLOAD_FAILED = "The poem download failed."
