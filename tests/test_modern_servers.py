"""The servers' treatment of connections, the same in both editions.

The modern servers keep their guard in a base class where the classic ones
wrap the lesson's factory (compare modern/fastpoetry.py with
twisted-server-1/fastpoetry.py); what a client and the log see must not
differ. Each mixin here states that once and runs against the modern real
scripts (the classic ones are held to the same behaviour by
tests/test_server_guard.py, tests/test_poetry_proxy.py and
tests/test_transformedpoetry.py): a stalled connection is reset after --timeout with one log
line, a half-closed client is still served, a connection that gets no
answer is reset rather than closed, connections beyond the descriptor limit
are refused with one line when refusing starts and one when it stops, the
connections still open when the server stops are reset, and a bad poem file
is one line. The last classes run both fastpoetry plugins under `twist`.

Written in today's trial style: the test methods are `async def`, and
await the helpers' Deferreds.
"""

import errno
import signal
import sys
from pathlib import Path

from twisted.internet import defer, error
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from tests.helpers import (
    TWISTD_STARTING,
    ScriptTestCase,
    dead_port,
    fetch,
    poem_bytes,
    poem_path,
)
from tests.test_proxy_waiters import HeldUpstream
from tests.test_twistd import TwistdTestCase, twistd_env
from tools import launch

# Far more than the kernel buffers on loopback hold, so a client that does
# not read leaves the server with bytes it cannot send.
LARGE = 32 * 1024 * 1024
GOOD_REQUEST = b"27:cummingsify.HERE IS MY POEM,"
GOOD_ANSWER = b"15:here is my poem,"


class Probe(Protocol):
    """A client that may send bytes, may stop reading, and reports how it ended.

    With `stall`, it stops reading once the first bytes have arrived, and
    `stalled` fires: the server has accepted it and is sending.
    """

    def __init__(self, send, stall):
        self.send = send
        self.stall = stall
        self.received = 0
        self.stalled = defer.Deferred()
        self.ended = defer.Deferred()

    def connectionMade(self):
        # Kept now: once the connection is closed, the transport cannot say.
        self.local_port = self.transport.getHost().port
        if self.send is not None:
            self.transport.write(self.send)

    def dataReceived(self, data):
        self.received += len(data)
        if self.stall and not self.stalled.called:
            self.transport.pauseProducing()
            self.stalled.callback(self)

    def connectionLost(self, reason):
        self.ended.callback(reason.value)


async def probe(port, send=None, stall=False):
    """Connect a Probe to 127.0.0.1:`port`; return it once connected (and stalled)."""
    from twisted.internet import reactor

    client = Probe(send, stall)
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    await connectProtocol(endpoint, client)
    if stall:
        await client.stalled
    return client


class GuardTestCase(ScriptTestCase):
    """Starts the script under test, and resets whatever probes are left."""

    SCRIPT = None
    timeout = 20

    def setUp(self):
        self.probes = []
        self.addCleanup(self.cut_probes)

    async def connect(self, port, send=None, stall=False):
        client = await probe(port, send, stall)
        self.probes.append(client)
        return client

    async def cut_probes(self):
        for client in self.probes:
            if not client.ended.called:
                client.transport.abortConnection()
        await defer.gatherResults([client.ended for client in self.probes])

    def assertReset(self, reason):
        """`reason` is a reset (RST) from the server, not a clean close."""
        self.assertIsInstance(reason, error.ConnectionLost)
        self.assertNotIsInstance(reason, error.ConnectionAborted)

    async def stop_server(self, server):
        server.send_signal("TERM")
        await server.when_ended()
        self.assertEqual(server.exit_code, 0, server.stderr)


class FastPoetryGuardMixin:
    """A poetry server (SCRIPT) and its clients."""

    def large_poem(self):
        path = Path(self.mktemp()).resolve()
        path.write_bytes(b"x" * LARGE)
        return str(path)

    async def serve_large(self, *options, argv_prefix=()):
        if argv_prefix:
            argv = [*argv_prefix, *launch.python_argv(self.SCRIPT)]
            argv += ["--port", "0", *options, self.large_poem()]
            proc = await launch.spawn(argv, ready=launch.SERVING)
            self.addCleanup(proc.stop)
            return proc
        return await self.start_server(
            self.SCRIPT, "--port", "0", *options, self.large_poem()
        )

    async def test_stalledReaderReset(self):
        """A client that stops reading is reset after --timeout, with one log line."""
        server = await self.serve_large("--timeout", "0.5")
        client = await self.connect(server.port, stall=True)

        await server.wait_for(
            rb"no progress with 127\.0\.0\.1:%d in 0\.5 s; resetting the connection"
            % client.local_port
        )
        client.transport.resumeProducing()
        reason = await client.ended

        self.assertReset(reason)
        self.assertLess(client.received, LARGE)

    async def test_halfCloseServed(self):
        """A client that has finished sending (netcat -N) still gets the poem."""
        server = await self.start_server(
            self.SCRIPT, "--port", "0", poem_path("ecstasy.txt")
        )

        received = await fetch(server.port, b"", half_close=True)

        self.assertEqual(received, poem_bytes("ecstasy.txt"))

    async def test_connectionLimit(self):
        """Past the descriptor limit, clients are refused; one line when it starts, one when it stops."""
        # 40 descriptors less the 32 kept for the process: 8 clients.
        server = await self.serve_large(argv_prefix=["prlimit", "--nofile=40"])
        held = [await self.connect(server.port, stall=True) for _ in range(8)]

        refused = await self.connect(server.port)
        reason = await refused.ended
        await server.wait_for(rb"8 connections open; refusing new clients")
        held[0].transport.abortConnection()
        await server.wait_for(rb"accepting clients again \(1 refused meanwhile\)")

        self.assertEqual(refused.received, 0)
        self.assertIsInstance(reason, error.ConnectionClosed)
        self.assertEqual(server.stderr.count("refusing new clients"), 1)

    async def test_resetOnShutdown(self):
        """When the server stops, a poem still being sent is cut with a reset."""
        server = await self.serve_large()
        client = await self.connect(server.port, stall=True)

        await self.stop_server(server)
        client.transport.resumeProducing()
        reason = await client.ended

        self.assertReset(reason)
        self.assertIn("stopping: resetting 1 connections", server.stderr)

    async def test_badPoemFiles(self):
        """An empty file or a directory is refused with one line and status 1."""
        empty = Path(self.mktemp()).resolve()
        empty.write_bytes(b"")
        folder = Path(self.mktemp()).resolve()
        folder.mkdir()
        name = Path(self.SCRIPT).name

        for path, why in [(empty, "the file is empty"), (folder, "not a regular file")]:
            result = await self.run_script(self.SCRIPT, str(path))

            self.assertEqual(result.exit_code, 1)
            self.assertEqual(result.stderr, f"{name}: cannot read {path}: {why}\n")


class ModernFastPoetryGuardTests(FastPoetryGuardMixin, GuardTestCase):
    SCRIPT = "modern/fastpoetry.py"


class TransformGuardMixin:
    """The transformation server (SCRIPT) and its clients."""

    async def test_silentClientReset(self):
        """A client that sends nothing is reset after --timeout, with one log line."""
        server = await self.start_server(self.SCRIPT, "--port", "0", "--timeout", "0.5")
        client = await self.connect(server.port)

        reason = await client.ended

        self.assertReset(reason)
        await server.wait_for(
            rb"no progress with 127\.0\.0\.1:%d in 0\.5 s" % client.local_port
        )

    async def test_unansweredIsReset(self):
        """A request that gets no answer ends in a reset; an answer in a clean close."""
        server = await self.start_server(self.SCRIPT, "--port", "0")

        bad = await self.connect(server.port, b"11:cummingsify,")
        good = await self.connect(server.port, GOOD_REQUEST)
        reasons = await defer.gatherResults([bad.ended, good.ended])

        self.assertReset(reasons[0])
        self.assertIsInstance(reasons[1], error.ConnectionDone)
        self.assertEqual((bad.received, good.received), (0, len(GOOD_ANSWER)))

    async def test_halfCloseAnswered(self):
        """A client that has finished sending (netcat -N) still gets its answer."""
        server = await self.start_server(self.SCRIPT, "--port", "0")

        answer = await fetch(server.port, GOOD_REQUEST, half_close=True)

        self.assertEqual(answer, GOOD_ANSWER)

    async def test_resetOnShutdown(self):
        """When the server stops, a client half-way through its request is reset."""
        server = await self.start_server(self.SCRIPT, "--port", "0")
        client = await self.connect(server.port, b"27:cummingsify.HERE")
        # Connections are accepted in order: once a later one is answered,
        # the server holds the client's, and its reactor handles signals.
        self.assertEqual(await fetch(server.port, GOOD_REQUEST), GOOD_ANSWER)

        await self.stop_server(server)
        reason = await client.ended

        self.assertReset(reason)
        self.assertIn("stopping: resetting 1 connections", server.stderr)


class ModernTransformGuardTests(TransformGuardMixin, GuardTestCase):
    SCRIPT = "modern/transformedpoetry.py"


class ProxyGuardMixin:
    """The single-flight proxy (SCRIPT), its clients and its upstream server."""

    async def start_proxy(self, upstream_port, *options):
        return await self.start_server(
            self.SCRIPT, "--port", "0", *options, upstream_port
        )

    async def test_coldClientsShareOneFetch(self):
        """Twenty clients on a cold cache make one upstream connection, and all get the poem."""
        upstream = HeldUpstream(self)
        proxy = await self.start_proxy(upstream.port)
        fetches = [fetch(proxy.port) for _ in range(20)]
        await proxy.wait_for(rb"Waiting for the poem already being fetched\.", count=19)
        await upstream.counter.whenMade(1)

        upstream.send(poem_bytes("science.txt"))
        poems = await defer.gatherResults(fetches)

        self.assertEqual(poems, [poem_bytes("science.txt")] * 20)
        self.assertEqual(upstream.counter.made, 1)

    async def test_upstreamDownResetsClient(self):
        """With the upstream down, the client is reset, and the proxy logs why once."""
        dead = dead_port(self)
        proxy = await self.start_proxy(dead)

        try:
            client = await self.connect(proxy.port)
            reason = await client.ended
        except error.ConnectError as e:
            # The reset came before this side had noticed the connection.
            self.assertEqual(e.osError, errno.ECONNRESET)
        else:
            self.assertReset(reason)
        await proxy.wait_for(
            rb"No poem from 127\.0\.0\.1:%d: Connection was refused" % dead
        )

    async def test_waitingClientTimesOut(self):
        """A client kept waiting by a silent upstream is reset after --timeout."""
        upstream = HeldUpstream(self)
        proxy = await self.start_proxy(upstream.port, "--timeout", "0.5")

        client = await self.connect(proxy.port)
        reason = await client.ended

        self.assertReset(reason)
        await proxy.wait_for(rb"no progress with 127\.0\.0\.1:%d" % client.local_port)

    async def test_halfCloseServed(self):
        """A client that has finished sending still gets the poem."""
        upstream = HeldUpstream(self)
        proxy = await self.start_proxy(upstream.port)
        received = fetch(proxy.port, b"", half_close=True)
        await upstream.counter.whenMade(1)

        upstream.send(poem_bytes("science.txt"))

        self.assertEqual(await received, poem_bytes("science.txt"))

    async def test_shutdownInterruptsFetch(self):
        """Stopping the proxy resets its waiting client and logs the fetch as interrupted."""
        upstream = HeldUpstream(self)
        proxy = await self.start_proxy(upstream.port)
        client = await self.connect(proxy.port)
        # A fetch under way means the reactor runs, and so handles the signal.
        await upstream.counter.whenMade(1)
        upstream.waiting[0].write(b"x" * 10)

        await self.stop_server(proxy)
        reason = await client.ended

        self.assertReset(reason)
        self.assertRegex(
            proxy.stderr, rf"No poem from 127\.0\.0\.1:{upstream.port}: Interrupted"
        )


class ModernProxyGuardTests(ProxyGuardMixin, GuardTestCase):
    SCRIPT = "modern/poetry-proxy.py"


# -- the plugins, under twist as well as twistd ---------------------------------


def twist_argv(*args):
    """The command line for the twist installed beside this Python."""
    return [str(Path(sys.executable).with_name("twist")), *map(str, args)]


class TwistTests(TwistdTestCase):
    """Both fastpoetry plugins run by `twist`, and the modern one by twistd.

    The modern plugin is twisted/plugins/modern_fastpoetry_plugin.py.
    """

    async def twist(self, tapname):
        proc = await launch.spawn(
            twist_argv(
                "--log-format",
                "text",
                tapname,
                "--port",
                "0",
                "--poem",
                poem_path("ecstasy.txt"),
            ),
            ready=TWISTD_STARTING,
            env=twistd_env(),
        )
        self.addCleanup(proc.stop)
        return proc

    async def assertServesThenStops(self, server):
        received = await fetch(server.port)
        await server.wait_for(rb"sending 2765 bytes of poetry to")
        server.send_signal("TERM")
        await server.when_ended()

        self.assertEqual(received, poem_bytes("ecstasy.txt"))
        self.assertIn("Received SIGTERM, shutting down.", server.stdout)
        # twist stops cleanly, then ends itself with the signal it was sent,
        # so that whoever started it sees why it stopped.
        self.assertEqual(server.signal, signal.SIGTERM, server.stdout)

    async def test_classicPluginUnderTwist(self):
        """twist runs the text's plugin: it serves the poem and stops on SIGTERM."""
        await self.assertServesThenStops(await self.twist("fastpoetry"))

    async def test_modernPluginUnderTwist(self):
        """twist runs the modern plugin the same way."""
        server = await self.twist("modern-fastpoetry")

        await self.assertServesThenStops(server)
        self.assertIn("[modern-fastpoetry#info] loaded a poem from:", server.stdout)

    async def test_modernPluginUnderTwistd(self):
        """twistd runs the modern plugin too, with its pid file."""
        server = await self.start_twistd(
            "modern-fastpoetry", "--port", "0", "--poem", poem_path("ecstasy.txt")
        )

        received = await fetch(server.port)
        self.assertTrue(self.pidfile.exists())
        server.send_signal("INT")
        await server.when_ended()

        self.assertEqual(received, poem_bytes("ecstasy.txt"))
        self.assertShutdown(server.stdout + server.stderr, "SIGINT")
        self.assertFalse(self.pidfile.exists())

    async def test_modernPluginBadPoem(self):
        """A poem file that cannot be read is one line from the plugin, status 1."""
        result = await self.run_twistd(
            "--nodaemon",
            "--pidfile",
            self.pidfile,
            "modern-fastpoetry",
            "--poem",
            "poetry/no-such-poem.txt",
        )

        self.assertEqual(result.exit_code, 1)
        self.assertIn(
            "modern-fastpoetry: cannot read poetry/no-such-poem.txt:"
            " No such file or directory",
            result.stderr,
        )
