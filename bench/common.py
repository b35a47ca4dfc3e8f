"""What every scenario of `make bench` uses.

- the servers under test: `Variant` (a script and its options, one line in a
  scenario's list), `Server` (one running process), the reference servers,
  and CPU pinning;
- reading a process from /proc: CPU time, resident and peak memory;
- rounds and medians: `measure_rates` runs interleaved rounds, `Figures`
  keeps them, `rate_rows` turns them into a table;
- the output: `Table`, `Target`, `Outcome` (what a scenario returns), and the
  `Progress` line on stderr;
- `Context`: what the entry point hands to every scenario.
"""

import os
import runpy
import statistics
import sys
import time
import timeit
from dataclasses import dataclass, field
from pathlib import Path

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from bench import load
from tools import launch, syncproc

try:
    import uvloop
except ImportError:  # the figures that need it are left out
    uvloop = None

ROOT = launch.ROOT
POEM_FILE = "poetry/fascination.txt"  # the tutorial's poem, for fastpoetry.py
FASTPOETRY = launch.FASTPOETRY
SLOW_DELAY = 1.0  # seconds slowpoetry.py waits before it closes

# Requests per round at each concurrency, and the most a round may take.
COUNTS = {1: 1500, 16: 8000, 128: 10000, 1024: 20480}
ROUND_SECONDS = 15.0
# Requests at concurrency 16 to each server before the rounds start.
WARM_UP = 500

# The generated large poem (the large and herd scenarios).
LARGE_SIZE = 8 * 1024 * 1024
LARGE_LINE = b"a line of a very long generated poem, for the large-poem bench\n"

# Shared by several scenarios' targets.
MAX_LATENCY_TARGET = 0.200  # seconds, at concurrency 128 and 1024
CPU_RATIO_TARGET = 1.5  # Twisted's CPU per request over asyncio+uvloop's
# The most the ServerGuard around a server's factory may cost of its rate.
GUARD_COST_TARGET = 0.05
# A server run without its ServerGuard: the script that does it, and its label.
UNGUARDED_SCRIPT = "bench/unguarded.py"
UNGUARDED = "twisted, no guard"


# -- the servers under test -------------------------------------------------

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


@dataclass(frozen=True)
class Variant:
    """One Twisted script a scenario measures: its label, path and options.

    Each scenario keeps a list of these; adding a line there adds a server
    (another script, or the same one with other options) to its tables.
    """

    label: str
    script: str
    options: tuple = ()

    def label_on(self, reactor):
        return self.label if reactor == "default" else f"{self.label} on {reactor}"

    def server(self, *args, reactor="default", memory_limit=None):
        """A Server that runs this script with its options, then `args`."""
        return Server(
            self.label_on(reactor),
            twisted_argv(reactor, self.script, *self.options, *args),
            variant=self,
            reactor=reactor,
            memory_limit=memory_limit,
        )

    def exists(self):
        return (ROOT / self.script).exists()


@dataclass
class Server:
    """A server under test: its label, its command line, and its process."""

    label: str
    argv: list
    variant: Variant = None  # None for the reference servers
    reactor: str = "default"
    memory_limit: int = None  # bytes of address space, through prlimit
    child: syncproc.Child = None

    def start(self):
        argv = self.argv
        if self.memory_limit:
            argv = ["prlimit", f"--as={self.memory_limit}", *argv]
        self.child = syncproc.start(argv, timeout=20.0)
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


def twisted_argv(reactor, script, *args):
    if reactor == "default":
        return launch.python_argv(script, *args)
    return launch.python_argv("bench/twisted_on.py", reactor, script, *args)


def twisted_servers(variants, reactors, *args):
    """Every variant that exists, on every reactor in `reactors`."""
    return [
        v.server(*args, reactor=r) for v in variants if v.exists() for r in reactors
    ]


def slow_server(label):
    """slowpoetry.py: POEM_FILE in one piece at once, the close SLOW_DELAY s later."""
    slow = Variant(label, launch.SLOWPOETRY)
    return slow.server("--delay", SLOW_DELAY, "--num-bytes", 1_000_000, POEM_FILE)


def reference_servers(job, *args):
    """bench/reference.py doing `job`, on asyncio and (when installed) uvloop."""
    servers = [Server("asyncio", launch.python_argv("bench/reference.py", job, *args))]
    if uvloop is not None:
        argv = launch.python_argv("bench/reference.py", job, *args, "--uvloop")
        servers.append(Server("asyncio+uvloop", argv))
    return servers


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


def memory_bytes(pid, key="VmRSS"):
    """A memory figure of `pid` from /proc/<pid>/status, in bytes.

    VmRSS is the resident memory now, VmHWM the most it has ever been.
    """
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} for {pid}")


# -- rounds and medians -----------------------------------------------------


@dataclass
class Figures:
    """The rounds of one server at one concurrency, and their medians."""

    rounds: list = field(default_factory=list)

    def add(self, result, cpu, client_cpu, user=0.0, system=0.0):
        n = max(result.requests, 1)
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
                "cpu_us": cpu / n * 1e6,
                "user_us": user / n * 1e6,
                "system_us": system / n * 1e6,
                "client_cpu_us": client_cpu / n * 1e6,
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
    ctx, name, servers, levels, expect, request=b"", count=None, warm_up=True
):
    """Interleaved rounds of every server at every concurrency; {label: {c: Figures}}.

    The servers must be running. Within a concurrency level, round 1 of every
    server comes before round 2 of any, so a burst of load from elsewhere on
    the machine hits them all alike.
    """
    figures = {s.label: {c: Figures() for c in levels} for s in servers}
    if warm_up:  # imports, caches, first allocations
        for server in servers:
            await load.hammer(
                server.port,
                concurrency=16,
                count=WARM_UP,
                seconds=10,
                expect=expect,
                request=request,
            )
    for c in levels:
        n = count or COUNTS[c]
        for r in range(ctx.rounds):
            for server in servers:
                what = f"{name} c={c} {server.label} round {r + 1}/{ctx.rounds}"
                ctx.progress.show(what)
                cpu0, client0 = cpu_seconds(server.pid), time.process_time()
                user0, sys0 = user_system_seconds(server.pid)
                result = await load.hammer(
                    server.port,
                    concurrency=c,
                    count=n,
                    seconds=ROUND_SECONDS,
                    expect=expect,
                    request=request,
                    on_tick=ctx.progress.tick(what),
                )
                cpu1, client1 = cpu_seconds(server.pid), time.process_time()
                user1, sys1 = user_system_seconds(server.pid)
                figures[server.label][c].add(
                    result, cpu1 - cpu0, client1 - client0, user1 - user0, sys1 - sys0
                )
    return figures


def ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def rate_table(title, figures, unit, notes=()):
    """A Table of measure_rates' figures, with ratios to asyncio (rate) and uvloop (CPU)."""
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
    one = unit[:-1] if unit.endswith("s") else unit
    header = [
        "server",
        "conc",
        f"{unit}/s",
        "×asyncio",
        "p99 ms",
        "max ms",
        "lost",
        f"CPU µs/{one}",
        "CPU ×uvloop",
        "client µs",
    ]
    return Table(title, header, rows, list(notes))


def summarise(figures):
    """measure_rates' figures as plain dicts, for --json."""
    return {
        label: {str(c): f.summary() for c, f in by_level.items()}
        for label, by_level in figures.items()
    }


# -- targets shared by several scenarios ------------------------------------


def no_loss_targets(what, by_level, levels=(128, 1024)):
    """No connection lost and max latency under the target, at each level."""
    targets = []
    for c in levels:
        f = by_level[c]
        worst = f.worst("max_ms")
        targets.append(
            Target(
                f"{what} at concurrency {c}: no connection lost,"
                f" max latency < {MAX_LATENCY_TARGET * 1e3:.0f} ms",
                f"{f.lost} lost, worst max {worst:.0f} ms over {len(f.rounds)} rounds",
                f.lost == 0 and worst < MAX_LATENCY_TARGET * 1e3,
            )
        )
    return targets


def original_rate_target(what, label, figures, original, unit, level=16):
    """At least the rate the original example reached, at concurrency `level`.

    `original` is (its rate, a reference server, that server's rate), the
    original measured beside the reference with another load generator. The
    original cannot run here; its rate relative to its reference is shown
    beside ours relative to the same reference in this run, for context.
    """
    rate = figures[label][level].median("rate")
    theirs, reference, theirs_reference = original
    measured = (
        f"{rate:,.0f} {unit}/s; the original {theirs:,}/s"
        " (measured with another load generator)"
    )
    if reference in figures:
        here = figures[reference][level].median("rate")
        measured += (
            f"; relative to {reference}: {rate / here:.2f}× here,"
            f" the original {theirs / theirs_reference:.2f}× then"
        )
    return Target(
        f"{what} ({label}): at least the original's rate (c={level})",
        measured,
        rate >= theirs,
    )


def cpu_ratio_targets(what, figures, servers, level=16):
    """Each Twisted server's CPU per request within the target of asyncio+uvloop's."""
    if "asyncio+uvloop" not in figures:
        return []
    fast = figures["asyncio+uvloop"][level]

    def split(f):
        return (
            f"{f.median('cpu_us'):.1f} µs (user {f.median('user_us'):.1f},"
            f" kernel {f.median('system_us'):.1f})"
        )

    targets = []
    for server in servers:
        # A reference server, or one without its guard (not what the text runs).
        if server.variant is None or server.variant.script == UNGUARDED_SCRIPT:
            continue
        label = server.label
        f = figures[label][level]
        times = f.median("cpu_us") / fast.median("cpu_us")
        targets.append(
            Target(
                f"{what} ({label}): CPU per request within {CPU_RATIO_TARGET}×"
                f" of asyncio+uvloop (c={level})",
                f"{split(f)} vs {split(fast)}: {times:.2f}×",
                times <= CPU_RATIO_TARGET,
            )
        )
    return targets


def unguarded(script, label=UNGUARDED):
    """The Variant that runs `script` without its ServerGuard, to show what it costs."""
    return Variant(label, UNGUARDED_SCRIPT, (script,))


def guard_overhead_us(script, make_factory, request=b""):
    """The CPU the ServerGuard adds to one connection, in µs, measured here.

    The script's classes are loaded in this process (its main() does not
    run). A connection is built from `make_factory(namespace)`, made on a
    StringTransport, sent `request`, and lost; with the factory alone, then
    with the guard around it. Best of several repeats: a difference of a
    microsecond or two, which rates measured over the network cannot show
    through their run-to-run noise.
    """
    namespace = runpy.run_path(str(ROOT / script), run_name="bench")
    factory = make_factory(namespace)
    guard = namespace["ServerGuard"](factory, 60.0)
    address = IPv4Address("TCP", "127.0.0.1", 12345)
    done = Failure(ConnectionDone())

    def one(wrapping):
        proto = wrapping.buildProtocol(address)
        proto.makeConnection(StringTransport())
        if request:
            proto.dataReceived(request)
        proto.connectionLost(done)

    def best(wrapping, number=3000):
        runs = timeit.repeat(lambda: one(wrapping), number=number, repeat=7)
        return min(runs) / number * 1e6

    return best(guard) - best(factory)


def guard_cost_targets(what, figures, overhead_us, label="twisted", level=16):
    """The ServerGuard's share of the CPU per request of the server it wraps (c=level).

    `overhead_us` comes from guard_overhead_us; the server's CPU per request
    from the same run's figures. (The "no guard" rows of the tables show the
    same comparison over the network, within that measurement's noise.)
    """
    if label not in figures:
        return []
    per_request = figures[label][level].median("cpu_us")
    share = overhead_us / per_request
    return [
        Target(
            f"{what}: the ServerGuard costs at most {GUARD_COST_TARGET:.0%}"
            f" of the CPU per request (c={level})",
            f"{overhead_us:.1f} µs per connection of {per_request:.1f} µs: {share:.1%}",
            share <= GUARD_COST_TARGET,
        )
    ]


# -- output -----------------------------------------------------------------


@dataclass
class Table:
    """One table of the report: a title, a header row, rows, notes below."""

    title: str
    header: list
    rows: list
    notes: list = field(default_factory=list)

    def render(self):
        widths = [
            max(len(str(x)) for x in col)
            for col in zip(self.header, *self.rows, strict=False)
        ]
        lines = [self.title, "  " + format_row(self.header, widths)]
        lines.extend("  " + format_row(row, widths) for row in self.rows)
        lines.extend("  " + note for note in self.notes)
        return lines


def format_row(row, widths):
    """The first column left-aligned, the figures right-aligned."""
    return "  ".join(
        str(x).ljust(w) if i == 0 else str(x).rjust(w)
        for i, (x, w) in enumerate(zip(row, widths, strict=False))
    )


@dataclass
class Target:
    """One target: what it asks, what this run measured, and whether it holds."""

    what: str
    measured: str
    reached: bool

    def render(self):
        mark = "reached" if self.reached else "NOT reached"
        return [f"  [{mark}] {self.what}", f"      {self.measured}"]

    def as_dict(self):
        return {"target": self.what, "measured": self.measured, "reached": self.reached}


@dataclass
class Outcome:
    """What a scenario returns: its tables, its targets, its raw figures for --json."""

    tables: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    results: dict = field(default_factory=dict)

    def extend(self, other):
        self.tables.extend(other.tables)
        self.targets.extend(other.targets)
        self.results.update(other.results)
        return self


class Progress:
    """A progress line on stderr: redrawn on a terminal, one line per step otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()

    def show(self, text, final=False, tick=False):
        if tick and not self.tty:
            return
        elapsed = time.monotonic() - self.started
        line = f"[{elapsed:5.1f} s] {text}"
        if self.tty:
            self.stream.write("\r\033[K" + line[:150] + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def tick(self, what):
        def on_tick(result, seconds):
            self.show(
                f"{what}: {result.requests:,} done, {result.lost} lost, {seconds:.1f} s",
                tick=True,
            )

        return on_tick


# -- what every scenario is handed -----------------------------------------


@dataclass
class Context:
    """The run's settings and shared things, handed to every scenario."""

    tmp: Path  # a directory removed when the run ends
    rounds: int = 3
    reactors: list = field(default_factory=lambda: ["default"])
    progress: Progress = field(default_factory=Progress)

    def large_poem(self, size=LARGE_SIZE):
        """The path of a generated poem of `size` bytes, written once per run."""
        # Absolute: the servers run from the repository root.
        path = Path(self.tmp).resolve() / f"large-poem-{size}.txt"
        if not path.exists():
            path.write_bytes((LARGE_LINE * (size // len(LARGE_LINE) + 1))[:size])
        return path

    async def run_servers(self, servers, body):
        """Start every server, return `await body()`, always stop them."""
        try:
            for server in servers:
                self.progress.show(f"starting {server.label}")
                server.start()
            return await body()
        finally:
            for server in servers:
                server.stop()
