"""Part 11, exercises 1, 2 and 5: poetry servers without Twisted's transports.

solutions/part-11/select-poetry-server.py (exercise 1) runs its own select
loop; solutions/part-11/lowlevel-poetry-server.py (exercise 2) hands its own
sockets to the reactor. Their pieces are tested on real loopback sockets
made in the test (no child process), then each script is started as a
learner would start it. The last tests back the facts the written answer
to exercise 5 states about one reactor serving several services.
"""

import io
import os
import socket
import struct
import sys
import threading

from twisted.internet import defer, error, protocol, threads
from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.helpers import (
    FASTPOETRY,
    ScriptTestCase,
    connect_receiver,
    drain,
    fetch,
    first_bytes_then_reset,
    listen,
    load_script,
    logged_messages,
    poem_bytes,
    poem_path,
    slow_readers,
)
from tests.mixins import PoemFileServerMixin

SELECT_SERVER = "solutions/part-11/select-poetry-server.py"
LOWLEVEL_SERVER = "solutions/part-11/lowlevel-poetry-server.py"
# More sends (or select rounds) than any test's poem needs: a loop that
# gets this far has found a bug, and fails instead of hanging.
SENDS = 10_000


def loopback_pair(testcase, sndbuf=None):
    """A connected TCP pair on 127.0.0.1: (server side, non-blocking; client side).

    With `sndbuf`, the server side's send buffer is made that small, so a
    large poem takes many sends. Both are closed at clean-up.
    """
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server, _ = listener.accept()
    testcase.addCleanup(client.close)
    testcase.addCleanup(server.close)
    if sndbuf is not None:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    server.setblocking(False)
    return server, client


def reset(sock):
    """Close `sock` with a reset (RST) instead of the usual FIN."""
    # struct linger: on, for 0 seconds.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def big_poem(size):
    """`size` bytes or so of UTF-8 verse, non-ASCII letters included."""
    verse = poem_bytes("alla-sera.txt")
    return verse * (size // len(verse) + 1)


# -- exercise 1: the select loop ---------------------------------------------


class PoetryClientTests(SynchronousTestCase):
    """select-poetry-server.py's PoetryClient, on a real loopback connection."""

    def setUp(self):
        self.module = load_script(SELECT_SERVER)

    def test_sendsOnlyWhatTheKernelTakes(self):
        """One send takes part of a large poem and returns at once: nothing blocks."""
        server, _ = loopback_pair(self, sndbuf=4096)
        client = self.module.PoetryClient(server, big_poem(1_000_000))

        done = client.send_some()

        self.assertFalse(done)
        self.assertGreater(client.sent, 0)
        self.assertLess(client.sent, len(client.poem))

    def test_offsetCarriesOnWhereItStopped(self):
        """Send after send, the peer receives the whole poem, byte for byte."""
        server, peer = loopback_pair(self, sndbuf=4096)
        poem = big_poem(200_000)
        client = self.module.PoetryClient(server, poem)
        received, full = b"", 0

        for _ in range(SENDS):
            try:
                if client.send_some():
                    break
            except BlockingIOError:
                full += 1
                received += peer.recv(65536)  # make room, as a reader would
        else:
            self.fail(f"the poem was not all sent after {SENDS} sends")
        server.close()
        rest, clean = drain(peer)

        self.assertGreater(full, 0, "the kernel took the whole poem at once")
        self.assertEqual((received + rest, clean), (poem, True))

    def test_halfCloseStopsReadingOnly(self):
        """A client that closes its side is no longer read, but is still written to."""
        server, peer = loopback_pair(self)
        client = self.module.PoetryClient(server, b"A poem.\n")
        peer.sendall(b"ignored")
        peer.shutdown(socket.SHUT_WR)

        client.read_some()  # the bytes it sent
        client.read_some()  # its end of input

        self.assertFalse(client.reading)
        self.assertEqual(client.events(), self.module.selectors.EVENT_WRITE)


class PoetryServerTests(SynchronousTestCase):
    """select-poetry-server.py's loop, on a real listening socket, in this process."""

    def setUp(self):
        self.module = load_script(SELECT_SERVER)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(self.listener.close)
        self.listener.setblocking(False)
        self.server = self.module.PoetryServer(self.listener, b"A short poem.\n")
        self.addCleanup(self.server.selector.close)

    def connect(self):
        sock = socket.create_connection(self.listener.getsockname(), timeout=5)
        self.addCleanup(sock.close)
        return sock

    def client_count(self):
        return len(self.server.selector.get_map()) - 1  # less the listener

    def test_acceptsEveryWaitingClient(self):
        """One readable event on the listener accepts all the clients queued on it."""
        self.connect(), self.connect(), self.connect()

        self.server.run_once(timeout=5)

        self.assertEqual(self.client_count(), 3)

    def test_poemThenClose(self):
        """A client gets the poem, then the server closes and forgets the socket."""
        sock = self.connect()
        self.server.run_once(timeout=5)  # accept

        self.server.run_once(timeout=5)  # write the whole (short) poem

        self.assertEqual(drain(sock), (b"A short poem.\n", True))
        self.assertEqual(self.client_count(), 0)

    def test_resetClientIsDropped(self):
        """A client that resets is dropped, with no exception out of the loop."""
        self.server.poem = big_poem(4_000_000)
        sock = self.connect()
        self.server.run_once(timeout=5)  # accept
        reset(sock)

        for _ in range(SENDS):
            if not self.client_count():
                break
            self.server.run_once(timeout=5)
        else:
            self.fail(f"the client was still there after {SENDS} rounds")

    def test_describeLikeTwisted(self):
        """The start-up line's address reads as Twisted's getHost() would print it."""
        port = self.listener.getsockname()[1]

        self.assertEqual(
            self.module.describe(self.listener),
            f"IPv4Address(type='TCP', host='127.0.0.1', port={port})",
        )


class PoetryServerTimeoutTests(SynchronousTestCase):
    """select-poetry-server.py's --timeout, with a clock the test sets."""

    def setUp(self):
        self.module = load_script(SELECT_SERVER)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(self.listener.close)
        self.listener.setblocking(False)
        self.now = 1000.0
        self.server = self.module.PoetryServer(
            self.listener, big_poem(8_000_000), timeout=60, clock=lambda: self.now
        )
        self.addCleanup(self.server.selector.close)
        self.stderr = io.StringIO()
        self.patch(sys, "stderr", self.stderr)

    def connect(self):
        """A client the server has accepted, and that reads nothing."""
        sock = socket.create_connection(self.listener.getsockname(), timeout=5)
        self.addCleanup(sock.close)
        self.server.run_once(timeout=5)
        return sock

    def test_stuckClientIsReset(self):
        """A client that has taken nothing for longer than the time-out is reset,
        and one line on stderr names it."""
        sock = self.connect()
        port = sock.getsockname()[1]

        self.now += 60.5
        self.server.sweep()

        self.assertEqual(len(self.server.selector.get_map()), 1)  # the listener
        self.assertFalse(drain(sock)[1])
        self.assertEqual(
            self.stderr.getvalue(),
            f"select-poetry-server.py: no progress with 127.0.0.1:{port} in 60 s;"
            " resetting the connection\n",
        )

    def test_progressKeepsAClient(self):
        """Each time the kernel takes some of the poem, the client's clock restarts."""
        self.connect()
        self.now += 50
        self.server.run_once(timeout=5)  # the first send: progress at 1050

        self.now += 50
        self.server.sweep()

        self.assertEqual(len(self.server.selector.get_map()), 2)
        self.assertEqual(self.stderr.getvalue(), "")

    def test_sweepsEveryQuarter(self):
        """serve_forever looks for stuck clients every quarter of the time-out."""
        self.server.sweep()

        self.assertEqual(self.server.next_sweep, self.now + 15)

    def test_cutAllResets(self):
        """On Ctrl-C a client whose poem is not all sent gets a reset, not a close."""
        sock = self.connect()

        self.server.cut_all()

        self.assertFalse(drain(sock)[1])


# -- exercise 2: descriptors on the reactor ------------------------------------


class PoetrySocketTests(SynchronousTestCase):
    """lowlevel-poetry-server.py's PoetrySocket, on a real loopback connection."""

    def setUp(self):
        self.module = load_script(LOWLEVEL_SERVER)
        self.reactor = MemoryReactorClock()

    def make(self, poem, sndbuf=None):
        server, peer = loopback_pair(self, sndbuf)
        poetry_socket = self.module.PoetrySocket(
            self.reactor, server, poem, peer.getsockname()
        )
        self.reactor.addReader(poetry_socket)
        self.reactor.addWriter(poetry_socket)
        return poetry_socket, peer

    def test_providesTheDescriptorInterfaces(self):
        """It has what addReader and addWriter need: fileno, doRead, doWrite, ..."""
        poetry_socket, _ = self.make(b"A poem.\n")

        self.assertTrue(verifyObject(IReadDescriptor, poetry_socket))
        self.assertTrue(verifyObject(IWriteDescriptor, poetry_socket))

    def test_partialWriteCarriesOn(self):
        """A write the kernel only partly takes returns None: call again later."""
        poetry_socket, _ = self.make(big_poem(1_000_000), sndbuf=4096)

        why = poetry_socket.doWrite()

        self.assertIsNone(why)
        self.assertLess(poetry_socket.sent, len(poetry_socket.poem))

    def test_doneOnceAllIsSent(self):
        """The last write returns ConnectionDone, the reactor's cue to close."""
        poem = big_poem(200_000)
        poetry_socket, peer = self.make(poem, sndbuf=4096)
        received, unfinished = b"", 0

        for _ in range(SENDS):
            if (why := poetry_socket.doWrite()) is not None:
                break
            unfinished += 1
            received += peer.recv(65536)
        else:
            self.fail(f"the poem was not all sent after {SENDS} writes")
        poetry_socket.connectionLost(why)
        rest, clean = drain(peer)

        self.assertGreater(unfinished, 0, "the kernel took the whole poem at once")
        self.assertIsInstance(why, error.ConnectionDone)
        self.assertEqual((received + rest, clean), (poem, True))

    def test_halfCloseStopsReadingOnly(self):
        """At the client's end of input it is removed as a reader and stays a writer."""
        poetry_socket, peer = self.make(b"A poem.\n")
        peer.shutdown(socket.SHUT_WR)

        why = poetry_socket.doRead()

        self.assertIsNone(why)
        self.assertNotIn(poetry_socket, self.reactor.readers)
        self.assertIn(poetry_socket, self.reactor.writers)

    def test_resetIsConnectionLost(self):
        """Writing to a client that reset returns ConnectionLost, not an exception."""
        poetry_socket, peer = self.make(big_poem(4_000_000))
        reset(peer)

        # The reset may arrive after a write or two.
        for _ in range(SENDS):
            if (why := poetry_socket.doWrite()) is not None:
                break
        else:
            self.fail(f"no write noticed the reset in {SENDS} writes")

        self.assertIsInstance(why, error.ConnectionLost)

    def test_connectionLostClosesTheSocket(self):
        """connectionLost closes the socket, after the reactor has let go of it."""
        poetry_socket, _ = self.make(b"A poem.\n")

        poetry_socket.connectionLost(None)

        self.assertEqual(poetry_socket.fileno(), -1)

    def test_cutShortIsReset(self):
        """Closed before the whole poem is sent, the connection is reset."""
        poetry_socket, peer = self.make(big_poem(8_000_000))
        poetry_socket.doWrite()

        poetry_socket.connectionLost(None)

        self.assertFalse(drain(peer)[1])

    def test_stuckClientIsReset(self):
        """sweep() resets a writer that has taken nothing for longer than the
        time-out, and logs one line naming it."""
        log = self.enterContext(logged_messages())
        poetry_socket, peer = self.make(big_poem(8_000_000))
        host, port = peer.getsockname()

        self.reactor.advance(60.5)
        self.module.sweep(self.reactor, 60)

        self.assertNotIn(poetry_socket, self.reactor.writers)
        self.assertNotIn(poetry_socket, self.reactor.readers)
        self.assertFalse(drain(peer)[1])
        self.assertEqual(
            log,
            [f"no progress with {host}:{port} in 60 s; resetting the connection"],
        )

    def test_progressKeepsAClient(self):
        """A write that sends something restarts the client's clock."""
        poetry_socket, _ = self.make(big_poem(8_000_000))
        self.reactor.advance(50)
        poetry_socket.doWrite()

        self.reactor.advance(50)
        self.module.sweep(self.reactor, 60)

        self.assertIn(poetry_socket, self.reactor.writers)


class PoetryListenerTests(SynchronousTestCase):
    """lowlevel-poetry-server.py's PoetryListener, on a real listening socket."""

    def setUp(self):
        self.module = load_script(LOWLEVEL_SERVER)
        self.reactor = MemoryReactorClock()
        sock = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(sock.close)
        sock.setblocking(False)
        self.listener = self.module.PoetryListener(self.reactor, sock, b"A poem.\n")

    def test_providesIReadDescriptor(self):
        """The listener is a reader: readable means clients wait to be accepted."""
        self.assertTrue(verifyObject(IReadDescriptor, self.listener))

    def test_acceptsEveryWaitingClient(self):
        """doRead accepts every queued client and registers each to read and write."""
        for _ in range(3):
            sock = socket.create_connection(self.listener.sock.getsockname())
            self.addCleanup(sock.close)

        self.listener.doRead()

        self.assertEqual(len(self.reactor.writers), 3)
        self.assertEqual(self.reactor.readers, self.reactor.writers)
        for poetry_socket in self.reactor.writers:
            self.addCleanup(poetry_socket.sock.close)
            self.assertIsInstance(poetry_socket, self.module.PoetrySocket)


# -- both scripts, end to end --------------------------------------------------


class PoemUnderLoadMixin:
    """Tests a poetry server must pass with many, half-closing and resetting clients."""

    SCRIPT = None

    # A child server and a few megabytes over loopback.
    timeout = 20

    def poem_file(self, size):
        """A poem of about `size` bytes in a temporary file; returns (path, bytes)."""
        poem = big_poem(size)
        path = os.path.abspath(self.mktemp())
        with open(path, "wb") as f:
            f.write(poem)
        return path, poem

    @defer.inlineCallbacks
    def test_servingLine(self):
        """One line on stdout, naming the address the server really listens on."""
        server = yield self.start_server(
            self.SCRIPT, "--port", "0", poem_path("science.txt")
        )

        self.assertEqual(
            server.stdout,
            f"Serving poetry/science.txt on IPv4Address(type='TCP',"
            f" host='127.0.0.1', port={server.port}).\n",
        )

    @defer.inlineCallbacks
    def test_fiftyClientsAtOnce(self):
        """Fifty clients at once each get the whole poem, byte for byte."""
        path, poem = self.poem_file(200_000)
        server = yield self.start_server(self.SCRIPT, path)

        poems = yield defer.gatherResults([fetch(server.port) for _ in range(50)])

        self.assertEqual(len(poems), 50)
        self.assertEqual(set(poems), {poem})

    @defer.inlineCallbacks
    def test_halfClosedClientGetsThePoem(self):
        """A client that shuts down its sending side at once still gets all of it."""
        # Too big to be sent before the server reads the end of input.
        path, poem = self.poem_file(8_000_000)
        server = yield self.start_server(self.SCRIPT, path)

        received = yield fetch(server.port, half_close=True)

        self.assertEqual(received, poem)

    @defer.inlineCallbacks
    def test_resetClientDoesNotDisturbOthers(self):
        """A client that resets mid-poem is dropped; the others get the whole poem."""
        # More than the kernel's largest send buffer (4 MiB by default), so
        # the server is still writing when the reset arrives.
        path, poem = self.poem_file(8_000_000)
        server = yield self.start_server(self.SCRIPT, path)

        others = [fetch(server.port) for _ in range(3)]
        piece = yield first_bytes_then_reset(server.port)
        poems = yield defer.gatherResults(others)
        after = yield fetch(server.port)

        self.assertLess(len(piece), len(poem))
        self.assertEqual(poems, [poem] * 3)
        self.assertEqual(after, poem)
        self.assertNotIn("Traceback", server.stderr)

    @defer.inlineCallbacks
    def test_stuckClientIsReset(self):
        """A client that stops reading is reset after --timeout seconds, so it can
        tell its poem was cut."""
        path, poem = self.poem_file(8_000_000)
        server = yield self.start_server(self.SCRIPT, "--timeout", "0.4", path)
        client = connect_receiver(server.port, pause=True)
        yield client.started  # it has read a little, and reads no more

        yield server.wait_for(
            rb"no progress with 127\.0\.0\.1:\d+ in 0\.4 s; resetting the connection"
        )
        client.transport.resumeProducing()
        received, clean = yield client.done

        self.assertFalse(clean)
        self.assertLess(len(received), len(poem))

    @defer.inlineCallbacks
    def test_outOfFileDescriptors(self):
        """Out of file descriptors, the server says so once and stops accepting;
        once clients leave, it says so too, and serves the clients that waited."""
        path, poem = self.poem_file(1_000_000)
        # Room for the server's own descriptors and a few clients: fewer
        # than the twenty that connect.
        server = yield self.start_server(
            self.SCRIPT, path, prefix=("prlimit", "--nofile=16")
        )
        stuck = slow_readers(self, server.port, 20, read_first=False)
        yield server.wait_for(rb"Too many open files")

        waiting = fetch(server.port)  # queued behind the stuck ones
        for sock in stuck:
            reset(sock)
        received = yield waiting

        self.assertEqual(received, poem)
        # One line each time accepting stops, one each time it starts again,
        # and no other line about accepting.
        said = []
        for line in server.stderr.splitlines():
            if line.endswith("waiting for a client to leave"):
                said.append("stop")
            elif line.endswith("accepting clients again"):
                said.append("again")
            elif "accept" in line:
                said.append(line)
        # (The waiting client was accepted after an "again"; more rounds
        # may follow while the server runs.)
        self.assertIn("again", said)
        self.assertEqual(said, (["stop", "again"] * len(said))[: len(said)], said[:5])

    @defer.inlineCallbacks
    def test_stopCutsWithAReset(self):
        """Stopped (kill) in the middle of a poem, the server resets the
        connection, so its client cannot take the part it got for the poem."""
        path, poem = self.poem_file(8_000_000)
        server = yield self.start_server(self.SCRIPT, path)
        client = connect_receiver(server.port, pause=True)
        yield client.started

        yield server.stop()
        client.transport.resumeProducing()
        received, clean = yield client.done

        self.assertFalse(clean)
        self.assertLess(len(received), len(poem))
        self.assertNotIn("Traceback", server.stderr)


class SelectPoetryServerCommandLineTests(PoemFileServerMixin, SynchronousTestCase):
    """select-poetry-server.py's command line: fastpoetry.py's, checked in this process."""

    SCRIPT = SELECT_SERVER
    COMMAND = f"python {SELECT_SERVER} --port 10002 poetry/fascination.txt"

    def run_main(self, *argv, reactor=None):
        # This server has no reactor to fake: make its loop fail instead, so
        # a mistake cannot start serving inside the test run.
        def serve_forever(server):
            raise AssertionError("main() went on to serve")

        self.patch(
            load_script(SELECT_SERVER).PoetryServer, "serve_forever", serve_forever
        )
        return super().run_main(*argv, reactor=reactor)


class LowLevelPoetryServerCommandLineTests(PoemFileServerMixin, SynchronousTestCase):
    """lowlevel-poetry-server.py's command line: fastpoetry.py's, checked in this process."""

    SCRIPT = LOWLEVEL_SERVER
    COMMAND = f"python {LOWLEVEL_SERVER} --port 10002 poetry/fascination.txt"


class SelectPoetryServerScriptTests(PoemUnderLoadMixin, ScriptTestCase):
    """select-poetry-server.py, started as a learner would start it."""

    SCRIPT = SELECT_SERVER


class LowLevelPoetryServerScriptTests(PoemUnderLoadMixin, ScriptTestCase):
    """lowlevel-poetry-server.py, started as a learner would start it."""

    SCRIPT = LOWLEVEL_SERVER


# -- exercise 5: several services, one reactor ---------------------------------


class _Crash(protocol.Protocol):
    def dataReceived(self, data):
        raise ZeroDivisionError("a bug in one service")


class _Block(protocol.Protocol):
    """Calls something that blocks, the way a synchronous database call would."""

    blocked = None  # a threading.Event set once the blocking call has begun
    release = None  # a threading.Event that ends it

    def dataReceived(self, data):
        self.blocked.set()
        self.release.wait(5)
        self.transport.loseConnection()


class SharedReactorTests(unittest.TestCase):
    """Two services in one process share one reactor: what that means."""

    timeout = 10

    def setUp(self):
        fastpoetry = load_script(FASTPOETRY)
        self.poem = poem_bytes("science.txt")
        self.poetry_port = listen(self, fastpoetry.PoetryFactory(self.poem))

    def test_listeningPortIsOneMoreReader(self):
        """Each listening port is one more reader in the reactor's loop."""
        from twisted.internet import reactor

        listening = reactor.listenTCP(
            0, protocol.Factory.forProtocol(_Crash), interface="127.0.0.1"
        )
        self.addCleanup(listening.stopListening)

        self.assertIn(listening, reactor.getReaders())

    @defer.inlineCallbacks
    def test_exceptionClosesOnlyItsConnection(self):
        """An exception in one service's protocol is logged, and closes only that
        connection: the other service goes on serving."""
        crash_port = listen(self, protocol.Factory.forProtocol(_Crash))

        answer = yield fetch(crash_port, b"anything")
        poem = yield fetch(self.poetry_port)

        self.assertEqual(answer, b"")
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(poem, self.poem)

    @defer.inlineCallbacks
    def test_blockingCallStallsTheOtherService(self):
        """While one service's code blocks, the other service sends nothing at all."""
        _Block.blocked, _Block.release = threading.Event(), threading.Event()
        block_port = listen(self, protocol.Factory.forProtocol(_Block))

        def client():
            # Runs in a thread, so it can go on while the reactor is stuck.
            try:
                with socket.create_connection(
                    ("127.0.0.1", block_port), timeout=5
                ) as b:
                    b.sendall(b"go")
                    _Block.blocked.wait(5)
                    with socket.create_connection(
                        ("127.0.0.1", self.poetry_port), timeout=0.5
                    ) as p:
                        try:
                            first, stalled = p.recv(1), False
                        except TimeoutError:
                            first, stalled = b"", True
                        _Block.release.set()
                        p.settimeout(5)
                        return stalled, first + drain(p)[0]
            finally:
                _Block.release.set()  # never leave the reactor stuck

        stalled, poem = yield threads.deferToThread(client)

        self.assertTrue(stalled, "the poetry service answered during the block")
        self.assertEqual(poem, self.poem)
