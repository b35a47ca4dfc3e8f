"""Part 16, exercise 2: a tac file that runs the poetry proxy.

The caching poetry proxy of Part 14 (proxy 2.0), as a tac file that twistd
runs, the way twisted-server-3/fastpoetry.py runs the fast poetry server.
It is a copy of twisted-server-2/poetry-proxy.py (the stage): the protocol,
factories and guards stay as they are, ProxyService becomes a Twisted
Service (its code unchanged) so that it can sit in the application's tree,
and the command line (parse_args, main) gives way to the tac file's
configuration block and services:

    application "poetry-proxy"
    +-- top_service (MultiService)
        +-- ProxyService (fetches from 127.0.0.1:10001, keeps the poem)
        +-- CutOnStop (resets the clients still connected when twistd stops)
        +-- TCPServer (port 10000, the ServerGuard around PoetryProxyFactory)

So

    diff -u twisted-server-2/poetry-proxy.py solutions/part-16/poetry-proxy.py

shows what a tac file needs in place of main(). As with any tac file,
`python solutions/part-16/poetry-proxy.py` does nothing.

Run from the repository root (with .venv/bin first on your PATH), each
command in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10001 poetry/fascination.txt
    twistd --nodaemon --python solutions/part-16/poetry-proxy.py
    python twisted-client-4/get-poetry.py 10000

twistd logs "PoetryProxyFactory starting on 10000"; the client prints the
poem, and the log shows "Fetching poem from server." (the proxy's print
goes to twistd's log). Run the client again: the same poem, and "Using
cached poem." Ctrl-C ends with "Server Shut Down."; without --nodaemon the
proxy runs as a daemon, logging to twistd.log, and `kill $(cat twistd.pid)`
stops it. To listen elsewhere or fetch from another server, edit the
configuration block at the end of this file.
"""

import errno
import resource
import socket
import sys

from twisted.application import internet, service
from twisted.internet import defer, error, task
from twisted.internet.abstract import isIPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.protocols import policies
from twisted.python import context, log, reflect
from twisted.python.failure import Failure
from zope.interface import implementer


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


class ProxyService(service.Service):
    poem = None  # the poem, once it has been fetched

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def get_poem(self):
        if self.poem is not None:
            print("Using cached poem.")
            # A Deferred that has already fired with the cached poem.
            return succeed(self.poem)

        print("Fetching poem from server.")
        factory = PoetryClientFactory()
        factory.deferred.addCallback(self.set_poem)
        from twisted.internet import reactor

        # Not factory as in the text: the guard fails a silent or oversized download.
        reactor.connectTCP(self.host, self.port, DownloadGuard(factory))
        return factory.deferred

    def set_poem(self, poem):
        self.poem = poem
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


def check_can_listen(port, iface):
    """Raise ValueError saying why, if `port` on `iface` cannot be listened on now."""
    family = socket.AF_INET6 if isIPv6Address(iface) else socket.AF_INET
    try:
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((iface, port))
    except OSError as e:
        raise ValueError(e.strerror or str(e)) from None


class CutOnStop(service.Service):
    """When twistd stops, resets the connections still open (see ServerGuard)."""

    def __init__(self, guard):
        self.guard = guard

    def stopService(self):
        super().stopService()
        return self.guard.cutConnections()


# The deployment: where the proxy listens, and the poetry server it stands
# in front of. twistd itself never reads these names; they only keep the
# settings together.
port = 10000
iface = "localhost"
server_host = "127.0.0.1"
server_port = 10001
# Twisted's default listen backlog of 50 overflows when a few hundred clients
# connect at once, and the kernel then makes them retry a second later.
backlog = 1024
# Seconds from the proxy's last write to a client until the connection is
# reset: a client has that long to take the poem (one waiting for the fetch is
# not reset); 0: never.
timeout = 60
# Seconds without a byte from the poetry server before a fetch is given up
# (connecting is also bounded by Twisted's 30 s connect time-out), and the
# largest poem fetched, in bytes.
upstream_timeout = 60
max_poem_size = 64 * 1024 * 1024

# twistd runs this file to build the application, and would find a busy
# port only after starting (as a daemon, after going into the background):
# check now, so that it is one line in the terminal. Plain python only reads
# this file, and checks nothing. The poetry server is not checked: the proxy
# only needs it when a client comes, and it may start later.
if __name__ != "__main__":
    try:
        check_can_listen(port, iface)
    except ValueError as e:
        sys.exit(f"{__file__}: cannot listen on {iface}:{port}: {e}")

# Every fetch from the poetry server is guarded with these settings.
DownloadGuard.timeout = upstream_timeout
DownloadGuard.max_size = max_poem_size

# One parent for the services below, so they start and stop together.
top_service = service.MultiService()

# Fetches the poem on the first request and keeps it for the next ones.
proxy_service = ProxyService(server_host, server_port)
proxy_service.setServiceParent(top_service)

# Around the text's factory, the guard (each client may need a second
# descriptor, for its fetch on a miss; a client waiting for that fetch is not
# reset: the fetch's own guard bounds the wait); when twistd stops,
# CutOnStop resets the clients still connected, after the TCPServer below
# has stopped listening.
factory = ServerGuard(
    PoetryProxyFactory(proxy_service),
    timeout,
    descriptors_per_client=2,
    reset_unanswered=False,
)
CutOnStop(factory).setServiceParent(top_service)

# Opens the listening socket, with our factory behind it, when started.
tcp_service = internet.TCPServer(port, factory, interface=iface, backlog=backlog)
tcp_service.setServiceParent(top_service)

# twistd looks for exactly this name in a tac file.
application = service.Application("poetry-proxy")

# Starting the application now starts everything above.
top_service.setServiceParent(application)
