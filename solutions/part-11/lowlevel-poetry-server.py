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

and then logs on stderr what Twisted tells it. Leave out --port (or give
--port 0) and the system picks a free port. Stop the server with Ctrl-C.

Two kinds of descriptor: PoetryListener, the listening socket, is a reader
("readable" means clients are waiting to be accepted); each PoetrySocket is
a writer until its client has the whole poem, and a reader until the
client closes its side (what it sends is thrown away). doRead and doWrite
return None to carry on, or an exception such as ConnectionDone to have the
reactor remove the descriptor and call its connectionLost.

The command line is fastpoetry.py's, --timeout included: every quarter of
that time a LoopingCall looks through the reactor's writers and resets a
client that has taken nothing for that long (one log line names it). A
connection closed before the whole poem is sent (a stuck client, the
server stopping) is closed with a reset, so its client cannot take a cut
poem for a whole one. Out of file descriptors, the listener cannot accept
the clients waiting, and stays readable: it removes itself as a reader (one
log line) until a client leaves, and the clients wait in the queue
meanwhile. The poem file must be a regular, non-empty file of at most
64 MiB.
"""

import argparse
import errno
import os
import socket
import stat
import struct
import sys

from twisted.internet import error, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IReadDescriptor, IWriteDescriptor
from twisted.python import log
from twisted.python.failure import Failure
from zope.interface import implementer

PROGRAM = "lowlevel-poetry-server.py"

# The largest poem a server will load.
MAX_POEM_SIZE = 64 * 1024 * 1024

# Seconds a client may take nothing before it is reset (--timeout).
TIMEOUT = 60.0


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
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help="seconds a connection may go without the server sending anything"
        f" new before it is reset; 0: never (default: {TIMEOUT:g})",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    # "not x >= 0" rather than "x < 0": nan compares false either way.
    if not args.timeout >= 0:
        parser.error(f"--timeout must not be negative, not {args.timeout:g}")
    return args


def read_poem(path):
    """The bytes of the poem file at `path`; ValueError says what is wrong with it."""
    try:
        # Look before opening: reading /dev/zero or a FIFO would never end.
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_POEM_SIZE:
            raise ValueError(f"larger than {MAX_POEM_SIZE} bytes")
        with open(path, "rb") as poetry_file:
            poem = poetry_file.read(MAX_POEM_SIZE + 1)
    except OSError as e:
        raise ValueError(e.strerror) from None
    if not poem:
        raise ValueError("the file is empty")
    if len(poem) > MAX_POEM_SIZE:
        raise ValueError(f"larger than {MAX_POEM_SIZE} bytes")
    return poem


@implementer(IReadDescriptor, IWriteDescriptor)
class PoetrySocket:
    """One client's socket, sending it the poem as fast as it will take it."""

    def __init__(self, reactor, sock, poem, peer=None, listener=None):
        self.reactor = reactor
        self.sock = sock
        self.peer = peer  # (host, port) of the client, for messages
        self.listener = listener  # told when this client leaves
        # A memoryview slices the poem without copying it for every send.
        self.poem = memoryview(poem)
        self.sent = 0
        self.last_progress = reactor.seconds()  # when the kernel last took some

    def fileno(self):
        return self.sock.fileno()

    def logPrefix(self):
        return "PoetrySocket"

    def doWrite(self):
        # send() takes what fits in the kernel's buffer and says how much
        # that was; the reactor calls doWrite again when there is room.
        try:
            sent = self.sock.send(self.poem[self.sent :])
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:  # reset or broken pipe: the client is gone
            return error.ConnectionLost(e.strerror)
        if sent:
            self.sent += sent
            self.last_progress = self.reactor.seconds()
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
        if self.sent < len(self.poem):
            # Cut short: a reset (SO_LINGER on, 0 seconds) rather than the
            # usual close, so the client cannot take what it got for the poem.
            self.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        self.sock.close()
        if self.listener is not None:
            self.listener.clientLeft()

    def reset(self):
        """Drop this client, whose poem is not all sent: connectionLost resets it."""
        self.reactor.removeReader(self)
        self.reactor.removeWriter(self)
        self.connectionLost(Failure(error.ConnectionLost("no progress")))


def sweep(reactor, timeout):
    """Reset every client that has taken nothing of its poem for `timeout` seconds.

    The clients still being sent their poem are the reactor's writers.
    """
    now = reactor.seconds()
    for descriptor in reactor.getWriters():
        if isinstance(descriptor, PoetrySocket):
            if now - descriptor.last_progress > timeout:
                host, port = descriptor.peer[:2]
                log.msg(
                    f"no progress with {host}:{port} in {timeout:g} s;"
                    " resetting the connection"
                )
                descriptor.reset()


@implementer(IReadDescriptor)
class PoetryListener:
    """The listening socket: each time it is readable, accept the waiting clients."""

    def __init__(self, reactor, sock, poem):
        self.reactor = reactor
        self.sock = sock
        self.poem = poem
        self.accepting = True  # False while out of file descriptors

    def fileno(self):
        return self.sock.fileno()

    def logPrefix(self):
        return "PoetryListener"

    def doRead(self):
        while True:
            try:
                client, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return None  # the queue is empty
            except ConnectionAbortedError:
                continue  # it gave up before we got to it
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    # Out of file descriptors. The clients stay queued, so
                    # the socket stays readable and the reactor would call
                    # doRead at once, for ever: stop reading until a client
                    # leaves (clientLeft).
                    self.reactor.removeReader(self)
                    self.accepting = False
                    log.msg(
                        f"cannot accept a client: {e.strerror};"
                        " waiting for a client to leave"
                    )
                    return None
                # Some other trouble: retry next time.
                log.msg(f"cannot accept a client: {e.strerror}")
                return None
            client.setblocking(False)
            poetry_socket = PoetrySocket(self.reactor, client, self.poem, peer, self)
            self.reactor.addReader(poetry_socket)
            self.reactor.addWriter(poetry_socket)

    def clientLeft(self):
        """A client's socket is closed: if accepting had stopped, start again."""
        if not self.accepting:
            self.reactor.addReader(self)
            self.accepting = True
            log.msg("accepting clients again")

    def connectionLost(self, reason):
        # Called when the reactor shuts down with us still registered.
        self.sock.close()


def main():
    args = parse_args()

    # The server only relays the poem, so it reads (and sends) raw bytes.
    try:
        poem = read_poem(args.poetry_file)
    except ValueError as e:
        sys.exit(f"{PROGRAM}: cannot read {args.poetry_file}: {e}")

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
    print(
        f"Serving {args.poetry_file} on {address_type('TCP', host, port)}.", flush=True
    )

    # From here on, Twisted's messages go to stderr, so stdout holds only
    # the line above.
    log.startLogging(sys.stderr, setStdout=False)

    if args.timeout:
        sweeper = task.LoopingCall(sweep, reactor, args.timeout)
        sweeper.clock = reactor
        sweeper.start(args.timeout / 4, now=False)

    reactor.run()


if __name__ == "__main__":
    main()
