"""transformedpoetry.py under load: transforms per second, latency, CPU.

Closed loop: each client connects, sends one netstring asking to cummingsify
poetry/science.txt, checks every byte of the answer, and connects again, at
concurrency 16, 128 and 1024, beside the plain-asyncio and uvloop reference
servers.

Targets:
- at concurrency 128 and 1024, no connection lost and max latency < 200 ms;
- at concurrency 16, at least the original example's rate: 26,000
  transforms/s, measured with another load generator, beside 44,000/s for
  asyncio on uvloop;
- at concurrency 16, CPU per transform within 1.5× of asyncio+uvloop's.
"""

from bench.common import (
    ROOT,
    Outcome,
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
from tools.launch import TRANSFORM

# The scripts measured, one a line; each runs on every reactor of --reactors.
VARIANTS = [
    Variant("twisted", TRANSFORM),
    Variant("modern", "modern/transformedpoetry.py"),
]

POEM = "poetry/science.txt"
LEVELS = (16, 128, 1024)
# The original example's rate at c=16, its reference server and that one's rate.
ORIGINAL = (26_000, "asyncio+uvloop", 44_000)


def netstring(payload):
    return b"%d:%s," % (len(payload), payload)


async def run(ctx):
    poem = (ROOT / POEM).read_bytes()
    request = netstring(b"cummingsify." + poem)
    expect = netstring(poem.decode("utf-8").lower().encode("utf-8"))
    servers = twisted_servers([*VARIANTS, unguarded(TRANSFORM)], ctx.reactors)
    servers += reference_servers("transform")
    figures = await ctx.run_servers(
        servers,
        lambda: measure_rates(
            ctx, "transform", servers, LEVELS, expect, request=request
        ),
    )
    table = rate_table(
        f"transformedpoetry.py (cummingsify {POEM}), every reply checked",
        figures,
        "transforms",
    )
    out = Outcome([table], [], {"transform": summarise(figures)})
    for v in VARIANTS:
        if v.label in figures:
            what = f"transformedpoetry.py ({v.label})"
            out.targets += no_loss_targets(what, figures[v.label])
            out.targets.append(
                original_rate_target(
                    "transformedpoetry.py", v.label, figures, ORIGINAL, "transforms"
                )
            )
    out.targets += cpu_ratio_targets("transformedpoetry.py", figures, servers)
    overhead = guard_overhead_us(
        TRANSFORM,
        lambda ns: ns["TransformFactory"](ns["TransformService"]()),
        request,
    )
    out.targets += guard_cost_targets("transformedpoetry.py", figures, overhead)
    return out
