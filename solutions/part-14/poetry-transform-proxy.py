"""Twisted Poetry Proxy, version 2.0, with a transformation proxy (Part 14, exercise 4).

Proxy 2.0 offering transformations as well as the poem. On a second port it
speaks the transformation protocol of Part 12 (a netstring
"<transform-name>.<poem>" in, the new poem as a netstring out), so that any
client of that server can use the proxy instead. It does no transforming
itself: ProxyService.cummingsify hands the poem to an external
transformation server through client 6's TransformProxy, and returns the
Deferred of its answer. The transformation server's classes are therefore
those of a service whose methods return Deferreds (Part 12, exercise 4):
TransformFactory.transform gives a Deferred, the protocol writes the answer
when it fires, and a client that leaves first has its request cancelled
(the external server's answer, when it comes, is dropped).

Run from the repository root, each command in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10001 poetry/fascination.txt
    python twisted-server-1/transformedpoetry.py --port 11000
    python solutions/part-14/poetry-transform-proxy.py --port 10000 --xform-port 11001 --xform-server 11000 10001
    python twisted-client-6/get-poetry.py 11001 10000

The proxy prints one line per port, with the server it stands in front of
and the address it is really listening on:

    Proxying 127.0.0.1:10001 on IPv4Address(type='TCP', host='127.0.0.1', port=10000).
    Proxying transforms to 127.0.0.1:11000 on IPv4Address(type='TCP', host='127.0.0.1', port=11001).

Client 6 gets the poem from the proxy and has the proxy cummingsify it: it
prints the poem in lower case, and the proxy "Fetching poem from server."
(then "Using cached poem." on the next run). The netcat client of Part 12
works against the proxy's transformation port as against the server:
`./twisted-server-1/transform-test 11001` prints `15:here is my poem,`. Stop
the transformation server, and a transformation request to the proxy gets
its connection reset (client 6 prints "Cummingsify failed!" and the poem as
it came), with one line in the proxy's log saying what went wrong: "No poem
from 127.0.0.1:11000: Connection was refused by other side: ...". That line
comes from the DownloadGuard this proxy puts around its requests to the
transformation server as around its fetches (one class, the same in every
script that carries it), so it speaks of a poem: here, the transformed poem
that did not come back from port 11000.

Without --xform-server, the proxy offers no transformations and is proxy
2.0; --xform-port (default 0, any free port) is the port for them.

The upstream server is given as port, host:port or [IPv6 host]:port (the
host defaults to 127.0.0.1). Leave out --port (or give --port 0) and the
system picks a free port. Around the lesson's classes, two wrappers keep the
proxy honest with both sides (on each port):

- towards the poetry server (a DownloadGuard around each fetch): a server
  that sends nothing for --upstream-timeout seconds, or a poem over
  --max-poem-size, or a connection that breaks, is a failed fetch: one line
  on stderr, nothing cached, and the next client makes the proxy try again;
- towards its clients (a ServerGuard around the factory): a client is reset
  --timeout seconds after the proxy last wrote to it, so it has that long to
  take its answer (a client waiting for the poem's fetch is not: the fetch
  has its own time-outs; one waiting for a transformation is); a client
  whose poem could not be fetched is reset rather than closed, so it cannot
  take the silence for an empty poem; a client that has finished sending
  (netcat -N) still gets its poem; connections beyond what the process's
  descriptors allow are refused, with one log line per burst; and when the
  proxy stops, the clients still waiting or reading are reset.
"""

import argparse
import errno
import resource
import sys

from twisted.internet import defer, error, task
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError, ConnectionAborted
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.protocols import policies
from twisted.protocols.basic import NetstringReceiver
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
        "--xform-server",
        metavar="[host:]port",
        type=parse_address,
        help="the transformation server to forward transformations to"
        " (default: none, and no transformations are offered)",
    )
    parser.add_argument(
        "--xform-port",
        type=int,
        default=0,
        help="the port to offer transformations on (default: 0, any free port)",
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
        " connection is reset: a client has that long to take its answer (one"
        " waiting for the poem's fetch is not reset, one waiting for its"
        " transformation is); 0: never (default: %(default)g)",
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
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if not 0 <= args.xform_port <= 65535:
        parser.error(f"--xform-port must be between 0 and 65535, not {args.xform_port}")
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


# The transformation server's protocol and factory (Part 12), for a service
# whose transforms return Deferreds.


@implementer(IHalfCloseableProtocol)
class TransformProtocol(NetstringReceiver):
    # Set once the one request a connection may carry has arrived, or has
    # been given up on.
    requested = False
    # The Deferred of the transform under way, until it has fired.
    pending = None

    def stringReceived(self, request):
        if self.requested:  # one request per connection; ignore the rest
            return
        self.requested = True

        # The wire carries bytes; the transforms work on text.
        try:
            request = request.decode("utf-8")
        except UnicodeDecodeError:
            self.badRequest("the request is not UTF-8 text")
            return

        if "." not in request:  # not of the form <name>.<poem>
            self.badRequest("no '.' after the transform name")
            return

        xform_name, poem = request.split(".", 1)

        self.xformRequestReceived(xform_name, poem)

    def xformRequestReceived(self, xform_name, poem):
        # The answer comes later. Keep its Deferred until then, so that it
        # can be cancelled if the client goes away first.
        self.pending = self.factory.transform(xform_name, poem)
        # A cancelled transform (the client has gone) is not an error.
        self.pending.addCallbacks(
            self.sendPoem, lambda err: err.trap(defer.CancelledError)
        )

    def sendPoem(self, new_poem):
        self.pending = None

        if new_poem is not None:
            self.sendString(new_poem.encode("utf-8"))

        self.transport.loseConnection()

    def readConnectionLost(self):
        # The client has finished sending (netcat -N): a request that is not
        # whole by now never will be.
        if not self.requested:
            self.requested = True  # so that connectionLost does not log it again
            self.badRequest("the client stopped sending half-way")

    def writeConnectionLost(self):
        pass

    def badRequest(self, why):
        log.msg(f"bad request: {why}; closing the connection")
        self.transport.loseConnection()

    def connectionLost(self, reason):
        # NetstringReceiver closes the connection itself on a malformed or
        # oversized netstring and sets brokenPeer; say so once, here.
        if self.brokenPeer:
            log.msg(
                "bad request: not a netstring of at most"
                f" {self.MAX_LENGTH} bytes; closing the connection"
            )
        elif not self.requested and not reason.check(ConnectionAborted):
            log.msg("connection closed before a whole request arrived")
        if self.pending is not None:
            # Nobody is left to read the answer: cancel the transform, so that
            # nothing is ever written to this closed connection.
            pending, self.pending = self.pending, None
            log.msg("connection lost before its transform was done; cancelled")
            pending.cancel()


class TransformFactory(ServerFactory):
    protocol = TransformProtocol

    def __init__(self, service):
        self.service = service

    def transform(self, xform_name, poem):
        """A Deferred that fires with the new poem, or with None if there is none."""
        # Only names with the xform_ prefix can be reached, so a client
        # cannot call any other attribute of the factory or the service.
        thunk = getattr(self, f"xform_{xform_name}", None)

        if thunk is None:  # not a transform we offer
            log.msg(f"no such transform: {xform_name[:40]!r}")
            return defer.succeed(None)

        # maybeDeferred turns a transform that raises at once into a failed
        # Deferred, and a plain result into a fired one.
        d = defer.maybeDeferred(thunk, poem)

        def failed(err):
            if err.check(defer.CancelledError):
                return err  # the protocol cancelled it: no failure of ours
            # A DownloadFailed has been logged by the guard of the request.
            if not err.check(DownloadFailed):
                log.msg(f"transform {xform_name!r} failed: {err.getErrorMessage()}")
            return None

        return d.addErrback(failed)

    def xform_cummingsify(self, poem):
        return self.service.cummingsify(poem)


# Client 6's transformation client, unchanged: the proxy is a client of the
# external transformation server.


class TransformClientProtocol(NetstringReceiver):
    def connectionMade(self):
        self.sendRequest(self.factory.xform_name, self.factory.poem)

    def sendRequest(self, xform_name, poem):
        # The transform name is text; the poem stays bytes.
        self.sendString(xform_name.encode() + b"." + poem)

    def stringReceived(self, s):
        self.transport.loseConnection()
        self.poemReceived(s)

    def poemReceived(self, poem):
        self.factory.handlePoem(poem)


class TransformClientFactory(ClientFactory):
    protocol = TransformClientProtocol

    def __init__(self, xform_name, poem):
        self.xform_name = xform_name
        self.poem = poem
        # This factory makes the Deferred, so this factory fires it.
        self.deferred = defer.Deferred()

    def handlePoem(self, poem):
        # None once fired (say, by a server that answered twice).
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionLost(self, _, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)

    clientConnectionFailed = clientConnectionLost


class TransformProxy:
    """Stands in for a transformation server; xform() hides the TCP details."""

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def xform(self, xform_name, poem):
        factory = TransformClientFactory(xform_name, poem)
        from twisted.internet import reactor

        # Not factory as in the text: the guard fails a silent or oversized download.
        reactor.connectTCP(self.host, self.port, DownloadGuard(factory))
        return factory.deferred


class ProxyService:
    poem = None  # the poem, once it has been fetched
    # The TransformProxy of the external transformation server; main()
    # sets it when there is one.
    transformer = None

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

    def cummingsify(self, poem):
        # Done by the external server: the poem goes out as UTF-8 bytes, and
        # the Deferred of its answer fires with text, as a transform's should.
        d = self.transformer.xform("cummingsify", poem.encode("utf-8"))
        return d.addCallback(lambda new_poem: new_poem.decode("utf-8"))


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

    def address(host, port):
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # The poem on one port and, given a transformation server to forward
    # them to, the transformations on another: one service behind both.
    factories = [(address(host, port), args.port, PoetryProxyFactory(service))]
    if args.xform_server is not None:
        service.transformer = TransformProxy(*args.xform_server)
        what = f"transforms to {address(*args.xform_server)}"
        factories.append((what, args.xform_port, TransformFactory(service)))

    from twisted.internet import reactor

    servers = []
    for what, port_number, factory in factories:
        # Each client may need a second descriptor, for its fetch on a miss
        # or its request to the transformation server; the ports share the
        # process's descriptors, so each guard counts that many per port.
        guard = ServerGuard(
            factory,
            args.timeout,
            descriptors_per_client=2 * len(factories),
            # A poem's client waiting for the fetch is not reset (the fetch's
            # own guard bounds the wait); a transformation's client must
            # send its request in time, as to the transformation server.
            reset_unanswered=isinstance(factory, TransformFactory),
        )
        try:
            listening = reactor.listenTCP(
                port_number, guard, backlog=args.backlog, interface=args.iface
            )
        except CannotListenError as e:
            for _, other, _ in servers:
                other.stopListening()
            reason = getattr(e.socketError, "strerror", None) or e.socketError
            sys.exit(
                "poetry-transform-proxy.py: cannot listen on"
                f" {args.iface}:{port_number}: {reason}"
            )
        servers.append((what, listening, guard))

    for what, listening, _ in servers:
        print(f"Proxying {what} on {listening.getHost()}.", flush=True)

    # From here on, Twisted's messages (and the guards') go to stderr, so
    # stdout holds only the proxy's own messages.
    log.startLogging(sys.stderr, setStdout=False)

    def stop_serving():
        for _, listening, _ in servers:
            listening.stopListening()
        return defer.gatherResults([guard.cutConnections() for _, _, guard in servers])

    # Before the reactor closes what is left (cleanly, so a cut poem would
    # look whole), stop accepting and reset the connections still open.
    reactor.addSystemEventTrigger("before", "shutdown", stop_serving)

    reactor.run()


if __name__ == "__main__":
    main()
