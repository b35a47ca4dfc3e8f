"""Minimal plain-asyncio twins of the tutorial's servers, for `make bench` to compare.

Each does the same job as the Twisted script it stands beside, with the
same listen backlog, and nothing more: no options checking, no logging.
They exist only to be measured in the same run as the Twisted servers.

    python bench/reference.py poetry poetry/fascination.txt   # like fastpoetry.py
    python bench/reference.py transform                       # like transformedpoetry.py
    python bench/reference.py proxy 10001                     # a single-flight caching proxy
    python bench/reference.py client 10001 10002 10003        # like client 8: fetch, transform

Add --uvloop to run on uvloop's event loop instead of asyncio's own.
Servers print "Serving ... on ... port=NNN)." like the Twisted ones, and the
proxy "Fetching poem from server." each time it starts a fetch, as they do.
"""

import argparse
import asyncio
import sys

BACKLOG = 1024  # the same as the tutorial's servers


class PoetryProtocol(asyncio.Protocol):
    poem = b""

    def connection_made(self, transport):
        transport.write(self.poem)
        transport.close()  # after the buffer is flushed


class TransformProtocol(asyncio.Protocol):
    """One netstring "<name>.<poem>" in, one netstring out, then close."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        length, colon, rest = self.buffer.partition(b":")
        if not colon:
            if len(length) > 10:
                self.transport.abort()
            return
        if not length.isdigit() or len(length) > 10:
            self.transport.abort()
            return
        size = int(length)
        if len(rest) < size + 1:
            return
        if rest[size : size + 1] != b",":
            self.transport.abort()
            return
        try:
            name, dot, poem = rest[:size].decode("utf-8").partition(".")
        except UnicodeDecodeError:
            name, dot = "", ""
        if dot and name == "cummingsify":
            answer = poem.lower().encode("utf-8")
            self.transport.write(b"%d:%s," % (len(answer), answer))
        self.transport.close()


async def fetch(host, port):
    """The whole poem a poetry server sends, as bytes."""
    reader, writer = await asyncio.open_connection(host, port)
    poem = await reader.read()
    writer.close()
    return poem


class ProxyService:
    """Caches the upstream's poem; concurrent misses share one fetch."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.poem = None
        self.fetching = None  # the Future of the fetch in progress

    def get_poem(self):
        future = asyncio.get_running_loop().create_future()
        if self.poem is not None:
            future.set_result(self.poem)
            return future
        if self.fetching is None:
            # The Twisted proxies' line, so the herd scenario counts fetches alike.
            print("Fetching poem from server.", flush=True)
            self.fetching = asyncio.ensure_future(fetch(self.host, self.port))
            self.fetching.add_done_callback(self._fetched)
        self.fetching.add_done_callback(lambda done: _copy(done, future))
        return future

    def _fetched(self, done):
        self.fetching = None
        if not done.cancelled() and done.exception() is None:
            self.poem = done.result()


def _copy(done, future):
    if done.cancelled() or done.exception() is not None:
        future.set_exception(done.exception() or asyncio.CancelledError())
    else:
        future.set_result(done.result())


class ProxyProtocol(asyncio.Protocol):
    service = None

    def connection_made(self, transport):
        self.service.get_poem().add_done_callback(
            lambda done: self._send(transport, done)
        )

    def _send(self, transport, done):
        if done.exception() is None:
            transport.write(done.result())
        transport.close()


def transform_request(poem):
    request = b"cummingsify." + poem
    return b"%d:%s," % (len(request), request)


async def fetch_and_transform(transform_port, host, port):
    poem = await fetch(host, port)
    reader, writer = await asyncio.open_connection("127.0.0.1", transform_port)
    writer.write(transform_request(poem))
    answer = await reader.read()
    writer.close()
    return answer.partition(b":")[2][:-1] or poem


def address(text):
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def serve(args):
    loop = asyncio.get_running_loop()
    if args.job == "poetry":
        with open(args.target, "rb") as f:
            PoetryProtocol.poem = f.read()
        factory = PoetryProtocol
    elif args.job == "transform":
        factory = TransformProtocol
    else:
        ProxyProtocol.service = ProxyService(*address(args.target))
        factory = ProxyProtocol
    server = await loop.create_server(factory, "127.0.0.1", args.port, backlog=BACKLOG)
    port = server.sockets[0].getsockname()[1]
    print(
        f"Serving {args.job} on IPv4Address(type='TCP', host='127.0.0.1',"
        f" port={port}).",
        flush=True,
    )
    await server.serve_forever()


async def client(args):
    transform_port = address(args.target)[1]
    poems = await asyncio.gather(
        *(fetch_and_transform(transform_port, *address(a)) for a in args.more),
        return_exceptions=True,
    )
    failed = 0
    for poem in poems:
        if isinstance(poem, BaseException):
            print(f"Poem failed: {poem!r}", file=sys.stderr)
            failed += 1
        else:
            print(poem.decode("utf-8"))
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("job", choices=["poetry", "transform", "proxy", "client"])
    parser.add_argument("target", nargs="?", help="poem file, upstream or address")
    parser.add_argument("more", nargs="*", help="client: the poetry servers")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.job != "transform" and args.target is None:
        parser.error(f"{args.job} needs a target")

    if args.uvloop:
        import uvloop

        runner = uvloop.run
    else:
        runner = asyncio.run
    try:
        if args.job == "client":
            sys.exit(runner(client(args)))
        runner(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
