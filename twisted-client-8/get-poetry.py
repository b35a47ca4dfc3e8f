"""Get Poetry Now! client, Twisted version 8.0 (Part 18).

Client 7.0 with a DeferredList: instead of counting finished poems in a
results list, poetry_main puts the Deferred of every poem in one
DeferredList, which fires once they have all succeeded or failed, and its
callback stops the reactor. The classes and get_transformed_poem are client
7.0's, unchanged.

Run from the repository root, each server in its own terminal:

    python twisted-server-1/transformedpoetry.py --port 10001
    python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt
    python twisted-server-1/fastpoetry.py --port 10003 poetry/science.txt
    python twisted-client-8/get-poetry.py 10001 10002 10003

The first address is the transformation server, the others are poetry
servers; write each as port or host:port (the host defaults to 127.0.0.1).
You should see the two poems in lower case. Stop the transformation server
and run the client again: each poem now prints as it came, after a line
"Cummingsify failed!" on stderr. A poetry server that is down gets "The poem
download failed:" and the reason on stderr, and the other poems still print.

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

    @defer.inlineCallbacks
    def get_transformed_poem(host, port):
        try:
            poem = yield get_poetry(host, port)
        except defer.CancelledError:
            # The --timeout below cancelled this poem: inlineCallbacks raises
            # CancelledError at the yield the generator is waiting on.
            print(
                f"The poem download failed: Timed out after {args.timeout:g} s.",
                file=sys.stderr,
            )
            raise
        except Exception as e:
            print("The poem download failed:", e, file=sys.stderr)
            raise

        try:
            poem = yield proxy.xform("cummingsify", poem)
        except Exception:
            print("Cummingsify failed!", file=sys.stderr)

        # The text calls defer.returnValue(poem); since Twisted 24.7 a plain
        # return does it (returnValue is deprecated).
        return poem

    def got_poem(poem):
        # The poem is bytes until here, where it becomes text to print.
        print(poem.decode("utf-8", errors="replace"))

    ds = []

    for host, port in addresses:
        d = get_transformed_poem(host, port)
        # Cancel the poem if it takes longer than --timeout. Cancelling the
        # generator's Deferred cancels the one it is waiting on, and the
        # generator's try/except decides what happens next.
        d.addTimeout(args.timeout, reactor, timed_out)
        d.addCallbacks(got_poem)
        ds.append(d)

    # The DeferredList fires once every poem has arrived or failed, with one
    # (success, result) pair per poem; consumeErrors=True handles the failures
    # so none is reported as unhandled. Keep the pairs for the exit status.
    outcomes = []
    dlist = defer.DeferredList(ds, consumeErrors=True)
    dlist.addCallback(outcomes.extend)
    dlist.addCallback(lambda res: reactor.stop())

    reactor.run()

    # No outcomes at all means Ctrl-C stopped the reactor before the end.
    sys.exit(0 if outcomes and all(success for success, _ in outcomes) else 1)


if __name__ == "__main__":
    poetry_main()
