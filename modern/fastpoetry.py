"""Twisted Fast Poetry Server, version 1.0 (Part 11), in today's idiom.

The same server as twisted-server-1/fastpoetry.py, written the way Twisted
26.10's own documentation writes a server: every client that connects gets
the whole poem at once, and then the server closes the connection.

Run from the repository root:

    python modern/fastpoetry.py --port 10002 poetry/fascination.txt

and, in another terminal, fetch the poem with any poetry client (or netcat):

    python modern/get-poetry.py 10001 10002    # no transformation server: the poem as sent
    python twisted-client-4/get-poetry.py 10002

The server first prints the address it is really listening on, e.g.

    Serving poetry/fascination.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10002).

and then logs on stderr. The command line, the output, the exit statuses and
the way connections are treated (--timeout, counted from the server's last
write to a connection; half-close; the connection limit; the reset on
shutdown; the checks on the poem file) are the classic script's; see its
docstring.

What changed from the classic script, and why (the table in docs/modern.md):

- serverFromString(reactor, "tcp:PORT:interface=IFACE:backlog=N") instead of
  reactor.listenTCP: the address is one string, which is what a user would
  type, and the code does not care what kind of stream it listens on.
- task.react(serve) instead of reactor.run(): the program's work is an
  async function that receives the reactor, and its outcome (SystemExit)
  becomes the exit status.
- twisted.logger (Logger, globalLogBeginner, textFileLogObserver) instead of
  twisted.python.log, which Twisted's documentation calls legacy.
- The guard is a base class of the lesson's protocol and factory rather
  than a factory wrapped around them: the protocol restarts its idle timer
  (an IDelayedCall) when it writes, and the factory keeps the set of open
  connections. Same behaviour, one object per connection instead of two.
- Type hints throughout; `mypy --strict modern/` checks them.
"""

from __future__ import annotations

import argparse
import os
import resource
import stat
import sys

from twisted.internet import task
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.endpoints import quoteStringArgument, serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IReactorCore,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.logger import Logger, globalLogBeginner, textFileLogObserver
from twisted.python.failure import Failure
from zope.interface import implementer

# The largest poem a server will load.
MAX_POEM_SIZE = 64 * 1024 * 1024
# Seconds since the server last wrote to a connection before it is reset.
TIMEOUT = 60.0

# Our log lines say which server wrote them: "[fastpoetry#info] ...".
log = Logger(namespace="fastpoetry")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("poetry_file", metavar="poetry-file", help="the poem to serve")
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
        help="seconds since the server last wrote to a connection before that"
        " connection is reset; 0: never (default: %(default)g)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    if not args.timeout >= 0:  # written so that nan is refused too
        parser.error(f"--timeout must not be negative, not {args.timeout:g}")
    return args


def read_poem(path: str) -> bytes:
    """The bytes of the poem file at `path`; ValueError says what is wrong with it."""
    try:
        # Look before opening: reading /dev/zero or a FIFO would never end.
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_POEM_SIZE:
            raise ValueError(f"larger than {MAX_POEM_SIZE} bytes")
        with open(path, "rb") as poetry_file:
            poem = poetry_file.read(MAX_POEM_SIZE + 1)
    except OSError as e:
        raise ValueError(e.strerror) from None
    if not poem:
        raise ValueError("the file is empty")
    if len(poem) > MAX_POEM_SIZE:
        raise ValueError(f"larger than {MAX_POEM_SIZE} bytes")
    return poem


# The guard every connection of this server goes through: an idle time-out,
# half-close, a limit on open connections, and a reset for all of them when
# the server stops. The poetry classes below build on it.


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


# The lesson: the protocol and the factory of Part 11.


class PoetryProtocol(GuardedProtocol):
    factory: PoetryFactory

    def connectionMade(self) -> None:
        super().connectionMade()
        # write() only queues the bytes; loseConnection() closes the
        # connection once everything queued has been sent.
        self.transport.write(self.factory.poem)
        self.wrote()
        self.transport.loseConnection()


class PoetryFactory(GuardedFactory):
    protocol = PoetryProtocol

    def __init__(self, reactor: IReactorTime, poem: bytes, timeout: float) -> None:
        super().__init__(reactor, timeout)
        self.poem = poem


async def serve(reactor: IReactorCore, args: argparse.Namespace, poem: bytes) -> None:
    """Listen, print where, log to stderr, and serve until the reactor stops."""
    factory = PoetryFactory(IReactorTime(reactor), poem, args.timeout)
    # An IPv6 interface has colons, which the endpoint syntax uses between
    # fields; quoteStringArgument escapes them (::1 becomes \:\:1).
    iface = quoteStringArgument(args.iface)
    endpoint = serverFromString(
        reactor, f"tcp:{args.port}:interface={iface}:backlog={args.backlog}"
    )
    try:
        port: IListeningPort = await endpoint.listen(factory)
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        raise SystemExit(
            f"fastpoetry.py: cannot listen on {args.iface}:{args.port}: {reason}"
        ) from None

    print(f"Serving {args.poetry_file} on {port.getHost()}.", flush=True)

    # From here on, Twisted's messages (and ours) go to stderr, so stdout
    # holds only the line above. Events logged before now were kept, and
    # come out first.
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr)], redirectStandardIO=False
    )

    async def stop_serving() -> None:
        await maybeDeferred(port.stopListening)
        await factory.cut_connections()

    # Before the reactor closes what is left (cleanly, so a cut poem would
    # look whole), stop accepting and reset the connections still sending.
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: Deferred.fromCoroutine(stop_serving())
    )

    # A Deferred nobody fires: serve until Ctrl-C or kill stops the reactor.
    await Deferred()


def main() -> None:
    args = parse_args()

    # The server only relays the poem, so it reads (and sends) raw bytes.
    try:
        poem = read_poem(args.poetry_file)
    except ValueError as e:
        sys.exit(f"fastpoetry.py: cannot read {args.poetry_file}: {e}")

    task.react(serve, (args, poem))


if __name__ == "__main__":
    main()
