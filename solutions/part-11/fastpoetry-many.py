"""Twisted Fast Poetry Server, version 1.0, many poems (Part 11, exercise 4).

The fast poetry server serving several poems, each on a port of its own,
from one process: one PoetryFactory per poem, one listenTCP per factory,
and a single reactor running them all. The lesson's protocol and factory
are unchanged; only main() (and the command line) know there are several.

Run from the repository root:

    python solutions/part-11/fastpoetry-many.py --port 10002 poetry/fascination.txt --port 10003 poetry/science.txt

and, in another terminal, fetch both poems at once with a poetry client (or
netcat, one port at a time):

    python twisted-client-4/get-poetry.py 10002 10003

Each --port goes with the poem that follows it (the ports and the poems are
paired in the order given, so `--port 10002 --port 10003 a.txt b.txt` is the
same). Leave out every --port and each poem gets a free port; otherwise give
exactly one per poem. The server prints one line per poem, with the address
it is really listening on, e.g.

    Serving poetry/fascination.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10002).
    Serving poetry/science.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10003).

and then logs on stderr what Twisted tells it. If a poem cannot be read or
a port cannot be listened on, it says which and serves nothing.

Around the lesson's two classes, main() wraps each factory in a ServerGuard
of its own, so each port gets what fastpoetry.py gives its one port: a
connection is reset --timeout seconds after the server last wrote to it, so
a client has that long to take the poem (one log line names the client); a
client that has finished sending (netcat -N, socat) still gets its poem;
connections beyond what the process's file descriptors allow are refused,
with one log line per burst (the ports share the process's descriptors, so
each guard gets an equal part of them); and when the server stops (Ctrl-C,
kill), the poems still being sent are cut with a reset, so their clients can
tell. Each poem file must be a regular, non-empty file of at most 64 MiB.
"""

import argparse
import os
import resource
import stat
import sys

from twisted.internet import defer, task
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols import policies
from twisted.python import context, log, reflect
from zope.interface import implementer

# The largest poem a server will load.
MAX_POEM_SIZE = 64 * 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "poetry_files", metavar="poetry-file", nargs="+", help="the poems to serve"
    )
    parser.add_argument(
        "--port",
        dest="ports",
        type=int,
        action="append",
        help="the port to listen on, once per poem, in the order of the poems"
        " (default: any free port for each)",
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
        " to take the poem; 0: never (default: %(default)g)",
    )
    # Intermixed, so that each --port can stand next to its poem.
    args = parser.parse_intermixed_args()
    if args.ports is None:
        args.ports = [0] * len(args.poetry_files)
    if len(args.ports) != len(args.poetry_files):
        ports, poems = len(args.ports), len(args.poetry_files)
        parser.error(
            f"give one --port per poem, or none: {ports} --port"
            + (" option" if ports == 1 else " options")
            + f" for {poems}"
            + (" poem" if poems == 1 else " poems")
        )
    for port in args.ports:
        if not 0 <= port <= 65535:
            parser.error(f"--port must be between 0 and 65535, not {port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    # "not x >= 0" rather than "x < 0": nan compares false either way.
    if not args.timeout >= 0:
        parser.error(f"--timeout must not be negative, not {args.timeout:g}")
    return args


def read_poem(path):
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


class PoetryProtocol(Protocol):
    def connectionMade(self):
        # write() only queues the bytes; loseConnection() closes the
        # connection once everything queued has been sent.
        self.transport.write(self.factory.poem)
        self.transport.loseConnection()


class PoetryFactory(ServerFactory):
    protocol = PoetryProtocol

    def __init__(self, poem):
        self.poem = poem


# Around the lesson: a wrapper for the factory, built on Twisted's
# protocols.policies, so that the two classes above stay the text's.


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

    # The server only relays the poems, so it reads (and sends) raw bytes.
    poems = []
    for path in args.poetry_files:
        try:
            poems.append(read_poem(path))
        except ValueError as e:
            sys.exit(f"fastpoetry-many.py: cannot read {path}: {e}")

    from twisted.internet import reactor

    # One factory per poem, each listening on its own port: the reactor
    # serves them all, as it would serve any number of different services.
    servers = []
    for path, poem, port_number in zip(
        args.poetry_files, poems, args.ports, strict=True
    ):
        factory = PoetryFactory(poem)
        # The ports share the process's file descriptors: each guard counts
        # every client as len(poems) of them, so together they fit.
        guard = ServerGuard(factory, args.timeout, descriptors_per_client=len(poems))
        try:
            port = reactor.listenTCP(
                port_number, guard, backlog=args.backlog, interface=args.iface
            )
        except CannotListenError as e:
            for _, listening, _ in servers:
                listening.stopListening()
            reason = getattr(e.socketError, "strerror", None) or e.socketError
            sys.exit(
                f"fastpoetry-many.py: cannot listen on {args.iface}:{port_number}:"
                f" {reason}"
            )
        servers.append((path, port, guard))

    for path, port, _ in servers:
        print(f"Serving {path} on {port.getHost()}.", flush=True)

    # From here on, Twisted's messages (and the guards') go to stderr, so
    # stdout holds only the lines above.
    log.startLogging(sys.stderr, setStdout=False)

    def stop_serving():
        for _, port, _ in servers:
            port.stopListening()
        return defer.gatherResults([guard.cutConnections() for _, _, guard in servers])

    # Before the reactor closes what is left (cleanly, so a cut poem would
    # look whole), stop accepting and reset the connections still sending.
    reactor.addSystemEventTrigger("before", "shutdown", stop_serving)

    reactor.run()


if __name__ == "__main__":
    main()
