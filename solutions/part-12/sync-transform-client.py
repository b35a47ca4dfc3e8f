"""Synchronous Poetry Transformation Client (Part 12, exercise 5).

New script: a client for twisted-server-1/transformedpoetry.py written with
blocking sockets, no Twisted and no reactor. Each call waits until it is
done, so the program reads straight down: connect, send one netstring,
read one netstring back, print what it holds. That is fine for one request
at a time; asking two servers at once is where the reactor earns its keep.

Run from the repository root, the server in one terminal:

    python twisted-server-1/transformedpoetry.py --port 11000

and the client in another, with the poem on its standard input:

    python solutions/part-12/sync-transform-client.py --xform cummingsify 11000 < poetry/science.txt

or with the poem's file named after the address:

    python solutions/part-12/sync-transform-client.py 11000 poetry/science.txt

You should see the poem in lower case, exactly as the server sent it back.
Write the address as port or host:port (the host defaults to 127.0.0.1);
--xform defaults to cummingsify.

When no transformed poem comes back, the client says why in one line on
stderr and exits with status 1: the server is down; it closed the
connection without answering (transformedpoetry.py does that for an
unknown transform, or for a request of more than 99999 bytes); the answer
is not one well-formed netstring; or the whole exchange took longer than
--timeout seconds (10 by default), so the client never hangs.
"""

import argparse
import socket
import sys
import time

PROGRAM = "sync-transform-client.py"

# The longest answer we accept. The server takes requests of up to 99999
# bytes (NetstringReceiver.MAX_LENGTH), and lower-casing hardly changes a poem's length, so this is ample;
# a larger length announced by a broken server is refused before reading.
MAX_LENGTH = 1_000_000


class TransformError(Exception):
    """The server gave no usable answer; the message says why, in one line."""


class NoAnswer(TransformError):
    """The server closed the connection before the first byte of an answer."""


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
        help="the transformation server",
    )
    parser.add_argument(
        "poetry_file",
        metavar="poetry-file",
        nargs="?",
        help="the poem to transform (default: standard input)",
    )
    parser.add_argument(
        "--xform",
        default="cummingsify",
        help="the transformation to ask for (default: cummingsify)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds the whole exchange may take (default: 10)",
    )
    args = parser.parse_args()
    if not args.xform or "." in args.xform:
        # The request is "<name>.<poem>": a dot would end the name early.
        parser.error(f"--xform must be a name without a '.', not {args.xform!r}")
    # nan compares false, so it fails this too; a socket cannot wait for ever.
    if not 0 < args.timeout < float("inf"):
        parser.error(f"--timeout must be more than 0 and finite, not {args.timeout}")
    return args


def netstring(data):
    """`data` (bytes) framed as one netstring: b"<length>:<data>,"."""
    return b"%d:%s," % (len(data), data)


def recv_by(sock, size, deadline):
    """One blocking recv of at most `size` bytes, given up at `deadline`."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    sock.settimeout(remaining)
    return sock.recv(size)


def read_netstring(sock, deadline, max_length=MAX_LENGTH):
    """Read one netstring from `sock` with blocking reads; return what it holds.

    Raises TransformError when the peer closes first or sends something
    else, and TimeoutError when `deadline` (a time.monotonic() value) passes.
    """
    # The length comes a byte at a time, so nothing after the colon is read
    # by mistake, and it is checked digit by digit, so a peer cannot make us
    # buffer a long string of digits.
    digits = b""
    while True:
        try:
            byte = recv_by(sock, 1, deadline)
        except ConnectionResetError:
            byte = b""  # a reset ends the answer just as a close does
        if byte == b":" and digits:
            break
        if not byte:
            if digits:
                raise TransformError("the answer was cut off in its length")
            raise NoAnswer("the server closed the connection without an answer")
        if not byte.isdigit() or digits == b"0":  # netstrings have no leading 0
            raise TransformError("the answer is not a netstring")
        digits += byte
        if int(digits) > max_length:
            raise TransformError(
                f"the answer announces more than the {max_length} bytes accepted"
            )
    length = int(digits)

    # The data and the comma after it.
    chunks, wanted = [], length + 1
    while wanted:
        chunk = recv_by(sock, min(wanted, 65536), deadline)
        if not chunk:
            raise TransformError(f"the answer was cut off before its {length} bytes")
        chunks.append(chunk)
        wanted -= len(chunk)
    payload = b"".join(chunks)
    if payload[-1:] != b",":
        raise TransformError("the answer is not a netstring (no comma at its end)")
    return payload[:-1]


def transform(address, xform, poem, timeout):
    """Ask the server at `address` to apply `xform` to `poem` (bytes); return bytes."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except TimeoutError:
        raise
    except OSError as e:
        raise TransformError(f"cannot connect: {e.strerror or e}") from e
    with sock:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.sendall(netstring(xform.encode("utf-8") + b"." + poem))
        except (BrokenPipeError, ConnectionResetError):
            pass  # it hung up early; read_netstring says so
        return read_netstring(sock, deadline)


def main():
    args = parse_args()
    host, port = args.address

    # The poem is relayed as it is: bytes in, and the server decodes them.
    try:
        if args.poetry_file is None:
            poem = sys.stdin.buffer.read()
        else:
            with open(args.poetry_file, "rb") as poetry_file:
                poem = poetry_file.read()
    except OSError as e:
        sys.exit(f"{PROGRAM}: cannot read {args.poetry_file}: {e.strerror}")

    try:
        answer = transform(args.address, args.xform, poem, args.timeout)
    except TimeoutError:
        sys.exit(f"{PROGRAM}: {host}:{port}: no answer within {args.timeout:g} s")
    except NoAnswer as e:
        # transformedpoetry.py hangs up on a request it will not serve.
        size = len(args.xform.encode("utf-8")) + 1 + len(poem)
        if size > 99999:
            why = f"the request is {size} bytes; the server takes at most 99999"
        else:
            why = f"is {args.xform!r} one of its transforms?"
        sys.exit(f"{PROGRAM}: {host}:{port}: {e} ({why})")
    except TransformError as e:
        sys.exit(f"{PROGRAM}: {host}:{port}: {e}")
    except OSError as e:
        sys.exit(f"{PROGRAM}: {host}:{port}: the connection failed: {e.strerror or e}")

    try:
        new_poem = answer.decode("utf-8")
    except UnicodeDecodeError:
        sys.exit(f"{PROGRAM}: {host}:{port}: the answer is not UTF-8 text")

    # The answer is the whole poem, its last newline included.
    print(new_poem, end="")


if __name__ == "__main__":
    main()
