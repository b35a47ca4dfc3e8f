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
Write the address as port, host:port or [IPv6 host]:port (the host
defaults to 127.0.0.1); --xform defaults to cummingsify.

A poem too long for the server (a request, "<transform>.<poem>", of more
than 99999 bytes, which transformedpoetry.py hangs up on) is refused before
connecting, with one line naming the file and exit status 1; the client
reads no more of it than that.

When no transformed poem comes back, the client says why in one line on
stderr and exits with status 1: the server is down; it closed the
connection without answering (transformedpoetry.py does that for an
unknown transform); the answer is not one well-formed netstring; or the
whole exchange took longer than --timeout seconds (10 by default), so the
client never hangs.
"""

import argparse
import socket
import sys
import time

PROGRAM = "sync-transform-client.py"

# The longest request transformedpoetry.py takes (its NetstringReceiver's
# MAX_LENGTH): "<transform name>.<poem>". A longer one it hangs up on, so the
# client reads no more of the poem than fits, and refuses a longer one.
MAX_REQUEST = 99999

# The longest answer we accept. Lower-casing hardly changes a poem's length,
# so this is ample; a larger length announced by a broken server is refused
# before reading.
MAX_LENGTH = 1_000_000


class TransformError(Exception):
    """The server gave no usable answer; the message says why, in one line."""


class NoAnswer(TransformError):
    """The server closed the connection before the first byte of an answer."""


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
    # Named as it is written on the command line: an IPv6 host in brackets.
    server = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # The poem is relayed as it is: bytes in, and the server decodes them.
    # One byte more than the server takes is enough to know it is too long,
    # however long the input is (/dev/zero never ends).
    name = args.poetry_file or "standard input"
    limit = max(MAX_REQUEST - len(args.xform.encode("utf-8")) - 1, 0)
    try:
        if args.poetry_file is None:
            poem = sys.stdin.buffer.read(limit + 1)
        else:
            with open(args.poetry_file, "rb") as poetry_file:
                poem = poetry_file.read(limit + 1)
    except OSError as e:
        sys.exit(f"{PROGRAM}: cannot read {name}: {e.strerror}")
    if len(poem) > limit:
        sys.exit(
            f"{PROGRAM}: {name}: more than {limit} bytes; the server takes"
            f" requests of at most {MAX_REQUEST} bytes"
        )

    try:
        answer = transform(args.address, args.xform, poem, args.timeout)
    except TimeoutError:
        sys.exit(f"{PROGRAM}: {server}: no answer within {args.timeout:g} s")
    except NoAnswer as e:
        # transformedpoetry.py hangs up on a request it will not serve.
        why = f"is {args.xform!r} one of its transforms?"
        sys.exit(f"{PROGRAM}: {server}: {e} ({why})")
    except TransformError as e:
        sys.exit(f"{PROGRAM}: {server}: {e}")
    except OSError as e:
        sys.exit(f"{PROGRAM}: {server}: the connection failed: {e.strerror or e}")

    try:
        new_poem = answer.decode("utf-8")
    except UnicodeDecodeError:
        sys.exit(f"{PROGRAM}: {server}: the answer is not UTF-8 text")

    # The answer is the whole poem, its last newline included.
    print(new_poem, end="")


if __name__ == "__main__":
    main()
