"""Get Poetry Now! client, Twisted version 4.0 (Part 8, run again in Part 14).

Downloads a poem from each server given on the command line, all at once,
and prints the poems when every download has finished. get_poetry returns a
Deferred; poetry_main adds the callback that keeps the poem and the errback
that reports a failure. Part 14 uses this client to talk to the caching
poetry proxy.

Run from the repository root, each server in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10001 poetry/fascination.txt
    python twisted-server-1/poetry-proxy.py --port 10000 10001
    python twisted-client-4/get-poetry.py 10000

Write each address as port or host:port (the host defaults to 127.0.0.1);
give several to download several poems at once. You should see the poem.
A server that cannot be reached, or accepts the connection but sends nothing
for --timeout seconds, gets a line "Poem failed: <reason>" on stderr, and the
other poems still print. The exit status is 0 when every poem arrived,
1 otherwise.
"""

import argparse
import sys

from twisted.internet import defer
from twisted.internet.protocol import ClientFactory, Protocol
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
        help="the poetry servers to download from",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for each poem before giving up on it (default: 60)",
    )
    args = parser.parse_args()
    if not args.addresses:
        parser.print_help(sys.stderr)
        parser.exit(2)
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


def timed_out(result, timeout):
    """Report a time-out (addTimeout cancelled the Deferred) as a clear error."""
    if isinstance(result, Failure):
        result.trap(defer.CancelledError)
        raise defer.TimeoutError(f"Timed out after {timeout:g} s.")
    return result


def poetry_main():
    args = parse_args()
    addresses = args.addresses

    from twisted.internet import reactor

    poems = []
    errors = []

    def got_poem(poem):
        poems.append(poem)

    def poem_failed(err):
        print("Poem failed:", err.getErrorMessage(), file=sys.stderr)
        errors.append(err)

    def poem_done(_):
        # Not running any more if Ctrl-C is already stopping it.
        if len(poems) + len(errors) == len(addresses) and reactor.running:
            reactor.stop()

    for address in addresses:
        host, port = address
        d = get_poetry(host, port)
        # Cancel the download if the poem takes longer than --timeout.
        d.addTimeout(args.timeout, reactor, timed_out)
        d.addCallbacks(got_poem, poem_failed)
        d.addBoth(poem_done)

    reactor.run()

    # The poems are bytes until here, where they become text to print.
    for poem in poems:
        print(poem.decode("utf-8", errors="replace"))

    # 1 also when Ctrl-C stopped the reactor before every poem was in.
    sys.exit(0 if len(poems) == len(addresses) else 1)


if __name__ == "__main__":
    poetry_main()
