"""Get Poetry Now! client, Twisted version 6.0, transformation optional (Part 13, exercise 2).

Client 6 with the transformation server moved from the first address to an
option, --xform-server [host:]port. Every address on the command line is
now a poetry server. Without the option, the poems are not transformed: no
TransformProxy is made and try_to_cummingsify is never added to the
Deferreds' chains, which then go straight from the download to printing.

Run from the repository root, each server in its own terminal:

    python twisted-server-1/transformedpoetry.py --port 10001
    python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt
    python twisted-server-1/fastpoetry.py --port 10003 poetry/science.txt
    python solutions/part-13/get-poetry-optional-xform.py --xform-server 10001 10002 10003

and you should see the two poems in lower case, as with client 6. Leave the
option out:

    python solutions/part-13/get-poetry-optional-xform.py 10002 10003

and the poems print as the servers sent them, with no attempt to reach a
transformation server (nothing needs to listen on 10001). Write each
address, the option's included, as port, host:port or [IPv6 host]:port (the
host defaults to 127.0.0.1). With the option and the transformation server
down, each poem prints as it came, after a line "Cummingsify failed!" on
stderr. A poem that does not arrive whole gets one line on stderr, "The
poem download failed. <server>: <what happened>", and the other poems still
print.

--timeout is how many seconds the client waits for a byte from a server
(poetry or transformation) before it gives up on it; --max-poem-size is the
largest poem it accepts. The exit status is 0 when every poem arrived, 1
otherwise.
"""

import argparse
import errno
import sys

from twisted.internet import defer, error
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.protocols import policies
from twisted.protocols.basic import NetstringReceiver
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
        "addresses",
        metavar="[host:]port",
        nargs="*",
        type=parse_address,
        help="the poetry servers to download from",
    )
    parser.add_argument(
        "--xform-server",
        metavar="[host:]port",
        type=parse_address,
        help="the transformation server (default: none; the poems are printed"
        " as they came)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DownloadGuard.timeout,
        help="seconds without a byte from a server (poetry or transformation)"
        " before giving up on it; connecting is also bounded by Twisted's 30 s"
        " connect time-out (default: %(default)g)",
    )
    parser.add_argument(
        "--max-poem-size",
        type=int,
        default=DownloadGuard.max_size,
        help="the largest poem accepted, in bytes (default: %(default)s)",
    )
    args = parser.parse_args()
    if not args.addresses:
        parser.print_help(sys.stderr)
        parser.exit(2)
    # "not x > 0" rather than "x <= 0": nan compares false either way.
    if not args.timeout > 0:
        parser.error(f"--timeout must be more than 0, not {args.timeout:g}")
    if args.max_poem_size < 1:
        parser.error(f"--max-poem-size must be at least 1, not {args.max_poem_size}")
    return args


# Normally we would import these classes from another module.


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
    cannot be downloaded whole.
    """
    d = defer.Deferred()
    from twisted.internet import reactor

    factory = PoetryClientFactory(d)
    # Not factory as in the text: the guard fails a silent or oversized download.
    reactor.connectTCP(host, port, DownloadGuard(factory))
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
        self.deferred = defer.Deferred()

    def handlePoem(self, poem):
        # None once fired (say, by a server that answered twice).
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.callback(poem)

    def clientConnectionLost(self, _, reason):
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(reason)

    clientConnectionFailed = clientConnectionLost


class TransformProxy:
    """Stands in for a transformation server; xform() hides the TCP details."""

    def __init__(self, host, port):
        self.host = host
        self.port = port

    def xform(self, xform_name, poem):
        factory = TransformClientFactory(xform_name, poem)
        from twisted.internet import reactor

        # Not factory as in the text: the guard fails a silent or oversized download.
        reactor.connectTCP(self.host, self.port, DownloadGuard(factory))
        return factory.deferred


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


def poetry_main():
    args = parse_args()
    addresses = args.addresses

    DownloadGuard.timeout = args.timeout
    DownloadGuard.max_size = args.max_poem_size

    # No transformation server, no proxy: the poems go straight to printing.
    proxy = TransformProxy(*args.xform_server) if args.xform_server else None

    from twisted.internet import reactor

    results = []

    def try_to_cummingsify(poem):
        d = proxy.xform("cummingsify", poem)

        def fail(err):
            print("Cummingsify failed!", file=sys.stderr)
            return poem

        return d.addErrback(fail)

    def got_poem(poem):
        # The poem is bytes until here, where it becomes text to print.
        print(poem.decode("utf-8", errors="replace"))

    def poem_failed(err):
        print("The poem download failed.", err.getErrorMessage(), file=sys.stderr)
        # Passed on, so that poem_done counts it as a failure.
        return err

    def poem_done(result):
        results.append(result)
        # Not running any more if Ctrl-C is already stopping it.
        if len(results) == len(addresses) and reactor.running:
            reactor.stop()

    for address in addresses:
        host, port = address
        d = get_poetry(host, port)
        if proxy is not None:
            d.addCallback(try_to_cummingsify)
        d.addCallbacks(got_poem, poem_failed)
        d.addBoth(poem_done)

    reactor.run()

    # A Failure among the results is a poem that did not arrive; fewer
    # results than poems means Ctrl-C stopped the reactor first.
    failed = [result for result in results if isinstance(result, Failure)]
    sys.exit(1 if failed or len(results) < len(addresses) else 0)


if __name__ == "__main__":
    poetry_main()
