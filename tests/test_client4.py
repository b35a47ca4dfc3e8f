"""Part 14's poetry client, twisted-client-4/get-poetry.py (client 4.0).

Clients 6, 7 and 8 carry client 4's classes, get_poetry and download guard
byte for byte (tests/test_stages.py checks that), so the download tests here
stand for all four clients.
"""

import argparse
import errno

from twisted.internet import defer, error
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.helpers import (
    FASTPOETRY,
    SERVER_ADDR,
    ScriptTestCase,
    assert_printed,
    connect_protocol,
    dead_port,
    fake_reactor,
    listen_reset_after,
    load_script,
    poem_bytes,
    poem_path,
    poem_text,
    serve_poem,
)
from tests.mixins import ClientCommandLineMixin, FakedClientMixin

CLIENT = "twisted-client-4/get-poetry.py"


class Client4CommandLineTests(ClientCommandLineMixin, SynchronousTestCase):
    CLIENT = CLIENT
    VERSION = "4.0 (Part 8, run again in Part 14)"
    EXAMPLE = "10000"


class ParseAddressTests(SynchronousTestCase):
    def setUp(self):
        self.parse_address = load_script(CLIENT).parse_address

    def test_portOnly(self):
        """A bare port means that port on 127.0.0.1."""
        self.assertEqual(self.parse_address("10001"), ("127.0.0.1", 10001))

    def test_hostAndPort(self):
        """host:port gives that host and port."""
        self.assertEqual(self.parse_address("localhost:10002"), ("localhost", 10002))

    def test_ipv6Host(self):
        """An IPv6 host is written in brackets, which are not part of the host."""
        self.assertEqual(self.parse_address("[::1]:10003"), ("::1", 10003))

    def test_badAddresses(self):
        """Anything else is refused with a message naming the address."""
        for text in ["", "poetry", "0", "65536", "-1", "localhost:", "10001:x"]:
            with self.assertRaises(argparse.ArgumentTypeError) as caught:
                self.parse_address(text)
            self.assertIn(repr(text), str(caught.exception))


class DownloadTests(SynchronousTestCase):
    """get_poetry and its guard, with a fake reactor and clock: no sockets, no waiting."""

    def setUp(self):
        self.module = load_script(CLIENT)
        self.reactor = fake_reactor(self)
        self.patch(self.module.DownloadGuard, "timeout", 5.0)

    def download(self, host="127.0.0.1", port=10001):
        """Start get_poetry; return its Deferred, its factory and its connector."""
        d = self.module.get_poetry(host, port)
        factory = self.reactor.tcpClients[-1][2]
        return d, factory, self.reactor.connectors[-1]

    def connect(self, factory):
        """Let the connection succeed; return the protocol and its transport."""
        return connect_protocol(factory, addr=SERVER_ADDR)

    def close(self, factory, connector, proto, reason):
        """The connection ends with `reason`, as the reactor would report it."""
        proto.connectionLost(Failure(reason))
        factory.clientConnectionLost(connector, Failure(reason))

    def failureMessage(self, d):
        return self.failureResultOf(d, self.module.DownloadFailed).getErrorMessage()

    def test_poem(self):
        """The poem is every byte received, in pieces, until a clean close."""
        d, factory, connector = self.download()
        proto, _ = self.connect(factory)

        proto.dataReceived(poem_bytes("alla-sera.txt")[:7])
        proto.dataReceived(poem_bytes("alla-sera.txt")[7:])
        self.assertNoResult(d)
        self.close(factory, connector, proto, error.ConnectionDone())

        self.assertEqual(self.successResultOf(d), poem_bytes("alla-sera.txt"))
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_trickleOutlastsTimeout(self):
        """A server that sends a byte every 4 s, for 40 s, is waited for."""
        d, factory, connector = self.download()
        proto, transport = self.connect(factory)

        for _ in range(10):
            self.reactor.advance(4)
            proto.dataReceived(b"x")
        self.close(factory, connector, proto, error.ConnectionDone())

        self.assertEqual(self.successResultOf(d), b"x" * 10)
        self.assertFalse(transport.disconnecting)

    def test_silenceTimesOut(self):
        """Five seconds without a byte reset the connection and fail the poem."""
        d, factory, connector = self.download()
        proto, transport = self.connect(factory)
        self.reactor.advance(4)
        proto.dataReceived(b"x")

        self.reactor.advance(5)

        self.assertTrue(transport.disconnected)
        self.close(factory, connector, proto, error.ConnectionAborted())
        self.assertEqual(
            self.failureMessage(d), "127.0.0.1:10001: Timed out after 5 s."
        )

    def test_silentWhileConnecting(self):
        """A connection not made in five seconds is given up on the same way."""
        d, factory, connector = self.download()

        self.reactor.advance(5)

        self.assertTrue(connector.stoppedConnecting)
        factory.clientConnectionFailed(connector, Failure(error.UserError()))
        self.assertEqual(
            self.failureMessage(d), "127.0.0.1:10001: Timed out after 5 s."
        )

    def test_connectorTimesOutFirst(self):
        """connectTCP's own 30 s time-out, shorter than ours, is a time-out too."""
        self.patch(self.module.DownloadGuard, "timeout", 45.0)
        d, factory, connector = self.download()

        self.reactor.advance(30)
        factory.clientConnectionFailed(connector, Failure(error.TimeoutError()))

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10001: Timed out after 30 s while connecting.",
        )
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_connectorTimeoutNamed(self):
        """The connect time-out reported is the connector's own, when it has one."""
        d, factory, connector = self.download()
        connector.timeout = 12.5  # as connectTCP(..., timeout=12.5) would make it

        factory.clientConnectionFailed(connector, Failure(error.TimeoutError()))

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10001: Timed out after 12.5 s while connecting.",
        )

    def test_resetWhileConnecting(self):
        """A reset that beats the end of connecting is a connection broken at once."""
        d, factory, connector = self.download()
        reset = error.ConnectError(osError=errno.ECONNRESET, string="reset")

        factory.clientConnectionFailed(connector, Failure(reset))

        self.assertEqual(
            self.failureMessage(d), "127.0.0.1:10001: Connection broke at once."
        )

    def test_emptyReply(self):
        """A clean close with no byte at all is a failure, not an empty poem."""
        d, factory, connector = self.download()
        proto, _ = self.connect(factory)

        self.close(factory, connector, proto, error.ConnectionDone())

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10001: Connection closed before any poem arrived.",
        )

    def test_cutOff(self):
        """A connection that breaks half-way fails the poem, saying how far it got."""
        d, factory, connector = self.download()
        proto, _ = self.connect(factory)
        proto.dataReceived(b"x" * 1000)

        self.close(factory, connector, proto, error.ConnectionLost())

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10001: Connection broke after 1000 bytes.",
        )

    def test_interrupted(self):
        """A connection closed because the reactor is stopping says so."""
        d, factory, connector = self.download()
        proto, _ = self.connect(factory)
        proto.dataReceived(b"x" * 10)
        self.reactor.running = False

        self.close(factory, connector, proto, error.ConnectionLost())

        self.assertEqual(
            self.failureMessage(d), "127.0.0.1:10001: Interrupted after 10 bytes."
        )

    def test_tooLarge(self):
        """A poem over the size limit resets the connection and fails."""
        self.patch(self.module.DownloadGuard, "max_size", 10)
        d, factory, connector = self.download()
        proto, transport = self.connect(factory)
        proto.dataReceived(b"x" * 10)
        self.assertFalse(transport.disconnected)

        proto.dataReceived(b"x")

        self.assertTrue(transport.disconnected)
        self.close(factory, connector, proto, error.ConnectionAborted())
        self.assertEqual(
            self.failureMessage(d), "127.0.0.1:10001: Poem larger than 10 bytes."
        )

    def test_refused(self):
        """A server that is down: Twisted's reason, after the server's address."""
        d, factory, connector = self.download()

        factory.clientConnectionFailed(
            connector, Failure(error.ConnectionRefusedError())
        )

        self.assertEqual(
            self.failureMessage(d),
            "127.0.0.1:10001: Connection was refused by other side.",
        )
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_ipv6ServerNamed(self):
        """An IPv6 server is named with its address in brackets."""
        d, factory, connector = self.download("::1", 10002)

        factory.clientConnectionFailed(
            connector, Failure(error.ConnectionRefusedError())
        )

        self.assertTrue(self.failureMessage(d).startswith("[::1]:10002: "))

    def test_firesOnlyOnce(self):
        """After the poem, a late failure report changes nothing."""
        d, factory, connector = self.download()
        proto, _ = self.connect(factory)
        proto.dataReceived(b"a poem")
        self.close(factory, connector, proto, error.ConnectionDone())

        factory.clientConnectionFailed(connector, Failure(error.ConnectionLost()))

        self.assertEqual(self.successResultOf(d), b"a poem")


class DownloadOverTCPTests(TestCase):
    """get_poetry in the test's own reactor, against servers on loopback."""

    timeout = 10

    def setUp(self):
        self.module = load_script(CLIENT)

    @defer.inlineCallbacks
    def test_downloadsPoem(self):
        """get_poetry fires with exactly the bytes the server sent."""
        port = yield serve_poem(self, "alla-sera.txt")

        received = yield self.module.get_poetry("127.0.0.1", port)

        self.assertEqual(received, poem_bytes("alla-sera.txt"))

    @defer.inlineCallbacks
    def test_ipv6(self):
        """A server listening on ::1 is reached as [::1]:port."""
        port = yield serve_poem(self, "science.txt", interface="::1")
        host, port = self.module.parse_address(f"[::1]:{port}")

        received = yield self.module.get_poetry(host, port)

        self.assertEqual(received, poem_bytes("science.txt"))

    @defer.inlineCallbacks
    def test_resetAfterSomeBytes(self):
        """A reset after 1000 bytes is a failed poem, not a 1000-byte one."""
        port = listen_reset_after(self, b"x" * 1000)

        d = self.module.get_poetry("127.0.0.1", port)
        failure = yield self.assertFailure(d, self.module.DownloadFailed)

        self.assertEqual(
            str(failure), f"127.0.0.1:{port}: Connection broke after 1000 bytes."
        )

    @defer.inlineCallbacks
    def test_serverDown(self):
        """A server that is down fails the Deferred, naming the server."""
        port = dead_port(self)

        d = self.module.get_poetry("127.0.0.1", port)
        failure = yield self.assertFailure(d, self.module.DownloadFailed)

        self.assertTrue(
            str(failure).startswith(f"127.0.0.1:{port}: Connection was refused")
        )


class PoetryMainTests(FakedClientMixin, SynchronousTestCase):
    """Client 4's poetry_main with get_poetry and the reactor faked."""

    CLIENT = CLIENT

    def test_printsPoemsWhenAllAreIn(self):
        """Nothing is printed until the last poem; then every poem, and status 0."""

        def scene():
            self.download(10001).callback("Ciò che".encode())
            self.download(10002).callback(b"B")

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual(result.stdout, "Ciò che\nB\n")
        self.assertEqual((result.stderr, result.exit_code), ("", 0))
        self.assertEqual(self.reactor.stops, 1)

    def test_failedPoem(self):
        """A failed poem gets one line on stderr; the other prints; status 1."""

        def scene():
            self.download(10001).errback(
                self.module.DownloadFailed("127.0.0.1:10001: Timed out after 60 s.")
            )
            self.download(10002).callback(b"B")

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual(
            result.stderr, "Poem failed: 127.0.0.1:10001: Timed out after 60 s.\n"
        )
        self.assertEqual((result.stdout, result.exit_code), ("B\n", 1))

    def test_stoppedEarly(self):
        """Stopped (Ctrl-C) before every poem is in: the whole ones print, status 1."""

        def scene():
            self.download(10002).callback(b"B")

        result = self.run_main(scene, "10001", "10002")

        self.assertEqual((result.stdout, result.exit_code), ("B\n", 1))

    def test_limitsFromCommandLine(self):
        """--timeout and --max-poem-size set the guard around every download."""
        result = self.run_main(
            lambda: None, "--timeout", "2.5", "--max-poem-size", "99", "10001"
        )

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(self.module.DownloadGuard.timeout, 2.5)
        self.assertEqual(self.module.DownloadGuard.max_size, 99)


class Client4EndToEndTests(ScriptTestCase):
    """The real command, against real servers in their own processes."""

    @defer.inlineCallbacks
    def test_poemsAndFailures(self):
        """Poems from 127.0.0.1 and [::1] print whole; a dead server is named; status 1."""
        first = yield serve_poem(self, "alla-sera.txt")
        second = yield self.start_server(
            FASTPOETRY, "--port", "0", "--iface", "::1", poem_path("science.txt")
        )
        dead = dead_port(self)

        proc = yield self.run_script(CLIENT, first, f"[::1]:{second.port}", dead)

        assert_printed(
            self, proc.stdout, [poem_text("alla-sera.txt"), poem_text("science.txt")]
        )
        self.assertRegex(
            proc.stderr,
            rf"^Poem failed: 127\.0\.0\.1:{dead}: Connection was refused .*\n$",
        )
        self.assertEqual(proc.exit_code, 1)
