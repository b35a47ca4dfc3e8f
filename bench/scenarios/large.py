"""fastpoetry.py sending a large poem: megabytes per second.

A generated poem of 8 MiB (the same file as the herd scenario's), four
clients at a time, 160 poems per round (1.25 GiB), each reply's byte count
checked, beside the plain-asyncio and uvloop reference servers.

Target: at least 0.9× plain asyncio's MB/s.
"""

from bench.common import (
    FASTPOETRY,
    LARGE_SIZE,
    Outcome,
    Table,
    Target,
    Variant,
    measure_rates,
    ratio,
    reference_servers,
    summarise,
    twisted_servers,
)

# The scripts measured, one a line; each runs on every reactor of --reactors.
VARIANTS = [
    Variant("twisted", FASTPOETRY),
]

CONCURRENCY = 4
COUNT = 160  # poems per round
RATIO_TARGET = 0.9


async def run(ctx):
    path = ctx.large_poem()
    servers = twisted_servers(VARIANTS, ctx.reactors, path)
    servers += reference_servers("poetry", path)
    figures = await ctx.run_servers(
        servers,
        lambda: measure_rates(
            ctx, "8 MiB poem", servers, [CONCURRENCY], LARGE_SIZE, count=COUNT
        ),
    )
    base = figures["asyncio"][CONCURRENCY].median("mb_per_s")
    rows = []
    for label, by_level in figures.items():
        f = by_level[CONCURRENCY]
        mbs = f.median("mb_per_s")
        rows.append(
            [
                label,
                CONCURRENCY,
                f"{mbs:,.0f}",
                ratio(mbs, base),
                f"{f.median('max_ms'):.0f}",
                f"{f.lost}",
                f"{f.median('cpu_us') / 1e3:.2f}",
            ]
        )
    table = Table(
        f"fastpoetry.py with an {LARGE_SIZE // 2**20} MiB generated poem,"
        " byte count checked",
        ["server", "conc", "MB/s", "×asyncio", "max ms", "lost", "CPU ms/poem"],
        rows,
    )
    out = Outcome([table], [], {"large": summarise(figures)})
    for server in servers:
        if server.variant is None or server.reactor != "default":
            continue
        mbs = figures[server.label][CONCURRENCY].median("mb_per_s")
        out.targets.append(
            Target(
                f"{LARGE_SIZE // 2**20} MiB poem ({server.label}):"
                f" ≥ {RATIO_TARGET}× plain asyncio's MB/s",
                f"{mbs:,.0f} vs {base:,.0f} MB/s: {mbs / base:.2f}×",
                mbs / base >= RATIO_TARGET,
            )
        )
    return out
