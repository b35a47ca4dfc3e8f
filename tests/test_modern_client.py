"""modern/get-poetry.py: the download guard, poetry_main, and get_poetry over TCP.

Written in today's trial style: a test that waits is an `async def` method,
and trial runs the coroutine it returns as it runs a returned Deferred. A
Deferred is awaited directly; nothing here needs inlineCallbacks.

TransformingMainMixin (tests/mixins.py) does not fit this client: it runs
poetry_main() under a fake reactor's run(), patches get_poetry(host, port)
and TransformProxy(host, port), and reads the limits from DownloadGuard's
class attributes. Here poetry_main is a coroutine that receives the reactor
and the parsed arguments, get_poetry and TransformProxy take the reactor and
a Limits, and task.react (not the script) stops the reactor. So
PoetryMainTests below covers the same behaviours, test for test, by running
poetry_main itself on a MemoryReactorClock with the same fakes reshaped:
the two about stopping the reactor become "poetry_main finishes only after
the last poem" and "shutting down interrupts the poems on their way".
"""

import io
import sys

from twisted.internet import error
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.helpers import (
    dead_port,
    listen,
    load_script,
    lowered_text,
    netstring,
    poem_bytes,
)

CLIENT = "modern/get-poetry.py"


class DownloadGuardTests(SynchronousTestCase):
    """PoetryProtocol (and so Download) on a StringTransport, with a Clock."""

    def setUp(self):
        self.module = load_script(CLIENT)
        self.clock = MemoryReactorClock()
        limits = self.module.Limits(timeout=5, max_size=10)
        self.proto = self.module.PoetryProtocol(self.clock, "127.0.0.1:10001", limits)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def failureMessage(self):
        return str(self.failureResultOf(self.proto.finished).value)

    def close(self, reason):
        self.proto.connectionLost(Failure(reason))

    def test_poemOnCleanClose(self):
        """Bytes then a clean close: the poem, and no timer left behind."""
        self.proto.dataReceived(b"a po")
        self.proto.dataReceived(b"em")
        self.close(error.ConnectionDone())

        self.assertEqual(self.successResultOf(self.proto.finished), b"a poem")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_trickleOutlastsTimeout(self):
        """A byte every 4 s keeps a 5 s time-out away."""
        for _ in range(10):
            self.clock.advance(4)
            self.proto.dataReceived(b"x")
        self.close(error.ConnectionDone())

        self.assertEqual(self.successResultOf(self.proto.finished), b"x" * 10)

    def test_silenceTimesOut(self):
        """Five seconds without a byte reset the connection and fail the poem."""
        self.proto.dataReceived(b"x")

        self.clock.advance(5)

        self.assertTrue(self.transport.disconnected)
        self.assertEqual(self.failureMessage(), "127.0.0.1:10001: Timed out after 5 s.")

    def test_emptyReply(self):
        """A clean close with no byte at all is a failure, not an empty poem."""
        self.close(error.ConnectionDone())

        self.assertEqual(
            self.failureMessage(),
            "127.0.0.1:10001: Connection closed before any poem arrived.",
        )

    def test_cutOff(self):
        """A connection that breaks half-way says how far it got."""
        self.proto.dataReceived(b"x" * 7)

        self.close(error.ConnectionLost())

        self.assertEqual(
            self.failureMessage(), "127.0.0.1:10001: Connection broke after 7 bytes."
        )

    def test_tooLarge(self):
        """A poem over the size limit resets the connection and fails."""
        self.proto.dataReceived(b"x" * 10)
        self.assertFalse(self.transport.disconnected)

        self.proto.dataReceived(b"x")

        self.assertTrue(self.transport.disconnected)
        self.assertEqual(
            self.failureMessage(), "127.0.0.1:10001: Poem larger than 10 bytes."
        )

    def test_cancelInterrupts(self):
        """Cancelling the Deferred (Ctrl-C) resets the connection and says so."""
        self.proto.dataReceived(b"x" * 3)

        self.proto.finished.cancel()

        self.assertTrue(self.transport.disconnected)
        self.assertEqual(
            self.failureMessage(), "127.0.0.1:10001: Interrupted after 3 bytes."
        )
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_firesOnlyOnce(self):
        """After the poem, a late reset changes nothing."""
        self.proto.dataReceived(b"a poem")
        self.close(error.ConnectionDone())

        self.proto.connectionLost(Failure(error.ConnectionLost()))

        self.assertEqual(self.successResultOf(self.proto.finished), b"a poem")


class TransformClientTests(SynchronousTestCase):
    """TransformClientProtocol on a StringTransport."""

    def setUp(self):
        self.module = load_script(CLIENT)
        limits = self.module.Limits()
        self.proto = self.module.TransformClientProtocol(
            MemoryReactorClock(), "127.0.0.1:10001", limits, "cummingsify", b"A POEM"
        )
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def test_sendsRequest(self):
        """On connecting, the client sends one netstring: name, a dot, the poem bytes."""
        self.assertEqual(self.transport.value(), netstring(b"cummingsify.A POEM"))

    def test_answer(self):
        """The answer fires `finished`, and the client hangs up."""
        self.proto.dataReceived(netstring(b"a poem"))

        self.assertEqual(self.successResultOf(self.proto.finished), b"a poem")
        self.assertTrue(self.transport.disconnecting)

    def test_closedWithoutAnswer(self):
        """A connection closed before the answer is a DownloadFailed."""
        self.proto.connectionLost(Failure(error.ConnectionDone()))

        self.failureResultOf(self.proto.finished, self.module.DownloadFailed)


class FakeProxy:
    """Stands in for TransformProxy: each xform returns a Deferred the test fires."""

    def __init__(self):
        self.address = None
        self.requests = []

    def __call__(self, reactor, host, port, limits):
        self.address = (host, port)
        return self

    def xform(self, xform_name, poem):
        d = Deferred()
        self.requests.append((xform_name, poem, d))
        return d


class PoetryMainTests(TestCase):
    """poetry_main on a MemoryReactorClock, with get_poetry and the proxy faked.

    The same behaviours as TransformingMainMixin's tests (see the module
    docstring); the test fires every Deferred itself.
    """

    def setUp(self):
        self.module = load_script(CLIENT)
        self.downloads = {}
        self.limits = []
        self.proxy = FakeProxy()
        self.patch(self.module, "get_poetry", self.fake_get_poetry)
        self.patch(self.module, "TransformProxy", self.proxy)
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        self.patch(sys, "stdout", self.stdout)
        self.patch(sys, "stderr", self.stderr)
        self.reactor = MemoryReactorClock()

    def fake_get_poetry(self, reactor, host, port, limits):
        self.limits.append(limits)

        def interrupted(d):
            # What the real download does when it is cancelled.
            d.errback(
                self.module.DownloadFailed(f"{host}:{port}: Interrupted at once.")
            )

        d = Deferred(interrupted)
        self.downloads[port] = d
        return d

    def start(self, *argv, timeout=60.0, max_poem_size=1000):
        """Start poetry_main as if given `argv`; return its Deferred."""
        args = self.module.argparse.Namespace(
            addresses=[self.module.parse_address(a) for a in argv],
            timeout=timeout,
            max_poem_size=max_poem_size,
        )
        return Deferred.fromCoroutine(self.module.poetry_main(self.reactor, args))

    def shut_down(self):
        """Run the reactor's "before shutdown" triggers, as Ctrl-C would."""
        for trigger, args, kwargs in self.reactor.triggers["before"]["shutdown"]:
            trigger(*args, **kwargs)

    def assertExitStatus(self, main, status):
        self.assertEqual(self.failureResultOf(main, SystemExit).value.code, status)

    async def test_transformWaitsForDownload(self):
        """The transformation is asked for once the poem is in; the result prints."""
        main = self.start("10001", "10002")
        self.assertEqual(self.proxy.requests, [])

        self.downloads[10002].callback(b"A POEM\n")
        [(xform_name, poem, d)] = self.proxy.requests
        d.callback(b"a poem\n")
        await main

        self.assertEqual(self.proxy.address, ("127.0.0.1", 10001))
        self.assertEqual((xform_name, poem), ("cummingsify", b"A POEM\n"))
        self.assertEqual(self.stdout.getvalue(), "a poem\n\n")
        self.assertEqual(self.stderr.getvalue(), "")

    def test_finishesAfterLastPoem(self):
        """poetry_main finishes (and react stops the reactor) only after the last poem."""
        main = self.start("10001", "10002", "10003")

        self.downloads[10003].callback(b"B")
        self.proxy.requests[0][2].callback(b"b")
        self.assertNoResult(main)
        self.downloads[10002].errback(
            self.module.DownloadFailed("127.0.0.1:10002: Connection refused.")
        )

        self.assertExitStatus(main, 1)

    def test_downloadFailed(self):
        """A failed download is reported, not transformed, and makes the status 1."""
        main = self.start("10001", "10002", "10003")

        self.downloads[10002].errback(
            self.module.DownloadFailed("127.0.0.1:10002: Timed out after 60 s.")
        )
        self.downloads[10003].callback(b"B")
        self.proxy.requests[0][2].callback(b"b")

        self.assertExitStatus(main, 1)
        self.assertEqual(
            self.stderr.getvalue(),
            "The poem download failed: 127.0.0.1:10002: Timed out after 60 s.\n",
        )
        self.assertEqual([r[1] for r in self.proxy.requests], [b"B"])
        self.assertEqual(self.stdout.getvalue(), "b\n")

    async def test_transformFailed(self):
        """A failed transformation is reported and the original poem printed."""
        main = self.start("10001", "10002")

        self.downloads[10002].callback(b"A POEM")
        self.proxy.requests[0][2].errback(
            self.module.DownloadFailed("127.0.0.1:10001: Connection refused.")
        )
        await main

        self.assertEqual(self.stderr.getvalue(), "Cummingsify failed!\n")
        self.assertEqual(self.stdout.getvalue(), "A POEM\n")

    def test_interruptedOnShutdown(self):
        """Shutting down (Ctrl-C) cancels the poems on their way: status 1."""
        main = self.start("10001", "10002", "10003")
        self.downloads[10003].callback(b"B")
        self.proxy.requests[0][2].callback(b"b")

        self.shut_down()

        self.assertExitStatus(main, 1)
        self.assertEqual(self.stdout.getvalue(), "b\n")
        self.assertEqual(
            self.stderr.getvalue(),
            "The poem download failed: 127.0.0.1:10002: Interrupted at once.\n",
        )

    def test_limitsFromCommandLine(self):
        """--timeout and --max-poem-size reach every download as its Limits."""
        self.start("1", "2", "3", timeout=2.5, max_poem_size=9)

        self.assertEqual(
            [(lim.timeout, lim.max_size) for lim in self.limits], [(2.5, 9)] * 2
        )

    async def test_utf8Poem(self):
        """A UTF-8 poem is decoded once, for printing."""
        poem = poem_bytes("alla-sera.txt")
        main = self.start("10001", "10002")

        self.downloads[10002].callback(poem)
        self.proxy.requests[0][2].callback(poem.lower())
        await main

        self.assertEqual(self.stdout.getvalue(), lowered_text("alla-sera.txt") + "\n")


class _Serve(Protocol):
    """Sends the factory's poem, then closes."""

    def connectionMade(self):
        self.transport.write(self.factory.poem)
        self.transport.loseConnection()


class GetPoetryOverTCPTests(TestCase):
    """get_poetry and TransformProxy in the test's reactor, against loopback servers."""

    timeout = 10

    def setUp(self):
        from twisted.internet import reactor

        self.reactor = reactor
        self.module = load_script(CLIENT)
        self.limits = self.module.Limits(timeout=5)

    def serve(self, poem):
        factory = Factory.forProtocol(_Serve)
        factory.poem = poem
        return listen(self, factory)

    async def test_downloadsPoem(self):
        """get_poetry returns exactly the bytes the server sent."""
        port = self.serve(poem_bytes("alla-sera.txt"))

        poem = await self.module.get_poetry(
            self.reactor, "127.0.0.1", port, self.limits
        )

        self.assertEqual(poem, poem_bytes("alla-sera.txt"))

    async def test_serverDown(self):
        """A server that is down raises DownloadFailed naming it and Twisted's reason."""
        port = dead_port(self)

        with self.assertRaises(self.module.DownloadFailed) as raised:
            await self.module.get_poetry(self.reactor, "127.0.0.1", port, self.limits)

        self.assertTrue(
            str(raised.exception).startswith(
                f"127.0.0.1:{port}: Connection was refused"
            )
        )

    async def test_transformAgainstModernServer(self):
        """TransformProxy.xform against the modern server's protocol lower-cases a poem."""
        server = load_script("modern/transformedpoetry.py")
        factory = server.TransformFactory(
            self.reactor, server.TransformService(), timeout=5
        )
        port = listen(self, factory)
        proxy = self.module.TransformProxy(self.reactor, "127.0.0.1", port, self.limits)

        poem = await proxy.xform("cummingsify", poem_bytes("alla-sera.txt"))

        self.assertEqual(poem.decode("utf-8"), lowered_text("alla-sera.txt"))
