"""Asynchronous Poetry Server without Twisted (Part 11, exercise 1).

New script: twisted-server-1/fastpoetry.py done by hand, the way Part 2 did
the asynchronous client. One thread, non-blocking sockets, and one loop that
asks the operating system which sockets are ready (the `selectors` module
picks epoll, kqueue or select). Every client gets the whole poem as fast as
the network takes it, and then the server closes the connection.

Run from the repository root:

    python solutions/part-11/select-poetry-server.py --port 10002 poetry/fascination.txt

and, in another terminal, fetch the poem with a poetry client:

    python twisted-client-4/get-poetry.py 10002

The server first prints the address it is really listening on, written the
way fastpoetry.py prints it:

    Serving poetry/fascination.txt on IPv4Address(type='TCP', host='127.0.0.1', port=10002).

Leave out --port (or give --port 0) and the system picks a free port. Stop
the server with Ctrl-C.

The command line is fastpoetry.py's, --timeout included: a client that has
taken nothing for that many seconds is reset, with one line on stderr. A
connection closed before the whole poem is sent (a stuck client, the server
stopping) is closed with a reset, so its client cannot take a cut poem for
a whole one. The poem file must be a regular, non-empty file of at most
64 MiB.

What the loop watches, and why:

- the listening socket, for reading: "readable" there means clients are
  waiting to be accepted, not that there are bytes to read. Out of file
  descriptors, the server cannot accept them, and the socket stays
  readable: the loop stops watching it (one line on stderr) until a client
  leaves, and the clients wait in the queue meanwhile;
- each client socket, for writing, until the whole poem is sent: send()
  takes what fits in the kernel's buffer and says how much that was, so
  each client keeps its own offset into the poem and nothing ever blocks;
- each client socket, for reading, until the client closes its side: what
  it sends is thrown away, and its end of input does not stop the poem
  (netcat half-closes as soon as its input ends).
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import stat
import struct
import sys
import time

PROGRAM = "select-poetry-server.py"

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


class PoetryClient:
    """One connected client: its socket and how much of the poem it has had."""

    def __init__(self, sock, poem, peer=None, now=0.0):
        self.sock = sock
        self.peer = peer  # (host, port) of the client, for messages
        # A memoryview slices the poem without copying it for every send.
        self.poem = memoryview(poem)
        self.sent = 0
        self.reading = True  # until the client closes its side
        self.last_progress = now  # when the kernel last took some of the poem

    def events(self):
        """What the loop should wait for on this client's socket."""
        if self.reading:
            return selectors.EVENT_READ | selectors.EVENT_WRITE
        return selectors.EVENT_WRITE

    def send_some(self):
        """Send what the kernel takes now; True once the whole poem is sent."""
        self.sent += self.sock.send(self.poem[self.sent :])
        return self.sent == len(self.poem)

    def read_some(self):
        """Read and drop what the client sent; notice when it closes its side."""
        if not self.sock.recv(4096):
            self.reading = False


class PoetryServer:
    """The select loop: a listening socket and the clients it has accepted.

    With a `timeout` (seconds), a client that has taken nothing of the poem
    for that long is reset; `clock` tells the time (a test can pass its own).
    """

    def __init__(self, listener, poem, timeout=0, clock=time.monotonic):
        self.listener = listener
        self.poem = poem
        self.timeout = timeout
        self.clock = clock
        self.next_sweep = clock() + timeout / 4
        self.selector = selectors.DefaultSelector()
        # The listener is registered with no data; each client with itself.
        self.selector.register(listener, selectors.EVENT_READ)
        self.accepting = True  # False while out of file descriptors

    def serve_forever(self):
        while True:
            # Wait for sockets, but no longer than until the next sweep.
            if self.timeout:
                self.run_once(max(0.0, self.next_sweep - self.clock()))
                if self.clock() >= self.next_sweep:
                    self.sweep()
            else:
                self.run_once()

    def sweep(self):
        """Reset every client that has taken nothing for `timeout` seconds."""
        now = self.clock()
        self.next_sweep = now + self.timeout / 4
        for key in list(self.selector.get_map().values()):
            client = key.data
            if client is not None and now - client.last_progress > self.timeout:
                host, port = client.peer[:2]
                print(
                    f"{PROGRAM}: no progress with {host}:{port} in"
                    f" {self.timeout:g} s; resetting the connection",
                    file=sys.stderr,
                )
                self.drop(client)

    def cut_all(self):
        """Drop every client (with a reset, if its poem is not all sent)."""
        for key in list(self.selector.get_map().values()):
            if key.data is not None:
                self.drop(key.data)

    def run_once(self, timeout=None):
        """Wait up to `timeout` seconds (None: for ever), then serve what is ready."""
        for key, mask in self.selector.select(timeout):
            if key.data is None:
                self.accept_clients()
            else:
                self.serve_client(key.data, mask)

    def accept_clients(self):
        """Accept every client waiting in the listening socket's queue."""
        while True:
            try:
                sock, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return  # the queue is empty
            except ConnectionAbortedError:
                continue  # it gave up before we got to it
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    # Out of file descriptors. The clients stay queued, so
                    # the listener stays readable and select would return at
                    # once, for ever: stop watching it until a client leaves.
                    self.selector.unregister(self.listener)
                    self.accepting = False
                    print(
                        f"{PROGRAM}: cannot accept a client: {e.strerror};"
                        " waiting for a client to leave",
                        file=sys.stderr,
                    )
                    return
                print(  # some other trouble: retry next turn
                    f"{PROGRAM}: cannot accept a client: {e.strerror}", file=sys.stderr
                )
                return
            sock.setblocking(False)
            client = PoetryClient(sock, self.poem, peer, self.clock())
            self.selector.register(sock, client.events(), client)

    def serve_client(self, client, mask):
        try:
            if mask & selectors.EVENT_READ:
                client.read_some()
                if not client.reading:
                    self.selector.modify(client.sock, client.events(), client)
            if mask & selectors.EVENT_WRITE:
                sent_before = client.sent
                done = client.send_some()
                if client.sent > sent_before:
                    client.last_progress = self.clock()
                if done:
                    self.drop(client)
        except (BlockingIOError, InterruptedError):
            pass  # not ready after all; the loop will come back to it
        except OSError:
            # Reset or broken pipe: this client is gone, the others go on.
            self.drop(client)

    def drop(self, client):
        self.selector.unregister(client.sock)
        if client.sent < len(client.poem):
            # Cut short: a reset (SO_LINGER on, 0 seconds) rather than the
            # usual close, so the client cannot take what it got for the poem.
            client.sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        client.sock.close()
        if not self.accepting:
            # A file descriptor is free again: accept the clients waiting.
            self.selector.register(self.listener, selectors.EVENT_READ)
            self.accepting = True
            print(f"{PROGRAM}: accepting clients again", file=sys.stderr)


def describe(sock):
    """The socket's bound address, written as Twisted writes a port's getHost()."""
    host, port, *ipv6 = sock.getsockname()
    if sock.family == socket.AF_INET6:
        flow_info, scope_id = ipv6
        return (
            f"IPv6Address(type='TCP', host={host!r}, port={port},"
            f" flowInfo={flow_info}, scopeID={scope_id})"
        )
    return f"IPv4Address(type='TCP', host={host!r}, port={port})"


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
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((args.iface, args.port))
        listener.listen(args.backlog)
    except OSError as e:
        sys.exit(
            f"{PROGRAM}: cannot listen on {args.iface}:{args.port}: {e.strerror or e}"
        )
    listener.setblocking(False)

    # flush: there is no other output, and stdout may be a pipe.
    print(f"Serving {args.poetry_file} on {describe(listener)}.", flush=True)

    # kill (SIGTERM) stops the server the way Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = PoetryServer(listener, poem, args.timeout)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.cut_all()  # Ctrl-C is how this server is meant to stop


if __name__ == "__main__":
    main()
