"""Twisted Fast Poetry Server, version 3.0 (Part 16).

The fast poetry server as a twistd plugin: the same protocol, factory and
service as the tac file (twisted-server-3/fastpoetry.py), but the poem, port
and interface come from the twistd command line instead of being written
into a configuration file.

twistd finds this file because it sits in a twisted/plugins directory on the
Python path. The editable install puts the repository root on the path, so
no PYTHONPATH is needed. The directory is deliberately not a package (no
__init__.py in twisted/ or twisted/plugins/). On its first scan twistd writes
twisted/plugins/dropin.cache next to this file; it is only a cache, and
deleting it is always safe.

Run from the repository root (with .venv/bin first on your PATH):

    twistd --help                      # lists "fastpoetry  A fast poetry service."
    twistd fastpoetry --help           # the plugin's own options
    twistd --nodaemon fastpoetry --port 10000 --poem poetry/ecstasy.txt

or as a daemon, logging to twistd.log, stopped through its pid file:

    twistd fastpoetry --port 10000 --poem poetry/ecstasy.txt
    kill `cat twistd.pid`

twistd's own options (--nodaemon, --pidfile, --logfile, --uid, --gid, ...)
go before the plugin name; the plugin's options go after it.
"""

# Nothing here may import twisted.internet.reactor: twistd imports plugins
# while scanning for them, before it installs the reactor chosen with -r.
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
from twisted.plugin import IPlugin
from twisted.protocols import policies
from twisted.python import context, log, reflect, usage
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


class Options(usage.Options):
    optParameters = [
        ["port", "p", 10000, "The port number to listen on."],
        ["poem", None, None, "The file containing the poem."],
        ["iface", None, "localhost", "The interface to listen on."],
        # Twisted's default listen backlog of 50 overflows when a few hundred
        # clients connect at once, and the kernel then makes them retry later.
        ["backlog", None, 1024, "How many connections may wait to be accepted."],
        [
            "timeout",
            None,
            60.0,
            "Seconds from the server's last write to a connection (or from"
            " accepting it) until the connection is reset: a client has that"
            " long to take the poem; 0: never.",
        ],
    ]

    def postOptions(self):
        """Check the options now, so that a mistake is one line, not a traceback."""
        self["port"] = self._number("port", int)
        if not 0 <= self["port"] <= 65535:
            raise usage.UsageError(
                f"--port must be between 0 and 65535, not {self['port']}"
            )
        self["backlog"] = self._number("backlog", int)
        if self["backlog"] < 1:
            raise usage.UsageError(
                f"--backlog must be at least 1, not {self['backlog']}"
            )
        self["timeout"] = self._number("timeout", float)
        # "not x >= 0" rather than "x < 0": nan compares false either way.
        if not self["timeout"] >= 0:
            raise usage.UsageError(
                f"--timeout must not be negative, not {self['timeout']:g}"
            )
        if self["poem"] is None:
            raise usage.UsageError("--poem is required: the file containing the poem")
        # The poem, the port and the log file are tried now rather than by
        # twistd later: by then it may have gone into the background, and the
        # reason would be a traceback, or cut short, or only in the log file.
        problem = check_settings(self["poem"], self["port"], self["iface"])
        problem = problem or self._checkLogFile()
        if problem is not None:
            sys.exit(f"{self._runner()} fastpoetry: {problem}")

    def _runner(self):
        # The command it runs under: twist's options have no --logfile.
        if self.parent is None or "logfile" in self.parent:
            return "twistd"
        return "twist"

    def _checkLogFile(self):
        """What keeps twistd from writing its log file, if anything."""
        twistd = self.parent
        if twistd is None or "logfile" not in twistd:
            return None  # not twistd (twist, or a test): nothing to check
        logfile = twistd["logfile"]
        if logfile is None and not twistd.get("nodaemon"):
            logfile = "twistd.log"
        if logfile in (None, "-"):
            return None
        folder = os.path.dirname(os.path.abspath(logfile))
        if not os.path.isdir(folder):
            return f"cannot write the log file {logfile}: no folder {folder}"
        try:
            # Opened as twistd will open it: a permission check alone would
            # pass for root, or on a file system that takes no new files.
            with open(logfile, "a"):
                pass
        except OSError as e:
            return f"cannot write the log file {logfile}: {e.strerror}"
        return None

    def _number(self, name, kind):
        try:
            return kind(self[name])
        except ValueError:
            raise usage.UsageError(
                f"--{name} must be a number, not {self[name]!r}"
            ) from None


@implementer(service.IServiceMaker, IPlugin)
class PoetryServiceMaker:
    tapname = "fastpoetry"
    description = "A fast poetry service."
    options = Options

    def makeService(self, options):
        top_service = service.MultiService()

        poetry_service = PoetryService(options["poem"])
        poetry_service.setServiceParent(top_service)

        # Around the text's factory, the guard; when twistd stops, CutOnStop
        # resets the connections still open, after the TCPServer below has
        # stopped listening.
        factory = ServerGuard(PoetryFactory(poetry_service), options["timeout"])
        CutOnStop(factory).setServiceParent(top_service)

        tcp_service = internet.TCPServer(
            int(options["port"]),
            factory,
            interface=options["iface"],
            backlog=options["backlog"],
        )
        tcp_service.setServiceParent(top_service)

        return top_service


# twistd finds the plugin through this instance: any name would do, what
# matters is that it provides IPlugin and IServiceMaker.
service_maker = PoetryServiceMaker()
