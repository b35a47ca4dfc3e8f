"""Get Poetry Now! client, Twisted version 6.0 (Part 13).

Downloads poems and has each one cummingsified by the transformation server
of Part 12, over the network. Asking that server is asynchronous too, so the
callback try_to_cummingsify returns a Deferred of its own: the poem's outer
Deferred pauses its chain until that inner Deferred fires, then goes on to
print the result.

Run from the repository root, each server in its own terminal:

    python twisted-server-1/transformedpoetry.py --port 10001
    python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt
    python twisted-server-1/fastpoetry.py --port 10003 poetry/science.txt
    python twisted-client-6/get-poetry.py 10001 10002 10003

The first address is the transformation server, the others are poetry
servers; write each as port or host:port (the host defaults to 127.0.0.1).
You should see the two poems in lower case. Stop the transformation server
and run the client again: each poem now prints as it came, after a line
"Cummingsify failed!" on stderr. A poetry server that is down gets "The poem
download failed." and the reason on stderr, and the other poems still print.

A server that accepts the connection but never answers is given up on after
--timeout seconds. The exit status is 0 when every poem arrived, 1 otherwise.
"""

import argparse
import sys

from twisted.internet import defer
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.protocols.basic import NetstringReceiver
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
        "addresses",
        metavar="[host:]port",
        nargs="*",
        type=parse_address,
        help="the transformation server, then one or more poetry servers",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for each poem, transformation included,"
        " before giving up on it (default: 60)",
    )
    args = parser.parse_args()
    if not args.addresses:
        parser.print_help(sys.stderr)
        parser.exit(2)
    if len(args.addresses) < 2:
        parser.error("give the transformation server and at least one poetry server")
    if args.timeout <= 0:
        parser.error(f"--timeout must be more than 0, not {args.timeout}")
    return args


# Normally we would import these classes from another module.


class PoetryProtocol(Protocol):
    poem = b""

    def dataReceived(self, data):
        self.poem += data

    def connectionLost(self, reason):
        self.poemReceived(self.poem)

    def poemReceived(self, poem):
        self.factory.poem_finished(poem)


class PoetryClientFactory(ClientFactory):
    protocol = PoetryProtocol

    def __init__(self, deferred):
        self.deferred = deferred

    def poem_finished(self, poem):
        if self.deferred is not None:
            # Let go of the Deferred before firing it, so it fires only once.
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionFailed(self, connector, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)


def get_poetry(host, port):
    """Fetch the poem served at host:port.

    Returns a Deferred that fires with the poem (bytes), or fails if the poem
    cannot be downloaded. Cancelling it closes the connection.
    """
    from twisted.internet import reactor

    def cancel(d):
        # Once this returns, d fails with CancelledError; the factory must not
        # fire it a second time when the connection closes.
        factory.deferred = None
        connector.disconnect()

    d = defer.Deferred(cancel)
    factory = PoetryClientFactory(d)
    connector = reactor.connectTCP(host, port, factory)
    return d


class TransformClientProtocol(NetstringReceiver):
    def connectionMade(self):
        self.sendRequest(self.factory.xform_name, self.factory.poem)

    def sendRequest(self, xform_name, poem):
        # The transform name is text; the poem stays bytes.
        self.sendString(xform_name.encode() + b"." + poem)

    def stringReceived(self, s):
        self.transport.loseConnection()
        self.poemReceived(s)

    def poemReceived(self, poem):
        self.factory.handlePoem(poem)


class TransformClientFactory(ClientFactory):
    protocol = TransformClientProtocol

    def __init__(self, xform_name, poem):
        self.xform_name = xform_name
        self.poem = poem
        # This factory makes the Deferred, so this factory fires it.
        self.deferred = defer.Deferred(self.cancel)

    def startedConnecting(self, connector):
        self.connector = connector

    def handlePoem(self, poem):
        # None once fired or cancelled (say, a server that answers twice).
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionLost(self, _, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)

    clientConnectionFailed = clientConnectionLost

    def cancel(self, d):
        # Cancelled (by the client's time-out): d fails with CancelledError
        # once this returns, so forget it and close the connection.
        self.deferred = None
        self.connector.disconnect()


class TransformProxy:
    """Stands in for a transformation server; xform() hides the TCP details."""

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def xform(self, xform_name, poem):
        factory = TransformClientFactory(xform_name, poem)
        from twisted.internet import reactor

        reactor.connectTCP(self.host, self.port, factory)
        return factory.deferred


def timed_out(result, timeout):
    """Report a time-out (addTimeout cancelled the Deferred) as a clear error."""
    if isinstance(result, Failure):
        result.trap(defer.CancelledError)
        raise defer.TimeoutError(f"Timed out after {timeout:g} s.")
    return result


def poetry_main():
    args = parse_args()
    addresses = args.addresses

    xform_addr = addresses.pop(0)

    proxy = TransformProxy(*xform_addr)

    from twisted.internet import reactor

    results = []
    poems = []

    def try_to_cummingsify(poem):
        d = proxy.xform("cummingsify", poem)

        def fail(err):
            print("Cummingsify failed!", file=sys.stderr)
            return poem

        return d.addErrback(fail)

    def got_poem(poem):
        # The poem is bytes until here, where it becomes text to print.
        print(poem.decode("utf-8", errors="replace"))
        poems.append(poem)

    def poem_failed(err):
        print("The poem download failed.", err.getErrorMessage(), file=sys.stderr)

    def poem_done(_):
        results.append(_)
        # Not running any more if Ctrl-C is already stopping it.
        if len(results) == len(addresses) and reactor.running:
            reactor.stop()

    for address in addresses:
        host, port = address
        d = get_poetry(host, port)
        d.addCallback(try_to_cummingsify)
        # Cancel the poem if it takes longer than --timeout. While the chain
        # waits on the inner (transform) Deferred, cancelling the outer one
        # cancels the inner one, so that request is given up on too.
        d.addTimeout(args.timeout, reactor, timed_out)
        d.addCallbacks(got_poem, poem_failed)
        d.addBoth(poem_done)

    reactor.run()

    # 1 also when Ctrl-C stopped the reactor before every poem was in.
    sys.exit(0 if len(poems) == len(addresses) else 1)


if __name__ == "__main__":
    poetry_main()
