"""Twisted Poetry Proxy, version 2.1: one fetch for everyone (Part 14, exercise 3), in today's idiom.

The same proxy as twisted-server-2/poetry-proxy-waiters.py. The first client
on a cold cache makes the proxy fetch the poem; the clients that arrive while
that fetch is on its way wait for it (each gets a Deferred of its own, kept
in a list of waiters); when the poem comes back every waiter gets it and the
poem is cached. When the fetch fails, every waiter fails, nothing is cached,
and the next client makes the proxy try again.

Run from the repository root, each command in its own terminal. A slow
server makes the waiting easy to see (this one sends the poem at once and
hangs up 5 seconds later):

    python twisted-server-1/slowpoetry.py --port 10001 --num-bytes 1000 --delay 5 poetry/fascination.txt
    python modern/poetry-proxy.py --port 10000 10001
    python twisted-client-4/get-poetry.py 10000 10000 10000

The proxy first prints the server it stands in front of and the address it
is really listening on:

    Proxying 127.0.0.1:10001 on IPv4Address(type='TCP', host='127.0.0.1', port=10000).

then "Fetching poem from server." once and "Waiting for the poem already
being fetched." twice; after 5 seconds the client prints the poem three
times. Run the client again: the proxy prints "Using cached poem." for each.

The command line (--timeout, --upstream-timeout, --max-poem-size, ...), the
output, the exit statuses and the way both sides are treated are the classic
script's; see its docstring. --timeout counts from the proxy's last write to
a client: a client still waiting for the poem is bounded by the fetch's
--upstream-timeout instead.

What changed from the classic script, and why (docs/modern.md):

- ProxyService.get_poem is an async function: the cached poem is a plain
  return, a waiter awaits its own Deferred, and the fetch is an await of
  get_poetry inside a try/except, instead of callbacks on Deferreds.
- The fetch goes through HostnameEndpoint with a protocol instance of our
  own (it carries its own Deferred, so no client factory fires it), and
  gives up on a silent server by cancellation, as modern/get-poetry.py does.
- serverFromString, task.react, twisted.logger and a guard base class, as in
  modern/fastpoetry.py; when the proxy stops it also cancels the fetch in
  progress, which logs that it was interrupted.
- Type hints throughout; `mypy --strict modern/` checks them.
"""

from __future__ import annotations

import argparse
import errno
import resource
import sys
from dataclasses import dataclass

from twisted.internet import defer, error, task
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.endpoints import (
    HostnameEndpoint,
    quoteStringArgument,
    serverFromString,
)
from twisted.internet.error import (
    CannotListenError,
    ConnectError,
    ConnectionDone,
    DNSLookupError,
)
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IReactorCore,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import (
    Factory,
    Protocol,
    ServerFactory,
    connectionDone,
)
from twisted.logger import Logger, globalLogBeginner, textFileLogObserver
from twisted.python.failure import Failure
from zope.interface import implementer

# Seconds since the proxy last wrote to a client before it is reset. A client
# still waiting for the poem is not timed: the fetch is (Limits.timeout).
TIMEOUT = 60.0

# Our log lines say which server wrote them: "[poetry-proxy#info] ...".
log = Logger(namespace="poetry-proxy")


@dataclass(frozen=True)
class Limits:
    """How long a server may stay silent, and how large a poem may be."""

    timeout: float = 60.0
    max_size: int = 64 * 1024 * 1024


def parse_address(text: str) -> tuple[str, int]:
    """Turn "[host:]port" (an IPv6 host in brackets) into (host, port)."""
    host, _, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(
            f"invalid address {text!r} (expected [host:]port)"
        )
    return host or "127.0.0.1", port


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "server",
        metavar="[host:]port",
        type=parse_address,
        help="the poetry server to fetch the poem from",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="the port to listen on (default: 0, any free port)",
    )
    parser.add_argument(
        "--iface", default="localhost", help="the interface to listen on"
    )
    # Twisted's default backlog of 50 overflows when a few hundred clients
    # connect at once, and the kernel then makes them retry a second later.
    parser.add_argument(
        "--backlog",
        type=int,
        default=1024,
        help="how many connections may wait to be accepted (default: 1024)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help="seconds since the proxy last wrote to a client before that client"
        " is reset (a client waiting for the poem is bounded by"
        " --upstream-timeout instead); 0: never (default: %(default)g)",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=Limits.timeout,
        help="seconds without a byte from the poetry server before a fetch is"
        " given up (default: %(default)g)",
    )
    parser.add_argument(
        "--max-poem-size",
        type=int,
        default=Limits.max_size,
        help="the largest poem fetched, in bytes (default: %(default)s)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    if not args.timeout >= 0:  # written so that nan is refused too
        parser.error(f"--timeout must not be negative, not {args.timeout:g}")
    if not args.upstream_timeout > 0:  # written so that nan is refused too
        parser.error(
            f"--upstream-timeout must be more than 0, not {args.upstream_timeout:g}"
        )
    if args.max_poem_size < 1:
        parser.error(f"--max-poem-size must be at least 1, not {args.max_poem_size}")
    return args


# The guard every client connection of this proxy goes through: an idle
# time-out, half-close, a limit on open connections, and a reset for all of
# them when the proxy stops. The proxy's classes below build on it.


@implementer(IHalfCloseableProtocol)
class GuardedProtocol(Protocol):
    """A server connection, reset `factory.timeout` s after the server last wrote to it.

    Or after it was accepted, unless the factory leaves unanswered
    connections alone (see GuardedFactory).
    """

    factory: GuardedFactory
    # Narrower than Protocol's: this server only ever runs over TCP.
    transport: ITCPTransport
    # The idle timer: None when the time-out is 0 (never), before the first
    # write if the factory leaves unanswered connections alone, and once the
    # connection is gone.
    idle: IDelayedCall | None = None

    def connectionMade(self) -> None:
        self.factory.connections.add(self)
        if self.factory.reset_unanswered:
            self.startTimer()

    def wrote(self) -> None:
        """Note that something new went out: the idle timer starts again."""
        if self.idle is not None:
            self.idle.reset(self.factory.timeout)
        elif self in self.factory.connections:  # the first write: start timing
            self.startTimer()

    def startTimer(self) -> None:
        if self.factory.timeout:
            self.idle = self.factory.reactor.callLater(
                self.factory.timeout, self.timedOut
            )

    def timedOut(self) -> None:
        self.idle = None
        log.info(
            "nothing new to send to {peer} in {timeout:g} s; resetting the connection",
            peer=host_port(self.transport.getPeer()),
            timeout=self.factory.timeout,
        )
        self.transport.abortConnection()

    def readConnectionLost(self) -> None:
        # The client has finished sending (netcat -N, socat): go on sending
        # to it. Without this method Twisted would close the connection.
        pass

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        self.factory.forget(self)


class GuardedFactory(ServerFactory[GuardedProtocol]):
    """Keeps the open connections; refuses more than the descriptors allow.

    Past the limit the process could not even accept (EMFILE), and Twisted
    would log every attempt: buildProtocol refuses instead, with a log line
    when refusing starts and one when it stops. cut_connections() resets the
    connections still open, for when the server stops. With
    reset_unanswered=False, a connection the server has not written to yet
    is left alone: a proxy's client, waiting on a fetch with time-outs of
    its own.
    """

    # File descriptors left for the process itself (standard streams, the
    # reactor, the listening socket, log files) out of its limit.
    spare_descriptors = 32

    def __init__(
        self,
        reactor: IReactorTime,
        timeout: float,
        descriptors_per_client: int = 1,
        reset_unanswered: bool = True,
    ) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.reset_unanswered = reset_unanswered
        soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = soft_limit - self.spare_descriptors
        self.limit = max(1, room // descriptors_per_client)
        self.connections: set[GuardedProtocol] = set()
        self.refused = 0
        self.all_closed: Deferred[None] | None = None

    def buildProtocol(self, addr: IAddress | None) -> GuardedProtocol | None:
        if len(self.connections) >= self.limit:
            if not self.refused:
                log.info(
                    "{limit} connections open; refusing new clients", limit=self.limit
                )
            self.refused += 1
            return None
        return super().buildProtocol(addr)

    def forget(self, connection: GuardedProtocol) -> None:
        self.connections.discard(connection)
        if self.refused:
            log.info(
                "accepting clients again ({refused} refused meanwhile)",
                refused=self.refused,
            )
            self.refused = 0
        if self.all_closed is not None and not self.connections:
            all_closed, self.all_closed = self.all_closed, None
            all_closed.callback(None)

    def cut_connections(self) -> Deferred[None]:
        """Reset every connection still open; fire once they have all closed.

        A clean close would make a reply cut short look whole to its client.
        """
        if not self.connections:
            return succeed(None)
        log.info("stopping: resetting {count} connections", count=len(self.connections))
        self.all_closed = Deferred()
        for connection in list(self.connections):
            connection.transport.abortConnection()
        return self.all_closed


def host_port(address: IAddress) -> str:
    """The "host:port" of a TCP address, as the log lines name a client."""
    return f"{getattr(address, 'host', '?')}:{getattr(address, 'port', '?')}"


class DownloadFailed(Exception):
    """A download that did not bring a whole poem; the message says where and why."""


def server_name(host: str, port: int) -> str:
    """How the messages name a server: host:port, an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# The guard every fetch from the poetry server goes through: a time-out that
# every byte pushes back, a size limit, and one message for whatever went
# wrong.


class Download(Protocol):
    """What a download protocol shares: its limits, its timer, its Deferred.

    `finished` fires with the result, or fails with DownloadFailed; it fires
    once, whatever happens after. Cancelling it resets the connection.
    """

    # Narrower than Protocol's: the downloads only ever run over TCP.
    transport: ITCPTransport

    def __init__(self, reactor: IReactorTime, server: str, limits: Limits) -> None:
        self.reactor = reactor
        self.server = server
        self.limits = limits
        self.received = 0
        self.finished: Deferred[bytes] = Deferred(self.cancelled)
        self.idle: IDelayedCall | None = None

    def started(self) -> None:
        """The connection is made: from now on, silence is timed."""
        self.idle = self.reactor.callLater(self.limits.timeout, self.timedOut)

    def arrived(self, data: bytes) -> bool:
        """Count `data` and push the time-out back; False once over the limit."""
        self.received += len(data)
        if self.received > self.limits.max_size:
            self.giveUp(f"Poem larger than {self.limits.max_size} bytes.")
            return False
        if self.idle is not None:
            self.idle.reset(self.limits.timeout)
        return True

    def timedOut(self) -> None:
        self.idle = None
        self.giveUp(timed_out(self.limits))

    def cancelled(self, finished: Deferred[bytes]) -> None:
        # Whoever waits has stopped waiting (Ctrl-C): say so, and let go.
        when = f"after {self.received} bytes" if self.received else "at once"
        self.giveUp(f"Interrupted {when}.")

    def giveUp(self, problem: str) -> None:
        """Fail `finished` with `problem`, and reset the connection."""
        self.fail(problem)
        self.transport.abortConnection()

    def succeed(self, result: bytes) -> None:
        self.stopTimer()
        if not self.finished.called:
            self.finished.callback(result)

    def fail(self, problem: str) -> None:
        self.stopTimer()
        if not self.finished.called:
            self.finished.errback(DownloadFailed(f"{self.server}: {problem}"))

    def ended(self, reason: Failure) -> None:
        """The connection is gone; if nothing was decided yet, say why."""
        if isinstance(reason.value, ConnectionDone):
            if self.received:
                self.fail("Connection closed before the whole answer arrived.")
            else:
                self.fail("Connection closed before any poem arrived.")
        else:
            when = f"after {self.received} bytes" if self.received else "at once"
            self.fail(f"Connection broke {when}.")

    def stopTimer(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None


def timed_out(limits: Limits) -> str:
    return f"Timed out after {limits.timeout:g} s."


async def connect(
    reactor: IReactorTime, host: str, port: int, protocol: Protocol, limits: Limits
) -> None:
    """Connect `protocol` to host:port, or raise DownloadFailed saying why not."""
    server = server_name(host, port)
    # HostnameEndpoint resolves the host and tries each of its addresses,
    # IPv4 and IPv6 alike; addTimeout cancels the whole attempt if it is
    # not made in time.
    endpoint = HostnameEndpoint(reactor, host, port, timeout=limits.timeout)
    # What connectProtocol does, with a factory that does not log "Starting
    # factory" and "Stopping factory" for every download.
    factory = Factory.forProtocol(lambda: protocol)
    factory.noisy = False
    connecting = endpoint.connect(factory)
    connecting.addTimeout(limits.timeout, reactor)
    try:
        await connecting
    except (defer.TimeoutError, error.TimeoutError):
        raise DownloadFailed(f"{server}: {timed_out(limits)}") from None
    except defer.CancelledError:
        raise DownloadFailed(f"{server}: Interrupted at once.") from None
    except ConnectError as e:
        if e.osError == errno.ECONNRESET:
            # A reset can come before this side has seen the connection
            # made; Twisted then reports it as failing to connect.
            raise DownloadFailed(f"{server}: Connection broke at once.") from None
        raise DownloadFailed(f"{server}: {e}") from None
    except DNSLookupError as e:
        raise DownloadFailed(f"{server}: {e}") from None


# The lesson: the proxy's protocol, factory and service, and the fetch.


class PoetryProxyProtocol(GuardedProtocol):
    factory: PoetryProxyFactory

    def connectionMade(self) -> None:
        super().connectionMade()
        # Nothing waits for this Deferred: serve() handles its own failures.
        Deferred.fromCoroutine(self.serve())

    async def serve(self) -> None:
        try:
            poem = await self.factory.service.get_poem()
        except DownloadFailed:
            # No poem: reset, so the client cannot take the silence for an
            # empty poem.
            self.transport.abortConnection()
            return
        self.transport.write(poem)
        self.wrote()
        self.transport.loseConnection()


class PoetryProxyFactory(GuardedFactory):
    protocol = PoetryProxyProtocol

    def __init__(
        self, reactor: IReactorTime, service: ProxyService, timeout: float
    ) -> None:
        # Each client may need a second descriptor, for its fetch on a miss.
        # A client waiting for the poem is not timed here: the fetch is.
        super().__init__(
            reactor, timeout, descriptors_per_client=2, reset_unanswered=False
        )
        self.service = service


class PoetryProtocol(Download):
    def __init__(self, reactor: IReactorTime, server: str, limits: Limits) -> None:
        super().__init__(reactor, server, limits)
        # A bytearray grows in place; adding to bytes would copy the whole
        # poem for every piece, which takes quadratic time on a large poem.
        self.poem = bytearray()

    def connectionMade(self) -> None:
        self.started()

    def dataReceived(self, data: bytes) -> None:
        if self.arrived(data):
            self.poem += data

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        # Only a clean close after some bytes ends a poem; anything else is
        # a failure that says what happened.
        if self.poem and isinstance(reason.value, ConnectionDone):
            self.succeed(bytes(self.poem))
        else:
            self.ended(reason)


async def get_poetry(
    reactor: IReactorTime, host: str, port: int, limits: Limits
) -> bytes:
    """Fetch the poem served at host:port; raise DownloadFailed if it does not come whole."""
    poetry = PoetryProtocol(reactor, server_name(host, port), limits)
    await connect(reactor, host, port, poetry, limits)
    return await poetry.finished


class ProxyService:
    poem: bytes | None = None  # the poem, once it has been fetched
    # While a fetch is on its way: the Deferreds of the clients waiting for
    # it. None when no fetch is in progress (the third state is "not None").
    waiters: list[Deferred[bytes]] | None = None
    # The fetch on its way, so that stopping the proxy can interrupt it.
    fetching: Deferred[bytes] | None = None

    def __init__(
        self, reactor: IReactorTime, host: str, port: int, limits: Limits
    ) -> None:
        self.reactor = reactor
        self.host = host
        self.port = port
        self.limits = limits

    async def get_poem(self) -> bytes:
        if self.poem is not None:
            print("Using cached poem.")
            return self.poem

        if self.waiters is not None:
            print("Waiting for the poem already being fetched.")
            # A Deferred of this client's own: several coroutines cannot
            # await the same Deferred, each would take its result away.
            waiter: Deferred[bytes] = Deferred()
            self.waiters.append(waiter)
            return await waiter

        print("Fetching poem from server.")
        self.waiters = []
        self.fetching = Deferred.fromCoroutine(
            get_poetry(self.reactor, self.host, self.port, self.limits)
        )
        try:
            poem = await self.fetching
        except DownloadFailed as e:
            # Once per fetch, however many clients were waiting for it.
            log.info("No poem from {problem}", problem=str(e))
            # Back to "not cached": the next client starts a new fetch. The
            # list is let go of before firing it, so the cache is in its new
            # state whatever the waiters do.
            waiters, self.waiters, self.fetching = self.waiters, None, None
            for waiter in waiters:
                waiter.errback(e)
            raise

        self.poem = poem
        waiters, self.waiters, self.fetching = self.waiters, None, None
        for waiter in waiters:
            waiter.callback(poem)
        return poem

    def interrupt(self) -> None:
        """Give up the fetch on its way, if any (the proxy is stopping)."""
        if self.fetching is not None:
            self.fetching.cancel()


async def serve(reactor: IReactorCore, args: argparse.Namespace) -> None:
    """Listen, print where, log to stderr, and serve until the reactor stops."""
    clock = IReactorTime(reactor)
    host, port = args.server
    limits = Limits(args.upstream_timeout, args.max_poem_size)
    service = ProxyService(clock, host, port, limits)
    factory = PoetryProxyFactory(clock, service, args.timeout)
    # An IPv6 interface has colons, which the endpoint syntax uses between
    # fields; quoteStringArgument escapes them (::1 becomes \:\:1).
    iface = quoteStringArgument(args.iface)
    endpoint = serverFromString(
        reactor, f"tcp:{args.port}:interface={iface}:backlog={args.backlog}"
    )
    try:
        listening: IListeningPort = await endpoint.listen(factory)
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        raise SystemExit(
            f"poetry-proxy.py: cannot listen on {args.iface}:{args.port}: {reason}"
        ) from None

    print(f"Proxying {server_name(host, port)} on {listening.getHost()}.", flush=True)

    # From here on, Twisted's messages (and ours) go to stderr, so stdout
    # holds only the proxy's own messages. Events logged before now were
    # kept, and come out first.
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr)], redirectStandardIO=False
    )

    async def stop_serving() -> None:
        await maybeDeferred(listening.stopListening)
        closed = factory.cut_connections()
        service.interrupt()
        await closed

    # Before the reactor closes what is left (cleanly, so a cut poem would
    # look whole), stop accepting, reset the clients still waiting or
    # reading, and give up the fetch on its way.
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: Deferred.fromCoroutine(stop_serving())
    )

    # A Deferred nobody fires: serve until Ctrl-C or kill stops the reactor.
    await Deferred()


def main() -> None:
    task.react(serve, (parse_args(),))


if __name__ == "__main__":
    main()
