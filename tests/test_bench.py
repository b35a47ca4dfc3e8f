"""The benchmark's own parts: launcher, load generator, shared module, scenarios.

These check that `make bench` measures what it says (every reply checked,
every failure counted, medians and targets computed from the rounds); they
time nothing.
"""

import asyncio
import io
import socket
import sys
from pathlib import Path

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from bench import common, load, run
from bench.scenarios import SCENARIOS, client8, herd, memory, proxies
from tests.helpers import (
    ScriptTestCase,
    dead_port,
    fetch,
    netstring,
    poem_bytes,
    poem_path,
)
from tools import launch, syncproc

POEM = poem_bytes("science.txt")


def read_all(port):
    """Connect with a plain blocking socket and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class SyncprocTests(SynchronousTestCase):
    """tools/syncproc.py starts a server without a reactor and stops it."""

    def test_startServerReadsThePort(self):
        """start_server returns once the server prints its port, which then serves."""
        server = syncproc.start_server(
            "twisted-server-1/fastpoetry.py", poem_path("science.txt")
        )
        self.addCleanup(server.close)

        self.assertEqual(read_all(server.port), POEM)
        self.assertEqual(server.count(rb"Serving poetry/science\.txt on"), 1)

    def test_stopEndsTheChild(self):
        """stop() signals the child and reaps it."""
        server = syncproc.start_server(
            "twisted-server-1/fastpoetry.py", poem_path("science.txt")
        )
        self.addCleanup(server.close)

        server.stop()

        self.assertIsNotNone(server.proc.returncode)

    def test_childThatExitsEarly(self):
        """A child that exits before its ready line raises ChildFailed with its stderr."""
        with self.assertRaises(syncproc.ChildFailed) as caught:
            syncproc.start_server("twisted-server-1/fastpoetry.py", "no-such-poem.txt")

        self.assertIn("cannot read no-such-poem.txt", str(caught.exception))


class LoadGeneratorTests(SynchronousTestCase):
    """bench/load.py checks every reply and counts every failure."""

    def setUp(self):
        self.server = syncproc.start_server(
            "twisted-server-1/fastpoetry.py", poem_path("science.txt")
        )
        self.addCleanup(self.server.close)

    def hammer(self, port, expect, count=20):
        return asyncio.run(
            load.hammer(port, concurrency=4, count=count, seconds=10, expect=expect)
        )

    def test_everyReplyChecked(self):
        """Replies equal to the expected bytes are counted as requests, none lost."""
        result = self.hammer(self.server.port, POEM)

        self.assertEqual((result.requests, result.lost), (20, 0))
        self.assertEqual(len(result.latencies), 20)
        self.assertEqual(result.bytes, 20 * len(POEM))

    def test_byteCountChecked(self):
        """With an expected size, a reply of that many bytes is counted."""
        result = self.hammer(self.server.port, len(POEM))

        self.assertEqual((result.requests, result.lost), (20, 0))

    def test_wrongReplyIsLost(self):
        """A reply that differs from the expected bytes counts as lost."""
        result = self.hammer(self.server.port, POEM.upper())

        self.assertEqual((result.requests, result.lost), (0, 20))
        self.assertEqual(result.errors, {"wrong reply": 20})

    def test_shortReplyIsLost(self):
        """A reply that ends before the expected size counts as a short reply."""
        result = self.hammer(self.server.port, len(POEM) + 1, count=3)

        self.assertEqual((result.requests, result.lost), (0, 3))
        self.assertEqual(result.errors, {"short reply": 3})

    def test_longReplyIsLost(self):
        """A reply longer than expected counts as a long reply."""
        result = self.hammer(self.server.port, POEM[:-1], count=3)

        self.assertEqual((result.requests, result.lost), (0, 3))
        self.assertEqual(result.errors, {"long reply": 3})

    def test_endlessReplyCutShort(self):
        """A server that never stops sending is hung up on, not read for the round."""

        async def endless(reader, writer):
            try:
                while True:
                    writer.write(b"x" * 65536)
                    await writer.drain()
            except ConnectionError:
                writer.close()

        async def round_against_endless():
            server = await asyncio.start_server(endless, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            async with server:
                return await load.hammer(
                    port, concurrency=2, count=3, seconds=10, expect=len(POEM)
                )

        result = asyncio.run(round_against_endless())

        self.assertEqual(result.errors, {"long reply": 3})
        self.assertLess(result.seconds, 5)

    def test_refusedIsLost(self):
        """A refused connection counts as lost, by the error's name."""
        result = self.hammer(dead_port(self), POEM, count=3)

        self.assertEqual((result.requests, result.lost), (0, 3))
        self.assertEqual(result.errors, {"ConnectionRefusedError": 3})


class ReferenceServerTests(ScriptTestCase):
    """bench/reference.py does the same job as the Twisted servers it is compared to."""

    @defer.inlineCallbacks
    def test_poetry(self):
        """The asyncio poetry server sends the poem's exact bytes and closes."""
        server = yield self.start_server(
            "bench/reference.py", "poetry", poem_path("science.txt")
        )

        received = yield fetch(server.port)

        self.assertEqual(received, POEM)

    @defer.inlineCallbacks
    def test_transform(self):
        """The asyncio transform server answers a cummingsify netstring in kind."""
        server = yield self.start_server("bench/reference.py", "transform")

        answer = yield fetch(server.port, netstring(b"cummingsify.HeLLo, Poem"))

        self.assertEqual(answer, netstring(b"hello, poem"))

    @defer.inlineCallbacks
    def test_transformUnknown(self):
        """An unknown transform gets the connection closed with no answer."""
        server = yield self.start_server("bench/reference.py", "transform")

        answer = yield fetch(server.port, netstring(b"__init__.poem"))

        self.assertEqual(answer, b"")

    @defer.inlineCallbacks
    def test_proxy(self):
        """The asyncio proxy relays the upstream's poem."""
        upstream = yield self.start_server(
            "twisted-server-1/fastpoetry.py", poem_path("science.txt")
        )
        proxy = yield self.start_server("bench/reference.py", "proxy", upstream.port)

        first = yield fetch(proxy.port)
        second = yield fetch(proxy.port)

        self.assertEqual([first, second], [POEM, POEM])


class TwistedOnTests(ScriptTestCase):
    """bench/twisted_on.py runs a tutorial script, unchanged, on another reactor."""

    @defer.inlineCallbacks
    def test_asyncioReactor(self):
        """fastpoetry.py on the asyncio reactor serves the poem as usual."""
        server = yield self.start_server(
            "bench/twisted_on.py",
            "asyncio",
            "twisted-server-1/fastpoetry.py",
            poem_path("science.txt"),
        )

        received = yield fetch(server.port)

        self.assertEqual(received, POEM)

    @defer.inlineCallbacks
    def test_unknownReactor(self):
        """An unknown reactor name is refused with the usage and status 2."""
        result = yield self.run_script(
            "bench/twisted_on.py", "no-such", "twisted-server-1/fastpoetry.py"
        )

        self.assertEqual(result.exit_code, 2)
        self.assertIn("usage: python bench/twisted_on.py REACTOR SCRIPT", result.stderr)
        self.assertIn("invalid choice: 'no-such'", result.stderr)


class UnguardedTests(ScriptTestCase):
    """bench/unguarded.py runs a server without its ServerGuard."""

    @defer.inlineCallbacks
    def test_serves(self):
        """fastpoetry.py without its guard serves the poem as usual."""
        server = yield self.start_server(
            "bench/unguarded.py", launch.FASTPOETRY, poem_path("science.txt")
        )

        received = yield fetch(server.port)

        self.assertEqual(received, POEM)

    @defer.inlineCallbacks
    def test_noScript(self):
        """Without a script, the usage is printed with status 2."""
        result = yield self.run_script("bench/unguarded.py")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("usage: python bench/unguarded.py SCRIPT", result.stderr)

    @defer.inlineCallbacks
    def test_scriptWithoutGuard(self):
        """A script that has no ServerGuard is refused with status 2."""
        result = yield self.run_script("bench/unguarded.py", "tools/speedup.py")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("tools/speedup.py has no ServerGuard", result.stderr)


class FakeRound(load.Round):
    """A load.Round with the given figures, as hammer() would return it."""

    def __init__(self, requests, seconds, latencies, lost=0, size=100):
        super().__init__(requests=requests, lost=lost, seconds=seconds)
        self.bytes = requests * size
        self.latencies = list(latencies)


def figures_of(*rounds):
    """A Figures holding one round per (requests, seconds, max latency, cpu s)."""
    f = common.Figures()
    for requests, seconds, max_latency, cpu in rounds:
        f.add(FakeRound(requests, seconds, [0.001, max_latency]), cpu, cpu / 2)
    return f


class FiguresTests(SynchronousTestCase):
    """bench/common.py's Figures keeps every round and takes medians."""

    def test_median(self):
        """The median rate is the middle round's, whatever the order of the rounds."""
        f = figures_of(
            (1000, 1.0, 0.01, 0.1), (3000, 1.0, 0.01, 0.1), (2000, 1.0, 0.01, 0.1)
        )

        self.assertEqual(f.median("rate"), 2000)

    def test_perRequest(self):
        """CPU per request is the round's CPU time over its requests, in µs."""
        f = figures_of((1000, 1.0, 0.01, 0.05))

        self.assertAlmostEqual(f.median("cpu_us"), 50.0)
        self.assertAlmostEqual(f.median("client_cpu_us"), 25.0)

    def test_worstAndLost(self):
        """The worst max latency and the lost connections are over every round."""
        f = common.Figures()
        f.add(FakeRound(10, 1.0, [0.002], lost=1), 0.0, 0.0)
        f.add(FakeRound(10, 1.0, [0.300], lost=2), 0.0, 0.0)

        self.assertAlmostEqual(f.worst("max_ms"), 300.0)
        self.assertEqual(f.lost, 3)


class TableTests(SynchronousTestCase):
    """Tables and target lines render as the report prints them."""

    def test_alignment(self):
        """The first column is left-aligned, the figures right-aligned, notes below."""
        table = common.Table("title", ["server", "rate"], [["a", "1"], ["bbb", "22"]])
        table.notes.append("a note")

        self.assertEqual(
            table.render(),
            ["title", "  server  rate", "  a          1", "  bbb       22", "  a note"],
        )

    def test_rateTableRatios(self):
        """rate_table gives rates relative to asyncio and CPU relative to uvloop."""
        figures = {
            "twisted": {16: figures_of((3000, 1.0, 0.01, 0.06))},
            "asyncio": {16: figures_of((2000, 1.0, 0.01, 0.04))},
            "asyncio+uvloop": {16: figures_of((4000, 1.0, 0.01, 0.04))},
        }

        table = common.rate_table("t", figures, "poems")

        self.assertEqual(table.header[2], "poems/s")
        self.assertEqual(table.header[7], "CPU µs/poem")
        twisted = table.rows[0]
        self.assertEqual(twisted[:4], ["twisted", 16, "3,000", "1.50"])
        # 20 µs per poem against uvloop's 10 µs.
        self.assertEqual((twisted[7], twisted[8]), ("20.0", "2.00"))

    def test_targetLines(self):
        """A target renders its mark, then what was measured, indented."""
        self.assertEqual(
            common.Target("x ≥ 1", "x = 0", False).render(),
            ["  [NOT reached] x ≥ 1", "      x = 0"],
        )
        self.assertEqual(
            common.Target("x ≥ 1", "x = 2", True).render()[0], "  [reached] x ≥ 1"
        )


class TargetTests(SynchronousTestCase):
    """The shared targets are reached exactly when the figures say so."""

    def test_noLoss(self):
        """No loss and max latency under 200 ms is reached; one lost is not."""
        good = {128: figures_of((100, 1.0, 0.150, 0.0))}
        lossy = {128: common.Figures()}
        lossy[128].add(FakeRound(99, 1.0, [0.01], lost=1), 0.0, 0.0)

        [reached] = common.no_loss_targets("s", good, levels=(128,))
        [missed] = common.no_loss_targets("s", lossy, levels=(128,))

        self.assertTrue(reached.reached)
        self.assertFalse(missed.reached)
        self.assertIn("1 lost", missed.measured)

    def test_slowIsMissed(self):
        """A max latency of 250 ms misses the target even with nothing lost."""
        slow = {1024: figures_of((100, 1.0, 0.250, 0.0))}

        [target] = common.no_loss_targets("s", slow, levels=(1024,))

        self.assertFalse(target.reached)

    def test_originalRate(self):
        """The original's rate is compared, and shown relative to its reference."""
        figures = {
            "twisted": {16: figures_of((30_000, 1.0, 0.01, 0.0))},
            "asyncio": {16: figures_of((20_000, 1.0, 0.01, 0.0))},
        }

        target = common.original_rate_target(
            "fastpoetry.py", "twisted", figures, (36_000, "asyncio", 24_000), "poems"
        )

        self.assertFalse(target.reached)
        self.assertIn("30,000 poems/s; the original 36,000/s", target.measured)
        self.assertIn("1.50× here, the original 1.50× then", target.measured)

    def test_cpuRatioOnlyForTwisted(self):
        """CPU targets are set for the Twisted servers, not the reference ones."""
        servers = [
            common.Variant("twisted", "x.py").server(),
            common.Server("asyncio+uvloop", ["x"]),
        ]
        figures = {
            "twisted": {16: figures_of((1000, 1.0, 0.01, 0.014))},
            "asyncio+uvloop": {16: figures_of((1000, 1.0, 0.01, 0.010))},
        }

        [target] = common.cpu_ratio_targets("fastpoetry.py", figures, servers)

        self.assertTrue(target.reached)
        self.assertIn("1.40×", target.measured)

    def test_cpuRatioNotForUnguarded(self):
        """A server run without its guard is shown, but gets no CPU target."""
        servers = [
            common.Variant("twisted", "x.py").server(),
            common.unguarded("x.py").server(),
            common.unguarded("x.py", label="proxy, no guard").server(),
        ]
        figures = {
            "twisted": {16: figures_of((1000, 1.0, 0.01, 0.014))},
            common.UNGUARDED: {16: figures_of((1000, 1.0, 0.01, 0.020))},
            "proxy, no guard": {16: figures_of((1000, 1.0, 0.01, 0.020))},
            "asyncio+uvloop": {16: figures_of((1000, 1.0, 0.01, 0.010))},
        }

        targets = common.cpu_ratio_targets("fastpoetry.py", figures, servers)

        self.assertEqual(
            [t.what for t in targets],
            [
                "fastpoetry.py (twisted): CPU per request within 1.5× of"
                " asyncio+uvloop (c=16)"
            ],
        )

    def test_guardCost(self):
        """The guard's µs per connection is set against the server's CPU per request."""
        figures = {"twisted": {16: figures_of((1000, 1.0, 0.01, 0.060))}}

        [cheap] = common.guard_cost_targets("s", figures, 2.4)
        [dear] = common.guard_cost_targets("s", figures, 3.6)

        self.assertTrue(cheap.reached)
        self.assertIn("2.4 µs per connection of 60.0 µs: 4.0%", cheap.measured)
        self.assertFalse(dear.reached)
        self.assertEqual(common.guard_cost_targets("s", {}, 1.0), [])


class MemoryTargetTests(SynchronousTestCase):
    """The memory target asks for no growth and every poem served."""

    def sample(self, served, lost, growth=0):
        base = 20 * 2**20
        return {
            "start": base,
            "after_1k": base,
            "after_20k": base + growth,
            "served": served,
            "lost": lost,
        }

    def test_flatAndServed(self):
        """No growth and all 20,000 poems served in every round: reached."""
        ss = [self.sample(memory.TOTAL, 0)] * 3

        target = memory.memory_target("twisted", ss)

        self.assertTrue(target.reached)
        self.assertIn("served (lost) per round: 20,000 (0)", target.measured)

    def test_refusingServerMisses(self):
        """A server that refused connections does not grow, and misses the target."""
        ss = [self.sample(memory.TOTAL, 0), self.sample(0, memory.TOTAL)]

        self.assertFalse(memory.memory_target("twisted", ss).reached)

    def test_growthMisses(self):
        """Growing by 1 MiB misses the target, every poem served or not."""
        ss = [self.sample(memory.TOTAL, 0, growth=memory.TARGET)]

        self.assertFalse(memory.memory_target("twisted", ss).reached)


class GuardOverheadTests(SynchronousTestCase):
    """guard_overhead_us runs one connection through a script's own classes."""

    def test_cachedProxyIsSilent(self):
        """The cached proxy 2.0 serves from its cache without a line per connection."""
        out = io.StringIO()
        # One connection per measurement instead of thousands.
        self.patch(common.timeit, "repeat", lambda stmt, number, repeat: [stmt() or 1])
        self.patch(sys, "stdout", out)

        common.guard_overhead_us(proxies.PROXY_2, proxies.cached_proxy)

        self.assertEqual(out.getvalue(), "")


class VariantTests(SynchronousTestCase):
    """A Variant is a script with options, run on any reactor."""

    def test_optionsBeforeArguments(self):
        """The variant's options come before the scenario's arguments."""
        server = common.Variant(
            "t", "twisted-server-1/fastpoetry.py", ("--backlog", 50)
        ).server("poetry/science.txt")

        self.assertEqual(server.argv[-3:], ["--backlog", "50", "poetry/science.txt"])
        self.assertEqual(server.label, "t")

    def test_otherReactor(self):
        """On another reactor, the script runs through bench/twisted_on.py."""
        server = common.Variant("t", "twisted-server-1/fastpoetry.py").server(
            reactor="asyncio"
        )

        self.assertEqual(server.label, "t on asyncio")
        self.assertTrue(server.argv[2].endswith("bench/twisted_on.py"))
        self.assertEqual(server.argv[3], "asyncio")

    def test_everyVariantOnEveryReactor(self):
        """twisted_servers runs each variant on each reactor, skipping missing scripts."""
        variants = [
            common.Variant("twisted", "twisted-server-1/fastpoetry.py"),
            common.Variant("b50", "twisted-server-1/fastpoetry.py", ("--backlog", 50)),
            common.Variant("later", "no-such-dir/fastpoetry.py"),
        ]

        servers = common.twisted_servers(variants, ["default", "poll"], "poem.txt")

        self.assertEqual(
            [s.label for s in servers],
            ["twisted", "twisted on poll", "b50", "b50 on poll"],
        )

    def test_largePoemWrittenOnce(self):
        """The large poem has the asked size and is written once per run."""
        ctx = common.Context(Path(self.mktemp()))
        ctx.tmp.mkdir()

        path = ctx.large_poem(1000)
        again = ctx.large_poem(1000)

        self.assertEqual(path, again)
        self.assertEqual(path.stat().st_size, 1000)
        self.assertTrue(path.read_bytes().startswith(common.LARGE_LINE))


class ArgumentsTests(SynchronousTestCase):
    """python -m bench's options."""

    def test_defaultRunsEveryScenario(self):
        """Without --only, every scenario runs, herd among them."""
        args = run.parse_args([])

        self.assertEqual(args.only, list(SCENARIOS))
        self.assertIn("herd", args.only)

    def test_unknownScenario(self):
        """An unknown scenario name is refused."""
        self.assertRaises(SystemExit, run.parse_args, ["--only", "nope"])

    def test_fewRounds(self):
        """Fewer than 3 rounds is refused: every figure is a median."""
        self.assertRaises(SystemExit, run.parse_args, ["--rounds", "2"])

    def test_render(self):
        """The report has the header, the tables, then the targets."""
        meta = {
            "date": "d",
            "machine": "m",
            "load_generator": "l",
            "cpus": "c",
            "rounds": 3,
            "seconds": 12.0,
            "scenario_seconds": {"herd": 12.0},
        }
        outcome = common.Outcome(
            [common.Table("T", ["a"], [["1"]])], [common.Target("w", "m", False)]
        )

        text = run.render(meta, outcome)

        self.assertIn("took 12 s (herd 12 s)", text)
        self.assertLess(text.index("T\n"), text.index("targets (bench/README.md)"))
        self.assertTrue(text.endswith("  [NOT reached] w\n      m"))


class Client8Tests(SynchronousTestCase):
    """One run of a client in the client 8 scenario."""

    def test_poemsAndStatus(self):
        """A run that prints the eight poems and exits 0 is ok, with its wall time."""
        argv = [sys.executable, "-c", "print('a poem\\n' * 8)"]

        done = client8.one_run(argv, "a poem")

        self.assertEqual((done["ok"], done["status"]), (True, 0))
        self.assertLess(done["wall"], client8.TIMEOUT)

    def test_timeoutIsAFailedRun(self):
        """A client that runs past the limit is killed: a failed run, not an abort."""
        argv = [sys.executable, "-c", "import time; time.sleep(30)"]

        done = client8.one_run(argv, "a poem", timeout=0.5)

        self.assertEqual(done, {"wall": 0.5, "ok": False, "status": None})


class HerdTests(SynchronousTestCase):
    """The herd scenario counts what each proxy served and fetched."""

    def test_report(self):
        """A proxy that served fewer than every client misses the target."""
        one = {"lost": 0, "errors": {}, "gave_up": 0, "seconds": 1.0, "exited": None}
        rounds = {
            "good": [dict(one, served=3, upstream=1, peak_rss=2**20)],
            "bad": [
                dict(
                    one,
                    served=1,
                    lost=2,
                    errors={"short reply": 2},
                    gave_up=2,
                    upstream=3,
                    peak_rss=2**20,
                )
            ],
        }

        out = herd.report(rounds, ["good", "bad"], 3, 2**20, 60)

        self.assertEqual([t.reached for t in out.targets], [True, False])
        bad = out.tables[0].rows[1]
        self.assertEqual(bad[:6], ["bad", "1", "2", "short reply 2", "2", "3"])

    def test_smallHerd(self):
        """Three clients at once: each single-flight proxy serves all, fetching once."""
        ctx = common.Context(
            Path(self.mktemp()), rounds=1, progress=common.Progress(io.StringIO())
        )
        ctx.tmp.mkdir()
        waiters = [p for p in proxies.PROXIES if p.single_flight]

        out = asyncio.run(
            herd.run(ctx, clients=3, size=64 * 1024, proxies=waiters, seconds=10)
        )

        rounds = out.results["herd"]
        for label in [p.label for p in waiters]:
            self.assertEqual(
                [(x["served"], x["upstream"]) for x in rounds[label]], [(3, 1)]
            )
            self.assertGreater(rounds[label][0]["peak_rss"], 0)
        # The asyncio reference proxy fetches once too, and prints it alike.
        self.assertEqual(rounds["asyncio"][0]["upstream"], 1)
        self.assertEqual([t.reached for t in out.targets], [True] * len(waiters))
