"""Twisted Fast Poetry Server, version 2.0 (Part 16).

The fast poetry server rebuilt as a Twisted application, so that twistd can
run it: as a daemon, with its log in a file, its pid in twistd.pid, and, if
asked, as a less privileged user. This file is a tac file (a Twisted
Application Configuration): running it only *builds* the application, in the
module-level variable `application`, and twistd is what starts it. So

    python twisted-server-3/fastpoetry.py

does nothing at all and exits at once.

Run from the repository root (with .venv/bin first on your PATH):

    twistd --nodaemon --python twisted-server-3/fastpoetry.py

It serves poetry/ecstasy.txt on localhost port 10000 and logs to the
terminal, e.g.

    ... [-] PoetryFactory starting on 10000
    ... [-] loaded a poem from: poetry/ecstasy.txt

Fetch the poem from another terminal (`netcat localhost 10000`, or
`python twisted-client-4/get-poetry.py 10000`), and each connection logs

    ... [builtins.PoetryFactory] sending 2765 bytes of poetry to IPv4Address(type='TCP', host='127.0.0.1', port=51234)

Ctrl-C (or `kill $(cat twistd.pid)` from another terminal) ends with
"Server Shut Down." and removes twistd.pid. Leave out --nodaemon and twistd
runs the server as a daemon, logging to twistd.log instead:

    twistd --python twisted-server-3/fastpoetry.py
    kill `cat twistd.pid`

To serve another poem or port, edit the configuration block near the end
(or use the fastpoetry plugin, which takes them as options).
"""

import os
import resource
import socket
import stat
import sys

from twisted.application import internet, service
from twisted.internet import defer, task
from twisted.internet.abstract import isIPv6Address
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols import policies
from twisted.python import context, log, reflect
from zope.interface import implementer

# The largest poem a server will load.
MAX_POEM_SIZE = 64 * 1024 * 1024


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


# Normally we would import these classes from another module.


class PoetryProtocol(Protocol):
    def connectionMade(self):
        poem = self.factory.service.poem
        # log.msg instead of print: under twistd the line goes to the log,
        # which is a file once the server runs as a daemon.
        log.msg(f"sending {len(poem)} bytes of poetry to {self.transport.getPeer()}")
        self.transport.write(poem)
        self.transport.loseConnection()


class PoetryFactory(ServerFactory):
    protocol = PoetryProtocol

    def __init__(self, service):
        self.service = service


class PoetryService(service.Service):
    def __init__(self, poetry_file):
        self.poetry_file = poetry_file

    def startService(self):
        super().startService()
        # The poem is only relayed, so it is read (and sent) as raw bytes.
        # If the file cannot be read, the error stops twistd before the
        # reactor runs: no connection is ever accepted, the pid file is
        # removed, and the exit status is 1.
        with open(self.poetry_file, "rb") as poetry_file:
            self.poem = poetry_file.read()
        log.msg(f"loaded a poem from: {self.poetry_file}")


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


def check_can_listen(port, iface):
    """Raise ValueError saying why, if `port` on `iface` cannot be listened on now."""
    family = socket.AF_INET6 if isIPv6Address(iface) else socket.AF_INET
    try:
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((iface, port))
    except OSError as e:
        raise ValueError(e.strerror or str(e)) from None


def check_settings(poetry_file, port, iface):
    """What is wrong with the poem file or the port, in one line; None if nothing."""
    try:
        read_poem(poetry_file)
    except ValueError as e:
        # A relative path is relative to where twistd was started.
        lost = not (os.path.isabs(poetry_file) or os.path.exists(poetry_file))
        where = " (run from the repository root)" if lost else ""
        return f"cannot read {poetry_file}: {e}{where}"
    try:
        check_can_listen(port, iface)
    except ValueError as e:
        return f"cannot listen on {iface}:{port}: {e} (choose another port)"
    return None


class CutOnStop(service.Service):
    """When twistd stops, resets the connections still open (see ServerGuard)."""

    def __init__(self, guard):
        self.guard = guard

    def stopService(self):
        super().stopService()
        return self.guard.cutConnections()


# The deployment: which poem, on which port and interface. twistd itself
# never reads these names; they only keep the settings together.
port = 10000
iface = "localhost"
poetry_file = "poetry/ecstasy.txt"
# Twisted's default listen backlog of 50 overflows when a few hundred clients
# connect at once, and the kernel then makes them retry a second later.
backlog = 1024
# Seconds from the server's last write to a connection (or from accepting it)
# until the connection is reset: a client has that long to take the poem; 0:
# never.
timeout = 60

# twistd runs this file to build the application, and would find a mistake
# here only after starting (as a daemon, after going into the background):
# check now, so that it is one line in the terminal. Plain python only reads
# this file, and checks nothing.
if __name__ != "__main__":
    problem = check_settings(poetry_file, port, iface)
    if problem is not None:
        sys.exit(f"{__file__}: {problem}")

# One parent for the services below, so they start and stop together.
top_service = service.MultiService()

# Holds the poem; reads the file only when twistd starts the service.
poetry_service = PoetryService(poetry_file)
poetry_service.setServiceParent(top_service)

# Around the text's factory, the guard; when twistd stops, CutOnStop resets
# the connections still open, after the TCPServer below has stopped listening.
factory = ServerGuard(PoetryFactory(poetry_service), timeout)
CutOnStop(factory).setServiceParent(top_service)

# Opens the listening socket, with our factory behind it, when started.
# Calling reactor.listenTCP here would listen before twistd is ready.
tcp_service = internet.TCPServer(port, factory, interface=iface, backlog=backlog)
tcp_service.setServiceParent(top_service)

# twistd looks for exactly this name in a tac file.
application = service.Application("fastpoetry")

# Starting the application now starts everything above.
top_service.setServiceParent(application)
