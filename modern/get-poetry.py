"""Get Poetry Now! client, Twisted version 8.0 (Part 18), in today's idiom.

Clients 6, 7 and 8 in one, written the way Twisted 26.10's documentation
writes a client: the poems are fetched at the same time, each by an async
function that awaits the download and then the transformation, and a
DeferredList waits for all of them. task.react runs the whole thing and
turns its outcome into the exit status.

Run from the repository root, each server in its own terminal:

    python modern/transformedpoetry.py --port 10001
    python modern/fastpoetry.py --port 10002 poetry/fascination.txt
    python modern/fastpoetry.py --port 10003 poetry/science.txt
    python modern/get-poetry.py 10001 10002 10003

(the classic servers, twisted-server-1/*.py, work just as well). The first
address is the transformation server, the others are poetry servers; write
each as port, host:port or [IPv6 host]:port (the host defaults to
127.0.0.1). You should see the two poems in lower case. Stop the
transformation server and run the client again: each poem now prints as it
came, after a line "Cummingsify failed!" on stderr. A poem that does not
arrive whole gets one line on stderr, "The poem download failed: <server>:
<what happened>", and the other poems still print.

--timeout is how many seconds the client waits for a byte from a server
(poetry or transformation), connecting included, before it gives up on it;
--max-poem-size is the largest poem it accepts. The exit status is 0 when
every poem arrived, 1 otherwise (Ctrl-C included), 2 for a bad command line.

What changed from client 8 (twisted-client-8/get-poetry.py), and why
(docs/modern.md):

- async def and await instead of @inlineCallbacks and yield; a coroutine
  becomes a Deferred with Deferred.fromCoroutine where a Deferred is needed
  (the DeferredList).
- HostnameEndpoint instead of reactor.connectTCP, and a protocol instance made
  by us, handed over by a bare factory (what connectProtocol does, minus its
  log lines), instead of a ClientFactory: the protocol carries its own
  Deferred (`finished`), so no factory is needed to fire it.
- Time-outs by cancellation: the connection attempt has addTimeout, and a
  silent server is reset by a timer that every byte pushes back. Ctrl-C
  cancels the poems still on their way, which is how each learns it was
  interrupted.
- task.react(poetry_main) instead of reactor.run() and sys.exit(): react
  stops the reactor once, and the SystemExit raised by poetry_main is the
  exit status.
- Type hints throughout; `mypy --strict modern/` checks them.
"""

from __future__ import annotations

import argparse
import errno
import sys
from dataclasses import dataclass

from twisted.internet import defer, error, task
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.error import ConnectError, ConnectionDone, DNSLookupError
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorCore,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.protocols.basic import NetstringReceiver
from twisted.python.failure import Failure


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
        "addresses",
        metavar="[host:]port",
        nargs="*",
        type=parse_address,
        help="the transformation server, then one or more poetry servers",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=Limits.timeout,
        help="seconds without a byte from a server (poetry or transformation)"
        " before giving up on it (default: %(default)g)",
    )
    parser.add_argument(
        "--max-poem-size",
        type=int,
        default=Limits.max_size,
        help="the largest poem accepted, in bytes (default: %(default)s)",
    )
    args = parser.parse_args()
    if not args.addresses:
        parser.print_help(sys.stderr)
        parser.exit(2)
    if len(args.addresses) < 2:
        parser.error("give the transformation server and at least one poetry server")
    if not args.timeout > 0:  # written so that nan is refused too
        parser.error(f"--timeout must be more than 0, not {args.timeout:g}")
    if args.max_poem_size < 1:
        parser.error(f"--max-poem-size must be at least 1, not {args.max_poem_size}")
    return args


class DownloadFailed(Exception):
    """A download that did not bring a whole poem; the message says where and why."""


def server_name(host: str, port: int) -> str:
    """How the messages name a server: host:port, an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# The guard both kinds of download go through: a time-out that every byte
# pushes back, a size limit, and one message for whatever went wrong.


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


# The lesson: the two protocols, and the functions that use them.


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


class TransformClientProtocol(Download, NetstringReceiver):
    def __init__(
        self,
        reactor: IReactorTime,
        server: str,
        limits: Limits,
        xform_name: str,
        poem: bytes,
    ) -> None:
        super().__init__(reactor, server, limits)
        self.xform_name = xform_name
        self.poem = poem

    def connectionMade(self) -> None:
        self.started()
        # The transform name is text; the poem stays bytes.
        request = self.xform_name.encode("utf-8") + b"." + self.poem
        self.sendString(request)  # type: ignore[no-untyped-call]

    def dataReceived(self, data: bytes) -> None:
        if self.arrived(data):
            super().dataReceived(data)  # type: ignore[no-untyped-call]

    def stringReceived(self, string: bytes) -> None:
        self.transport.loseConnection()
        self.succeed(string)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.ended(reason)


class TransformProxy:
    """Stands in for a transformation server; xform() hides the TCP details."""

    def __init__(
        self, reactor: IReactorTime, host: str, port: int, limits: Limits
    ) -> None:
        self.reactor = reactor
        self.host = host
        self.port = port
        self.limits = limits

    async def xform(self, xform_name: str, poem: bytes) -> bytes:
        server = server_name(self.host, self.port)
        client = TransformClientProtocol(
            self.reactor, server, self.limits, xform_name, poem
        )
        await connect(self.reactor, self.host, self.port, client, self.limits)
        return await client.finished


async def poetry_main(reactor: IReactorCore, args: argparse.Namespace) -> None:
    """Fetch, transform and print every poem; SystemExit(1) if any failed."""
    clock = IReactorTime(reactor)
    limits = Limits(args.timeout, args.max_poem_size)
    (xform_host, xform_port), *addresses = args.addresses

    proxy = TransformProxy(clock, xform_host, xform_port, limits)

    async def get_transformed_poem(host: str, port: int) -> bytes:
        try:
            poem = await get_poetry(clock, host, port, limits)
        except DownloadFailed as e:
            print("The poem download failed:", e, file=sys.stderr)
            raise

        try:
            poem = await proxy.xform("cummingsify", poem)
        except DownloadFailed:
            print("Cummingsify failed!", file=sys.stderr)

        # The text's client 7 ends with defer.returnValue(poem); in a
        # coroutine, as in @inlineCallbacks since Twisted 24.7, it is return.
        return poem

    async def show_poem(host: str, port: int) -> None:
        poem = await get_transformed_poem(host, port)
        # The poem is bytes until here, where it becomes text to print.
        print(poem.decode("utf-8", errors="replace"))

    # One Deferred per poem, all on their way at once. The DeferredList
    # fires once every poem has arrived or failed, with one (success,
    # result) pair per poem; consumeErrors=True handles the failures.
    poems = DeferredList(
        [Deferred.fromCoroutine(show_poem(host, port)) for host, port in addresses],
        consumeErrors=True,
    )

    # Ctrl-C stops the reactor: cancelling the DeferredList cancels every
    # poem still on its way, and each one says it was interrupted.
    reactor.addSystemEventTrigger("before", "shutdown", poems.cancel)

    outcomes = await poems
    if not all(success for success, _ in outcomes):
        raise SystemExit(1)


def main() -> None:
    task.react(poetry_main, (parse_args(),))


if __name__ == "__main__":
    main()
