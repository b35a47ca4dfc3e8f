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

The address is port, host:port or [IPv6 host]:port (the host defaults to
127.0.0.1). You should see the poem's first line at once, then one more
line every second, round and round, until you press Ctrl-C; the ticker then
stops cleanly, with exit status 0. Options:

    --delay SECONDS       seconds between two lines (default: 1; 0 is allowed)
    --lines N             stop after N lines, e.g. --lines 3 --delay 0 prints
                          the first three lines at once and exits
    --timeout SECONDS     give up on a server that sends nothing for this
                          long (default: 60), as client 7 does
    --max-poem-size BYTES the largest poem accepted (default: 64 MiB)

The download is client 7's: a poem that does not arrive whole (no server, a
silent one, a connection reset half-way, a poem too large) prints nothing
but one line on stderr, "The poem ticker stopped: <server>: <what
happened>", and the exit status is 1.
"""

import argparse
import errno
import sys

from twisted.internet import defer, error, task
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.protocols import policies
from twisted.python.failure import Failure


def parse_address(text):
    """Turn "[host:]port" (an IPv6 host in brackets) into (host, port)."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
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
    parser.add_argument(
        "--timeout",
        type=float,
        default=DownloadGuard.timeout,
        help="seconds without a byte from the server before giving up on it;"
        " connecting is also bounded by Twisted's 30 s connect time-out"
        " (default: %(default)g)",
    )
    parser.add_argument(
        "--max-poem-size",
        type=int,
        default=DownloadGuard.max_size,
        help="the largest poem accepted, in bytes (default: %(default)s)",
    )
    args = parser.parse_args()
    # "not x >= 0" rather than "x < 0" (and so on): nan compares false either way.
    if not args.delay >= 0:
        parser.error(f"--delay must not be negative, not {args.delay}")
    if args.lines is not None and args.lines < 1:
        parser.error(f"--lines must be at least 1, not {args.lines}")
    if not args.timeout > 0:
        parser.error(f"--timeout must be more than 0, not {args.timeout:g}")
    if args.max_poem_size < 1:
        parser.error(f"--max-poem-size must be at least 1, not {args.max_poem_size}")
    return args


# Client 7's download code, copied: its protocol and factory here, its
# guard further down, and get_poetry with a canceller added. Normally we
# would import these classes from another module.


class PoetryProtocol(Protocol):
    def connectionMade(self):
        # A bytearray grows in place; adding to bytes would copy the whole
        # poem for every piece, which takes quadratic time on a large poem.
        self.poem = bytearray()

    def dataReceived(self, data):
        self.poem += data

    def connectionLost(self, reason):
        # Only a clean close after some bytes ends a poem; a reset or an
        # empty reply reaches the factory's clientConnectionLost instead.
        if self.poem and reason.check(error.ConnectionDone):
            self.poemReceived(bytes(self.poem))

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

    # Added to the text's class: a poem cut short fails, rather than never firing.
    clientConnectionLost = clientConnectionFailed


def get_poetry(host, port):
    """Fetch the poem served at host:port.

    Returns a Deferred that fires with the poem (bytes), or fails if the poem
    cannot be downloaded whole. Cancelling it closes the connection.
    """
    from twisted.internet import reactor

    def cancel(d):
        # Once this returns, d fails with CancelledError; the factory must not
        # fire it a second time when the connection closes.
        factory.deferred = None
        connector.disconnect()

    d = defer.Deferred(cancel)
    factory = PoetryClientFactory(d)
    connector = reactor.connectTCP(host, port, DownloadGuard(factory))
    return d


# Around the lesson: a wrapper for the factory of each download, built on
# Twisted's protocols.policies, so that the classes above stay the text's.


class DownloadFailed(Exception):
    """A download that did not bring a whole poem; the message says where and why."""


class GuardedDownload(policies.TimeoutProtocol):
    """One download: counts its bytes, and any byte resets the time-out."""

    def dataReceived(self, data):
        self.factory.received += len(data)
        if self.factory.received > self.factory.max_size:
            self.giveUp(f"Poem larger than {self.factory.max_size} bytes.")
        else:
            super().dataReceived(data)

    def timeoutFunc(self):
        self.giveUp(self.factory.timedOut())

    def giveUp(self, problem):
        self.factory.problem = problem
        self.transport.abortConnection()

    def logPrefix(self):
        return self.wrappedProtocol.logPrefix()


class DownloadGuard(policies.TimeoutFactory):
    """Wraps the factory of one download.

    Gives up on a server that sends nothing for `timeout` seconds, and on a
    poem of more than `max_size` bytes, by resetting the connection.
    Connecting is given up after `timeout` seconds too, or after Twisted's
    own connect time-out (30 s) if that comes first. Every failure reaches
    the wrapped factory as a DownloadFailed that names the server and says
    what happened.
    """

    protocol = GuardedDownload
    # Each default is written here once; poetry_main sets them from the
    # command line.
    timeout = 60.0
    max_size = 64 * 1024 * 1024
    # No "Starting factory" log lines for every download.
    noisy = False

    def __init__(self, factory):
        super().__init__(factory, self.timeout)
        # One download per factory: no "Starting factory" lines for each.
        factory.noisy = False
        self.received = 0
        self.problem = None

    def timedOut(self):
        return f"Timed out after {self.timeoutPeriod:g} s."

    def startedConnecting(self, connector):
        self.connector = connector
        dest = connector.getDestination()
        host = f"[{dest.host}]" if ":" in dest.host else dest.host
        self.server = f"{host}:{dest.port}"
        self.connecting = self.callLater(self.timeoutPeriod, self.connectTimedOut)
        super().startedConnecting(connector)

    def connectTimedOut(self):
        self.problem = self.timedOut()
        self.connector.stopConnecting()

    def buildProtocol(self, addr):
        self.connecting.cancel()
        return super().buildProtocol(addr)

    def clientConnectionFailed(self, connector, reason):
        if self.connecting.active():
            self.connecting.cancel()
        super().clientConnectionFailed(connector, self.explain(reason))

    def clientConnectionLost(self, connector, reason):
        super().clientConnectionLost(connector, self.explain(reason))

    def resetAtConnect(self, reason):
        # A reset can beat the end of connecting; Twisted then reports it as
        # a ConnectError, ECONNRESET.
        return getattr(reason.value, "osError", None) == errno.ECONNRESET

    def explain(self, reason):
        if self.problem is None and reason.check(error.ConnectionDone):
            if self.received:
                return reason  # a clean close after a poem: nothing went wrong
            what = "Connection closed before any poem arrived."
        elif self.problem is not None:
            what = self.problem
        elif reason.check(error.TimeoutError):
            # connectTCP's own time-out (30 s unless told otherwise) came first.
            seconds = getattr(self.connector, "timeout", 30)
            what = f"Timed out after {seconds:g} s while connecting."
        elif reason.check(error.ConnectionLost) or self.resetAtConnect(reason):
            from twisted.internet import reactor

            # When the reactor stops (Ctrl-C), it closes every connection.
            how = "Connection broke" if reactor.running else "Interrupted"
            when = f"after {self.received} bytes" if self.received else "at once"
            what = f"{how} {when}."
        else:
            what = reason.getErrorMessage()
        return Failure(DownloadFailed(f"{self.server}: {what}"))


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

    DownloadGuard.timeout = args.timeout
    DownloadGuard.max_size = args.max_poem_size

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
