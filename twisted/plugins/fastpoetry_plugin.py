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
from twisted.application import internet, service
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.plugin import IPlugin
from twisted.python import log, usage
from zope.interface import implementer

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


class Options(usage.Options):
    optParameters = [
        ["port", "p", 10000, "The port number to listen on."],
        ["poem", None, None, "The file containing the poem."],
        ["iface", None, "localhost", "The interface to listen on."],
        # Twisted's default listen backlog of 50 overflows when a few hundred
        # clients connect at once, and the kernel then makes them retry later.
        ["backlog", None, 1024, "How many connections may wait to be accepted."],
    ]

    def postOptions(self):
        """Check the options now, so a mistake is one usage line, not a traceback."""
        self["port"] = self._number("port")
        if not 0 <= self["port"] <= 65535:
            raise usage.UsageError(
                f"--port must be between 0 and 65535, not {self['port']}"
            )
        self["backlog"] = self._number("backlog")
        if self["backlog"] < 1:
            raise usage.UsageError(
                f"--backlog must be at least 1, not {self['backlog']}"
            )
        poem = self["poem"]
        if poem is None:
            raise usage.UsageError("--poem is required: the file containing the poem")
        # Try the file here rather than wait for startService: by then twistd
        # has daemonized, and the reason would only show up in the log file.
        try:
            with open(poem, "rb"):
                pass
        except OSError as e:
            raise usage.UsageError(f"cannot read --poem {poem}: {e.strerror}") from None

    def _number(self, name):
        try:
            return int(self[name])
        except ValueError:
            raise usage.UsageError(
                f"--{name} must be a whole number, not {self[name]!r}"
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

        factory = PoetryFactory(poetry_service)
        tcp_service = internet.TCPServer(
            int(options["port"]),
            factory,
            interface=options["iface"],
            backlog=int(options["backlog"]),
        )
        tcp_service.setServiceParent(top_service)

        return top_service


# twistd finds the plugin through this instance: any name would do, what
# matters is that it provides IPlugin and IServiceMaker.
service_maker = PoetryServiceMaker()
