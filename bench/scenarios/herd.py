"""A herd on a cold cache: 300 clients at the same moment, an 8 MiB poem, each proxy.

Each proxy of the proxies scenario (its PROXIES list) stands in front of
fastpoetry.py serving the generated 8 MiB poem (the large scenario's file).
In every round each proxy is started afresh, so its cache is empty, and 300
clients connect to it at the same moment; each reads to the end, and its
byte count is checked. Measured per proxy and round:

- served: clients that got all 8 MiB;
- lost: refused, reset, short (closed early), or not answered in full within
  60 s (the round's bound, and the proxies' own default client time-out);
- upstream fetches: the proxy's "Fetching poem from server." lines on its
  stdout (it prints one just before each connection to the upstream server);
- proxy gave up: the proxy's own "No poem from ..." log lines, one for each
  client it hung up on without a poem (its upstream time-out, 30 s by
  default, or a failed fetch);
- peak memory: the proxy's VmHWM from /proc/<pid>/status, read while the
  round runs and at its end.

The proxy and the upstream server each run under a 4 GiB address-space limit
(prlimit --as), so a proxy that holds hundreds of copies of the poem fails
in its own process instead of taking the machine's memory. The reference is
bench/reference.py proxy, a single-flight proxy on plain asyncio.

Target: every proxy serves all 300 clients, in every round.
"""

import statistics

from bench import load
from bench.common import (
    FASTPOETRY,
    LARGE_SIZE,
    Outcome,
    Table,
    Target,
    Variant,
    memory_bytes,
)
from bench.scenarios.proxies import PROXIES, reference_proxy

CLIENTS = 300
SECONDS = 60.0  # the round's bound; a client not served in full by then is lost
MEMORY_LIMIT = 4 * 2**30  # bytes of address space for the proxy and the upstream
FETCHING = rb"Fetching poem from server\."
# The Twisted proxies' log line for each client they hang up on without a poem.
GAVE_UP = rb"No poem from "


class PeakMemory:
    """The highest VmHWM seen of a process, kept when the process has ended."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = 0

    def read(self):
        try:
            self.peak = max(self.peak, memory_bytes(self.pid, "VmHWM"))
        except (FileNotFoundError, ProcessLookupError, RuntimeError):
            pass  # it has exited (a zombie has no VmHWM): keep the last figure
        return self.peak


async def one_round(ctx, server, clients, size, seconds, what):
    """Start a fresh `server`, send it the herd, and stop it; a dict of figures."""

    async def herd():
        peak = PeakMemory(server.pid)
        show = ctx.progress.tick(what)

        def on_tick(result, elapsed):
            peak.read()
            show(result, elapsed)

        result = await load.burst(
            server.port, clients, seconds=seconds, expect=size, on_tick=on_tick
        )
        status = server.child.proc.poll()
        return {
            "served": result.requests,
            "lost": result.lost,
            "errors": result.errors,
            "seconds": result.seconds,
            "upstream": server.child.count(FETCHING),
            "gave_up": server.child.count(GAVE_UP),
            "peak_rss": peak.read(),
            "exited": status,
            "stderr_tail": server.child.err[-2000:].decode(errors="replace"),
        }

    return await ctx.run_servers([server], herd)


def describe_losses(rounds):
    """The kinds of loss over every round, most common first: "unanswered 12, ..."."""
    kinds = {}
    for x in rounds:
        for kind, n in x["errors"].items():
            kinds[kind] = kinds.get(kind, 0) + n
    ordered = sorted(kinds.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{kind} {n}" for kind, n in ordered) or "-"


async def run(ctx, clients=CLIENTS, size=LARGE_SIZE, proxies=None, seconds=SECONDS):
    """The herd against every proxy (default: PROXIES) and the reference."""
    proxies = [p for p in (PROXIES if proxies is None else proxies) if p.exists()]
    upstream = Variant("upstream fastpoetry.py", FASTPOETRY).server(
        ctx.large_poem(size), memory_limit=MEMORY_LIMIT
    )

    async def body():
        rounds = {}
        for r in range(ctx.rounds):
            fresh = [
                p.server(upstream.port, memory_limit=MEMORY_LIMIT) for p in proxies
            ]
            fresh.append(reference_proxy(upstream.port, memory_limit=MEMORY_LIMIT))
            for server in fresh:
                what = f"herd: {server.label} round {r + 1}/{ctx.rounds}"
                ctx.progress.show(what)
                rounds.setdefault(server.label, []).append(
                    await one_round(ctx, server, clients, size, seconds, what)
                )
        return rounds

    rounds = await ctx.run_servers([upstream], body)
    return report(rounds, [p.label for p in proxies], clients, size, seconds)


def report(rounds, targeted, clients, size, seconds):
    """The table of `rounds` ({label: [one_round's dicts]}), a target per `targeted` label."""

    def per_round(rs, key, fmt=str):
        return "/".join(fmt(x[key]) for x in rs)

    def mib(n):
        return f"{n / 2**20:,.0f}"

    rows = []
    for label, rs in rounds.items():
        exited = [x["exited"] for x in rs if x["exited"] is not None]
        rows.append(
            [
                label,
                per_round(rs, "served"),
                per_round(rs, "lost"),
                describe_losses(rs),
                per_round(rs, "gave_up"),
                per_round(rs, "upstream"),
                mib(statistics.median(x["peak_rss"] for x in rs)),
                mib(max(x["peak_rss"] for x in rs)),
                f"{statistics.median(x['seconds'] for x in rs):.1f}",
                f"{len(exited)} ({', '.join(map(str, exited))})" if exited else "0",
            ]
        )
    poem = f"{size / 2**20:g} MiB poem"
    table = Table(
        f"herd: {clients} clients at once on a cold cache, {poem},"
        " each proxy in front of fastpoetry.py",
        [
            "proxy",
            "served",
            "lost",
            "how lost (all rounds)",
            "proxy gave up",
            "upstream fetches",
            "peak RSS MiB",
            "worst",
            "wall s",
            "proxy exited",
        ],
        rows,
        [
            "Figures with '/' are per round; a fresh proxy every round, under"
            f" prlimit --as={MEMORY_LIMIT // 2**30}G.",
            f"'lost' includes clients not served in full within {seconds:g} s;"
            " 'short reply' is a connection closed before the whole poem.",
            "'proxy gave up': clients the proxy hung up on with a 'No poem from'"
            " line; 'upstream fetches': its 'Fetching poem from server.' lines.",
            "'asyncio' is bench/reference.py proxy, a single-flight proxy.",
        ],
    )
    out = Outcome([table], [], {"herd": rounds})
    for label in targeted:
        rs = rounds[label]
        out.targets.append(
            Target(
                f"{label}: {clients}/{clients} served, {clients} clients at once"
                f" on a cold cache, {poem}",
                f"served per round: {per_round(rs, 'served')} of {clients};"
                f" upstream fetches {per_round(rs, 'upstream')};"
                f" peak RSS {per_round(rs, 'peak_rss', mib)} MiB",
                all(x["served"] == clients for x in rs),
            )
        )
    return out
