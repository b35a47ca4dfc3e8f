"""`make bench`: the tutorial's servers under load, beside plain asyncio doing the same job.

    python -m bench                      # everything, about 2 minutes
    python -m bench --json bench.json    # also write every round to a file
    python -m bench --only fastpoetry,proxies --rounds 5

Every server runs in its own process, started from the repository root the
way a learner starts it; the load comes from this process (asyncio, on
uvloop when it is installed), on 127.0.0.1 only. Each figure is the median
of --rounds rounds (at least 3), and the rounds of the servers being
compared are interleaved, so a burst of load from elsewhere on the machine
hits them all alike. Every round is bounded by a request count and a time
limit. CPU per request is the server process's own CPU time (from
/proc/<pid>/schedstat) over the round, divided by the requests it answered.

Scenarios (--only takes their names):

    fastpoetry  fastpoetry.py at concurrency 1, 16, 128, 1024: poems/s,
                p99 and max latency, lost connections, CPU per poem
    large       an 8 MiB generated poem at concurrency 4: MB/s
    transform   transformedpoetry.py at concurrency 16, 128, 1024
    proxies     50 clients at once on a cold cache in front of slowpoetry.py
                (--delay 1): upstream connections, all served? then the
                cached poem at concurrency 16, 128, 1024
    client8     client 8 against 8 slow servers of 1 s: wall time / 1 s
    memory      fastpoetry.py RSS after 1,000 and 20,000 connections

The reference servers are in bench/reference.py; --reactors picks the
Twisted reactors the Twisted servers are measured on (bench/twisted_on.py).
"""

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import load, twisted_on
from tools import launch, syncproc

try:
    import uvloop
except ImportError:  # the figures that need it are marked missing
    uvloop = None

ROOT = launch.ROOT
SCENARIOS = ("fastpoetry", "large", "transform", "proxies", "client8", "memory")
POEM_FILE = "poetry/fascination.txt"  # the tutorial's poem for fastpoetry
TRANSFORM_POEM = "poetry/science.txt"
LARGE_SIZE = 8 * 1024 * 1024
LARGE_COUNT = 160  # poems per round: 1.25 GiB
SLOW_DELAY = 1.0
PROXIES = {
    "proxy 1.0": "twisted-server-1/poetry-proxy.py",
    "proxy 2.0": "twisted-server-2/poetry-proxy.py",
    "proxy 2.1 (waiters)": "twisted-server-2/poetry-proxy-waiters.py",
}
CLIENT8 = "twisted-client-8/get-poetry.py"

# Requests per round at each concurrency, and the most a round may take.
COUNTS = {1: 1500, 16: 8000, 128: 10000, 1024: 20480}
ROUND_SECONDS = 15.0
# A burst's connections still unanswered after this long count as lost (hung).
BURST_SECONDS = 3.0

# The targets of issue 6, section 2.
MAX_LATENCY_TARGET = 0.200
CPU_RATIO_TARGET = 1.5
LARGE_RATIO_TARGET = 0.9
CLIENT8_TARGET = 1.1
MEMORY_TARGET = 1024 * 1024
# The original examples as issue 6 measured them (another load generator),
# with the reference figure it gave beside each: (rate, reference, its rate).
ORIGINAL = {
    "fastpoetry": (36_500, "asyncio", 29_000),
    "transform": (26_000, "asyncio+uvloop", 44_000),
}


# With two CPUs or more, the load generator runs on the first and the servers
# on the others (see pin_cpus), so the scheduler cannot put a server on the
# load generator's CPU, where the two would take turns on one core.
SERVER_CPUS = None


def pin_cpus():
    """Keep this process on one CPU and the servers on the rest; describe it."""
    global SERVER_CPUS
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    os.sched_setaffinity(0, {cpus[0]})
    SERVER_CPUS = set(cpus[1:])
    return f"load generator on CPU {cpus[0]}, servers on CPU {', '.join(map(str, cpus[1:]))}"


# -- measuring a process ----------------------------------------------------


def cpu_seconds(pid):
    """CPU time used so far by every thread of `pid`, in seconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that just ended
            pass
    return total / 1e9


def user_system_seconds(pid):
    """User and kernel CPU time of `pid` so far, in seconds (10 ms resolution)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def rss_bytes(pid):
    """Resident memory of `pid`, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# -- the servers being compared ---------------------------------------------


@dataclass
class Server:
    """A server under test: its label and its command line."""

    label: str
    argv: list
    child: syncproc.Child = None

    def start(self):
        self.child = syncproc.start(self.argv, timeout=20.0)
        if SERVER_CPUS:
            os.sched_setaffinity(self.child.pid, SERVER_CPUS)
        return self

    def stop(self):
        if self.child is not None:
            self.child.close()
            self.child = None

    @property
    def port(self):
        return self.child.port

    @property
    def pid(self):
        return self.child.pid


def reactor_label(reactor):
    return "twisted" if reactor == "default" else f"twisted on {reactor}"


def twisted_argv(reactor, script, *args):
    if reactor == "default":
        return launch.python_argv(script, *args)
    return launch.python_argv("bench/twisted_on.py", reactor, script, *args)


def twisted_servers(reactors, script, *args):
    return [Server(reactor_label(r), twisted_argv(r, script, *args)) for r in reactors]


def slow_server(label):
    """slowpoetry.py: POEM_FILE in one piece at once, the close SLOW_DELAY s later."""
    return Server(
        label,
        twisted_argv(
            "default",
            "twisted-server-1/slowpoetry.py",
            "--delay",
            SLOW_DELAY,
            "--num-bytes",
            1_000_000,
            POEM_FILE,
        ),
    )


def reference_servers(job, *args):
    servers = [Server("asyncio", launch.python_argv("bench/reference.py", job, *args))]
    if uvloop is not None:
        argv = launch.python_argv("bench/reference.py", job, *args, "--uvloop")
        servers.append(Server("asyncio+uvloop", argv))
    return servers


# -- progress on stderr -----------------------------------------------------


class Progress:
    """A progress line on stderr: redrawn on a terminal, one line per step otherwise."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()

    def show(self, text, final=False, tick=False):
        if tick and not self.tty:
            return
        elapsed = time.monotonic() - self.started
        line = f"[{elapsed:5.1f} s] {text}"
        if self.tty:
            sys.stderr.write("\r\033[K" + line[:150] + ("\n" if final else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def tick(self, what):
        def on_tick(result, seconds):
            self.show(
                f"{what}: {result.requests:,} done, {result.lost} lost, {seconds:.1f} s",
                tick=True,
            )

        return on_tick


# -- one table of rates -----------------------------------------------------


@dataclass
class Figures:
    """The rounds of one server at one concurrency, and their medians."""

    rounds: list = field(default_factory=list)

    def add(self, result, cpu, client_cpu, user=0.0, system=0.0):
        self.rounds.append(
            {
                "requests": result.requests,
                "lost": result.lost,
                "errors": result.errors,
                "seconds": result.seconds,
                "rate": result.rate,
                "mb_per_s": result.bytes / result.seconds / 1e6,
                "p50_ms": result.percentile(50) * 1e3,
                "p99_ms": result.percentile(99) * 1e3,
                "max_ms": max(result.latencies, default=float("nan")) * 1e3,
                "cpu_us": cpu / max(result.requests, 1) * 1e6,
                "user_us": user / max(result.requests, 1) * 1e6,
                "system_us": system / max(result.requests, 1) * 1e6,
                "client_cpu_us": client_cpu / max(result.requests, 1) * 1e6,
            }
        )

    def median(self, key):
        return statistics.median(r[key] for r in self.rounds)

    def worst(self, key):
        return max(r[key] for r in self.rounds)

    @property
    def lost(self):
        return sum(r["lost"] for r in self.rounds)

    def summary(self):
        keys = ("rate", "mb_per_s", "p50_ms", "p99_ms", "max_ms", "cpu_us")
        more = ("client_cpu_us", "user_us", "system_us")
        out = {key: self.median(key) for key in keys + more}
        out["worst_max_ms"] = self.worst("max_ms")
        out["lost"] = self.lost
        out["rounds"] = self.rounds
        return out


async def measure_rates(
    progress, name, servers, levels, rounds, expect, request=b"", count=None
):
    """Interleaved rounds of every server at every concurrency; {label: {c: Figures}}."""
    figures = {s.label: {c: Figures() for c in levels} for s in servers}
    for server in servers:  # warm up: imports, caches, first allocations
        await load.hammer(
            server.port,
            concurrency=16,
            count=500,
            seconds=10,
            expect=expect,
            request=request,
        )
    for c in levels:
        n = count or COUNTS[c]
        for r in range(rounds):
            for server in servers:
                what = f"{name} c={c} {server.label} round {r + 1}/{rounds}"
                progress.show(what)
                cpu0, client0 = cpu_seconds(server.pid), time.process_time()
                user0, sys0 = user_system_seconds(server.pid)
                result = await load.hammer(
                    server.port,
                    concurrency=c,
                    count=n,
                    seconds=ROUND_SECONDS,
                    expect=expect,
                    request=request,
                    on_tick=progress.tick(what),
                )
                cpu1, client1 = cpu_seconds(server.pid), time.process_time()
                user1, sys1 = user_system_seconds(server.pid)
                figures[server.label][c].add(
                    result, cpu1 - cpu0, client1 - client0, user1 - user0, sys1 - sys0
                )
    return figures


def rate_rows(figures, unit):
    """Table rows from measure_rates, with ratios to asyncio (rate) and uvloop (CPU)."""
    rows = []
    levels = sorted(next(iter(figures.values())))
    for c in levels:
        base = figures.get("asyncio", {}).get(c)
        fast = figures.get("asyncio+uvloop", {}).get(c)
        for label, by_level in figures.items():
            f = by_level[c]
            rate = f.median("rate")
            cpu = f.median("cpu_us")
            rows.append(
                [
                    label,
                    c,
                    f"{rate:,.0f}",
                    ratio(rate, base.median("rate") if base else None),
                    f"{f.median('p99_ms'):.1f}",
                    f"{f.median('max_ms'):.1f}",
                    f"{f.lost}",
                    f"{cpu:.1f}",
                    ratio(cpu, fast.median("cpu_us") if fast else None),
                    f"{f.median('client_cpu_us'):.1f}",
                ]
            )
    header = [
        "server",
        "conc",
        f"{unit}/s",
        "×asyncio",
        "p99 ms",
        "max ms",
        "lost",
        f"CPU µs/{unit[:-1] if unit.endswith('s') else unit}",
        "CPU ×uvloop",
        "client µs",
    ]
    return header, rows


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def summarise(figures):
    return {
        label: {str(c): f.summary() for c, f in by_level.items()}
        for label, by_level in figures.items()
    }


# -- the scenarios ----------------------------------------------------------


class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.rounds = args.rounds
        self.progress = Progress()
        self.tables = []  # (title, header, rows, notes)
        self.results = {}
        self.targets = []  # (target, measured, reached)

    def table(self, title, header, rows, notes=()):
        self.tables.append((title, header, rows, list(notes)))

    def target(self, what, measured, reached):
        self.targets.append((what, measured, reached))

    def servers(self, *groups):
        return [s for group in groups for s in group]

    async def run_servers(self, servers, body):
        """Start every server, run `body()`, always stop them."""
        try:
            for server in servers:
                self.progress.show(f"starting {server.label}")
                server.start()
            return await body()
        finally:
            for server in servers:
                server.stop()

    # fastpoetry ------------------------------------------------------------

    async def fastpoetry(self):
        poem = (ROOT / POEM_FILE).read_bytes()
        servers = self.servers(
            twisted_servers(
                self.args.reactors, "twisted-server-1/fastpoetry.py", POEM_FILE
            ),
            reference_servers("poetry", POEM_FILE),
        )
        levels = [1, 16, 128, 1024]
        figures = await self.run_servers(
            servers,
            lambda: measure_rates(
                self.progress, "fastpoetry", servers, levels, self.rounds, poem
            ),
        )
        header, rows = rate_rows(figures, "poems")
        self.table(
            f"fastpoetry.py ({POEM_FILE}, {len(poem)} bytes), every poem's bytes checked",
            header,
            rows,
            [
                "Each client connects, reads the poem to the end, and connects again;"
                " 'client µs' is the load generator's own CPU per poem."
            ],
        )
        self.results["fastpoetry"] = summarise(figures)
        self.check_bursts("fastpoetry.py", figures["twisted"])
        self.check_cpu("fastpoetry.py", figures, "fastpoetry", "poems")
        await self.bursts(poem)

    async def bursts(self, poem):
        """Every client connecting at the same moment, with our backlog and the original's."""
        servers = [
            Server(
                f"twisted --backlog {backlog}",
                twisted_argv(
                    "default",
                    "twisted-server-1/fastpoetry.py",
                    "--backlog",
                    backlog,
                    POEM_FILE,
                ),
            )
            for backlog in (1024, 50)
        ]

        async def body():
            rounds = {}
            for clients in (128, 1024):
                for r in range(self.rounds):
                    for server in servers:
                        self.progress.show(
                            f"burst of {clients}: {server.label} round {r + 1}"
                        )
                        result = await load.burst(
                            server.port, clients, seconds=BURST_SECONDS, expect=poem
                        )
                        rounds.setdefault((server.label, clients), []).append(
                            {
                                "served": result.requests,
                                "lost": result.lost,
                                "errors": result.errors,
                                "max_ms": max(result.latencies, default=float("nan"))
                                * 1e3,
                            }
                        )
            return rounds

        rounds = await self.run_servers(servers, body)
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
        self.table(
            "fastpoetry.py, a burst: every client connects at the same moment, once",
            ["server", "clients", "served (worst)", "max ms", "lost"],
            rows,
            [
                "--backlog 50 is Twisted's default, which the original used; 'lost'"
                f" are connections still unanswered after {BURST_SECONDS:g} s."
            ],
        )
        self.results["bursts"] = {
            f"{label} / {clients}": rs for (label, clients), rs in rounds.items()
        }

    def check_bursts(self, what, by_level):
        for c in (128, 1024):
            f = by_level[c]
            worst = f.worst("max_ms")
            self.target(
                f"{what} at concurrency {c}: no connection lost, max latency < 200 ms",
                f"{f.lost} lost, worst max {worst:.0f} ms over {len(f.rounds)} rounds",
                f.lost == 0 and worst < MAX_LATENCY_TARGET * 1e3,
            )

    def check_cpu(self, what, figures, original_key, unit):
        rate = figures["twisted"][16].median("rate")
        original, reference, original_reference = ORIGINAL[original_key]
        relative = ""
        if reference in figures:
            # The original cannot run here; its rate relative to a reference
            # server measured in the same run is shown beside, for context.
            here = figures[reference][16].median("rate")
            relative = (
                f"; relative to {reference}: {rate / here:.2f}× here,"
                f" the original {original / original_reference:.2f}× in issue 6"
            )
        self.target(
            f"{what}: at least the original's rate (c=16)",
            f"{rate:,.0f} {unit}/s, the original {original:,}/s in issue 6" + relative,
            rate >= original,
        )
        if "asyncio+uvloop" not in figures:
            return
        fast = figures["asyncio+uvloop"][16]

        def split(f):
            return (
                f"{f.median('cpu_us'):.1f} µs (user {f.median('user_us'):.1f},"
                f" kernel {f.median('system_us'):.1f})"
            )

        for label in figures:
            if not label.startswith("twisted"):
                continue
            f = figures[label][16]
            times = f.median("cpu_us") / fast.median("cpu_us")
            self.target(
                f"{what} ({label}): CPU per request within {CPU_RATIO_TARGET}×"
                " of asyncio+uvloop (c=16)",
                f"{split(f)} vs {split(fast)}: {times:.2f}×",
                times <= CPU_RATIO_TARGET,
            )

    # the 8 MiB poem --------------------------------------------------------

    async def large(self):
        path = Path(self.tmp) / "large-poem.txt"
        line = b"a line of a very long generated poem, for the large-poem bench\n"
        data = (line * (LARGE_SIZE // len(line) + 1))[:LARGE_SIZE]
        path.write_bytes(data)
        servers = self.servers(
            twisted_servers(self.args.reactors, "twisted-server-1/fastpoetry.py", path),
            reference_servers("poetry", path),
        )
        figures = await self.run_servers(
            servers,
            lambda: measure_rates(
                self.progress,
                "8 MiB poem",
                servers,
                [4],
                self.rounds,
                LARGE_SIZE,
                count=LARGE_COUNT,
            ),
        )
        base = figures["asyncio"][4].median("mb_per_s")
        rows = []
        for label, by_level in figures.items():
            f = by_level[4]
            mbs = f.median("mb_per_s")
            rows.append(
                [
                    label,
                    4,
                    f"{mbs:,.0f}",
                    ratio(mbs, base),
                    f"{f.median('max_ms'):.0f}",
                    f"{f.lost}",
                    f"{f.median('cpu_us') / 1e3:.2f}",
                ]
            )
        self.table(
            "fastpoetry.py with an 8 MiB generated poem, byte count checked",
            ["server", "conc", "MB/s", "×asyncio", "max ms", "lost", "CPU ms/poem"],
            rows,
        )
        self.results["large"] = summarise(figures)
        mbs = figures["twisted"][4].median("mb_per_s")
        self.target(
            f"8 MiB poem: ≥ {LARGE_RATIO_TARGET}× plain asyncio's MB/s",
            f"{mbs:,.0f} vs {base:,.0f} MB/s: {mbs / base:.2f}×",
            mbs / base >= LARGE_RATIO_TARGET,
        )

    # the transformation server ---------------------------------------------

    async def transform(self):
        poem = (ROOT / TRANSFORM_POEM).read_bytes()
        request = b"cummingsify." + poem
        request = b"%d:%s," % (len(request), request)
        answer = poem.decode("utf-8").lower().encode("utf-8")
        expect = b"%d:%s," % (len(answer), answer)
        servers = self.servers(
            twisted_servers(
                self.args.reactors, "twisted-server-1/transformedpoetry.py"
            ),
            reference_servers("transform"),
        )
        levels = [16, 128, 1024]
        figures = await self.run_servers(
            servers,
            lambda: measure_rates(
                self.progress,
                "transform",
                servers,
                levels,
                self.rounds,
                expect,
                request=request,
            ),
        )
        header, rows = rate_rows(figures, "transforms")
        self.table(
            f"transformedpoetry.py (cummingsify {TRANSFORM_POEM}), every reply checked",
            header,
            rows,
        )
        self.results["transform"] = summarise(figures)
        self.check_bursts("transformedpoetry.py", figures["twisted"])
        self.check_cpu("transformedpoetry.py", figures, "transform", "transforms")

    # the proxies -----------------------------------------------------------

    def proxy_servers(self, upstream_port):
        servers = []
        for label, script in PROXIES.items():
            if (ROOT / script).exists():
                argv = twisted_argv("default", script, upstream_port)
                servers.append(Server(label, argv))
        servers.append(
            Server(
                "asyncio",
                launch.python_argv("bench/reference.py", "proxy", upstream_port),
            )
        )
        return servers

    async def proxies(self):
        poem = (ROOT / POEM_FILE).read_bytes()
        slow = slow_server("slowpoetry.py --delay 1")
        await self.run_servers([slow], lambda: self.proxies_behind(slow, poem))

    async def proxies_behind(self, slow, poem):
        cold = {}
        for r in range(self.rounds):
            # A fresh proxy for every cold round: its cache starts empty.
            for server in self.proxy_servers(slow.port):
                what = f"proxies cold: {server.label} round {r + 1}/{self.rounds}"
                self.progress.show(what)
                before = slow.child.count(rb"wants poetry")

                async def fifty(server=server):
                    return await load.burst(server.port, 50, seconds=10.0, expect=poem)

                result = await self.run_servers([server], fifty)
                upstream = slow.child.count(rb"wants poetry") - before
                cold.setdefault(server.label, []).append(
                    {
                        "upstream": upstream,
                        "served": result.requests,
                        "lost": result.lost,
                        "seconds": result.seconds,
                        "max_ms": max(result.latencies, default=float("nan")) * 1e3,
                    }
                )
        servers = self.proxy_servers(slow.port)
        levels = [16, 128, 1024]

        async def warm():
            for server in servers:  # fill each cache before the clock starts
                await load.burst(server.port, 1, seconds=10.0, expect=poem)
            return await measure_rates(
                self.progress, "proxies cached", servers, levels, self.rounds, poem
            )

        figures = await self.run_servers(servers, warm)

        rows = []
        for label, rounds in cold.items():
            rows.append(
                [
                    label,
                    f"{statistics.median(x['upstream'] for x in rounds):g}",
                    "/".join(str(x["upstream"]) for x in rounds),
                    f"{min(x['served'] for x in rounds)}/50",
                    f"{statistics.median(x['seconds'] for x in rounds):.2f}",
                ]
            )
        self.table(
            f"proxies, 50 clients at once on a cold cache, upstream slowpoetry.py --delay {SLOW_DELAY:g}",
            ["proxy", "upstream conns", "per round", "got the poem (worst)", "wall s"],
            rows,
            ["'asyncio' is bench/reference.py proxy, a single-flight proxy."],
        )
        header, rows = rate_rows(figures, "poems")
        self.table("proxies, cached poem, every poem checked", header, rows)
        self.results["proxies_cold"] = cold
        self.results["proxies_cached"] = summarise(figures)

        for label, rounds in cold.items():
            if "waiters" in label:
                self.target(
                    "single-flight proxy: exactly 1 upstream connection for 50 cold clients",
                    "upstream connections per round: "
                    + ", ".join(str(x["upstream"]) for x in rounds)
                    + f"; poems served: {', '.join(str(x['served']) for x in rounds)}/50",
                    all(x["upstream"] == 1 and x["served"] == 50 for x in rounds),
                )
        for label in PROXIES:
            if label in figures:
                self.check_bursts(label, figures[label])

    # client 8 --------------------------------------------------------------

    async def client8(self):
        if not (ROOT / CLIENT8).exists():
            self.table(
                "client 8", ["note"], [[f"{CLIENT8} is not in the repository yet"]]
            )
            return
        slow = [slow_server(f"slow {i}") for i in range(8)]
        fast = [
            Server(
                f"fast {i}",
                twisted_argv("default", "twisted-server-1/fastpoetry.py", POEM_FILE),
            )
            for i in range(8)
        ]
        transform = Server(
            "transform",
            twisted_argv("default", "twisted-server-1/transformedpoetry.py"),
        )
        all_servers = [transform, *slow, *fast]

        async def body():
            expected = (ROOT / POEM_FILE).read_text("utf-8").lower()
            runs = {}
            commands = {
                "client 8, 8 slow servers": launch.python_argv(
                    CLIENT8, transform.port, *(s.port for s in slow)
                ),
                "client 8, 8 fast servers (start-up)": launch.python_argv(
                    CLIENT8, transform.port, *(s.port for s in fast)
                ),
                "asyncio client, 8 slow servers": launch.python_argv(
                    "bench/reference.py",
                    "client",
                    transform.port,
                    *(s.port for s in slow),
                ),
            }
            for r in range(self.rounds):
                for label, argv in commands.items():
                    self.progress.show(f"client 8: {label} round {r + 1}/{self.rounds}")
                    t0 = time.perf_counter()
                    done = syncproc.run(argv, timeout=30.0)
                    wall = time.perf_counter() - t0
                    text = done.stdout.decode("utf-8", errors="replace")
                    ok = done.returncode == 0 and text.count(expected.strip()) == 8
                    runs.setdefault(label, []).append(
                        {"wall": wall, "ok": ok, "status": done.returncode}
                    )
            return runs

        runs = await self.run_servers(all_servers, body)
        med = {
            label: statistics.median(x["wall"] for x in rs)
            for label, rs in runs.items()
        }
        rows = [
            [
                label,
                f"{med[label]:.3f}",
                f"{med[label] / SLOW_DELAY:.2f}",
                "yes" if all(x["ok"] for x in rs) else "NO",
            ]
            for label, rs in runs.items()
        ]
        self.table(
            f"client 8 (one transform server, 8 poetry servers; slow = --delay {SLOW_DELAY:g})",
            ["run", "wall s", "wall / 1 s", "8 poems, transformed, status 0"],
            rows,
        )
        self.results["client8"] = runs
        slow_wall = med["client 8, 8 slow servers"]
        startup = med["client 8, 8 fast servers (start-up)"]
        self.target(
            f"client 8: wall ≤ {CLIENT8_TARGET} × {SLOW_DELAY:g} s + start-up",
            f"{slow_wall:.3f} s; start-up (same client, fast servers) {startup:.3f} s;"
            f" (wall - start-up) / 1 s = {(slow_wall - startup) / SLOW_DELAY:.2f}",
            slow_wall <= CLIENT8_TARGET * SLOW_DELAY + startup
            and all(x["ok"] for x in runs["client 8, 8 slow servers"]),
        )

    # memory ------------------------------------------------------------------

    async def memory(self):
        poem = (ROOT / POEM_FILE).read_bytes()
        # A Server starts a fresh process each time, so every round starts cold.
        servers = twisted_servers(
            ["default"], "twisted-server-1/fastpoetry.py", POEM_FILE
        ) + reference_servers("poetry", POEM_FILE)
        samples = {}
        for r in range(self.rounds):
            for server in servers:

                async def body(server=server, r=r):
                    self.progress.show(
                        f"memory: {server.label} round {r + 1}/{self.rounds}"
                    )
                    start = rss_bytes(server.pid)
                    first = await load.hammer(
                        server.port, concurrency=16, count=1000, seconds=30, expect=poem
                    )
                    after_1k = rss_bytes(server.pid)
                    rest = await load.hammer(
                        server.port,
                        concurrency=16,
                        count=19000,
                        seconds=60,
                        expect=poem,
                    )
                    after_20k = rss_bytes(server.pid)
                    return {
                        "start": start,
                        "after_1k": after_1k,
                        "after_20k": after_20k,
                        "served": first.requests + rest.requests,
                        "lost": first.lost + rest.lost,
                    }

                sample = await self.run_servers([server], body)
                samples.setdefault(server.label, []).append(sample)
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
        self.table(
            "fastpoetry.py memory (RSS), a fresh server per round, concurrency 16",
            [
                "server",
                "start MiB",
                "1,000 conns MiB",
                "20,000 conns MiB",
                "growth 1k→20k KiB",
                "lost",
            ],
            rows,
        )
        self.results["memory"] = samples
        tw = samples["twisted"]
        growths = [s["after_20k"] - s["after_1k"] for s in tw]
        self.target(
            "fastpoetry.py: memory growth < 1 MiB over 20,000 connections",
            "growth after the first 1,000 connections, per round: "
            + ", ".join(f"{g / 1024:+.0f} KiB" for g in growths)
            + "; from start-up to 20,000: "
            + ", ".join(f"{(s['after_20k'] - s['start']) / 1024:+.0f} KiB" for s in tw),
            max(growths) < MEMORY_TARGET,
        )

    # output ------------------------------------------------------------------

    def render(self, meta):
        lines = [
            f"make bench, {meta['date']}: {meta['machine']}",
            f"load generator: {meta['load_generator']}; {meta['cpus']};",
            f"medians of {self.rounds} rounds; took {meta['seconds']:.0f} s",
            "",
        ]
        for title, header, rows, notes in self.tables:
            lines.append(title)
            widths = [
                max(len(str(x)) for x in col)
                for col in zip(header, *rows, strict=False)
            ]
            lines.append("  " + format_row(header, widths))
            lines.extend("  " + format_row(row, widths) for row in rows)
            lines.extend("  " + note for note in notes)
            lines.append("")
        if self.targets:
            lines.append("targets (issue 6, section 2)")
            for what, measured, reached in self.targets:
                lines.append(f"  [{'reached' if reached else 'NOT reached'}] {what}")
                lines.append(f"      {measured}")
        return "\n".join(lines)


def format_row(row, widths):
    """The first column left-aligned, the figures right-aligned."""
    return "  ".join(
        str(x).ljust(w) if i == 0 else str(x).rjust(w)
        for i, (x, w) in enumerate(zip(row, widths, strict=False))
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per figure (default: 3)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all: {','.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the scheduler place the load generator and the servers",
    )
    parser.add_argument(
        "--reactors",
        default=os.environ.get("BENCH_REACTORS", "default,asyncio-uvloop"),
        help="Twisted reactors to measure fastpoetry, the large poem and the"
        " transform server on, from bench/twisted_on.py (default:"
        " default,asyncio-uvloop; or set BENCH_REACTORS)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 3:
        parser.error(
            f"--rounds must be at least 3 (every figure is a median), not {args.rounds}"
        )
    args.only = [s for s in args.only.split(",") if s]
    for name in args.only:
        if name not in SCENARIOS:
            parser.error(f"no scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    args.reactors = [r for r in args.reactors.split(",") if r]
    unknown = [r for r in args.reactors if r not in twisted_on.REACTORS]
    if unknown:
        parser.error(
            f"no reactor {unknown[0]!r}; choose from {', '.join(twisted_on.REACTORS)}"
        )
    if "default" not in args.reactors:
        args.reactors.insert(0, "default")
    if uvloop is None and "asyncio-uvloop" in args.reactors:
        args.reactors.remove("asyncio-uvloop")
    return args


def machine():
    import twisted

    cpus = os.cpu_count()
    load1 = os.getloadavg()[0]
    uv = f", uvloop {uvloop.__version__}" if uvloop else ", no uvloop"
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, load {load1:.2f} at"
        f" start; Python {platform.python_version()}, Twisted {twisted.__version__}{uv}"
    )


async def main_async(args, bench):
    for name in args.only:
        await getattr(bench, name)()


def main(argv=None):
    args = parse_args(argv)
    # 1,024 clients here and 1,024 connections in the server, plus the rest.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

    started = time.monotonic()
    cpus = pin_cpus() if args.pin else "not pinned (--no-pin)"
    meta = {
        "cpus": cpus,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "load_generator": "this process, asyncio on "
        + ("uvloop" if uvloop else "its own event loop"),
        "rounds": args.rounds,
        "reactors": args.reactors,
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        bench = Bench(args, tmp)
        runner = uvloop.run if uvloop else asyncio.run
        try:
            runner(main_async(args, bench))
        except KeyboardInterrupt:
            bench.progress.show("interrupted", final=True)
            return 130
    meta["seconds"] = time.monotonic() - started
    bench.progress.show("done", final=True)
    print(bench.render(meta))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(
                {
                    "meta": meta,
                    "results": bench.results,
                    "targets": [
                        {"target": t, "measured": m, "reached": ok}
                        for t, m, ok in bench.targets
                    ],
                },
                f,
                indent=1,
                default=str,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
