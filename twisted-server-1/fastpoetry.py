"""Twisted Fast Poetry Server, version 1.0 (Part 11).

Serves one poem as fast as the network allows: every client that connects
gets the whole poem at once, and then the server closes the connection.

Run from the repository root:

    python twisted-server-1/fastpoetry.py --port 10002 poetry/fascination.txt

and, in another terminal, fetch the poem with a poetry client:

    python twisted-client-4/get-poetry.py 10002

The server first prints the address it is really listening on, e.g.

    Serving poetry/fascination.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10002).

Leave out --port (or give --port 0) and the system picks a free port.
"""

import argparse
import sys

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Protocol, ServerFactory


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
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    return args


class PoetryProtocol(Protocol):
    def connectionMade(self):
        # write() only queues the bytes; loseConnection() closes the
        # connection once everything queued has been sent.
        self.transport.write(self.factory.poem)
        self.transport.loseConnection()


class PoetryFactory(ServerFactory):
    protocol = PoetryProtocol

    def __init__(self, poem):
        self.poem = poem


def main():
    args = parse_args()

    # The server only relays the poem, so it reads (and sends) raw bytes.
    try:
        with open(args.poetry_file, "rb") as poetry_file:
            poem = poetry_file.read()
    except OSError as e:
        sys.exit(f"fastpoetry.py: cannot read {args.poetry_file}: {e.strerror}")

    factory = PoetryFactory(poem)

    from twisted.internet import reactor

    try:
        port = reactor.listenTCP(
            args.port, factory, backlog=args.backlog, interface=args.iface
        )
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        sys.exit(f"fastpoetry.py: cannot listen on {args.iface}:{args.port}: {reason}")

    print(f"Serving {args.poetry_file} on {port.getHost()}.")

    reactor.run()


if __name__ == "__main__":
    main()
