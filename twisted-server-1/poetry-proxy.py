"""Twisted Poetry Proxy, version 1.0 (Part 14).

A caching proxy in front of one poetry server. The first client makes the
proxy fetch the poem from that server; later clients get the copy it kept.
So ProxyService.get_poem returns a Deferred on a miss but the poem itself
on a hit, and the protocol wraps the call in maybeDeferred to get a Deferred
either way.

Run from the repository root, each command in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10001 poetry/fascination.txt
    python twisted-server-1/poetry-proxy.py --port 10000 10001
    python twisted-client-4/get-poetry.py 10000

The proxy first prints the server it stands in front of and the address it
is really listening on:

    Proxying 127.0.0.1:10001 on IPv4Address(type='TCP', host='127.0.0.1', port=10000).

The client prints the poem, and the proxy "Fetching poem from server.". Run
the client again: the same poem, and the proxy prints "Using cached poem."

The upstream server is given as port or host:port (the host defaults to
127.0.0.1). If it is down, or fails, or sends nothing for --upstream-timeout
seconds, the waiting client's connection is closed, one line on stderr says
why, nothing is cached, and the next client makes the proxy try again.
Leave out --port (or give --port 0) and the system picks a free port.
"""

import argparse
import sys

from twisted.internet import defer
from twisted.internet.defer import Deferred, maybeDeferred
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
        d = maybeDeferred(self.factory.service.get_poem)
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

    # Seconds to wait for the poetry server; main() sets it from
    # --upstream-timeout.
    timeout = 30.0

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def get_poem(self):
        if self.poem is not None:
            print("Using cached poem.")
            return self.poem

        print("Fetching poem from server.")
        factory = PoetryClientFactory()
        factory.deferred.addCallback(self.set_poem)
        from twisted.internet import reactor

        reactor.connectTCP(self.host, self.port, factory)
        # A poetry server that hangs must not hold the waiting client for ever.
        factory.deferred.addTimeout(self.timeout, reactor, timed_out)
        return factory.deferred

    def set_poem(self, poem):
        self.poem = poem
        return poem


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
            f"poetry-proxy.py: cannot listen on {args.iface}:{args.port}: {reason}"
        )

    # The log (one line per failed fetch or dropped client) goes to stderr,
    # so stdout holds only the proxy's own messages.
    log.startLogging(sys.stderr, setStdout=False)

    print(f"Proxying {host}:{port} on {listening.getHost()}.")

    reactor.run()


if __name__ == "__main__":
    main()
