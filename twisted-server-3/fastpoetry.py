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

    ... [PoetryFactory] sending 2765 bytes of poetry to IPv4Address(type='TCP', host='127.0.0.1', port=51234)

Ctrl-C (or `kill $(cat twistd.pid)` from another terminal) ends with
"Server Shut Down." and removes twistd.pid. Leave out --nodaemon and twistd
runs the server as a daemon, logging to twistd.log instead:

    twistd --python twisted-server-3/fastpoetry.py
    kill `cat twistd.pid`

To serve another poem or port, edit the configuration block near the end
(or use the fastpoetry plugin, which takes them as options).
"""

from twisted.application import internet, service
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.python import log

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


# The deployment: which poem, on which port and interface. twistd itself
# never reads these names; they only keep the settings together.
port = 10000
iface = "localhost"
poetry_file = "poetry/ecstasy.txt"
# Twisted's default listen backlog of 50 overflows when a few hundred clients
# connect at once, and the kernel then makes them retry a second later.
backlog = 1024

# One parent for the two services below, so they start and stop together.
top_service = service.MultiService()

# Holds the poem; reads the file only when twistd starts the service.
poetry_service = PoetryService(poetry_file)
poetry_service.setServiceParent(top_service)

# Opens the listening socket, with our factory behind it, when started.
# Calling reactor.listenTCP here would listen before twistd is ready.
factory = PoetryFactory(poetry_service)
tcp_service = internet.TCPServer(port, factory, interface=iface, backlog=backlog)
tcp_service.setServiceParent(top_service)

# twistd looks for exactly this name in a tac file.
application = service.Application("fastpoetry")

# Starting the application now starts everything above.
top_service.setServiceParent(application)
