"""Part 13: client 6, twisted-client-6/get-poetry.py, and its transformation client.

Client 6's poetry classes and download guard are client 4's (see
tests/test_client4.py); the tests here are for what Part 13 adds: the
transformation client and poetry_main's callback that returns a Deferred.
"""

from twisted.internet import defer, error, task
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.helpers import (
    CLIENT_ADDR,
    SERVER_ADDR,
    TRANSFORM,
    ScriptTestCase,
    connect_protocol,
    dead_port,
    fake_reactor,
    load_script,
    lowered_text,
    netstring,
    poem_bytes,
    serve_transforms,
)
from tests.mixins import (
    ClientEndToEndMixin,
    TransformingCommandLineMixin,
    TransformingMainMixin,
)

CLIENT = "twisted-client-6/get-poetry.py"


class Client6CommandLineTests(TransformingCommandLineMixin, SynchronousTestCase):
    CLIENT = CLIENT
    VERSION = "6.0 (Part 13)"


class TransformClientTests(SynchronousTestCase):
    """TransformClientProtocol and TransformClientFactory on a StringTransport."""

    def setUp(self):
        self.module = load_script(CLIENT)
        self.poem = poem_bytes("alla-sera.txt")
        self.factory = self.module.TransformClientFactory("cummingsify", self.poem)
        self.deferred = self.factory.deferred
        self.proto, self.transport = connect_protocol(self.factory, addr=SERVER_ADDR)

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
        self.proto.connectionLost(Failure(error.ConnectionDone()))
        self.factory.clientConnectionLost(None, Failure(error.ConnectionDone()))

        self.failureResultOf(self.deferred, error.ConnectionDone)

    def test_connectionFailed(self):
        """A transform server that is down fails the Deferred."""
        self.factory.clientConnectionFailed(
            None, Failure(error.ConnectionRefusedError())
        )

        self.failureResultOf(self.deferred, error.ConnectionRefusedError)

    def test_againstTransformServer(self):
        """Against the real transform protocol, a UTF-8 poem comes back lower-cased."""
        server = load_script(TRANSFORM)
        server_factory = server.TransformFactory(server.TransformService())
        factory = self.module.TransformClientFactory("cummingsify", self.poem)
        d = factory.deferred

        _, _, pump = iosim.connectedServerAndClient(
            lambda: server_factory.buildProtocol(CLIENT_ADDR),
            lambda: factory.buildProtocol(SERVER_ADDR),
            clock=task.Clock(),
        )
        pump.flush()

        self.assertEqual(
            self.successResultOf(d).decode("utf-8"), lowered_text("alla-sera.txt")
        )


class TransformProxyGuardTests(SynchronousTestCase):
    """TransformProxy.xform connects through the download guard."""

    def setUp(self):
        self.module = load_script(CLIENT)
        self.reactor = fake_reactor(self)
        self.patch(self.module.DownloadGuard, "timeout", 5.0)

    def test_silentServerTimesOut(self):
        """A transformation server that never answers is reset after the time-out."""
        d = self.module.TransformProxy("127.0.0.1", 10001).xform("cummingsify", b"A")
        factory = self.reactor.tcpClients[-1][2]
        proto, transport = connect_protocol(factory, addr=SERVER_ADDR)

        self.reactor.advance(5)

        self.assertTrue(transport.disconnected)
        reason = Failure(error.ConnectionAborted())
        proto.connectionLost(reason)
        factory.clientConnectionLost(self.reactor.connectors[-1], reason)
        self.assertEqual(
            self.failureResultOf(d).getErrorMessage(),
            "127.0.0.1:10001: Timed out after 5 s.",
        )


class TransformProxyTests(TestCase):
    """TransformProxy.xform against a real transform server in the test's reactor."""

    timeout = 10

    def setUp(self):
        self.module = load_script(CLIENT)

    @defer.inlineCallbacks
    def test_xform(self):
        """xform fires with the transformed poem, still UTF-8 bytes."""
        port = yield serve_transforms(self)
        proxy = self.module.TransformProxy("127.0.0.1", port)

        poem = yield proxy.xform("cummingsify", poem_bytes("alla-sera.txt"))

        self.assertEqual(poem.decode("utf-8"), lowered_text("alla-sera.txt"))

    @defer.inlineCallbacks
    def test_unknownTransform(self):
        """A transform the server does not know fails: it closes without answering."""
        port = yield serve_transforms(self)
        proxy = self.module.TransformProxy("127.0.0.1", port)

        d = proxy.xform("shakespearify", b"A POEM")

        yield self.assertFailure(d, self.module.DownloadFailed)

    def test_serverDown(self):
        """A transform server that is down fails the Deferred."""
        proxy = self.module.TransformProxy("127.0.0.1", dead_port(self))

        return self.assertFailure(
            proxy.xform("cummingsify", b"A POEM"), self.module.DownloadFailed
        )


class Client6MainTests(TransformingMainMixin, SynchronousTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed."


class Client6EndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed."
