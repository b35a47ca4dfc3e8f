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

What the loop watches, and why:

- the listening socket, for reading: "readable" there means clients are
  waiting to be accepted, not that there are bytes to read;
- each client socket, for writing, until the whole poem is sent: send()
  takes what fits in the kernel's buffer and says how much that was, so
  each client keeps its own offset into the poem and nothing ever blocks;
- each client socket, for reading, until the client closes its side: what
  it sends is thrown away, and its end of input does not stop the poem
  (netcat half-closes as soon as its input ends).
"""

import argparse
import selectors
import socket
import sys

PROGRAM = "select-poetry-server.py"


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


class PoetryClient:
    """One connected client: its socket and how much of the poem it has had."""

    def __init__(self, sock, poem):
        self.sock = sock
        # A memoryview slices the poem without copying it for every send.
        self.poem = memoryview(poem)
        self.sent = 0
        self.reading = True  # until the client closes its side

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
    """The select loop: a listening socket and the clients it has accepted."""

    def __init__(self, listener, poem):
        self.listener = listener
        self.poem = poem
        self.selector = selectors.DefaultSelector()
        # The listener is registered with no data; each client with itself.
        self.selector.register(listener, selectors.EVENT_READ)

    def serve_forever(self):
        while True:
            self.run_once()

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
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return  # the queue is empty
            except ConnectionAbortedError:
                continue  # it gave up before we got to it
            except OSError as e:  # e.g. out of file descriptors: retry next turn
                print(
                    f"{PROGRAM}: cannot accept a client: {e.strerror}", file=sys.stderr
                )
                return
            sock.setblocking(False)
            client = PoetryClient(sock, self.poem)
            self.selector.register(sock, client.events(), client)

    def serve_client(self, client, mask):
        try:
            if mask & selectors.EVENT_READ:
                client.read_some()
                if not client.reading:
                    self.selector.modify(client.sock, client.events(), client)
            if mask & selectors.EVENT_WRITE and client.send_some():
                self.drop(client)
        except (BlockingIOError, InterruptedError):
            pass  # not ready after all; the loop will come back to it
        except OSError:
            # Reset or broken pipe: this client is gone, the others go on.
            self.drop(client)

    def drop(self, client):
        self.selector.unregister(client.sock)
        client.sock.close()


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
        with open(args.poetry_file, "rb") as poetry_file:
            poem = poetry_file.read()
    except OSError as e:
        sys.exit(f"{PROGRAM}: cannot read {args.poetry_file}: {e.strerror}")

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

    try:
        PoetryServer(listener, poem).serve_forever()
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this server is meant to stop


if __name__ == "__main__":
    main()
