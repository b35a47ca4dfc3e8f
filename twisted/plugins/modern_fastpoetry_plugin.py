"""Twisted Fast Poetry Server, version 3.0 (Part 16), in today's idiom.

The fastpoetry plugin (twisted/plugins/fastpoetry_plugin.py) written the way
Twisted 26.10 writes one: the same options, the same protocol, factory and
poetry service, but the listening socket is a StreamServerEndpointService
around an endpoint string, and the log lines come from twisted.logger.

Today a plugin is also the way to run a service with `twist`, Twisted's
newer runner: twist runs plugins only (no tac files), stays in the
foreground, and logs to stdout. Both runners find this file the way they
find the classic one (see that file's docstring):

    twist --log-format text modern-fastpoetry --port 10000 --poem poetry/ecstasy.txt
    twistd --nodaemon modern-fastpoetry --port 10000 --poem poetry/ecstasy.txt

and `twist --help` / `twistd --help` list it as "modern-fastpoetry". Fetch the
poem from another terminal (`python modern/get-poetry.py 10001 10000`, or
netcat), and each connection logs

    ... [modern-fastpoetry#info] sending 2765 bytes of poetry to 127.0.0.1:51234

What changed from the classic plugin, and why (docs/modern.md#twist):

- StreamServerEndpointService(serverFromString(reactor, "tcp:..."), factory)
  instead of internet.TCPServer(port, factory, ...): the service listens on
  any endpoint, so the address could as well be a UNIX socket or TLS.
- A Logger with its own namespace instead of twisted.python.log.msg.
- The guard (idle time-out, half-close, connection limit, reset on stop) is
  the base class of modern/fastpoetry.py instead of a wrapping factory.
- Type hints; `make lint` runs mypy --strict on this file too.
"""

# Nothing here may import twisted.internet.reactor at import time: the
# runners import plugins while scanning for them, before installing the
# reactor chosen with --reactor.
from __future__ import annotations

import os
import resource
import socket
import stat
import sys

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.abstract import isIPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import quoteStringArgument, serverFromString
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IReactorTime,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.logger import Logger
from twisted.plugin import IPlugin
from twisted.python import usage
from twisted.python.failure import Failure
from zope.interface import implementer

# The largest poem a server will load.
MAX_POEM_SIZE = 64 * 1024 * 1024
# Seconds since the server last wrote to a connection before it is reset.
TIMEOUT = 60.0

# Our log lines say who wrote them: "[modern-fastpoetry#info] ...".
log = Logger(namespace="modern-fastpoetry")


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


# The lesson: the protocol, the factory and the service of Part 16.


class PoetryProtocol(GuardedProtocol):
    factory: PoetryFactory

    def connectionMade(self) -> None:
        super().connectionMade()
        poem = self.factory.service.poem
        # A log line, not a print: under a runner it goes to the log, which
        # is a file once twistd runs the server as a daemon.
        log.info(
            "sending {size} bytes of poetry to {peer}",
            size=len(poem),
            peer=host_port(self.transport.getPeer()),
        )
        self.transport.write(poem)
        self.wrote()
        self.transport.loseConnection()


class PoetryFactory(GuardedFactory):
    protocol = PoetryProtocol

    def __init__(
        self, reactor: IReactorTime, service: PoetryService, timeout: float
    ) -> None:
        super().__init__(reactor, timeout)
        self.service = service


class PoetryService(service.Service):
    poem = b""

    def __init__(self, poetry_file: str) -> None:
        self.poetry_file = poetry_file

    def startService(self) -> None:
        # twisted.application.service has no annotations yet, and mypy's
        # untyped_calls_exclude does not cover calls made through our own
        # subclasses: hence the four `type: ignore` comments in this file.
        super().startService()  # type: ignore[no-untyped-call]
        # The poem is only relayed, so it is read (and sent) as raw bytes.
        self.poem = read_poem(self.poetry_file)
        log.info("loaded a poem from: {path}", path=self.poetry_file)


def check_can_listen(port: int, iface: str) -> None:
    """Raise ValueError saying why, if `port` on `iface` cannot be listened on now."""
    family = socket.AF_INET6 if isIPv6Address(iface) else socket.AF_INET
    try:
        with socket.socket(family) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((iface, port))
    except OSError as e:
        raise ValueError(e.strerror or str(e)) from None


def check_settings(poetry_file: str, port: int, iface: str) -> str | None:
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
    """When the runner stops, resets the connections still open (see GuardedFactory)."""

    def __init__(self, factory: GuardedFactory) -> None:
        self.factory = factory

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        return self.factory.cut_connections()


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
            TIMEOUT,
            "Seconds since the server last wrote to a connection before that"
            " connection is reset; 0: never.",
        ],
    ]

    def postOptions(self) -> None:
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
        if not self["timeout"] >= 0:  # written so that nan is refused too
            raise usage.UsageError(
                f"--timeout must not be negative, not {self['timeout']:g}"
            )
        if self["poem"] is None:
            raise usage.UsageError("--poem is required: the file containing the poem")
        # The poem, the port and the log file are tried now rather than by
        # the runner later: by then twistd may have gone into the background,
        # and the reason would be a traceback, or only in the log file.
        problem = check_settings(self["poem"], self["port"], self["iface"])
        problem = problem or self._checkLogFile()
        if problem is not None:
            sys.exit(f"modern-fastpoetry: {problem}")

    def _checkLogFile(self) -> str | None:
        """What keeps twistd from writing its log file, if anything."""
        twistd = self.parent
        if twistd is None or "logfile" not in twistd:
            return None  # not twistd (twist, or a test): nothing to check
        logfile: str | None = twistd["logfile"]
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

    def _number(self, name: str, kind: type[int] | type[float]) -> int | float:
        try:
            return kind(self[name])
        except ValueError:
            raise usage.UsageError(
                f"--{name} must be a number, not {self[name]!r}"
            ) from None


@implementer(service.IServiceMaker, IPlugin)
class PoetryServiceMaker:
    tapname = "modern-fastpoetry"
    description = "A fast poetry service, in today's idiom."
    options = Options

    def makeService(self, options: Options) -> service.IService:
        # Only now, when the runner has installed its reactor.
        from twisted.internet import reactor

        top_service = service.MultiService()

        poetry_service = PoetryService(options["poem"])
        poetry_service.setServiceParent(top_service)  # type: ignore[no-untyped-call]

        factory = PoetryFactory(reactor, poetry_service, options["timeout"])
        # When the runner stops, CutOnStop resets the connections still open,
        # after the endpoint service below has stopped listening (services
        # stop in the reverse order of their start).
        CutOnStop(factory).setServiceParent(top_service)  # type: ignore[no-untyped-call]

        # An IPv6 interface has colons, which the endpoint syntax uses
        # between fields; quoteStringArgument escapes them.
        iface = quoteStringArgument(options["iface"])
        endpoint = serverFromString(
            reactor,
            f"tcp:{options['port']}:interface={iface}:backlog={options['backlog']}",
        )
        StreamServerEndpointService(endpoint, factory).setServiceParent(top_service)

        return top_service


# The runners find the plugin through this instance: any name would do, what
# matters is that it provides IPlugin and IServiceMaker.
service_maker = PoetryServiceMaker()
