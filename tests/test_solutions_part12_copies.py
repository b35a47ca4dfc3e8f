"""Part 12's exercises 2, 3, 4 and 6: answers made from the stages of Parts 11 and 12.

- 2: solutions/part-12/transformedpoetry-more.py, a "mirror" transform, and
  solutions/part-12/transform-test-more, the netcat client asking for it;
- 3: solutions/part-12/transformedpoetry-two-protocols.py, a line protocol
  on a second port, served by the same TransformService;
- 4: solutions/part-12/transformedpoetry-async.py, a service whose
  transforms return Deferreds (tested on a fake reactor's clock);
- 6: solutions/part-12/netstring-poetry-server.py and -client.py, the poem
  sent as a netstring, so that a poem cut short is told from a whole one.

What each answer leaves alone is the stage's (tests/test_stages.py checks
that); the tests here are for what it changes.
"""

import shutil

from twisted.internet import defer, error, protocol
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    assert_printed,
    connect_protocol,
    fake_reactor,
    fetch,
    listen,
    load_script,
    logged_messages,
    lowered_text,
    netstring,
    path_with_python_only,
    poem_bytes,
    poem_path,
    poem_text,
    receive,
    serve_poem,
    serving_ports,
)
from tests.mixins import (
    ClientCommandLineMixin,
    PoemFileServerMixin,
    ServerCommandLineMixin,
    ServingReactor,
)
from tools import launch

MORE = "solutions/part-12/transformedpoetry-more.py"
MORE_TEST = "solutions/part-12/transform-test-more"
TRANSFORM_TEST = "twisted-server-1/transform-test"
TWO_PROTOCOLS = "solutions/part-12/transformedpoetry-two-protocols.py"
ASYNC = "solutions/part-12/transformedpoetry-async.py"
NETSTRING_SERVER = "solutions/part-12/netstring-poetry-server.py"
NETSTRING_CLIENT = "solutions/part-12/netstring-poetry-client.py"
CLIENT_4 = "twisted-client-4/get-poetry.py"

SERVER_ADDR = IPv4Address("TCP", "127.0.0.1", 10002)


def lose(proto, reason=error.ConnectionDone):
    """Tell `proto` its connection is gone, as the reactor would."""
    proto.connectionLost(Failure(reason()))


# -- exercise 2: one more transform ---------------------------------------


class MirrorTests(SynchronousTestCase):
    """TransformService.mirror and the factory method that reaches it."""

    def setUp(self):
        self.module = load_script(MORE)
        self.service = self.module.TransformService()
        self.factory = self.module.TransformFactory(self.service)

    def test_lineBackwards(self):
        """A line is written from right to left."""
        self.assertEqual(self.service.mirror("HERE IS MY POEM"), "MEOP YM SI EREH")

    def test_lineEndsStay(self):
        """Each line is mirrored on its own; the newlines stay where they were."""
        self.assertEqual(self.service.mirror("ab\ncd\n\nef"), "ba\ndc\n\nfe")

    def test_text(self):
        """The transform works on text: a UTF-8 poem's letters stay whole."""
        mirrored = self.service.mirror(poem_text("alla-sera.txt"))

        self.assertEqual(
            mirrored.splitlines()[2], poem_text("alla-sera.txt").splitlines()[2][::-1]
        )
        self.assertEqual(self.service.mirror(mirrored), poem_text("alla-sera.txt"))

    def test_reachableByName(self):
        """The factory offers "mirror" beside "cummingsify"."""
        self.assertEqual(self.factory.transform("mirror", "AB\nC"), "BA\nC")
        self.assertEqual(self.factory.transform("cummingsify", "AB"), "ab")

    def test_overTheProtocol(self):
        """A netstring request for mirror gets the mirrored poem as a netstring."""
        proto, transport = connect_protocol(self.factory)

        proto.dataReceived(b"22:mirror.HERE IS MY POEM,")

        self.assertEqual(transport.value(), b"15:MEOP YM SI EREH,")
        self.assertTrue(transport.disconnecting)


class MirrorCommandLineTests(ServerCommandLineMixin, SynchronousTestCase):
    """The transformation server's command line, under the answer's name."""

    SCRIPT = MORE
    COMMAND = f"python {MORE} --port 11000"


class MirrorServerTests(ScriptTestCase):
    """The real server, asked by the two netcat clients, with netcat and without."""

    @defer.inlineCallbacks
    def ask(self, script, port, path=None):
        env = launch.child_env(PATH=path) if path else None
        result = yield launch.spawn([launch.script(script), str(port)], env=env)
        return result.exit_code, result.stdout

    @defer.inlineCallbacks
    def test_bothTransforms(self):
        """transform-test-more gets the mirrored poem, transform-test the lower-case one."""
        server = yield self.start_server(MORE, "--port", "0")
        paths = [path_with_python_only(self)]
        if shutil.which("nc") or shutil.which("netcat"):
            paths.append(None)  # the test machine's own PATH, with netcat

        for path in paths:
            mirrored = yield self.ask(MORE_TEST, server.port, path)
            lowered = yield self.ask(TRANSFORM_TEST, server.port, path)

            self.assertEqual(mirrored, (0, "15:MEOP YM SI EREH,\n"), path)
            self.assertEqual(lowered, (0, "15:here is my poem,\n"), path)


# -- exercise 3: two protocols, one service -------------------------------


class LineProtocolTests(SynchronousTestCase):
    """LineTransformProtocol on a StringTransport: a name line, the poem, EOF."""

    def setUp(self):
        self.module = load_script(TWO_PROTOCOLS)
        self.factory = self.module.LineTransformFactory(self.module.TransformService())
        self.log = self.enterContext(logged_messages())

    def request(self, data, pieces=1):
        """Send `data` in `pieces`, then finish sending; return the transport."""
        proto, transport = connect_protocol(self.factory)
        size = -(-len(data) // pieces)
        for start in range(0, len(data), size):
            proto.dataReceived(data[start : start + size])
        proto.readConnectionLost()
        return proto, transport

    def assertRefused(self, data, why):
        proto, transport = self.request(data)
        lose(proto, error.ConnectionAborted)  # the guard resets it

        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.log, [why])

    def test_transformsAtEndOfInput(self):
        """The poem after the first line comes back transformed, as plain text."""
        proto, transport = connect_protocol(self.factory)
        proto.dataReceived(b"cummingsify\nHERE IS\nMY POEM\n")
        self.assertEqual(transport.value(), b"")  # more of the poem may come

        proto.readConnectionLost()

        self.assertEqual(transport.value(), b"here is\nmy poem\n")
        self.assertTrue(transport.disconnecting)

    def test_byteAtATime(self):
        """A request that arrives a byte at a time is the same request."""
        request = b"cummingsify\n" + poem_bytes("alla-sera.txt")

        _, transport = self.request(request, pieces=len(request))

        self.assertEqual(
            transport.value().decode("utf-8"), lowered_text("alla-sera.txt")
        )

    def test_crlf(self):
        """A name line ending in CRLF names the same transform."""
        _, transport = self.request(b"cummingsify\r\nHI\r\n")

        self.assertEqual(transport.value(), b"hi\r\n")

    def test_unknownTransform(self):
        """A name the factory does not offer: no answer, one line in the log."""
        self.assertRefused(b"shakespearify\nHI\n", "no such transform: 'shakespearify'")

    def test_noNameLine(self):
        """Input that ends before the first newline is refused."""
        self.assertRefused(
            b"cummingsify",
            "bad request: no line with the transform name; closing the connection",
        )

    def test_notUtf8(self):
        """A poem that is not UTF-8 is refused."""
        self.assertRefused(
            b"cummingsify\n\xff\xfe",
            "bad request: the request is not UTF-8 text; closing the connection",
        )

    def test_poemTooLong(self):
        """A poem longer than the netstring protocol's limit is refused at once."""
        proto, transport = connect_protocol(self.factory)
        limit = self.module.LineTransformProtocol.MAX_POEM_LENGTH

        proto.dataReceived(b"cummingsify\n" + b"x" * limit)
        self.assertFalse(transport.disconnecting)
        proto.dataReceived(b"x")
        proto.dataReceived(b"more")
        proto.readConnectionLost()

        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(
            self.log,
            [f"bad request: a poem of more than {limit} bytes; closing the connection"],
        )

    def test_nameLineTooLong(self):
        """A first line longer than LineReceiver allows is refused."""
        self.assertRefused(
            b"x" * 20000 + b"\n",
            "bad request: a first line of more than 16384 bytes;"
            " closing the connection",
        )

    def test_closedBeforeTheEnd(self):
        """A client that goes away without finishing its request is logged once."""
        proto, transport = connect_protocol(self.factory)
        proto.dataReceived(b"cummingsify\nHALF A")

        lose(proto)

        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.log, ["connection closed before a whole request arrived"])


class TwoProtocolsMainTests(ServerCommandLineMixin, SynchronousTestCase):
    """main(): two ports, two factories, one TransformService."""

    SCRIPT = TWO_PROTOCOLS
    COMMAND = f"python {TWO_PROTOCOLS} --port 11000 --line-port 11001"
    OPTIONS = ServerCommandLineMixin.OPTIONS + ("--line-port LINE_PORT",)

    def test_oneServiceForBoth(self):
        """Both factories hold the very same TransformService object."""
        reactor = ServingReactor()

        result = self.run_main(
            "--port", "11000", "--line-port", "11001", reactor=reactor
        )

        netstrings, lines = [p.factory.wrappedFactory for p in reactor.listening]
        module = load_script(TWO_PROTOCOLS)
        self.assertIs(type(netstrings), module.TransformFactory)
        self.assertIs(type(lines), module.LineTransformFactory)
        self.assertIsInstance(netstrings.service, module.TransformService)
        self.assertIs(netstrings.service, lines.service)
        self.assertEqual([p.port for p in reactor.listening], [11000, 11001])
        self.assertEqual(
            result.stdout,
            "Serving transforms on IPv4Address(type='TCP', host='127.0.0.1',"
            " port=11000).\n"
            "Serving line transforms on IPv4Address(type='TCP', host='127.0.0.1',"
            " port=11001).\n",
        )

    def test_linePortTaken(self):
        """With the line port taken, the server says so and the netstring port closes."""
        reactor = ServingReactor(taken={11001})

        result = self.run_main("--line-port", "11001", reactor=reactor)

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            "transformedpoetry-two-protocols.py: cannot listen on localhost:11001:"
            " Address already in use\n",
        )
        self.assertEqual([p.stopped for p in reactor.listening], [True])

    def test_linePortOutOfRange(self):
        """A line port above 65535 is a usage error."""
        result = self.run_main("--line-port", "70000")

        self.assertEqual(result.exit_code, 2)
        self.assertIn(
            "--line-port must be between 0 and 65535, not 70000", result.stderr
        )


class TwoProtocolsServerTests(ScriptTestCase):
    """The real server: the same poem transformed through each protocol."""

    @defer.inlineCallbacks
    def test_bothProtocols(self):
        """A netstring client and a netcat -N style client each get the poem lower-cased."""
        server = yield self.start_server(TWO_PROTOCOLS)
        netstring_port, line_port = yield serving_ports(server, 2)
        poem = poem_bytes("alla-sera.txt")

        by_netstring, by_line = yield defer.gatherResults(
            [
                fetch(netstring_port, netstring(b"cummingsify." + poem)),
                fetch(line_port, b"cummingsify\n" + poem, half_close=True),
            ]
        )

        expected = lowered_text("alla-sera.txt").encode("utf-8")
        self.assertEqual(by_netstring, netstring(expected))
        self.assertEqual(by_line, expected)


# -- exercise 4: an asynchronous service ----------------------------------

REQUEST = b"27:cummingsify.HERE IS MY POEM,"
ANSWER = b"15:here is my poem,"
CANCELLED = "connection lost before its transform was done; cancelled"


class AsyncServiceTests(SynchronousTestCase):
    """The service, factory and protocol on a fake reactor, its time moved by the test."""

    def setUp(self):
        self.module = load_script(ASYNC)
        self.reactor = fake_reactor(self)
        self.service = self.module.TransformService()
        self.factory = self.module.TransformFactory(self.service)
        self.log = self.enterContext(logged_messages())

    def test_serviceAnswersLater(self):
        """cummingsify returns a Deferred that fires once the delay has passed."""
        d = self.service.cummingsify("A POEM")

        self.reactor.advance(self.service.delay - 0.1)
        self.assertNoResult(d)
        self.reactor.advance(0.1)

        self.assertEqual(self.successResultOf(d), "a poem")

    def test_factoryGivesADeferred(self):
        """transform gives a Deferred of the new poem; xform_cummingsify passes it on."""
        d = self.factory.transform("cummingsify", "A POEM")
        self.assertNoResult(d)

        self.reactor.advance(self.service.delay)

        self.assertEqual(self.successResultOf(d), "a poem")

    def test_unknownTransformFiresNone(self):
        """An unknown name gives a Deferred that has already fired with None."""
        d = self.factory.transform("shakespearify", "A POEM")

        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(self.log, ["no such transform: 'shakespearify'"])

    def test_failuresBecomeNone(self):
        """A transform that raises at once, or fails later, gives None, logged."""

        class Broken:
            def cummingsify(self, poem):
                raise ValueError("at once")

        class FailsLater:
            def cummingsify(self, poem):
                return defer.fail(KeyError("later"))

        for service in [Broken(), FailsLater()]:
            factory = self.module.TransformFactory(service)
            self.assertIsNone(
                self.successResultOf(factory.transform("cummingsify", "A POEM"))
            )
        self.assertEqual(len(self.flushLoggedErrors(ValueError, KeyError)), 2)

    def test_answerWhenReady(self):
        """The protocol writes the answer, and closes, only when the transform is done."""
        proto, transport = connect_protocol(self.factory)
        proto.dataReceived(REQUEST)
        self.assertEqual((transport.value(), transport.disconnecting), (b"", False))

        self.reactor.advance(self.service.delay)

        self.assertEqual(transport.value(), ANSWER)
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(proto.pending)

    def test_clientsServedTogether(self):
        """Two clients' transforms run side by side: both answered after one delay."""
        (p1, t1), (p2, t2) = (
            connect_protocol(self.factory),
            connect_protocol(self.factory),
        )
        p1.dataReceived(REQUEST)
        p2.dataReceived(netstring(b"cummingsify.SECOND"))

        self.reactor.advance(self.service.delay)

        self.assertEqual((t1.value(), t2.value()), (ANSWER, netstring(b"second")))

    def test_connectionLostCancels(self):
        """A client gone while its transform is pending: cancelled, nothing written, no error."""
        proto, transport = connect_protocol(self.factory)
        proto.dataReceived(REQUEST)

        lose(proto, error.ConnectionLost)
        self.reactor.advance(self.service.delay)

        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertEqual(self.log, [CANCELLED])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_closedAfterAnswerCancelsNothing(self):
        """Once the answer is out, the close is an ordinary one."""
        proto, transport = connect_protocol(self.factory)
        proto.dataReceived(REQUEST)
        self.reactor.advance(self.service.delay)

        lose(proto)

        self.assertEqual(self.log, [])


class AsyncServerTests(ScriptTestCase):
    """The real server, with short delays."""

    @defer.inlineCallbacks
    def test_answersAfterTheDelay(self):
        """Clients that ask at once are all answered, by one process, after the delay."""
        server = yield self.start_server(ASYNC, "--delay", "0.1")

        answers = yield defer.gatherResults(
            [fetch(server.port, REQUEST, half_close=True) for _ in range(10)]
        )

        self.assertEqual(answers, [ANSWER] * 10)

    @defer.inlineCallbacks
    def test_guardResetCancels(self):
        """A transform slower than --timeout: the guard resets, the transform is cancelled."""
        server = yield self.start_server(ASYNC, "--delay", "30", "--timeout", "0.2")

        answer, clean = yield receive(server.port, REQUEST, half_close=True)
        yield server.wait_for(CANCELLED.encode())

        self.assertEqual((answer, clean), (b"", False))
        self.assertIn("nothing new to send to 127.0.0.1:", server.stderr)
        self.assertNotIn("Traceback", server.stderr)
        self.assertNotIn("Unhandled", server.stderr)


class AsyncCommandLineTests(ServerCommandLineMixin, SynchronousTestCase):
    """--delay beside the server's usual options."""

    SCRIPT = ASYNC
    COMMAND = f"python {ASYNC} --port 11000"
    OPTIONS = ServerCommandLineMixin.OPTIONS + ("--delay DELAY",)

    def test_negativeDelay(self):
        """A negative delay is a usage error."""
        result = self.run_main("--delay=-1")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--delay must not be negative, not -1", result.stderr)

    def test_nanDelay(self):
        """A delay that is not a number (nan) is a usage error."""
        result = self.run_main("--delay", "nan")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--delay must not be negative, not nan", result.stderr)

    def test_delayReachesTheService(self):
        """--delay is what the service waits."""
        reactor = ServingReactor()

        self.run_main("--delay", "2.5", reactor=reactor)

        self.assertEqual(reactor.listening[0].factory.wrappedFactory.service.delay, 2.5)


# -- exercise 6: the poem as a netstring -----------------------------------


class NetstringServerTests(SynchronousTestCase):
    """The server's PoetryProtocol on a StringTransport."""

    def setUp(self):
        self.module = load_script(NETSTRING_SERVER)

    def test_sendsOneNetstring(self):
        """A client gets the poem framed as one netstring, then the close."""
        factory = self.module.PoetryFactory(poem_bytes("alla-sera.txt"))

        _, transport = connect_protocol(factory)

        self.assertEqual(transport.value(), netstring(poem_bytes("alla-sera.txt")))
        self.assertTrue(transport.disconnecting)

    def test_clientBytesIgnored(self):
        """Whatever a client sends is not answered and raises nothing."""
        proto, transport = connect_protocol(self.module.PoetryFactory(b"A POEM"))

        proto.dataReceived(b"5:hello,")

        self.assertEqual(transport.value(), b"6:A POEM,")


class NetstringServerCommandLineTests(PoemFileServerMixin, SynchronousTestCase):
    """The fast server's command line, unchanged."""

    SCRIPT = NETSTRING_SERVER
    COMMAND = f"python {NETSTRING_SERVER} --port 10002 poetry/fascination.txt"


class NetstringClientCommandLineTests(ClientCommandLineMixin, SynchronousTestCase):
    CLIENT = NETSTRING_CLIENT
    VERSION = "4.0, netstrings (Part 12, exercise 6)"
    EXAMPLE = "10002 10003"


class NetstringClientTests(SynchronousTestCase):
    """get_poetry of the netstring client, with a fake reactor and clock."""

    def setUp(self):
        self.module = load_script(NETSTRING_CLIENT)
        self.reactor = fake_reactor(self)

    def download(self, host="127.0.0.1", port=10002):
        """Start a download and connect it; return its Deferred, protocol and transport."""
        d = self.module.get_poetry(host, port)
        self.factory = self.reactor.tcpClients[-1][2]
        self.connector = self.reactor.connectors[-1]
        proto = self.factory.buildProtocol(SERVER_ADDR)
        transport = StringTransport()
        proto.makeConnection(transport)
        return d, proto, transport

    def close(self, proto, reason):
        """The connection ends with `reason`: protocol first, then factory."""
        proto.connectionLost(Failure(reason))
        self.factory.clientConnectionLost(self.connector, Failure(reason))

    def failureMessage(self, d):
        return self.failureResultOf(d, self.module.DownloadFailed).getErrorMessage()

    def test_wholeNetstring(self):
        """A netstring, in pieces, is the poem, without its framing."""
        d, proto, transport = self.download()
        framed = netstring(poem_bytes("alla-sera.txt"))

        proto.dataReceived(framed[:5])
        proto.dataReceived(framed[5:-1])
        self.assertNoResult(d)
        proto.dataReceived(framed[-1:])

        self.assertEqual(self.successResultOf(d), poem_bytes("alla-sera.txt"))
        self.assertTrue(transport.disconnecting)  # the client hangs up itself
        self.close(proto, error.ConnectionDone())
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_cutShort(self):
        """A clean close before the netstring is whole fails the poem, naming the server."""
        d, proto, _ = self.download()
        proto.dataReceived(b"608:The Fascination of What's Difficult\n")

        self.close(proto, error.ConnectionDone())

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10002: Connection closed before a whole netstring arrived.",
        )

    def test_notANetstring(self):
        """A classic poetry server's poem is no netstring: the client gives up on it."""
        d, proto, transport = self.download()

        proto.dataReceived(poem_bytes("science.txt"))
        self.assertTrue(transport.disconnecting)
        self.close(proto, error.ConnectionDone())

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10002: Connection closed before a whole netstring arrived.",
        )

    def test_ipv6ServerNamed(self):
        """An IPv6 server is named in brackets."""
        d, proto, _ = self.download("::1", 10003)
        proto.dataReceived(b"10:half")

        self.close(proto, error.ConnectionDone())

        self.assertTrue(self.failureMessage(d).startswith("[::1]:10003: "))

    def test_resetStillExplained(self):
        """A reset half-way is reported by the download guard, as in client 4."""
        d, proto, _ = self.download()
        proto.dataReceived(b"10:half")

        self.close(proto, error.ConnectionLost())

        self.assertEqual(
            self.failureMessage(d), "127.0.0.1:10002: Connection broke after 7 bytes."
        )

    def test_againstTheServer(self):
        """Against the netstring server's protocol in memory, the poem arrives whole."""
        server = load_script(NETSTRING_SERVER).PoetryFactory(poem_bytes("ecstasy.txt"))
        factory = self.module.PoetryClientFactory(defer.Deferred())
        d = factory.deferred

        _, _, pump = iosim.connectedServerAndClient(
            lambda: server.buildProtocol(SERVER_ADDR),
            lambda: factory.buildProtocol(SERVER_ADDR),
        )
        pump.flush()

        self.assertEqual(self.successResultOf(d), poem_bytes("ecstasy.txt"))


class _HalfANetstring(protocol.Protocol):
    """A poetry server that promises a whole poem, sends half, and closes cleanly."""

    def connectionMade(self):
        poem = poem_bytes("fascination.txt")
        self.transport.write(b"%d:" % len(poem) + poem[: len(poem) // 2])
        self.transport.loseConnection()


class NetstringEndToEndTests(ScriptTestCase):
    """The real client, against the real server and against one that stops half-way."""

    @defer.inlineCallbacks
    def test_serverToClient(self):
        """The netstring client prints the netstring server's poems, unframed."""
        first = yield self.start_server(NETSTRING_SERVER, poem_path("alla-sera.txt"))
        second = yield self.start_server(NETSTRING_SERVER, poem_path("science.txt"))

        proc = yield self.run_script(NETSTRING_CLIENT, first.port, second.port)

        # in the order they arrive
        assert_printed(
            self, proc.stdout, [poem_text("alla-sera.txt"), poem_text("science.txt")]
        )
        self.assertEqual((proc.stderr, proc.exit_code), ("", 0))

    @defer.inlineCallbacks
    def test_cutShortIsReported(self):
        """Cut half-way, closed cleanly: the netstring client fails; client 4 prints it."""
        port = listen(self, protocol.Factory.forProtocol(_HalfANetstring))

        netstring_client = yield self.run_script(NETSTRING_CLIENT, port)
        client_4 = yield self.run_script(CLIENT_4, port)

        self.assertEqual((netstring_client.exit_code, netstring_client.stdout), (1, ""))
        self.assertEqual(
            netstring_client.stderr,
            f"Poem failed: 127.0.0.1:{port}: Connection closed before a whole"
            " netstring arrived.\n",
        )
        half = poem_bytes("fascination.txt")[: len(poem_bytes("fascination.txt")) // 2]
        self.assertEqual(client_4.exit_code, 0)
        self.assertEqual(client_4.stdout, "608:" + half.decode("utf-8") + "\n")

    @defer.inlineCallbacks
    def test_classicServer(self):
        """The fast server of Part 11 sends no netstring: the client says so."""
        port = yield serve_poem(self, "science.txt")

        proc = yield self.run_script(NETSTRING_CLIENT, port)

        self.assertEqual(proc.exit_code, 1)
        self.assertIn(
            "Connection closed before a whole netstring arrived.", proc.stderr
        )
