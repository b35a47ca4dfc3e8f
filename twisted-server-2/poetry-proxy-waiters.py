"""Twisted Poetry Proxy, version 2.1: one fetch for everyone (Part 14, exercise 3).

Proxy 2.0 with a third state. Version 2.0 knows only "cached" and "not
cached", so clients that arrive together on a cold cache each make it fetch
the poem. Here the first of them starts the one fetch, and the others see
that a fetch is already on its way: each gets a new Deferred, kept in a list
of waiters. When the poem comes back, every waiter fires with it and the
poem is cached; when the fetch fails, every waiter's errback fires and the
proxy goes back to "not cached", so the next client tries again.

Run from the repository root, each command in its own terminal. A slow
server makes the waiting easy to see (this one sends the poem at once and
hangs up 5 seconds later):

    python twisted-server-1/slowpoetry.py --port 10001 --num-bytes 1000 --delay 5 poetry/fascination.txt
    python twisted-server-2/poetry-proxy-waiters.py --port 10000 10001
    python twisted-client-4/get-poetry.py 10000 10000 10000

The proxy first prints the server it stands in front of and the address it
is really listening on:

    Proxying 127.0.0.1:10001 on IPv4Address(type='TCP', host='127.0.0.1', port=10000).

The client asks for the poem three times at once, and the proxy prints
"Fetching poem from server." once and "Waiting for the poem already being
fetched." twice; the slow server logs a single connection, and after 5
seconds the client prints the poem three times. Run the client again: the
proxy prints "Using cached poem." for each.

The upstream server is given as port or host:port (the host defaults to
127.0.0.1). If it is down, or fails, or sends nothing for --upstream-timeout
seconds, the waiting client's connection is closed, one line on stderr says
why, nothing is cached, and the next client makes the proxy try again.
Leave out --port (or give --port 0) and the system picks a free port.
"""

import argparse
import sys

from twisted.internet import defer
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError, ConnectionDone
from twisted.internet.protocol import ClientFactory, Protocol, ServerFactory
from twisted.protocols.policies import TimeoutMixin
from twisted.python import log
from twisted.python.failure import Failure


def parse_address(text):
    """Turn "[host:]port" into (host, port)."""
    host, _, port = text.rpartition(":")
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
        help="seconds a client may stay connected before it is dropped (default: 60)",
    )
    parser.add_argument(
        "--upstream-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the poetry server's poem before giving up;"
        " keep it below --timeout (default: 30)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be more than 0, not {args.timeout}")
    if args.upstream_timeout <= 0:
        parser.error(
            f"--upstream-timeout must be more than 0, not {args.upstream_timeout}"
        )
    return args


class PoetryProxyProtocol(Protocol, TimeoutMixin):
    def connectionMade(self):
        # A client that will not take its poem would otherwise hold its
        # socket open for ever; the whole exchange must fit in the time-out.
        self.setTimeout(self.factory.timeout)
        d = self.factory.service.get_poem()
        d.addCallback(self.transport.write)
        d.addErrback(self.poemFailed)
        d.addBoth(lambda r: self.transport.loseConnection())

    def poemFailed(self, err):
        service = self.factory.service
        log.msg(f"No poem from {service.host}:{service.port}: {err.getErrorMessage()}")

    def timeoutConnection(self):
        log.msg(f"Client still connected after {self.factory.timeout:g} s; dropping")
        self.transport.abortConnection()

    def connectionLost(self, reason):
        self.setTimeout(None)


class PoetryProxyFactory(ServerFactory):
    protocol = PoetryProxyProtocol

    # Seconds a client connection may last; main() sets it from --timeout.
    timeout = 60.0

    def __init__(self, service):
        self.service = service


class PoetryClientProtocol(Protocol):
    poem = b""

    def dataReceived(self, data):
        self.poem += data

    def connectionLost(self, reason):
        # A poem is what came before a clean close. A connection that was cut
        # off, or that brought nothing, is a failure (the factory's
        # clientConnectionLost reports it), and the proxy must not cache it.
        if self.poem and reason.check(ConnectionDone):
            self.poemReceived(self.poem)

    def poemReceived(self, poem):
        self.factory.poem_finished(poem)


class PoetryClientFactory(ClientFactory):
    protocol = PoetryClientProtocol
    # No "Starting factory" / "Stopping factory" log lines for every fetch.
    noisy = False

    def __init__(self):
        # This factory makes the Deferred, so this factory fires it.
        self.deferred = Deferred(self.cancel)

    def startedConnecting(self, connector):
        self.connector = connector

    def poem_finished(self, poem):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionFailed(self, connector, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)

    clientConnectionLost = clientConnectionFailed

    def cancel(self, d):
        # Cancelled (by the time-out): d fails with CancelledError once this
        # returns, so forget it and close the connection.
        self.deferred = None
        self.connector.disconnect()


def timed_out(result, timeout):
    """Report a time-out (addTimeout cancelled the Deferred) as a clear error."""
    if isinstance(result, Failure):
        result.trap(defer.CancelledError)
        raise defer.TimeoutError(f"Timed out after {timeout:g} s.")
    return result


class ProxyService:
    poem = None  # the poem, once it has been fetched
    # While a fetch is on its way: the Deferreds of the clients waiting for
    # it. None when no fetch is in progress (the third state is "not None").
    waiters = None

    # Seconds to wait for the poetry server; main() sets it from
    # --upstream-timeout.
    timeout = 30.0

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def get_poem(self):
        if self.poem is not None:
            print("Using cached poem.")
            # A Deferred that has already fired with the cached poem.
            return succeed(self.poem)

        # Every client on a cold cache gets a Deferred of its own, fired by
        # set_poem or fetch_failed when the one fetch ends.
        d = Deferred()
        if self.waiters is not None:
            print("Waiting for the poem already being fetched.")
            self.waiters.append(d)
            return d

        print("Fetching poem from server.")
        self.waiters = [d]
        factory = PoetryClientFactory()
        from twisted.internet import reactor

        reactor.connectTCP(self.host, self.port, factory)
        # A poetry server that hangs must not hold the waiting clients for ever.
        factory.deferred.addTimeout(self.timeout, reactor, timed_out)
        factory.deferred.addCallbacks(self.set_poem, self.fetch_failed)
        return d

    def set_poem(self, poem):
        self.poem = poem
        # Forget the list before firing it, so the cache is in its new state
        # whatever the waiters' callbacks do.
        waiters, self.waiters = self.waiters, None
        for d in waiters:
            d.callback(poem)

    def fetch_failed(self, err):
        # Back to "not cached": the next client starts a new fetch.
        waiters, self.waiters = self.waiters, None
        for d in waiters:
            d.errback(err)


def main():
    args = parse_args()

    host, port = args.server
    service = ProxyService(host, port)
    service.timeout = args.upstream_timeout

    factory = PoetryProxyFactory(service)
    factory.timeout = args.timeout

    from twisted.internet import reactor

    try:
        listening = reactor.listenTCP(
            args.port, factory, backlog=args.backlog, interface=args.iface
        )
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        sys.exit(
            f"poetry-proxy-waiters.py: cannot listen on {args.iface}:{args.port}: {reason}"
        )

    # The log (one line per failed fetch or dropped client) goes to stderr,
    # so stdout holds only the proxy's own messages.
    log.startLogging(sys.stderr, setStdout=False)

    print(f"Proxying {host}:{port} on {listening.getHost()}.")

    reactor.run()


if __name__ == "__main__":
    main()
