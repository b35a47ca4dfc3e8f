"""Helpers shared by every test module: load a script, start it, talk to it.

The tutorial's scripts have hyphenated names and live outside any package, so
unit tests load them by path with `load_script`. End-to-end tests start the
real scripts through `ScriptTestCase.start_server` / `run_script`, which wait
for a line of output (never a sleep) and stop the child at clean-up.
"""

import contextlib
import errno
import importlib.util
import io
import os
import runpy
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import twisted.internet
from twisted.internet import defer, protocol

# The real reactor (trial's), imported here so that twisted.internet.reactor
# exists for fake_reactor and run_in_process to stand in for and put back.
from twisted.internet import reactor as _real_reactor  # noqa: F401
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.monkey import MonkeyPatcher
from twisted.trial import unittest

from tools import launch
from tools.launch import (  # noqa: F401
    FASTPOETRY,
    ROOT,
    SERVING,
    TRANSFORM,
    TWISTD_STARTING,
    poem_path,
)

# The addresses a unit test's protocol is built for (connect_protocol): the
# client's for a server's protocol, the server's for a client's. Any will do.
CLIENT_ADDR = IPv4Address("TCP", "127.0.0.1", 12345)
SERVER_ADDR = IPv4Address("TCP", "127.0.0.1", 10001)

_loaded = {}


def load_script(path):
    """Import a repository script (e.g. "twisted-server-1/fastpoetry.py") as a module."""
    if path not in _loaded:
        name = "script_" + path.replace("/", "_").replace("-", "_").removesuffix(".py")
        spec = importlib.util.spec_from_file_location(name, ROOT / path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _loaded[path] = module
    return _loaded[path]


@dataclass
class Completed:
    """How a script's main function ended when run in this process."""

    exit_code: int
    stdout: str
    stderr: str


def run_in_process(main, *argv, reactor=None):
    """Run a script's `main` here, as if typed on the command line with `argv`.

    sys.argv, sys.stdout and sys.stderr are replaced during the call; with
    `reactor`, that object also stands in for the global reactor, which the
    scripts import late. SystemExit is caught and turned into an exit code,
    as Python would (a message goes to stderr and means status 1).
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    # argparse names the program after sys.argv[0], as when it is typed.
    program = main.__globals__.get("__file__", "script")
    patches = MonkeyPatcher(
        (sys, "argv", [program, *map(str, argv)]),
        (sys, "stdout", stdout),
        (sys, "stderr", stderr),
    )
    if reactor is not None:
        patches.addPatch(twisted.internet, "reactor", reactor)
    try:
        patches.runWithPatches(main)
        code = 0
    except SystemExit as stop:
        code = stop.code
    if isinstance(code, str):
        print(code, file=stderr)
        code = 1
    return Completed(code or 0, stdout.getvalue(), stderr.getvalue())


def run_example(path):
    """Run a small example script here, as `python <path>` would; how it ended.

    For the examples that need no reactor (they fire their Deferreds or
    drive their generators by hand): running them in this process is
    quick, and the guided tour's tests run every one of them for real.
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            runpy.run_path(str(ROOT / path), run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code or 0
    return Completed(code, stdout.getvalue(), stderr.getvalue())


def poem_bytes(name):
    """The bytes of poetry/<name>, exactly as a server should send them."""
    return (ROOT / "poetry" / name).read_bytes()


class Receiver(protocol.Protocol):
    """A test client: sends some bytes on connect, keeps everything until the close.

    `done` fires with (the bytes received, whether the close was clean). With
    `half_close`, it shuts down its sending side after sending, as netcat -N
    does; with `abort`, it resets the connection at once; with `pause`, it
    stops reading after the first bytes (`started` fires then), like a slow
    reader, until `transport.resumeProducing()`.
    """

    def __init__(self, send=None, half_close=False, abort=False, pause=False):
        self.send = send
        self.half_close = half_close
        self.abort = abort
        self.pause = pause
        self.received = bytearray()
        self.started = defer.Deferred()
        self.done = defer.Deferred()

    def connectionMade(self):
        if self.send:
            self.transport.write(self.send)
        if self.abort:
            self.transport.abortConnection()
        elif self.half_close:
            self.transport.loseWriteConnection()

    def dataReceived(self, data):
        self.received += data
        if not self.started.called:
            self.started.callback(self)
            if self.pause:
                self.transport.pauseProducing()

    def connectionLost(self, reason):
        clean = reason.check(ConnectionDone) is not None
        self.done.callback((bytes(self.received), clean))


def connect_receiver(port, host="127.0.0.1", **options):
    """Connect a Receiver with `options` to `port` and return it."""
    from twisted.internet import reactor

    client = Receiver(**options)
    connecting = protocol.ClientCreator(reactor, lambda: client).connectTCP(host, port)

    def not_connected(failure):
        # A reset can beat the end of connecting (Twisted then reports
        # ECONNRESET as a ConnectError): to the test, that is a reset.
        if getattr(failure.value, "osError", None) == errno.ECONNRESET:
            client.done.callback((b"", False))
        else:
            client.done.errback(failure)

    connecting.addErrback(not_connected)
    return client


def receive(port, send=None, **options):
    """Connect, send `send`, fire with (bytes received, whether the close was clean).

    `options` are connect_receiver's: `host`, and the Receiver's (`half_close`
    to shut down our sending side after sending, as netcat -N does; `abort`
    to reset the connection at once).
    """
    return connect_receiver(port, send=send, **options).done


def fetch(port, send=None, **options):
    """As receive, but fire with the bytes received only (a poem, an answer)."""
    return receive(port, send, **options).addCallback(lambda result: result[0])


def tac_copy(testcase, path, **settings):
    """A copy of the tac file at `path`, in a temporary directory, with some of
    its configuration lines (`name = value`) rewritten (see launch.tac_copy).
    """
    folder = Path(testcase.mktemp()).resolve()
    folder.mkdir()
    try:
        return launch.tac_copy(path, folder, **settings)
    except ValueError as e:
        testcase.fail(str(e))


def without_plugin_caches(testcase, *caches):
    """Move each plugin cache (a dropin.cache) aside for the test; put it back after.

    twistd then starts as on a first run, importing the plugins to scan them.
    Another trial worker's twistd may write or move the same file meanwhile,
    so a cache that is gone already is no error.
    """
    for cache in caches:
        saved = Path(testcase.mktemp()).resolve()
        try:
            os.replace(cache, saved)
        except FileNotFoundError:
            pass
        else:
            testcase.addCleanup(_put_back, saved, cache)
        # Clean-ups run last first: the test's own cache goes, then the old
        # one comes back.
        testcase.addCleanup(cache.unlink, missing_ok=True)


def _put_back(saved, cache):
    try:
        os.replace(saved, cache)
    except FileNotFoundError:
        pass


def slow_readers(testcase, port, count, read_first=True):
    """`count` connections to `port` that have read one byte and take no more.

    Their receive buffers are tiny, so a server sending them a large poem is
    left with most of it unsent; `drain` reads what they got in the end.
    With `read_first` false they read nothing at all, so connecting does not
    wait for the server to accept them. Each is closed at clean-up, if the
    test has not closed it.
    """
    socks = []
    for _ in range(count):
        sock = socket.socket()
        testcase.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        if read_first:
            sock.recv(1)  # the server has accepted it, and started sending
        socks.append(sock)
    return socks


def large_poem(lines=200_000):
    """A poem of `lines` numbered lines (28 bytes each): far larger than socket buffers."""
    return b"".join(b"line %07d of a long poem\n" % i for i in range(lines))


def drain(sock):
    """Read `sock` until it closes: (the bytes it got, whether the close was clean)."""
    received = bytearray()
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        return bytes(received), False
    finally:
        sock.close()
    return bytes(received), True


def dead_port(testcase):
    """A port on 127.0.0.1 where nobody listens, for as long as the test runs.

    A socket bound to it, never listening, holds it until clean-up: no other
    program can take it meanwhile, and a connection to it is refused.
    """
    sock = socket.socket()
    testcase.addCleanup(sock.close)
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


def path_with_python_only(testcase):
    """A PATH holding python3 and nothing else, so netcat cannot be found."""
    bin_dir = os.path.abspath(testcase.mktemp())
    os.makedirs(bin_dir)
    os.symlink(sys.executable, os.path.join(bin_dir, "python3"))
    return bin_dir


class ScriptTestCase(unittest.TestCase):
    """A TestCase that starts the real scripts and always stops them."""

    # Servers and clients on loopback answer in well under a second.
    timeout = 15

    @defer.inlineCallbacks
    def start_server(self, path, *args, **kwargs):
        """Start a server script and fire with it once it prints its port."""
        proc = yield launch.start_server(path, *args, **kwargs)
        self.addCleanup(proc.stop)
        return proc

    @defer.inlineCallbacks
    def start_twistd(self, *args, ready=TWISTD_STARTING, **kwargs):
        """Start twistd with `args` and fire once it logs its listening port."""
        proc = yield launch.spawn(launch.twistd_argv(*args), ready=ready, **kwargs)
        self.addCleanup(proc.stop)
        return proc

    def run_script(self, path, *args, **kwargs):
        """Run a script to completion and fire with its ScriptProcess."""
        return launch.run_script(path, *args, **kwargs)

    def run_shell(self, path, *args, stdin=None, merge_stderr=False, **kwargs):
        """Run a script to completion through /bin/sh, as typed at a prompt.

        `stdin` names a file (from the repository root) to redirect into the
        script; with `merge_stderr` its stderr goes into stdout, so the test
        sees both streams in the order they were written.
        """
        # exec: the shell becomes the script, so stopping it stops the script.
        command = "exec " + shlex.join(launch.python_argv(path, *args))
        if stdin is not None:
            command += " < " + shlex.quote(str(stdin))
        if merge_stderr:
            command += " 2>&1"
        return launch.spawn(["/bin/sh", "-c", command], **kwargs)

    def run_twistd(self, *args, **kwargs):
        """Run twistd to completion and fire with its ScriptProcess."""
        return launch.spawn(launch.twistd_argv(*args), **kwargs)


class _CountedConnection(ProtocolWrapper):
    def makeConnection(self, transport):
        # After the wrapped protocol's connectionMade, so a test woken by
        # whenMade() finds the connection fully set up.
        super().makeConnection(transport)
        self.factory.connectionOpened()

    def connectionLost(self, reason):
        # After the wrapped protocol's own connectionLost, so whatever it
        # cancels there is already cancelled when the count drops.
        super().connectionLost(reason)
        self.factory.connectionClosed()


class ConnectionCounter(WrappingFactory):
    """Wrap a server factory and count its connections as they open and close.

    `made` counts every connection accepted, `open` those not closed yet, and
    `transports` keeps each server-side transport (to check the reactor has
    dropped them). `whenMade(n)` and `whenAllClosed()` fire once that is so.
    """

    protocol = _CountedConnection

    def __init__(self, wrappedFactory):
        super().__init__(wrappedFactory)
        self.made = 0
        self.transports = []
        self._waiters = []

    @property
    def open(self):
        return len(self.protocols)

    def registerProtocol(self, p):
        super().registerProtocol(p)
        self.made += 1
        self.transports.append(p.transport)

    def connectionOpened(self):
        self._check()

    def connectionClosed(self):
        self._check()

    def whenMade(self, n):
        return self._wait(lambda: self.made >= n)

    def whenAllClosed(self):
        return self._wait(lambda: self.made and not self.protocols)

    def _wait(self, condition):
        waiter = defer.Deferred()
        self._waiters.append((condition, waiter))
        self._check()
        return waiter

    def _check(self):
        for entry in list(self._waiters):
            if entry[0]():
                self._waiters.remove(entry)
                entry[1].callback(self)


def listen_counted(testcase, factory):
    """Serve `factory` on 127.0.0.1, a free port, counting its connections.

    Returns the ConnectionCounter around it, with `.port` set. At clean-up it
    resets the connections still open, waits until they are closed, then
    stops listening, so the test leaves a clean reactor.
    """
    counter = ConnectionCounter(factory)
    counter.port = listen(testcase, counter)

    def close():
        for wrapper in list(counter.protocols):
            wrapper.transport.abortConnection()
        if counter.made:
            return counter.whenAllClosed()

    # Clean-ups run last first: this one, then listen's stopListening.
    testcase.addCleanup(close)
    return counter


def listen_silent(testcase):
    """Listen on 127.0.0.1 with a server that accepts and never sends a byte.

    listen_counted's counter: `whenMade(1)` tells when a client is waiting
    on it.
    """
    return listen_counted(testcase, protocol.Factory.forProtocol(protocol.Protocol))


class _SendThenReset(protocol.Protocol):
    def connectionMade(self):
        # transport.write only queues the bytes, and abortConnection drops
        # what is queued: hand them to the kernel, which sends them before
        # the reset.
        data = self.factory.data
        sent = self.transport.getHandle().send(data)
        if sent != len(data):
            raise RuntimeError(f"only {sent} of {len(data)} bytes fitted")
        self.transport.abortConnection()


def listen_reset_after(testcase, data):
    """Listen on 127.0.0.1 with a server that sends `data`, then resets; return the port.

    Every connection gets the bytes (a few kilobytes at most: they must fit
    the socket's buffer), then a reset (RST) instead of a clean close.
    """
    factory = protocol.Factory.forProtocol(_SendThenReset)
    factory.data = data
    return listen(testcase, factory)


def poem_text(name):
    """The text of poetry/<name>: what a client prints untransformed, less the newline."""
    return poem_bytes(name).decode("utf-8")


def lowered_text(name):
    """The text of poetry/<name> as the transform server gives it back."""
    return poem_text(name).lower()


def netstring(data):
    """`data` (bytes) framed as one netstring, as the transform protocol sends it."""
    return b"%d:%s," % (len(data), data)


def connect_protocol(factory, clock=None, addr=CLIENT_ADDR):
    """Build a protocol from `factory` and connect it to a StringTransport.

    `addr` is the other side (SERVER_ADDR for a client's factory): the
    protocol is built for it, and it is the transport's peer. With a `clock`
    (a task.Clock) the protocol's timers run on the test's time. Returns
    (protocol, transport).
    """
    proto = factory.buildProtocol(addr)
    if clock is not None:
        proto.callLater = clock.callLater
    transport = StringTransport(peerAddress=addr)
    proto.makeConnection(transport)
    return proto, transport


def fake_reactor(testcase):
    """A running MemoryReactorClock, installed as twisted.internet.reactor for the test.

    Scripts import the reactor inside get_poetry and friends, so their
    connectTCP and callLater land here: no sockets, time moved by advance().
    """
    reactor = MemoryReactorClock()
    reactor.running = True
    testcase.patch(twisted.internet, "reactor", reactor)
    return reactor


def listen(testcase, factory, port=0, interface="127.0.0.1"):
    """Serve `factory` in the test's reactor on loopback; return the port (0: a free one).

    It stops listening at the test's clean-up.
    """
    from twisted.internet import reactor

    listening = reactor.listenTCP(port, factory, interface=interface)
    testcase.addCleanup(listening.stopListening)
    return listening.getHost().port


def serve_poem(testcase, name, port=0, script=FASTPOETRY, interface="127.0.0.1"):
    """Serve poetry/<name> on `port` (0: a free one) of `interface`; fire with the port.

    fastpoetry.py's own PoetryFactory serves it here, in the test's reactor:
    the tests that use this are about the clients and proxies that talk to
    it, and each server script has end-to-end tests of its own, so starting
    a process for every poem would only make the suite slow. Another
    `script` (the modern edition's, say) is started as a child process.
    """
    if script == FASTPOETRY:
        factory = load_script(FASTPOETRY).PoetryFactory(poem_bytes(name))
        return defer.succeed(listen(testcase, factory, port, interface))
    started = testcase.start_server(
        script, "--port", port, "--iface", interface, poem_path(name)
    )
    return started.addCallback(lambda proc: proc.port)


@defer.inlineCallbacks
def serving_ports(proc, count, pattern=SERVING):
    """Wait for a server's first `count` start-up lines; fire with their ports, in order.

    For a server that listens on several ports and prints a line for each;
    `start_server` fires at the first line. `pattern`: TWISTD_STARTING for
    twistd's "starting on" log lines.
    """
    yield proc.wait_for(pattern, count=count)
    return [int(port) for port in pattern.findall(proc.out)[:count]]


def serve_poems(testcase, *names, script=FASTPOETRY):
    """Start one fastpoetry.py (or `script`) per poem, on free ports; fire with the ports, in order."""
    return defer.gatherResults(
        [serve_poem(testcase, name, script=script) for name in names]
    )


def serve_transforms(testcase, script=TRANSFORM):
    """Serve transforms on a free port; fire with the port.

    As serve_poem: transformedpoetry.py's factory in the test's reactor, or
    another `script` as a child process.
    """
    if script == TRANSFORM:
        module = load_script(TRANSFORM)
        factory = module.TransformFactory(module.TransformService())
        return defer.succeed(listen(testcase, factory))
    started = testcase.start_server(script, "--port", "0")
    return started.addCallback(lambda proc: proc.port)


def assert_printed(testcase, stdout, texts):
    """Check that `stdout` is the poems `texts`, each printed whole, in any order.

    Each poem is looked for with print's newline after it, and the lengths
    must add up, so nothing else was printed.
    """
    for text in texts:
        testcase.assertIn(text + "\n", stdout)
    testcase.assertEqual(len(stdout), sum(len(text) + 1 for text in texts))


@contextlib.contextmanager
def logged_messages():
    """A list that gets each message logged inside the `with` block, as text.

    For a whole test: `self.log = self.enterContext(logged_messages())`.
    """
    messages = []

    def observe(event):
        messages.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    try:
        yield messages
    finally:
        globalLogPublisher.removeObserver(observe)


def printed_lines(testcase, module):
    """What a script loaded as `module` prints during the test, one line per call.

    The scripts narrate with print(); a module-level `print` shadows the
    builtin, so the lines are kept for the test's assertions, off the terminal.
    """
    lines = []

    def keep(*args, sep=" ", end="\n", file=None, flush=False):
        lines.append(sep.join(map(str, args)))

    module.print = keep
    testcase.addCleanup(delattr, module, "print")
    return lines


def first_bytes_then_reset(port):
    """Connect, fire with the first bytes received, after resetting the connection."""
    client = connect_receiver(port)

    def reset(client):
        client.transport.abortConnection()
        return bytes(client.received)

    return client.started.addCallback(reset)
