"""Part 15, exercise 1: one of the example tests, broken on purpose.

A copy of tests/test_poetry.py (the stage) in which test_client expects the
poem as text (str) while get_poetry delivers what came off the wire: bytes.
Like the stage, it keeps its own copies of the server and client classes,
and nothing else differs, so

    diff -u tests/test_poetry.py solutions/part-15/test_poetry_broken.py

shows the one changed assertion. It lives outside the tests package, so
`make test` never collects it. Run it from the repository root, with
.venv/bin first on your PATH:

    trial solutions/part-15/test_poetry_broken.py

and trial reports test_client as [FAIL] and test_failure as [OK]. Below the
list comes the traceback: it passes through the assertEqual line in our
got_poem callback and ends with FailTest and the two unequal values, a
bytes repr b"..." against a str repr "...". Then the failed test's full
name, and the summary FAILED (failures=1, successes=1); the exit status
is 1.

Run it without -W error::DeprecationWarning: trial loads a file from outside
any package with importlib's load_module(), which Python 3.11 deprecates
(TestLoader.loadFile in twisted/trial/runner.py), and that warning, hidden
by default, would otherwise stop trial before it runs a test.
"""

import socket

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.trial.unittest import TestCase

# -- the server (Part 11's fast poetry server) -----------------------------


class PoetryServerProtocol(Protocol):
    def connectionMade(self):
        self.transport.write(self.factory.poem)
        self.transport.loseConnection()


class PoetryServerFactory(ServerFactory):
    protocol = PoetryServerProtocol

    def __init__(self, poem):
        self.poem = poem


# -- the client (the Deferred-based client of the earlier parts) ------------


class PoetryClientProtocol(Protocol):
    poem = b""

    def dataReceived(self, data):
        self.poem += data

    def connectionLost(self, reason):
        self.poemReceived(self.poem)

    def poemReceived(self, poem):
        self.factory.poem_finished(poem)


class PoetryClientFactory(ClientFactory):
    protocol = PoetryClientProtocol

    def __init__(self, deferred):
        self.deferred = deferred

    def poem_finished(self, poem):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionFailed(self, connector, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)


def get_poetry(host, port):
    """Fire the returned Deferred with the poem at host:port, or fail it."""
    d = defer.Deferred()
    from twisted.internet import reactor

    factory = PoetryClientFactory(d)
    reactor.connectTCP(host, port, factory)
    return d


# The poem is bytes on the wire; this one has a non-ASCII line to show that
# UTF-8 text arrives byte for byte.
TEST_POEM = """\
This is a test.
This is only a test.
Ceci n'est qu'un essai — déjà vu.""".encode()


def closed_port():
    """A port nothing listens on: bound a moment ago, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PoetryTestCase(TestCase):
    # Both tests finish in milliseconds; do not wait trial's 120 s to hear
    # about a hang.
    timeout = 10

    def setUp(self):
        factory = PoetryServerFactory(TEST_POEM)
        from twisted.internet import reactor

        # Port 0: the system picks a free port, so the test never collides
        # with a server already running on this machine.
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.portnum = self.port.getHost().port

    def tearDown(self):
        port, self.port = self.port, None
        return port.stopListening()

    def test_client(self):
        """The correct poem is returned by get_poetry."""
        d = get_poetry("127.0.0.1", self.portnum)

        def got_poem(poem):
            self.assertEqual(poem, TEST_POEM.decode("utf-8"))

        d.addCallback(got_poem)

        return d

    def test_failure(self):
        """get_poetry fails with ConnectionRefusedError when no server listens."""
        # The text connects to port 0, which some systems treat as a real
        # address; a port that was just closed is refused everywhere.
        d = get_poetry("127.0.0.1", closed_port())
        return self.assertFailure(d, ConnectionRefusedError)
