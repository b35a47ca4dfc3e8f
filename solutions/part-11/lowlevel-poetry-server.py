"""Low-level Twisted Poetry Server (Part 11, exercise 2).

New script: twisted-server-1/fastpoetry.py without listenTCP, protocols,
transports or factories. We make the sockets ourselves, as the Part 4
client did, and hand them to the reactor as file descriptors:
reactor.addReader / addWriter take any object with fileno(), doRead() or
doWrite(), connectionLost() and logPrefix() (IReadDescriptor and
IWriteDescriptor), and the reactor's select loop calls those methods when
the socket is ready. That is what listenTCP and Twisted's TCP transport do
for us, with much more care.

Run from the repository root:

    python solutions/part-11/lowlevel-poetry-server.py --port 10002 poetry/fascination.txt

and, in another terminal, fetch the poem with a poetry client:

    python twisted-client-4/get-poetry.py 10002

The server first prints the address it is really listening on, e.g.

    Serving poetry/fascination.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10002).

Leave out --port (or give --port 0) and the system picks a free port. Stop
the server with Ctrl-C.

Two kinds of descriptor: PoetryListener, the listening socket, is a reader
("readable" means clients are waiting to be accepted); each PoetrySocket is
a writer until its client has the whole poem, and a reader until the
client closes its side (what it sends is thrown away). doRead and doWrite
return None to carry on, or an exception such as ConnectionDone to have the
reactor remove the descriptor and call its connectionLost.
"""

import argparse
import socket
import sys

from twisted.internet import error
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from zope.interface import implementer

PROGRAM = "lowlevel-poetry-server.py"


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
    # As in fastpoetry.py: a short queue overflows when a few hundred clients
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


@implementer(IReadDescriptor, IWriteDescriptor)
class PoetrySocket:
    """One client's socket, sending it the poem as fast as it will take it."""

    def __init__(self, reactor, sock, poem):
        self.reactor = reactor
        self.sock = sock
        # A memoryview slices the poem without copying it for every send.
        self.poem = memoryview(poem)
        self.sent = 0

    def fileno(self):
        return self.sock.fileno()

    def logPrefix(self):
        return "PoetrySocket"

    def doWrite(self):
        # send() takes what fits in the kernel's buffer and says how much
        # that was; the reactor calls doWrite again when there is room.
        try:
            self.sent += self.sock.send(self.poem[self.sent :])
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:  # reset or broken pipe: the client is gone
            return error.ConnectionLost(e.strerror)
        if self.sent == len(self.poem):
            return error.ConnectionDone()  # the reactor removes us and closes
        return None

    def doRead(self):
        try:
            data = self.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            return error.ConnectionLost(e.strerror)
        if not data:
            # The client closed its side (netcat does at the end of its
            # input), but it is still reading: stop reading, go on writing.
            self.reactor.removeReader(self)
        return None

    def connectionLost(self, reason):
        # The reactor has already removed us as a reader and a writer.
        self.sock.close()


@implementer(IReadDescriptor)
class PoetryListener:
    """The listening socket: each time it is readable, accept the waiting clients."""

    def __init__(self, reactor, sock, poem):
        self.reactor = reactor
        self.sock = sock
        self.poem = poem

    def fileno(self):
        return self.sock.fileno()

    def logPrefix(self):
        return "PoetryListener"

    def doRead(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return None  # the queue is empty
            except ConnectionAbortedError:
                continue  # it gave up before we got to it
            except OSError as e:  # e.g. out of file descriptors: retry next time
                print(
                    f"{PROGRAM}: cannot accept a client: {e.strerror}", file=sys.stderr
                )
                return None
            client.setblocking(False)
            poetry_socket = PoetrySocket(self.reactor, client, self.poem)
            self.reactor.addReader(poetry_socket)
            self.reactor.addWriter(poetry_socket)

    def connectionLost(self, reason):
        # Called when the reactor shuts down with us still registered.
        self.sock.close()


def main():
    args = parse_args()

    # The server only relays the poem, so it reads (and sends) raw bytes.
    try:
        with open(args.poetry_file, "rb") as poetry_file:
            poem = poetry_file.read()
    except OSError as e:
        sys.exit(f"{PROGRAM}: cannot read {args.poetry_file}: {e.strerror}")

    # Like listenTCP: IPv6 only for an IPv6 address, and SO_REUSEADDR so a
    # restarted server need not wait for its old connections to time out.
    family = socket.AF_INET6 if ":" in args.iface else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.iface, args.port))
        sock.listen(args.backlog)
    except OSError as e:
        sys.exit(
            f"{PROGRAM}: cannot listen on {args.iface}:{args.port}: {e.strerror or e}"
        )
    sock.setblocking(False)

    from twisted.internet import reactor

    reactor.addReader(PoetryListener(reactor, sock, poem))

    host, port = sock.getsockname()[:2]
    address_type = IPv6Address if family == socket.AF_INET6 else IPv4Address
    # flush: stdout may be a pipe, and nothing else is printed.
    print(
        f"Serving {args.poetry_file} on {address_type('TCP', host, port)}.", flush=True
    )

    reactor.run()


if __name__ == "__main__":
    main()
