"""Part 17, exercise 7: a poem ticker, an inlineCallbacks loop that never ends (new script).

A generator with a yield inside a while loop is an endless sequence of
values. Decorated with inlineCallbacks it is an endless *process*: a task
that runs a step, waits (without blocking the reactor) for something to
happen, runs the next step, and so on for as long as the program lives, and
the Deferred it returns fires only if the loop ever ends. poem_ticker below
is one: it prints a poem one line at a time, one line every --delay seconds,
and starts again from the top when it reaches the end. The wait between two
lines is a Deferred from task.deferLater; cancelling the ticker's Deferred
cancels that wait (so nothing is left in the reactor) and raises
CancelledError at the yield, which ends the loop.

Run from the repository root, the server in its own terminal:

    python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt
    python solutions/part-17/poem-ticker.py 10002

The address is port or host:port (the host defaults to 127.0.0.1). You
should see the poem's first line at once, then one more line every second,
round and round, until you press Ctrl-C; the ticker then stops cleanly, with
exit status 0. Options:

    --delay SECONDS   seconds between two lines (default: 1; 0 is allowed)
    --lines N         stop after N lines, e.g. --lines 3 --delay 0 prints
                      the first three lines at once and exits

If the poem cannot be downloaded (no server, say), the reason goes to stderr
and the exit status is 1.
"""

import argparse
import sys

from twisted.internet import defer, task
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
        "address",
        metavar="[host:]port",
        type=parse_address,
        help="the poetry server to download the poem from",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=1.0,
        help="seconds between two lines (default: 1)",
    )
    parser.add_argument(
        "--lines",
        type=int,
        default=None,
        help="stop after this many lines (default: never)",
    )
    args = parser.parse_args()
    # "not x >= 0" rather than "x < 0": nan compares false either way.
    if not args.delay >= 0:
        parser.error(f"--delay must not be negative, not {args.delay}")
    if args.lines is not None and args.lines < 1:
        parser.error(f"--lines must be at least 1, not {args.lines}")
    return args


# Client 7's download code, copied. Normally we would import these classes
# from another module.


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


@defer.inlineCallbacks
def poem_ticker(lines, delay, limit=None, clock=None, show=print):
    """Show `lines` one at a time, every `delay` seconds, from the top again at the end.

    Runs until `limit` lines have been shown (then fires with that number),
    or for ever when `limit` is None; cancel the Deferred to stop it.
    """
    if clock is None:
        from twisted.internet import reactor as clock
    shown = 0
    while limit is None or shown < limit:
        if shown:
            # The loop's one yield: the rest of the program runs meanwhile.
            # Cancelling the ticker cancels this wait, and CancelledError
            # comes out of the yield and out of the loop.
            yield task.deferLater(clock, delay)
        show(lines[shown % len(lines)])
        shown += 1
    return shown


@defer.inlineCallbacks
def download_and_tick(host, port, delay, limit):
    """Download the poem, then run the ticker on its lines."""
    poem = yield get_poetry(host, port)
    lines = poem.decode("utf-8", errors="replace").splitlines()
    if not lines:
        raise ValueError(f"the poem at {host}:{port} is empty")
    shown = yield poem_ticker(lines, delay, limit)
    return shown


def poetry_main():
    args = parse_args()
    host, port = args.address

    from twisted.internet import reactor

    failed = []
    stopping = []

    ticker = download_and_tick(host, port, args.delay, args.lines)

    def stop_ticker():
        # Ctrl-C makes the reactor shut down; cancel the ticker first, so the
        # wait (or the download) in progress ends cleanly.
        stopping.append(True)
        ticker.cancel()

    def ticker_done(result):
        if isinstance(result, Failure):
            if not (stopping and result.check(defer.CancelledError)):
                failed.append(result)
                print(
                    "The poem ticker stopped:",
                    result.getErrorMessage(),
                    file=sys.stderr,
                )
        if not stopping:
            reactor.stop()

    reactor.addSystemEventTrigger("before", "shutdown", stop_ticker)
    ticker.addBoth(ticker_done)

    reactor.run()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    poetry_main()
