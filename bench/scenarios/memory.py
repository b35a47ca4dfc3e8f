"""fastpoetry.py's resident memory over many connections: does it grow?

A fresh server every round; 16 clients at a time fetch the tutorial's poem
1,000 times, then 19,000 more. The server's resident memory (VmRSS) is read
at start-up, after the first 1,000 connections and after 20,000, beside the
plain-asyncio and uvloop reference servers.

Target: less than 1 MiB of growth between 1,000 and 20,000 connections
(the first thousand fill caches and allocator pools), with every one of the
20,000 poems served whole in every round: a server that refuses or cuts
connections does not grow, and does not reach the target either.
"""

import statistics

from bench import load
from bench.common import (
    FASTPOETRY,
    POEM_FILE,
    ROOT,
    Outcome,
    Table,
    Target,
    Variant,
    memory_bytes,
    reference_servers,
    twisted_servers,
)

# The scripts measured, one a line (on the default reactor only).
VARIANTS = [
    Variant("twisted", FASTPOETRY),
]

CONCURRENCY = 16
FIRST, TOTAL = 1_000, 20_000
TARGET = 1024 * 1024  # bytes of growth from FIRST to TOTAL connections


async def sample(ctx, server, poem):
    """RSS at start, after FIRST and after TOTAL connections to a fresh `server`."""

    async def body():
        start = memory_bytes(server.pid)
        first = await load.hammer(
            server.port, concurrency=CONCURRENCY, count=FIRST, seconds=30, expect=poem
        )
        after_first = memory_bytes(server.pid)
        rest = await load.hammer(
            server.port,
            concurrency=CONCURRENCY,
            count=TOTAL - FIRST,
            seconds=60,
            expect=poem,
        )
        return {
            "start": start,
            "after_1k": after_first,
            "after_20k": memory_bytes(server.pid),
            "served": first.requests + rest.requests,
            "lost": first.lost + rest.lost,
        }

    return await ctx.run_servers([server], body)


async def run(ctx):
    poem = (ROOT / POEM_FILE).read_bytes()
    samples = {}
    for r in range(ctx.rounds):
        # A Server starts a new process each time, so every round starts cold.
        servers = twisted_servers(VARIANTS, ["default"], POEM_FILE)
        servers += reference_servers("poetry", POEM_FILE)
        for server in servers:
            ctx.progress.show(f"memory: {server.label} round {r + 1}/{ctx.rounds}")
            samples.setdefault(server.label, []).append(await sample(ctx, server, poem))
    rows = []
    for label, ss in samples.items():

        def med(key, ss=ss):
            return statistics.median(s[key] for s in ss)

        growth = statistics.median(s["after_20k"] - s["after_1k"] for s in ss)
        rows.append(
            [
                label,
                f"{med('start') / 2**20:.1f}",
                f"{med('after_1k') / 2**20:.1f}",
                f"{med('after_20k') / 2**20:.1f}",
                f"{growth / 1024:+.0f}",
                f"{sum(s['lost'] for s in ss)}",
            ]
        )
    table = Table(
        "fastpoetry.py memory (RSS), a fresh server per round,"
        f" concurrency {CONCURRENCY}",
        [
            "server",
            "start MiB",
            f"{FIRST:,} conns MiB",
            f"{TOTAL:,} conns MiB",
            f"growth {FIRST:,}→{TOTAL:,} KiB",
            "lost",
        ],
        rows,
    )
    out = Outcome([table], [], {"memory": samples})
    for v in VARIANTS:
        if v.label in samples:
            out.targets.append(memory_target(v.label, samples[v.label]))
    return out


def memory_target(label, ss):
    """Growth under TARGET from FIRST to TOTAL, every poem served, in each round."""
    growths = [s["after_20k"] - s["after_1k"] for s in ss]
    return Target(
        f"fastpoetry.py ({label}): memory growth"
        f" < {TARGET // 2**20} MiB over {TOTAL:,} connections, all served",
        f"growth after the first {FIRST:,} connections, per round: "
        + ", ".join(f"{g / 1024:+.0f} KiB" for g in growths)
        + f"; from start-up to {TOTAL:,}: "
        + ", ".join(f"{(s['after_20k'] - s['start']) / 1024:+.0f} KiB" for s in ss)
        + "; served (lost) per round: "
        + ", ".join(f"{s['served']:,} ({s['lost']})" for s in ss),
        max(growths) < TARGET
        and all(s["served"] == TOTAL and s["lost"] == 0 for s in ss),
    )
