"""The load generator: many asyncio clients, closed loop, on loopback.

`hammer()` keeps `concurrency` clients busy: each connects, optionally sends
a request, reads until the server closes, checks what it got, and starts
again, until `count` requests have been started or `seconds` have passed.
A request that fails to connect, is reset, gets a short, long or wrong
reply, or is still unanswered when the round's time is up counts as lost, by
kind: the error's name ("ConnectionRefusedError", "ConnectionResetError",
...), "short reply" (closed before the expected size), "long reply" (more
than the expected size: the client hangs up as soon as it has that much, so
a server that never stops sending costs no memory here), "wrong reply" or
"unanswered".
"""

import asyncio
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"


@dataclass
class Round:
    """What one round of requests measured."""

    requests: int = 0  # answered and verified
    lost: int = 0  # refused, reset, short, long or wrong reply, or never answered
    seconds: float = 0.0  # wall time of the round
    bytes: int = 0  # bytes received in verified replies
    latencies: list = field(default_factory=list)  # seconds, one per request
    errors: dict = field(default_factory=dict)  # kind of loss -> how many

    def lose(self, kind):
        self.lost += 1
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class _Exchange(asyncio.Protocol):
    """Send `request` (if any), then collect the reply until the server closes,
    or until it has sent more than `limit` bytes (then hang up)."""

    def __init__(self, request, done, keep, limit):
        self.request = request
        self.done = done
        self.keep = keep  # keep the bytes (to compare) or only count them
        self.limit = limit
        self.chunks = []
        self.size = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        if self.request:
            transport.write(self.request)

    def data_received(self, data):
        self.size += len(data)
        if self.size > self.limit:
            self.chunks = []  # a long reply: nothing to compare
            self.transport.abort()
        elif self.keep:
            self.chunks.append(data)

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(exc)


async def hammer(
    port, *, concurrency, count, seconds, expect, request=b"", on_tick=None
):
    """Run one round against 127.0.0.1:`port`; return a Round.

    `expect` is the exact reply (bytes), or an int: the exact reply size,
    for replies too large to keep.
    """
    loop = asyncio.get_running_loop()
    result = Round()
    keep = isinstance(expect, bytes)
    size = len(expect) if keep else expect
    started = 0
    in_flight = 0

    def factory_for(done):
        return lambda: _Exchange(request, done, keep, size)

    async def client():
        nonlocal started, in_flight
        while started < count:
            started += 1
            in_flight += 1
            done = loop.create_future()
            t0 = time.perf_counter()
            transport = None
            try:
                transport, proto = await loop.create_connection(
                    factory_for(done), HOST, port
                )
                exc = await done
            except OSError as e:
                in_flight -= 1
                result.lose(type(e).__name__)
                continue
            except asyncio.CancelledError:
                # The round's time is up: hang up rather than keep reading.
                if transport is not None:
                    transport.abort()
                raise
            in_flight -= 1
            latency = time.perf_counter() - t0
            if exc is not None:
                result.lose(type(exc).__name__)
            elif proto.size < size:
                result.lose("short reply")
            elif proto.size > size:
                result.lose("long reply")
            elif keep and b"".join(proto.chunks) != expect:
                result.lose("wrong reply")
            else:
                result.requests += 1
                result.bytes += proto.size
                result.latencies.append(latency)

    async def ticker():
        while True:
            await asyncio.sleep(0.25)
            on_tick(result, time.perf_counter() - begin)

    begin = time.perf_counter()
    tasks = [asyncio.ensure_future(client()) for _ in range(concurrency)]
    tick = asyncio.ensure_future(ticker()) if on_tick else None
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    result.seconds = time.perf_counter() - begin
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    if tick:
        tick.cancel()
    # Requests still waiting when the time was up were never answered.
    for _ in range(in_flight):
        result.lose("unanswered")
    return result


async def burst(port, clients, *, seconds, expect, on_tick=None):
    """`clients` connect at the same moment, once each; return a Round."""
    return await hammer(
        port,
        concurrency=clients,
        count=clients,
        seconds=seconds,
        expect=expect,
        on_tick=on_tick,
    )
