"""Twisted Slow Poetry Server, version 1.0 (Part 11, exercise 3).

The fast poetry server made slow on purpose: instead of writing the whole
poem at once, each connection writes --num-bytes of it, waits --delay
seconds (a reactor.callLater), writes the next piece, and so on. While one
client waits, the reactor serves all the others. When a client hangs up
before the end, the pending callLater is cancelled, so nothing is left
behind for a poem nobody will read.

Run from the repository root:

    python twisted-server-1/slowpoetry.py --port 10001 poetry/ecstasy.txt

and, in another terminal, fetch the poem with a poetry client (or netcat):

    python twisted-client-4/get-poetry.py 10001

The server first prints the address it is really listening on, e.g.

    Serving poetry/ecstasy.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10001).

and then logs each connection and each piece it sends on stderr. The poem
arrives 10 bytes at a time, one piece every 0.7 seconds: about three
minutes for this poem. --num-bytes and --delay change that (try
--num-bytes 100 --delay 0.1). Stop the client half-way with Ctrl-C and the
server logs that the client went away and that it stopped sending. Leave
out --port (or give --port 0) and the system picks a free port.
"""

import argparse
import sys

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.python import log


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("poetry_file", metavar="poetry-file", help="the poem to serve")
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
    # The same two options, and defaults, as the blocking slow server.
    parser.add_argument(
        "--num-bytes",
        type=int,
        default=10,
        help="the number of bytes to send at a time (default: 10)",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.7,
        help="the number of seconds between sending bytes (default: 0.7)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    if args.num_bytes < 1:
        parser.error(f"--num-bytes must be at least 1, not {args.num_bytes}")
    if args.delay < 0:
        parser.error(f"--delay must not be negative, not {args.delay}")
    return args


class PoetryProtocol(Protocol):
    # How much of the poem this connection has sent so far.
    sent = 0
    # The pending reactor.callLater for the next piece, or None.
    delayedCall = None

    def callLater(self, delay, f, *args):
        # Looked up on the instance, so a test can put a task.Clock's
        # callLater here and run the whole poem without waiting.
        from twisted.internet import reactor

        return reactor.callLater(delay, f, *args)

    def connectionMade(self):
        peer = self.transport.getPeer()
        self.peer = f"{peer.host}:{peer.port}"
        log.msg(f"somebody at {self.peer} wants poetry")
        self.sendPoetry()

    def sendPoetry(self):
        self.delayedCall = None
        poem = self.factory.poem
        if self.sent >= len(poem):
            # Like the blocking server, hang up one delay after the last piece.
            log.msg(f"done sending {self.sent} bytes to {self.peer}")
            self.transport.loseConnection()
            return

        piece = poem[self.sent : self.sent + self.factory.num_bytes]
        self.sent += len(piece)
        log.msg(f"sending {len(piece)} bytes to {self.peer}")
        self.transport.write(piece)

        # Come back later for the next piece; the reactor serves the other
        # clients meanwhile.
        self.delayedCall = self.callLater(self.factory.delay, self.sendPoetry)

    def connectionLost(self, reason):
        # The client went away before the end: cancel the next piece, so no
        # delayed call (and no reference to this protocol) outlives it.
        if self.delayedCall is not None:
            self.delayedCall.cancel()
            self.delayedCall = None
            log.msg(
                f"{self.peer} went away after {self.sent} of"
                f" {len(self.factory.poem)} bytes; stopped sending"
            )


class PoetryFactory(ServerFactory):
    protocol = PoetryProtocol

    def __init__(self, poem, num_bytes=10, delay=0.7):
        self.poem = poem
        self.num_bytes = num_bytes
        self.delay = delay


def main():
    args = parse_args()

    # The server only relays the poem, so it reads (and sends) raw bytes.
    try:
        with open(args.poetry_file, "rb") as poetry_file:
            poem = poetry_file.read()
    except OSError as e:
        sys.exit(f"slowpoetry.py: cannot read {args.poetry_file}: {e.strerror}")

    factory = PoetryFactory(poem, args.num_bytes, args.delay)

    from twisted.internet import reactor

    try:
        port = reactor.listenTCP(
            args.port, factory, backlog=args.backlog, interface=args.iface
        )
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        sys.exit(f"slowpoetry.py: cannot listen on {args.iface}:{args.port}: {reason}")

    # The log (one line per connection and per piece) goes to stderr, so
    # stdout holds only the line below.
    log.startLogging(sys.stderr, setStdout=False)

    print(f"Serving {args.poetry_file} on {port.getHost()}.")

    reactor.run()


if __name__ == "__main__":
    main()
