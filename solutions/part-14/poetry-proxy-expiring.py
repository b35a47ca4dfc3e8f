"""Twisted Poetry Proxy, version 2.0, with an expiring cache (Part 14, exercise 2).

Proxy 2.0 keeping its cached poem for a while only: a poem older than
--max-age seconds (two hours unless told otherwise) is discarded when the
next client asks for it, and that client makes the proxy fetch the poem
again. ProxyService notes when it cached the poem (set_poem) and looks at
its age before using it (get_poem); the time is the reactor's,
reactor.seconds().

Run from the repository root, each command in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10001 poetry/fascination.txt
    python solutions/part-14/poetry-proxy-expiring.py --port 10000 --max-age 10 10001
    python twisted-client-4/get-poetry.py 10000

The proxy first prints the server it stands in front of and the address it
is really listening on:

    Proxying 127.0.0.1:10001 on IPv4Address(type='TCP', host='127.0.0.1', port=10000).

The client prints the poem, and the proxy "Fetching poem from server.". Run
the client again within ten seconds: the same poem, and the proxy prints
"Using cached poem." Wait ten seconds and run it once more: the proxy
prints "Discarding cached poem, older than 10 s." and "Fetching poem from
server." (restart the poetry server with another poem in between to see the
new one arrive). Without --max-age the poem is kept for 7200 seconds.

The upstream server is given as port, host:port or [IPv6 host]:port (the
host defaults to 127.0.0.1). Leave out --port (or give --port 0) and the
system picks a free port. Around the lesson's classes, two wrappers keep the
proxy honest with both sides:

- towards the poetry server (a DownloadGuard around each fetch): a server
  that sends nothing for --upstream-timeout seconds, or a poem over
  --max-poem-size, or a connection that breaks, is a failed fetch: one line
  on stderr, nothing cached, and the next client makes the proxy try again;
- towards its clients (a ServerGuard around the factory): a client is reset
  --timeout seconds after the proxy last wrote to it, so it has that long to
  take the poem (a client waiting for the fetch is not: the fetch has its
  own time-outs); a client whose poem could not be fetched is reset rather
  than closed, so it cannot take the silence for an empty poem; a client
  that has finished sending (netcat -N) still gets its poem; connections
  beyond what the process's descriptors allow are refused, with one log line
  per burst; and when the proxy stops, the clients still waiting or reading
  are reset.
"""

import argparse
import errno
import resource
import sys

from twisted.internet import defer, error, task
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.protocols import policies
from twisted.python import context, log, reflect
from twisted.python.failure import Failure
from zope.interface import implementer


def parse_address(text):
    """Turn "[host:]port" (an IPv6 host in brackets) into (host, port)."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(
            f"invalid address {text!r} (expected [host:]port)"
        )
    return host or "127.0.0.1", port


def parse_args():
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
        default=60.0,
        help="seconds from the proxy's last write to a client until the"
        " connection is reset: a client has that long to take the poem (one"
        " waiting for the fetch is not reset); 0: never (default: %(default)g)",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=DownloadGuard.timeout,
        help="seconds without a byte from the poetry server before a fetch is"
        " given up; connecting is also bounded by Twisted's 30 s connect"
        " time-out (default: %(default)g)",
    )
    parser.add_argument(
        "--max-poem-size",
        type=int,
        default=DownloadGuard.max_size,
        help="the largest poem fetched, in bytes (default: %(default)s)",
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=ProxyService.max_age,
        help="seconds a cached poem is used before it is fetched again"
        f" (default: {ProxyService.max_age:g}, two hours)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    # "not x >= 0" rather than "x < 0": nan compares false either way.
    if not args.timeout >= 0:
        parser.error(f"--timeout must not be negative, not {args.timeout:g}")
    if not args.upstream_timeout > 0:
        parser.error(
            f"--upstream-timeout must be more than 0, not {args.upstream_timeout:g}"
        )
    if args.max_poem_size < 1:
        parser.error(f"--max-poem-size must be at least 1, not {args.max_poem_size}")
    if not args.max_age > 0:
        parser.error(f"--max-age must be more than 0, not {args.max_age:g}")
    return args


class PoetryProxyProtocol(Protocol):
    def connectionMade(self):
        d = self.factory.service.get_poem()
        d.addCallback(self.transport.write)
        d.addBoth(lambda r: self.transport.loseConnection())


class PoetryProxyFactory(ServerFactory):
    protocol = PoetryProxyProtocol

    def __init__(self, service):
        self.service = service


class PoetryClientProtocol(Protocol):
    def connectionMade(self):
        # A bytearray grows in place; adding to bytes would copy the whole
        # poem for every piece, which takes quadratic time on a large poem.
        self.poem = bytearray()

    def dataReceived(self, data):
        self.poem += data

    def connectionLost(self, reason):
        # Only a clean close after some bytes ends a poem; a reset or an
        # empty reply reaches the factory's clientConnectionLost instead,
        # and nothing is cached.
        if self.poem and reason.check(error.ConnectionDone):
            self.poemReceived(bytes(self.poem))

    def poemReceived(self, poem):
        self.factory.poem_finished(poem)


class PoetryClientFactory(ClientFactory):
    protocol = PoetryClientProtocol

    def __init__(self):
        # This factory makes the Deferred, so this factory fires it.
        self.deferred = Deferred()

    def poem_finished(self, poem):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionFailed(self, connector, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)

    # Added to the text's class: a poem cut short fails, rather than never firing.
    clientConnectionLost = clientConnectionFailed


class ProxyService:
    poem = None  # the poem, once it has been fetched
    fetched_at = None  # when it was cached, in the reactor's seconds
    # How long, in seconds, a cached poem is used; main() sets it.
    max_age = 2 * 60 * 60.0

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def get_poem(self):
        from twisted.internet import reactor

        if self.poem is not None and reactor.seconds() - self.fetched_at > self.max_age:
            print(f"Discarding cached poem, older than {self.max_age:g} s.")
            self.poem = self.fetched_at = None

        if self.poem is not None:
            print("Using cached poem.")
            # A Deferred that has already fired with the cached poem.
            return succeed(self.poem)

        print("Fetching poem from server.")
        factory = PoetryClientFactory()
        factory.deferred.addCallback(self.set_poem)
        # Not factory as in the text: the guard fails a silent or oversized download.
        reactor.connectTCP(self.host, self.port, DownloadGuard(factory))
        return factory.deferred

    def set_poem(self, poem):
        from twisted.internet import reactor

        self.poem = poem
        self.fetched_at = reactor.seconds()
        return poem


# Around the lesson: wrappers for its factories, built on Twisted's
# protocols.policies, so that the classes above stay the text's.


@implementer(IHalfCloseableProtocol)
class GuardedConnection(policies.ProtocolWrapper):
    """Stands between one client's connection and the lesson's protocol."""

    # Set when the server first writes to the connection.
    written = False

    def makeConnection(self, transport):
        # ProtocolWrapper's own makeConnection also gives this wrapper the
        # transport's interfaces, which costs as much as all the rest of it;
        # the lesson's protocols have no use for them.
        Protocol.makeConnection(self, transport)
        self.lastProgress = self.factory.tick
        self.factory.registerProtocol(self)
        # What the lesson's protocol logs here is prefixed with its factory's
        # name, as the text shows it, rather than with the guard's.
        context.call(self.factory.logContext, self.wrappedProtocol.makeConnection, self)

    def write(self, data):
        self.written = True
        self.lastProgress = self.factory.tick
        self.transport.write(data)

    def writeSequence(self, data):
        self.written = True
        self.lastProgress = self.factory.tick
        self.transport.writeSequence(data)

    def loseConnection(self):
        # Closing before sending a byte means something went wrong: reset
        # the connection instead, so the client cannot take it for a poem.
        if self.written:
            super().loseConnection()
        else:
            self.transport.abortConnection()

    def readConnectionLost(self):
        # The client has finished sending (netcat -N, socat): go on sending
        # to it (without this method Twisted would close the connection),
        # and tell the lesson's protocol, if it wants to know.
        halfCloseable = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if halfCloseable is not None:
            halfCloseable.readConnectionLost()

    def writeConnectionLost(self):
        pass

    def logPrefix(self):
        # Log lines made on this connection name the lesson's protocol.
        return self.wrappedProtocol.logPrefix()


class ServerGuard(policies.WrappingFactory):
    """Wraps a server's factory, to keep it serving whatever its clients do.

    A connection is reset `timeout` seconds after the server last wrote to
    it (or accepted it), checked every quarter of that time: a client has
    that long to take each write, a whole poem if it came at once. With
    `reset_unanswered` false, a connection not yet written to is left alone
    (a proxy's client, waiting on a fetch with time-outs of its own).
    Connections beyond what the process's file descriptors allow are
    refused, with a log line when refusing starts and one when it stops.
    `cutConnections` resets the connections still open, for when the server
    stops.
    """

    protocol = GuardedConnection
    # File descriptors left for the process itself (standard streams, the
    # reactor, the listening socket, log files) out of its limit.
    spare_descriptors = 32
    # No "Starting factory" log lines for the wrapper itself.
    noisy = False
    # Counts the quarters of the time-out; progress is noted in ticks.
    tick = 0
    # The reactor, unless a test puts a task.Clock here.
    clock = None

    def __init__(
        self, factory, timeout, descriptors_per_client=1, reset_unanswered=True
    ):
        super().__init__(factory)
        self.timeout = timeout
        self.reset_unanswered = reset_unanswered
        soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = soft_limit - self.spare_descriptors
        self.limit = max(1, room // descriptors_per_client)
        self.refused = 0
        self.closed = None
        self.sweeper = None
        # Made once: the log context for the lesson's connectionMade.
        self.logContext = {log.ILogContext: {"system": reflect.qual(type(factory))}}

    def logPrefix(self):
        # Twisted's own lines ("PoetryFactory starting on 10000") name the
        # lesson's factory, not the guard.
        return self.wrappedFactory.logPrefix()

    def startFactory(self):
        if self.timeout:
            from twisted.internet import reactor

            self.sweeper = task.LoopingCall.withCount(self.sweep)
            self.sweeper.clock = self.clock or reactor
            self.sweeper.start(self.timeout / 4, now=False)

    def stopFactory(self):
        if self.sweeper is not None:
            self.sweeper.stop()
            self.sweeper = None

    def sweep(self, quarters):
        # More than one quarter if the reactor was busy for that long.
        self.tick += quarters
        for p in list(self.protocols):
            if not (p.written or self.reset_unanswered):
                continue  # still waiting for its answer
            if self.tick - p.lastProgress > 4:
                peer = p.getPeer()
                log.msg(
                    f"nothing new to send to {peer.host}:{peer.port} in"
                    f" {self.timeout:g} s; resetting the connection"
                )
                p.transport.abortConnection()

    def buildProtocol(self, addr):
        if len(self.protocols) >= self.limit:
            # Past the limit the process could not even accept (EMFILE), and
            # Twisted would log every attempt: refuse here, saying so once.
            if not self.refused:
                log.msg(f"{self.limit} connections open; refusing new clients")
            self.refused += 1
            return None
        return self.protocol(self, self.wrappedFactory.buildProtocol(addr))

    def unregisterProtocol(self, p):
        del self.protocols[p]
        if self.refused:
            log.msg(f"accepting clients again ({self.refused} refused meanwhile)")
            self.refused = 0
        if self.closed is not None and not self.protocols:
            closed, self.closed = self.closed, None
            closed.callback(None)

    def cutConnections(self):
        """Reset every connection still open; fire once they have all closed.

        A clean close would make a poem cut short look whole to its client.
        """
        if not self.protocols:
            return defer.succeed(None)
        log.msg(f"stopping: resetting {len(self.protocols)} connections")
        self.closed = defer.Deferred()
        for p in list(self.protocols):
            p.transport.abortConnection()
        return self.closed


class DownloadFailed(Exception):
    """A download that did not bring a whole poem; the message says where and why."""


class GuardedDownload(policies.TimeoutProtocol):
    """One download: counts its bytes, and any byte resets the time-out."""

    def dataReceived(self, data):
        self.factory.received += len(data)
        if self.factory.received > self.factory.max_size:
            self.giveUp(f"Poem larger than {self.factory.max_size} bytes.")
        else:
            super().dataReceived(data)

    def timeoutFunc(self):
        self.giveUp(self.factory.timedOut())

    def giveUp(self, problem):
        self.factory.problem = problem
        self.transport.abortConnection()

    def logPrefix(self):
        return self.wrappedProtocol.logPrefix()


class DownloadGuard(policies.TimeoutFactory):
    """Wraps the factory of one download.

    Gives up on a server that sends nothing for `timeout` seconds, and on a
    poem of more than `max_size` bytes, by resetting the connection.
    Connecting is given up after `timeout` seconds too, or after Twisted's
    own connect time-out (30 s) if that comes first. Every failure is logged
    once and reaches the wrapped factory as a DownloadFailed that names the
    server and says what happened.
    """

    protocol = GuardedDownload
    # Each default is written here once; main() sets them from the command
    # line.
    timeout = 60.0
    max_size = 64 * 1024 * 1024
    # No "Starting factory" log lines for every download.
    noisy = False

    def __init__(self, factory):
        super().__init__(factory, self.timeout)
        # One download per factory: no "Starting factory" lines for each.
        factory.noisy = False
        self.received = 0
        self.problem = None

    def timedOut(self):
        return f"Timed out after {self.timeoutPeriod:g} s."

    def startedConnecting(self, connector):
        self.connector = connector
        dest = connector.getDestination()
        host = f"[{dest.host}]" if ":" in dest.host else dest.host
        self.server = f"{host}:{dest.port}"
        self.connecting = self.callLater(self.timeoutPeriod, self.connectTimedOut)
        super().startedConnecting(connector)

    def connectTimedOut(self):
        self.problem = self.timedOut()
        self.connector.stopConnecting()

    def buildProtocol(self, addr):
        self.connecting.cancel()
        return super().buildProtocol(addr)

    def clientConnectionFailed(self, connector, reason):
        if self.connecting.active():
            self.connecting.cancel()
        super().clientConnectionFailed(connector, self.explain(reason))

    def clientConnectionLost(self, connector, reason):
        super().clientConnectionLost(connector, self.explain(reason))

    def resetAtConnect(self, reason):
        # A reset can beat the end of connecting; Twisted then reports it as
        # a ConnectError, ECONNRESET.
        return getattr(reason.value, "osError", None) == errno.ECONNRESET

    def explain(self, reason):
        if self.problem is None and reason.check(error.ConnectionDone):
            if self.received:
                return reason  # a clean close after a poem: nothing went wrong
            what = "Connection closed before any poem arrived."
        elif self.problem is not None:
            what = self.problem
        elif reason.check(error.TimeoutError):
            # connectTCP's own time-out (30 s unless told otherwise) came first.
            seconds = getattr(self.connector, "timeout", 30)
            what = f"Timed out after {seconds:g} s while connecting."
        elif reason.check(error.ConnectionLost) or self.resetAtConnect(reason):
            from twisted.internet import reactor

            # When the reactor stops (Ctrl-C), it closes every connection.
            how = "Connection broke" if reactor.running else "Interrupted"
            when = f"after {self.received} bytes" if self.received else "at once"
            what = f"{how} {when}."
        else:
            what = reason.getErrorMessage()
        # Once per fetch, however many clients were waiting for it.
        log.msg(f"No poem from {self.server}: {what}")
        return Failure(DownloadFailed(f"{self.server}: {what}"))


def main():
    args = parse_args()

    DownloadGuard.timeout = args.upstream_timeout
    DownloadGuard.max_size = args.max_poem_size

    host, port = args.server
    service = ProxyService(host, port)
    service.max_age = args.max_age

    factory = PoetryProxyFactory(service)
    # Each client may need a second descriptor, for its fetch on a miss. A
    # client waiting for that fetch is not reset: the fetch's own guard
    # bounds the wait.
    guard = ServerGuard(
        factory, args.timeout, descriptors_per_client=2, reset_unanswered=False
    )

    from twisted.internet import reactor

    try:
        listening = reactor.listenTCP(
            args.port, guard, backlog=args.backlog, interface=args.iface
        )
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        sys.exit(
            f"poetry-proxy-expiring.py: cannot listen on {args.iface}:{args.port}:"
            f" {reason}"
        )

    server = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    print(f"Proxying {server} on {listening.getHost()}.", flush=True)

    # From here on, Twisted's messages (and the guards') go to stderr, so
    # stdout holds only the proxy's own messages.
    log.startLogging(sys.stderr, setStdout=False)

    def stop_serving():
        listening.stopListening()
        return guard.cutConnections()

    # Before the reactor closes what is left (cleanly, so a cut poem would
    # look whole), stop accepting and reset the connections still open.
    reactor.addSystemEventTrigger("before", "shutdown", stop_serving)

    reactor.run()


if __name__ == "__main__":
    main()
