"""Twisted Poetry Transformation Server, version 1.0 (Part 12), in today's idiom.

The same server as twisted-server-1/transformedpoetry.py: a tiny remote
procedure call over netstrings. The client sends one netstring holding
"<transform-name>.<text of the poem>"; the server answers with one netstring
holding the transformed poem and closes the connection. Anything else (a
malformed request, an unknown transform) gets the connection reset with no
answer, and one line in the log on stderr.

Run from the repository root:

    python modern/transformedpoetry.py --port 11000

and, in another terminal, send it a poem in capitals:

    ./twisted-server-1/transform-test 11000

which prints the answer, still netstring-encoded:

    15:here is my poem,

The command line, the output, the exit statuses and the way connections are
treated (--timeout, counted from the server's last write to a connection;
half-close, and a request left unfinished by it refused at once; the
connection limit; the reset on shutdown) are the classic script's; see its
docstring.

What changed from the classic script, and why (docs/modern.md):

- serverFromString(reactor, "tcp:PORT:interface=IFACE:backlog=N") instead of
  reactor.listenTCP, and task.react(serve) instead of reactor.run().
- twisted.logger's Logger instead of twisted.python.log; a failing transform
  is logged with log.failure, which keeps the traceback.
- The guard is a base class of the protocol instead of a factory wrapped
  around the lesson's: the protocol says itself when it has written
  (wrote()) and resets the connections it gives up on (abortConnection),
  where the classic wrapper turned a close before any write into a reset.
- Type hints throughout; `mypy --strict modern/` checks them. NetstringReceiver
  has no annotations in Twisted 26.10, hence the two `type: ignore` comments.
"""

from __future__ import annotations

import argparse
import resource
import sys

from twisted.internet import task
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.endpoints import quoteStringArgument, serverFromString
from twisted.internet.error import CannotListenError, ConnectionAborted
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
from twisted.protocols.basic import NetstringReceiver
from twisted.python.failure import Failure
from zope.interface import implementer

# Seconds since the server last wrote to a connection before it is reset.
TIMEOUT = 60.0

# Our log lines say which server wrote them: "[transformedpoetry#info] ...".
log = Logger(namespace="transformedpoetry")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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


# The guard every connection of this server goes through: an idle time-out,
# half-close, a limit on open connections, and a reset for all of them when
# the server stops. The transformation classes below build on it.


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


# The lesson: the service, the protocol and the factory of Part 12.


class TransformService:
    def cummingsify(self, poem: str) -> str:
        return poem.lower()


class TransformProtocol(GuardedProtocol, NetstringReceiver):
    factory: TransformFactory
    # Set when the one request a connection may carry has arrived.
    requested = False

    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)  # type: ignore[no-untyped-call]
        # On a malformed or oversized netstring NetstringReceiver sets
        # brokenPeer and closes the connection cleanly: make that a reset.
        if self.brokenPeer:
            self.transport.abortConnection()

    def stringReceived(self, request: bytes) -> None:
        if self.requested:  # one request per connection; ignore the rest
            return
        self.requested = True

        # The wire carries bytes; the transforms work on text.
        try:
            text = request.decode("utf-8")
        except UnicodeDecodeError:
            self.badRequest("the request is not UTF-8 text")
            return

        if "." not in text:  # not of the form <name>.<poem>
            self.badRequest("no '.' after the transform name")
            return

        xform_name, poem = text.split(".", 1)

        self.xformRequestReceived(xform_name, poem)

    def xformRequestReceived(self, xform_name: str, poem: str) -> None:
        new_poem = self.factory.transform(xform_name, poem)

        if new_poem is None:
            # No answer: reset, so the client cannot take the silence for
            # an empty poem.
            self.transport.abortConnection()
            return

        self.sendString(new_poem.encode("utf-8"))  # type: ignore[no-untyped-call]
        self.wrote()
        self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        # The client has finished sending (netcat -N): a request that is not
        # whole by now never will be.
        if not self.requested:
            self.badRequest("the client stopped sending half-way")

    def badRequest(self, why: str) -> None:
        log.info("bad request: {why}; resetting the connection", why=why)
        self.transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        if self.brokenPeer:
            log.info(
                "bad request: not a netstring of at most {max} bytes;"
                " resetting the connection",
                max=self.MAX_LENGTH,
            )
        elif not self.requested and not isinstance(reason.value, ConnectionAborted):
            log.info("connection closed before a whole request arrived")


class TransformFactory(GuardedFactory):
    protocol = TransformProtocol

    def __init__(
        self, reactor: IReactorTime, service: TransformService, timeout: float
    ) -> None:
        super().__init__(reactor, timeout)
        self.service = service

    def transform(self, xform_name: str, poem: str) -> str | None:
        # Only names with the xform_ prefix can be reached, so a client
        # cannot call any other attribute of the factory or the service.
        thunk = getattr(self, f"xform_{xform_name}", None)

        if thunk is None:  # not a transform we offer
            log.info("no such transform: {name!r}", name=xform_name[:40])
            return None

        try:
            new_poem: str = thunk(poem)
        except Exception:
            log.failure("transform {name!r} failed", name=xform_name)
            return None
        return new_poem

    def xform_cummingsify(self, poem: str) -> str:
        return self.service.cummingsify(poem)


async def serve(reactor: IReactorCore, args: argparse.Namespace) -> None:
    """Listen, print where, log to stderr, and serve until the reactor stops."""
    factory = TransformFactory(IReactorTime(reactor), TransformService(), args.timeout)
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
            f"transformedpoetry.py: cannot listen on {args.iface}:{args.port}: {reason}"
        ) from None

    print(f"Serving transforms on {port.getHost()}.", flush=True)

    # From here on, Twisted's messages (and ours) go to stderr, so stdout
    # holds only the line above. Events logged before now were kept, and
    # come out first.
    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr)], redirectStandardIO=False
    )

    async def stop_serving() -> None:
        await maybeDeferred(port.stopListening)
        await factory.cut_connections()

    # Before the reactor closes what is left (cleanly, so a cut answer would
    # look whole), stop accepting and reset the connections still open.
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: Deferred.fromCoroutine(stop_serving())
    )

    # A Deferred nobody fires: serve until Ctrl-C or kill stops the reactor.
    await Deferred()


def main() -> None:
    task.react(serve, (parse_args(),))


if __name__ == "__main__":
    main()
