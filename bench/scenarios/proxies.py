"""The caching proxies: one fetch or many on a cold cache, then the cached poem.

Cold: a fresh proxy in front of slowpoetry.py (the tutorial's poem in one
piece at once, the close 1 s later), 50 clients at the same moment; counted:
the connections the slow server reports ("wants poetry" lines), and how many
clients got the whole poem. Then cached: each proxy after one fetch, closed
loop at concurrency 16, 128 and 1024, every poem checked. The reference is
bench/reference.py proxy, a single-flight proxy on plain asyncio.

Targets:
- each single-flight proxy (poetry-proxy-waiters.py, modern/poetry-proxy.py):
  exactly 1 upstream connection for the 50 cold clients, and all 50 served,
  in every round;
- cached, at concurrency 128 and 1024: no connection lost and max latency
  < 200 ms, for every proxy.
"""

import statistics
from dataclasses import dataclass

from bench import load
from bench.common import (
    POEM_FILE,
    ROOT,
    SLOW_DELAY,
    UNGUARDED,
    Outcome,
    Server,
    Table,
    Target,
    Variant,
    guard_cost_targets,
    guard_overhead_us,
    measure_rates,
    no_loss_targets,
    rate_table,
    slow_server,
    summarise,
    unguarded,
)
from tools import launch
from tools.launch import PROXY_1, PROXY_2, PROXY_WAITERS


@dataclass(frozen=True)
class Proxy(Variant):
    """A proxy script; `single_flight` if clients on a cold cache share one fetch."""

    single_flight: bool = False


# The proxies measured, one a line (the herd scenario measures the same ones).
PROXIES = [
    Proxy("proxy 1.0", PROXY_1),
    Proxy("proxy 2.0", PROXY_2),
    Proxy("proxy 2.1 (waiters)", PROXY_WAITERS, single_flight=True),
    Proxy("modern proxy 2.1", "modern/poetry-proxy.py", single_flight=True),
]

# Proxy 2.0 without its ServerGuard, to show what the guard costs a cached poem.
UNGUARDED_PROXY = unguarded(PROXY_2, label=f"proxy 2.0, {UNGUARDED}")

COLD_CLIENTS = 50
COLD_SECONDS = 10.0
LEVELS = (16, 128, 1024)


def cached_proxy(namespace):
    """Proxy 2.0's factory, in this process, with the poem already cached."""
    # run_path hands back a copy of the script's globals: silence "Using
    # cached poem." in the dictionary its functions really look in.
    namespace["ProxyService"].get_poem.__globals__["print"] = lambda *args: None
    service = namespace["ProxyService"]("127.0.0.1", 10001)
    service.poem = (ROOT / POEM_FILE).read_bytes()
    return namespace["PoetryProxyFactory"](service)


def reference_proxy(upstream_port, **kwargs):
    """bench/reference.py's single-flight proxy, on plain asyncio."""
    argv = launch.python_argv("bench/reference.py", "proxy", upstream_port)
    return Server("asyncio", argv, **kwargs)


def proxy_servers(upstream_port):
    """A fresh process of every proxy that exists, and the reference, in front of it."""
    servers = [p.server(upstream_port) for p in PROXIES if p.exists()]
    return [*servers, reference_proxy(upstream_port)]


async def run(ctx):
    poem = (ROOT / POEM_FILE).read_bytes()
    slow = slow_server(f"slowpoetry.py --delay {SLOW_DELAY:g}")
    return await ctx.run_servers([slow], lambda: behind(ctx, slow, poem))


async def behind(ctx, slow, poem):
    cold = {}
    for r in range(ctx.rounds):
        # A fresh proxy for every cold round: its cache starts empty.
        for server in proxy_servers(slow.port):
            ctx.progress.show(
                f"proxies cold: {server.label} round {r + 1}/{ctx.rounds}"
            )
            before = slow.child.count(rb"wants poetry")

            async def herd(server=server):
                return await load.burst(
                    server.port, COLD_CLIENTS, seconds=COLD_SECONDS, expect=poem
                )

            result = await ctx.run_servers([server], herd)
            cold.setdefault(server.label, []).append(
                {
                    "upstream": slow.child.count(rb"wants poetry") - before,
                    "served": result.requests,
                    "lost": result.lost,
                    "seconds": result.seconds,
                    "max_ms": max(result.latencies, default=float("nan")) * 1e3,
                }
            )

    servers = [*proxy_servers(slow.port), UNGUARDED_PROXY.server(slow.port)]

    async def cached():
        for server in servers:  # fill each cache before the clock starts
            await load.burst(server.port, 1, seconds=COLD_SECONDS, expect=poem)
        return await measure_rates(ctx, "proxies cached", servers, LEVELS, poem)

    figures = await ctx.run_servers(servers, cached)

    rows = [
        [
            label,
            f"{statistics.median(x['upstream'] for x in rounds):g}",
            "/".join(str(x["upstream"]) for x in rounds),
            f"{min(x['served'] for x in rounds)}/{COLD_CLIENTS}",
            f"{statistics.median(x['seconds'] for x in rounds):.2f}",
        ]
        for label, rounds in cold.items()
    ]
    out = Outcome(results={"proxies_cold": cold, "proxies_cached": summarise(figures)})
    out.tables.append(
        Table(
            f"proxies, {COLD_CLIENTS} clients at once on a cold cache,"
            f" upstream slowpoetry.py --delay {SLOW_DELAY:g}",
            ["proxy", "upstream conns", "per round", "got the poem (worst)", "wall s"],
            rows,
            ["'asyncio' is bench/reference.py proxy, a single-flight proxy."],
        )
    )
    out.tables.append(
        rate_table("proxies, cached poem, every poem checked", figures, "poems")
    )
    for proxy in PROXIES:
        if proxy.single_flight and proxy.label in cold:
            rounds = cold[proxy.label]
            out.targets.append(
                Target(
                    f"{proxy.label}: exactly 1 upstream connection for"
                    f" {COLD_CLIENTS} cold clients",
                    "upstream connections per round: "
                    + ", ".join(str(x["upstream"]) for x in rounds)
                    + "; poems served: "
                    + ", ".join(str(x["served"]) for x in rounds)
                    + f" of {COLD_CLIENTS}",
                    all(
                        x["upstream"] == 1 and x["served"] == COLD_CLIENTS
                        for x in rounds
                    ),
                )
            )
    for proxy in PROXIES:
        if proxy.label in figures:
            out.targets += no_loss_targets(proxy.label, figures[proxy.label])
    out.targets += guard_cost_targets(
        "proxy 2.0, cached",
        figures,
        guard_overhead_us(PROXY_2, cached_proxy),
        "proxy 2.0",
    )
    return out
