"""fastpoetry.py under load: poems per second, latency, losses, CPU per poem.

Closed loop: each client connects, reads the tutorial's poem
(poetry/fascination.txt, 608 bytes) to the end, checks every byte, and
connects again, at concurrency 1, 16, 128 and 1024, beside the plain-asyncio
and uvloop reference servers. Then bursts: 128 and then 1,024 clients connect
at the same moment, once each, to fastpoetry.py with our `--backlog 1024` and
with Twisted's default of 50, which the original used.

Targets:
- at concurrency 128 and 1024, no connection lost and max latency < 200 ms;
- at concurrency 16, at least the original example's rate: 36,500 poems/s,
  measured with another load generator, beside 29,000/s for plain asyncio;
- at concurrency 16, CPU per poem within 1.5× of asyncio+uvloop's.
"""

import statistics

from bench import load
from bench.common import (
    FASTPOETRY,
    POEM_FILE,
    ROOT,
    Outcome,
    Table,
    Variant,
    cpu_ratio_targets,
    guard_cost_targets,
    guard_overhead_us,
    measure_rates,
    no_loss_targets,
    original_rate_target,
    rate_table,
    reference_servers,
    summarise,
    twisted_servers,
    unguarded,
)

# The scripts measured, one a line; each runs on every reactor of --reactors.
VARIANTS = [
    Variant("twisted", FASTPOETRY),
    Variant("modern", "modern/fastpoetry.py"),
]

LEVELS = (1, 16, 128, 1024)
BURST_CLIENTS = (128, 1024)
BURST_BACKLOGS = (1024, 50)
# A burst's connections still unanswered after this long count as lost.
BURST_SECONDS = 3.0
# The original example's rate at c=16, its reference server and that one's rate.
ORIGINAL = (36_500, "asyncio", 29_000)


async def run(ctx):
    poem = (ROOT / POEM_FILE).read_bytes()
    servers = twisted_servers(
        [*VARIANTS, unguarded(FASTPOETRY)], ctx.reactors, POEM_FILE
    )
    servers += reference_servers("poetry", POEM_FILE)
    figures = await ctx.run_servers(
        servers, lambda: measure_rates(ctx, "fastpoetry", servers, LEVELS, poem)
    )
    out = Outcome(results={"fastpoetry": summarise(figures)})
    out.tables.append(
        rate_table(
            f"fastpoetry.py ({POEM_FILE}, {len(poem)} bytes), every poem's bytes checked",
            figures,
            "poems",
            [
                "Each client connects, reads the poem to the end, and connects again;"
                " 'client µs' is the load generator's own CPU per poem."
            ],
        )
    )
    for v in VARIANTS:
        if v.label in figures:
            out.targets += no_loss_targets(
                f"fastpoetry.py ({v.label})", figures[v.label]
            )
            out.targets.append(
                original_rate_target(
                    "fastpoetry.py", v.label, figures, ORIGINAL, "poems"
                )
            )
    out.targets += cpu_ratio_targets("fastpoetry.py", figures, servers)
    overhead = guard_overhead_us(FASTPOETRY, lambda ns: ns["PoetryFactory"](poem))
    out.targets += guard_cost_targets("fastpoetry.py", figures, overhead)
    return out.extend(await bursts(ctx, poem))


async def bursts(ctx, poem):
    """Every client connecting at the same moment, with our backlog and the original's."""
    servers = [
        Variant(
            f"{v.label} --backlog {b}", v.script, (*v.options, "--backlog", b)
        ).server(POEM_FILE)
        for v in VARIANTS
        if v.exists()
        for b in BURST_BACKLOGS
    ]

    async def body():
        rounds = {}
        for clients in BURST_CLIENTS:
            for r in range(ctx.rounds):
                for server in servers:
                    ctx.progress.show(
                        f"burst of {clients}: {server.label} round {r + 1}/{ctx.rounds}"
                    )
                    result = await load.burst(
                        server.port, clients, seconds=BURST_SECONDS, expect=poem
                    )
                    rounds.setdefault((server.label, clients), []).append(
                        {
                            "served": result.requests,
                            "lost": result.lost,
                            "errors": result.errors,
                            "max_ms": max(result.latencies, default=float("nan")) * 1e3,
                        }
                    )
        return rounds

    rounds = await ctx.run_servers(servers, body)
    rows = [
        [
            label,
            clients,
            f"{min(x['served'] for x in rs)}/{clients}",
            f"{statistics.median(x['max_ms'] for x in rs):.0f}",
            f"{sum(x['lost'] for x in rs)}",
        ]
        for (label, clients), rs in rounds.items()
    ]
    table = Table(
        "fastpoetry.py, a burst: every client connects at the same moment, once",
        ["server", "clients", "served (worst)", "max ms", "lost"],
        rows,
        [
            "--backlog 50 is Twisted's default, which the original used; 'lost'"
            f" are connections still unanswered after {BURST_SECONDS:g} s."
        ],
    )
    results = {f"{label} / {clients}": rs for (label, clients), rs in rounds.items()}
    return Outcome([table], [], {"bursts": results})
