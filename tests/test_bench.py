"""The benchmark's own parts: its launcher, load generator and reference servers.

These check that `make bench` measures what it says (every reply checked,
every failure counted); they time nothing.
"""

import asyncio
import socket

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from bench import load
from tests.helpers import (
    ScriptTestCase,
    exchange,
    fetch,
    free_port,
    netstring,
    poem,
    read_poem,
)
from tools import syncproc

POEM = read_poem("science.txt")


def read_all(port):
    """Connect with a plain blocking socket and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class SyncprocTests(SynchronousTestCase):
    """tools/syncproc.py starts a server without a reactor and stops it."""

    def test_startServerReadsThePort(self):
        """start_server returns once the server prints its port, which then serves."""
        server = syncproc.start_server(
            "twisted-server-1/fastpoetry.py", poem("science.txt")
        )
        self.addCleanup(server.close)

        self.assertEqual(read_all(server.port), POEM)
        self.assertEqual(server.count(rb"Serving poetry/science\.txt on"), 1)

    def test_stopEndsTheChild(self):
        """stop() signals the child and reaps it."""
        server = syncproc.start_server(
            "twisted-server-1/fastpoetry.py", poem("science.txt")
        )
        self.addCleanup(server.close)

        server.stop()

        self.assertIsNotNone(server.proc.returncode)

    def test_childThatExitsEarly(self):
        """A child that exits before its ready line raises ChildFailed with its stderr."""
        with self.assertRaises(syncproc.ChildFailed) as caught:
            syncproc.start_server("twisted-server-1/fastpoetry.py", "no-such-poem.txt")

        self.assertIn("cannot read no-such-poem.txt", str(caught.exception))


class LoadGeneratorTests(SynchronousTestCase):
    """bench/load.py checks every reply and counts every failure."""

    def setUp(self):
        self.server = syncproc.start_server(
            "twisted-server-1/fastpoetry.py", poem("science.txt")
        )
        self.addCleanup(self.server.close)

    def hammer(self, port, expect, count=20):
        return asyncio.run(
            load.hammer(port, concurrency=4, count=count, seconds=10, expect=expect)
        )

    def test_everyReplyChecked(self):
        """Replies equal to the expected bytes are counted as requests, none lost."""
        result = self.hammer(self.server.port, POEM)

        self.assertEqual((result.requests, result.lost), (20, 0))
        self.assertEqual(len(result.latencies), 20)
        self.assertEqual(result.bytes, 20 * len(POEM))

    def test_byteCountChecked(self):
        """With an expected size, a reply of that many bytes is counted."""
        result = self.hammer(self.server.port, len(POEM))

        self.assertEqual((result.requests, result.lost), (20, 0))

    def test_wrongReplyIsLost(self):
        """A reply that differs from the expected bytes counts as lost."""
        result = self.hammer(self.server.port, POEM.upper())

        self.assertEqual((result.requests, result.lost), (0, 20))
        self.assertEqual(result.errors, {"wrong reply": 20})

    def test_refusedIsLost(self):
        """A refused connection counts as lost, by the error's name."""
        result = self.hammer(free_port(), POEM, count=3)

        self.assertEqual((result.requests, result.lost), (0, 3))
        self.assertEqual(result.errors, {"ConnectionRefusedError": 3})


class ReferenceServerTests(ScriptTestCase):
    """bench/reference.py does the same job as the Twisted servers it is compared to."""

    @defer.inlineCallbacks
    def test_poetry(self):
        """The asyncio poetry server sends the poem's exact bytes and closes."""
        server = yield self.start_server(
            "bench/reference.py", "poetry", poem("science.txt")
        )

        received = yield fetch(server.port)

        self.assertEqual(received, POEM)

    @defer.inlineCallbacks
    def test_transform(self):
        """The asyncio transform server answers a cummingsify netstring in kind."""
        server = yield self.start_server("bench/reference.py", "transform")

        answer = yield exchange(server.port, netstring(b"cummingsify.HeLLo, Poem"))

        self.assertEqual(answer, netstring(b"hello, poem"))

    @defer.inlineCallbacks
    def test_transformUnknown(self):
        """An unknown transform gets the connection closed with no answer."""
        server = yield self.start_server("bench/reference.py", "transform")

        answer = yield exchange(server.port, netstring(b"__init__.poem"))

        self.assertEqual(answer, b"")

    @defer.inlineCallbacks
    def test_proxy(self):
        """The asyncio proxy relays the upstream's poem."""
        upstream = yield self.start_server(
            "twisted-server-1/fastpoetry.py", poem("science.txt")
        )
        proxy = yield self.start_server("bench/reference.py", "proxy", upstream.port)

        first = yield fetch(proxy.port)
        second = yield fetch(proxy.port)

        self.assertEqual([first, second], [POEM, POEM])


class TwistedOnTests(ScriptTestCase):
    """bench/twisted_on.py runs a tutorial script, unchanged, on another reactor."""

    @defer.inlineCallbacks
    def test_asyncioReactor(self):
        """fastpoetry.py on the asyncio reactor serves the poem as usual."""
        server = yield self.start_server(
            "bench/twisted_on.py",
            "asyncio",
            "twisted-server-1/fastpoetry.py",
            poem("science.txt"),
        )

        received = yield fetch(server.port)

        self.assertEqual(received, POEM)

    @defer.inlineCallbacks
    def test_unknownReactor(self):
        """An unknown reactor name is refused with the usage text and status 1."""
        result = yield self.run_script(
            "bench/twisted_on.py", "no-such", "twisted-server-1/fastpoetry.py"
        )

        self.assertEqual(result.exit_code, 1)
        self.assertIn("Run one of the tutorial's Twisted scripts", result.stderr)
