"""Part 14's exercises 2 and 4: two copies of proxy 2.0.

- 2: solutions/part-14/poetry-proxy-expiring.py drops a cached poem older
  than --max-age (tested on a fake reactor's clock, and once for real with a
  tiny age);
- 4: solutions/part-14/poetry-transform-proxy.py also offers transforms, on
  a second port, done by an external transformation server.

Everything else in them is proxy 2.0's (tests/test_stages.py checks it).
"""

import io
import resource
import sys

from twisted.internet import defer, error
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    connect_protocol,
    dead_port,
    fake_reactor,
    fetch,
    load_script,
    logged_messages,
    lowered_text,
    netstring,
    poem_bytes,
    serve_poem,
    serve_transforms,
    serving_ports,
)
from tests.mixins import FakeTransformProxy, ServerCommandLineMixin, ServingReactor

EXPIRING = "solutions/part-14/poetry-proxy-expiring.py"
TRANSFORM_PROXY = "solutions/part-14/poetry-transform-proxy.py"
CLIENT_6 = "twisted-client-6/get-poetry.py"
TWO_HOURS = 2 * 60 * 60


# -- exercise 2: a cache that expires ---------------------------------------


class ExpiringCacheTests(SynchronousTestCase):
    """ProxyService on a fake reactor: it dials no server, and the test moves its time."""

    def setUp(self):
        self.module = load_script(EXPIRING)
        self.reactor = fake_reactor(self)
        self.out = io.StringIO()
        self.patch(sys, "stdout", self.out)
        self.service = self.module.ProxyService("127.0.0.1", 10001)

    def fetch(self, poem):
        """Ask for the poem on a cold cache; let the server's answer arrive."""
        d = self.service.get_poem()
        self.reactor.tcpClients[-1][2].wrappedFactory.poem_finished(poem)
        return self.successResultOf(d)

    def test_keptForTwoHours(self):
        """By default a poem is used for two hours, to the second, without a fetch."""
        self.fetch(b"a poem")
        self.reactor.advance(TWO_HOURS)

        d = self.service.get_poem()

        self.assertEqual(self.successResultOf(d), b"a poem")
        self.assertEqual(len(self.reactor.tcpClients), 1)
        self.assertEqual(
            self.out.getvalue(), "Fetching poem from server.\nUsing cached poem.\n"
        )

    def test_olderIsFetchedAgain(self):
        """Past two hours the cached poem is dropped and the next request fetches anew."""
        self.fetch(b"an old poem")
        self.reactor.advance(TWO_HOURS + 0.001)

        d = self.service.get_poem()

        self.assertNoResult(d)
        self.assertEqual(len(self.reactor.tcpClients), 2)
        self.assertIsNone(self.service.poem)
        self.reactor.tcpClients[-1][2].wrappedFactory.poem_finished(b"a new poem")
        self.assertEqual(self.successResultOf(d), b"a new poem")
        self.assertEqual(
            self.out.getvalue().splitlines()[1:],
            [
                "Discarding cached poem, older than 7200 s.",
                "Fetching poem from server.",
            ],
        )

    def test_ageCountsFromTheFetch(self):
        """The age runs from when the poem came back, not from when it was asked for."""
        d = self.service.get_poem()
        self.reactor.advance(50)
        self.reactor.tcpClients[-1][2].wrappedFactory.poem_finished(b"a poem")
        self.successResultOf(d)
        self.service.max_age = 60

        self.reactor.advance(60)
        self.successResultOf(self.service.get_poem())
        self.assertEqual(len(self.reactor.tcpClients), 1)
        self.reactor.advance(1)
        self.service.get_poem()

        self.assertEqual(len(self.reactor.tcpClients), 2)

    def test_freshFetchRestartsTheAge(self):
        """After a new fetch the poem is kept for a whole max age again."""
        self.service.max_age = 10
        self.fetch(b"first")
        self.reactor.advance(11)
        self.fetch(b"second")

        self.reactor.advance(10)

        self.assertEqual(self.successResultOf(self.service.get_poem()), b"second")
        self.assertEqual(len(self.reactor.tcpClients), 2)

    def test_failedFetchCachesNothing(self):
        """A failed re-fetch leaves no poem, so the request after it tries again."""
        self.fetch(b"old")
        self.reactor.advance(TWO_HOURS + 1)
        d = self.service.get_poem()

        self.reactor.tcpClients[-1][2].wrappedFactory.clientConnectionFailed(
            None, Failure(error.ConnectionRefusedError())
        )

        self.failureResultOf(d, error.ConnectionRefusedError)
        self.service.get_poem()
        self.assertEqual(len(self.reactor.tcpClients), 3)


class ExpiringCommandLineTests(ServerCommandLineMixin, SynchronousTestCase):
    """The proxy's command line, with --max-age."""

    SCRIPT = EXPIRING
    ARGS = ("10001",)
    COMMAND = f"python {EXPIRING} --port 10000 --max-age 10 10001"
    OPTIONS = ServerCommandLineMixin.OPTIONS + ("--max-age MAX_AGE",)

    def test_maxAgeReachesTheService(self):
        """--max-age sets the service's; without it, two hours."""
        for argv, expected in [(("--max-age", "10"), 10), ((), TWO_HOURS)]:
            reactor = ServingReactor()

            self.run_main(*argv, "10001", reactor=reactor)

            service = reactor.listening[0].factory.wrappedFactory.service
            self.assertEqual(service.max_age, expected)

    def test_maxAgeMustBePositive(self):
        """A max age of 0 or less is a usage error."""
        result = self.run_main("--max-age", "0", "10001")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--max-age must be more than 0, not 0", result.stderr)

    def test_maxAgeNotANumber(self):
        """A max age of nan (which never compares older) is a usage error."""
        result = self.run_main("--max-age", "nan", "10001")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--max-age must be more than 0, not nan", result.stderr)


class ExpiringEndToEndTests(ScriptTestCase):
    """The real proxy, with a cache that expires at once."""

    @defer.inlineCallbacks
    def test_expiredPoemFetchedAgain(self):
        """A poem older than --max-age is fetched from the server again."""
        upstream = yield serve_poem(self, "science.txt")
        # A microsecond: older than that by the time a second client asks.
        proxy = yield self.start_server(EXPIRING, "--max-age", "1e-6", upstream)

        first = yield fetch(proxy.port)
        second = yield fetch(proxy.port)
        yield proxy.wait_for(rb"Fetching poem from server\.", count=2)

        self.assertEqual([first, second], [poem_bytes("science.txt")] * 2)
        self.assertEqual(
            proxy.stdout.splitlines()[1:],
            [
                "Fetching poem from server.",
                "Discarding cached poem, older than 1e-06 s.",
                "Fetching poem from server.",
            ],
        )


# -- exercise 4: a transformation proxy -------------------------------------


class FakeService:
    """Stands in for ProxyService: cummingsify returns a Deferred the test fires."""

    def __init__(self):
        self.pending = []
        self.cancelled = []

    def cummingsify(self, poem):
        d = defer.Deferred(self.cancelled.append)
        self.pending.append((poem, d))
        return d


class TransformProxyServiceTests(SynchronousTestCase):
    """ProxyService.cummingsify hands the poem to the external server."""

    def setUp(self):
        self.module = load_script(TRANSFORM_PROXY)
        self.service = self.module.ProxyService("127.0.0.1", 10001)
        self.service.transformer = self.transformer = FakeTransformProxy()

    def test_forwardsAsBytes(self):
        """The poem goes out as UTF-8 bytes; the answer comes back as text."""
        d = self.service.cummingsify("ÀLLA SERA")

        [(xform_name, poem, answer)] = self.transformer.requests
        self.assertEqual((xform_name, poem), ("cummingsify", "ÀLLA SERA".encode()))
        self.assertNoResult(d)
        answer.callback("àlla sera".encode())

        self.assertEqual(self.successResultOf(d), "àlla sera")

    def test_failurePassesOn(self):
        """A failed request to the external server fails the Deferred."""
        d = self.service.cummingsify("A POEM")

        self.transformer.requests[0][2].errback(error.ConnectionRefusedError())

        self.failureResultOf(d, error.ConnectionRefusedError)


class TransformProxyProtocolTests(SynchronousTestCase):
    """The proxy's transformation protocol and factory, with a fake service."""

    def setUp(self):
        self.module = load_script(TRANSFORM_PROXY)
        self.service = FakeService()
        self.factory = self.module.TransformFactory(self.service)
        self.log = self.enterContext(logged_messages())

    def request(self):
        proto, transport = connect_protocol(self.factory)
        proto.dataReceived(b"27:cummingsify.HERE IS MY POEM,")
        [(poem, d)] = self.service.pending
        self.assertEqual(poem, "HERE IS MY POEM")
        return proto, transport, d

    def test_answerWhenTheServerAnswers(self):
        """The answer is written once the external server's answer is in."""
        proto, transport, d = self.request()
        self.assertEqual(transport.value(), b"")

        d.callback("here is my poem")

        self.assertEqual(transport.value(), b"15:here is my poem,")
        self.assertTrue(transport.disconnecting)

    def test_downloadFailedNotLoggedTwice(self):
        """A failure the download guard has logged: no answer, no second line."""
        proto, transport, d = self.request()

        d.errback(
            self.module.DownloadFailed("127.0.0.1:11000: Connection broke at once.")
        )

        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.log, [])

    def test_otherFailureLogged(self):
        """Any other failure: no answer, one line saying what went wrong."""
        proto, transport, d = self.request()

        d.errback(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))

        self.assertEqual(transport.value(), b"")
        self.assertEqual(len(self.log), 1)
        self.assertIn("transform 'cummingsify' failed: 'utf-8' codec", self.log[0])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_clientGoneCancels(self):
        """A client gone before the answer: the request is cancelled, nothing written."""
        proto, transport, d = self.request()

        proto.connectionLost(Failure(error.ConnectionLost()))

        self.assertEqual(self.service.cancelled, [d])
        self.assertEqual(transport.value(), b"")
        self.assertEqual(
            self.log,
            ["connection lost before its transform was done; cancelled"],
        )
        self.assertEqual(self.flushLoggedErrors(), [])


class LateAnswerTests(SynchronousTestCase):
    """A cancelled request's answer from the external server is dropped quietly."""

    def test_lateAnswerDropped(self):
        """The transformation client fires a cancelled Deferred without an error."""
        module = load_script(TRANSFORM_PROXY)
        reactor = fake_reactor(self)
        d = module.TransformProxy("127.0.0.1", 11000).xform("cummingsify", b"A")
        d.cancel()
        factory = reactor.tcpClients[-1][2].wrappedFactory

        factory.handlePoem(b"a")

        self.failureResultOf(d, defer.CancelledError)
        self.assertIsNone(factory.deferred)


class TransformProxyMainTests(ServerCommandLineMixin, SynchronousTestCase):
    """main(): one port without --xform-server, two with it, one service behind both."""

    SCRIPT = TRANSFORM_PROXY
    ARGS = ("10001",)
    COMMAND = (
        f"python {TRANSFORM_PROXY} --port 10000 --xform-port 11001"
        " --xform-server 11000 10001"
    )
    OPTIONS = ServerCommandLineMixin.OPTIONS + (
        "--xform-server [host:]port",
        "--xform-port XFORM_PORT",
    )

    def serve(self, *argv):
        reactor = ServingReactor()
        result = self.run_main(*argv, reactor=reactor)
        return reactor, result

    def test_twoPortsOneService(self):
        """With --xform-server: the poem and the transforms, from one ProxyService."""
        reactor, result = self.serve(
            "--port",
            "10000",
            "--xform-port",
            "11001",
            "--xform-server",
            "11000",
            "10001",
        )

        poems, transforms = [p.factory.wrappedFactory for p in reactor.listening]
        module = load_script(TRANSFORM_PROXY)
        self.assertIsInstance(poems, module.PoetryProxyFactory)
        self.assertIsInstance(transforms, module.TransformFactory)
        self.assertIs(poems.service, transforms.service)
        transformer = poems.service.transformer
        self.assertEqual((transformer.host, transformer.port), ("127.0.0.1", 11000))
        self.assertEqual(
            result.stdout,
            "Proxying 127.0.0.1:10001 on IPv4Address(type='TCP', host='127.0.0.1',"
            " port=10000).\n"
            "Proxying transforms to 127.0.0.1:11000 on IPv4Address(type='TCP',"
            " host='127.0.0.1', port=11001).\n",
        )

    def test_withoutXformServerOnePort(self):
        """Without --xform-server it is proxy 2.0: one port, no transforms."""
        reactor, result = self.serve("10001")

        self.assertEqual(len(reactor.listening), 1)
        self.assertIsNone(
            reactor.listening[0].factory.wrappedFactory.service.transformer
        )

    def test_descriptorsShared(self):
        """Two ports of two descriptors a client: each guard takes a quarter."""
        reactor, _ = self.serve("--xform-server", "11000", "10001")

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = soft - load_script(TRANSFORM_PROXY).ServerGuard.spare_descriptors
        self.assertEqual(
            [p.factory.limit for p in reactor.listening], [max(1, room // 4)] * 2
        )

    def test_xformPortTaken(self):
        """A transformation port in use: one line, status 1, the poem port closed."""
        reactor = ServingReactor(taken={11001})

        result = self.run_main(
            "--xform-port", "11001", "--xform-server", "11000", "10001", reactor=reactor
        )

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            "poetry-transform-proxy.py: cannot listen on localhost:11001:"
            " Address already in use\n",
        )
        self.assertEqual([p.stopped for p in reactor.listening], [True])


class TransformProxyEndToEndTests(ScriptTestCase):
    """The real proxy between real servers and client 6."""

    @defer.inlineCallbacks
    def test_poemAndTransformThroughTheProxy(self):
        """Client 6 gets the poem and its transformation, both from the proxy."""
        upstream = yield serve_poem(self, "alla-sera.txt")
        xform = yield serve_transforms(self)
        proxy = yield self.start_server(
            TRANSFORM_PROXY, "--xform-server", xform, upstream
        )
        poem_port, xform_port = yield serving_ports(proxy, 2)

        client = yield self.run_script(CLIENT_6, xform_port, poem_port)
        answer = yield fetch(
            xform_port, netstring(b"cummingsify.HERE IS MY POEM"), half_close=True
        )

        self.assertEqual(client.stdout, lowered_text("alla-sera.txt") + "\n")
        self.assertEqual((client.stderr, client.exit_code), ("", 0))
        self.assertEqual(answer, b"15:here is my poem,")

    @defer.inlineCallbacks
    def test_transformServerDown(self):
        """With the external server down, a request is reset; the proxy logs one line."""
        dead = dead_port(self)
        proxy = yield self.start_server(
            TRANSFORM_PROXY, "--xform-server", dead, dead_port(self)
        )
        _, xform_port = yield serving_ports(proxy, 2)

        answer = yield fetch(
            xform_port, netstring(b"cummingsify.HERE IS MY POEM"), half_close=True
        )
        yield proxy.wait_for(rb"No poem from 127\.0\.0\.1:%d" % dead)

        self.assertEqual(answer, b"")
        self.assertNotIn("Traceback", proxy.stderr)
        self.assertNotIn("transform 'cummingsify' failed", proxy.stderr)
