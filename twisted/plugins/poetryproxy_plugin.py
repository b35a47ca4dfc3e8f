"""Part 16, exercise 4: a twistd plugin for the poetry proxy.

The caching poetry proxy of Part 14 (proxy 2.0) as a twistd plugin, built
the way twisted/plugins/fastpoetry_plugin.py is: a copy of
twisted-server-2/poetry-proxy.py (the stage) whose protocol, factories and
guards stay as they are, whose ProxyService becomes a Twisted Service (its
code unchanged), and whose command line (parse_args, main) gives way to
twistd options (Options) and a service maker (ProxyServiceMaker, tapname
"poetry-proxy"). So

    diff -u twisted-server-2/poetry-proxy.py twisted/plugins/poetryproxy_plugin.py

shows what a plugin needs in place of main(). It sits beside the fastpoetry
plugin, in the repository's twisted/plugins, so twistd finds it the same
way, with no PYTHONPATH (the editable install puts the repository root on
the path).

Run from the repository root (with .venv/bin first on your PATH), each
command in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10001 poetry/fascination.txt
    twistd --nodaemon poetry-proxy --port 10000 --server 10001
    python twisted-client-4/get-poetry.py 10000

`twistd --help` lists "poetry-proxy  A caching poetry proxy.", and
`twistd poetry-proxy --help` its options. twistd logs "PoetryProxyFactory
starting on 10000"; the client prints the poem, and the log shows
"Fetching poem from server." (the proxy's print goes to twistd's log). Run
the client again: the same poem, and "Using cached poem." Ctrl-C ends with
"Server Shut Down."; without --nodaemon the proxy runs as a daemon,
logging to twistd.log, stopped by `kill $(cat twistd.pid)`.

--server is the poetry server, as port, host:port or [IPv6 host]:port (the
host defaults to 127.0.0.1). --timeout, --upstream-timeout and
--max-poem-size are proxy 2.0's guards, with the same defaults.
"""

# Nothing here may import twisted.internet.reactor: twistd imports plugins
# while scanning for them, before it installs the reactor chosen with -r.
import argparse
import errno
import os
import resource
import socket
import sys

from twisted.application import internet, service
from twisted.internet import defer, error, task
from twisted.internet.abstract import isIPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.plugin import IPlugin
from twisted.protocols import policies
from twisted.python import context, log, reflect, usage
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


class Options(usage.Options):
    optParameters = [
        ["port", "p", 10000, "The port number to listen on."],
        [
            "server",
            None,
            None,
            "The poetry server to fetch the poem from: [host:]port.",
        ],
        ["iface", None, "localhost", "The interface to listen on."],
        # Twisted's default listen backlog of 50 overflows when a few hundred
        # clients connect at once, and the kernel then makes them retry later.
        ["backlog", None, 1024, "How many connections may wait to be accepted."],
        [
            "timeout",
            None,
            60.0,
            "Seconds from the proxy's last write to a client until the"
            " connection is reset: a client has that long to take the poem"
            " (one waiting for the fetch is not reset); 0: never.",
        ],
        [
            "upstream-timeout",
            None,
            DownloadGuard.timeout,
            "Seconds without a byte from the poetry server before a fetch is"
            " given up; connecting is also bounded by Twisted's 30 s connect"
            " time-out.",
        ],
        [
            "max-poem-size",
            None,
            DownloadGuard.max_size,
            "The largest poem fetched, in bytes.",
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
        self["upstream-timeout"] = self._number("upstream-timeout", float)
        if not self["upstream-timeout"] > 0:
            raise usage.UsageError(
                "--upstream-timeout must be more than 0,"
                f" not {self['upstream-timeout']:g}"
            )
        self["max-poem-size"] = self._number("max-poem-size", int)
        if self["max-poem-size"] < 1:
            raise usage.UsageError(
                f"--max-poem-size must be at least 1, not {self['max-poem-size']}"
            )
        if self["server"] is None:
            raise usage.UsageError(
                "--server is required: the poetry server, as [host:]port"
            )
        try:
            self["server"] = parse_address(self["server"])
        except argparse.ArgumentTypeError as e:
            raise usage.UsageError(f"--server: {e}") from None
        # The port and the log file are tried now rather than by twistd
        # later: by then it may have gone into the background, and the
        # reason would be a traceback, or only in the log file. The poetry
        # server is not: it is needed only when a client comes, and it may
        # start later.
        try:
            check_can_listen(self["port"], self["iface"])
        except ValueError as e:
            sys.exit(
                f"{self._runner()} poetry-proxy: cannot listen on"
                f" {self['iface']}:{self['port']}: {e} (choose another port)"
            )
        problem = self._checkLogFile()
        if problem is not None:
            sys.exit(f"{self._runner()} poetry-proxy: {problem}")

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
class ProxyServiceMaker:
    tapname = "poetry-proxy"
    description = "A caching poetry proxy."
    options = Options

    def makeService(self, options):
        # Every fetch from the poetry server is guarded with these settings.
        DownloadGuard.timeout = options["upstream-timeout"]
        DownloadGuard.max_size = options["max-poem-size"]

        top_service = service.MultiService()

        host, port = options["server"]
        proxy_service = ProxyService(host, port)
        proxy_service.setServiceParent(top_service)

        # Around the text's factory, the guard (each client may need a
        # second descriptor, for its fetch on a miss; a client waiting for
        # that fetch is not reset: the fetch's own guard bounds the wait);
        # when twistd stops, CutOnStop resets the clients still connected,
        # after the TCPServer below has stopped listening.
        factory = ServerGuard(
            PoetryProxyFactory(proxy_service),
            options["timeout"],
            descriptors_per_client=2,
            reset_unanswered=False,
        )
        CutOnStop(factory).setServiceParent(top_service)

        tcp_service = internet.TCPServer(
            options["port"],
            factory,
            interface=options["iface"],
            backlog=options["backlog"],
        )
        tcp_service.setServiceParent(top_service)

        return top_service


# twistd finds the plugin through this instance: any name would do, what
# matters is that it provides IPlugin and IServiceMaker.
service_maker = ProxyServiceMaker()
