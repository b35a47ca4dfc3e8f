"""Twisted Poetry Transformation Server, version 1.0, one more transform (Part 12, exercise 2).

The transformation server of Part 12 with a second transformation of our
own: "mirror" writes each line of the poem backwards, from right to left.
Adding it takes two methods and touches nothing else: TransformService.mirror
does the work, and TransformFactory.xform_mirror makes it reachable from the
network (only names with the xform_ prefix are). The protocol, which only
carries a name and a poem, does not change at all.

Run from the repository root:

    python solutions/part-12/transformedpoetry-more.py --port 11000

and, in another terminal, try both transforms, with the netcat client of the
text and with our copy of it that asks for "mirror":

    ./twisted-server-1/transform-test 11000
    ./solutions/part-12/transform-test-more 11000

which print the two answers, still netstring-encoded:

    15:here is my poem,
    15:MEOP YM SI EREH,

Any poetry client of Part 13 can ask for it too, e.g. the answer to Part 13's
exercise 1: `python solutions/part-13/get-poetry-xform.py --xform mirror
11000 10002`, with a poetry server on 10002.

Leave out --port (or give --port 0) and the system picks a free port.

Around the lesson's classes, main() wraps the factory in a ServerGuard: a
client has --timeout seconds to send its request, and then to take each
piece of the answer, before its connection is reset (one log line names
it); a client that has finished sending (netcat -N) still gets its answer;
a request that gets no answer has its connection reset, not closed;
connections beyond what the process's file descriptors allow are refused,
with one log line per burst; and when the server stops, the connections
still open are reset.
"""

import argparse
import resource
import sys

from twisted.internet import defer, task
from twisted.internet.error import CannotListenError, ConnectionAborted
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols import policies
from twisted.protocols.basic import NetstringReceiver
from twisted.python import context, log, reflect
from zope.interface import implementer


def parse_args():
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
        default=60.0,
        help="seconds from the server's last write to a connection (or from"
        " accepting it) until the connection is reset: a client has that long"
        " to send its request, then to take the answer; 0: never"
        " (default: %(default)g)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    # "not x >= 0" rather than "x < 0": nan compares false either way.
    if not args.timeout >= 0:
        parser.error(f"--timeout must not be negative, not {args.timeout:g}")
    return args


class TransformService:
    def cummingsify(self, poem):
        return poem.lower()

    def mirror(self, poem):
        # Each line backwards; splitting on "\n" keeps the line ends where
        # they were, a last line without one included.
        return "\n".join(line[::-1] for line in poem.split("\n"))


@implementer(IHalfCloseableProtocol)
class TransformProtocol(NetstringReceiver):
    # Set once the one request a connection may carry has arrived, or has
    # been given up on.
    requested = False

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
        new_poem = self.factory.transform(xform_name, poem)

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


class TransformFactory(ServerFactory):
    protocol = TransformProtocol

    def __init__(self, service):
        self.service = service

    def transform(self, xform_name, poem):
        # Only names with the xform_ prefix can be reached, so a client
        # cannot call any other attribute of the factory or the service.
        thunk = getattr(self, f"xform_{xform_name}", None)

        if thunk is None:  # not a transform we offer
            log.msg(f"no such transform: {xform_name[:40]!r}")
            return None

        try:
            return thunk(poem)
        except Exception:
            log.err(None, f"transform {xform_name!r} failed")
            return None

    def xform_cummingsify(self, poem):
        return self.service.cummingsify(poem)

    def xform_mirror(self, poem):
        return self.service.mirror(poem)


# Around the lesson: a wrapper for the factory, built on Twisted's
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


def main():
    args = parse_args()

    service = TransformService()

    factory = TransformFactory(service)
    guard = ServerGuard(factory, args.timeout)

    from twisted.internet import reactor

    try:
        port = reactor.listenTCP(
            args.port, guard, backlog=args.backlog, interface=args.iface
        )
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        sys.exit(
            f"transformedpoetry-more.py: cannot listen on {args.iface}:{args.port}:"
            f" {reason}"
        )

    print(f"Serving transforms on {port.getHost()}.", flush=True)

    # From here on, Twisted's messages (and the guard's) go to stderr, so
    # stdout holds only the line above.
    log.startLogging(sys.stderr, setStdout=False)

    def stop_serving():
        port.stopListening()
        return guard.cutConnections()

    # Before the reactor closes what is left (cleanly, so a cut poem would
    # look whole), stop accepting and reset the connections still sending.
    reactor.addSystemEventTrigger("before", "shutdown", stop_serving)

    reactor.run()


if __name__ == "__main__":
    main()
