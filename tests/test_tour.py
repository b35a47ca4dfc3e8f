"""The guided tour: `make tour PART=N` (tools/tour/).

Every part's tour runs for real, with FAST=1, as `python -m tools.tour`; the
test then checks that it exited 0 and left nothing behind: no process (each
tour runs with a variable of the test's own in its environment, which
everything it starts inherits, a twistd daemon included), nothing in the
temporary directory it was given, and nothing new in the checkout, even
among the files git ignores (twistd.pid, dropin.cache, _trial_temp).
A failing step is tested in this process, on a server made to fail through
its own options; Ctrl-C is tested on a tour that waits for a slow server,
and on one that runs a daemon.
"""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from twisted.internet import defer, task
from twisted.trial import unittest

from tests.helpers import ROOT, ScriptTestCase, dead_port, path_with_python_only
from tools import launch
from tools.tour import part11
from tools.tour.commands import Server, python
from tools.tour.network import fastpoetry
from tools.tour.output import Excerpt, Output, Repeats
from tools.tour.runner import Tour, run_part

# The variable that marks what one test's tour started.
MARKER = "TWISTED_INTRO_TOUR_TEST"


def checkout_state():
    """What git sees in the checkout, ignored files included: less .venv and
    bytecode caches, which the test run itself writes, and the plugin caches,
    which another trial worker's twistd may write or move meanwhile (the
    tour's handling of dropin.cache is tested in CleanupTests)."""
    return subprocess.run(
        [
            "git",
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
            "--",
            ".",
            ":!.venv",
            ":!**/__pycache__/**",
            ":!**/dropin.cache",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    ).stdout


def intro(stdout):
    """The tour's own lines before its first step (the picture, the prose)."""
    before = stdout.split("\n--- 1. ")[0]
    return [line for line in before.splitlines() if not line.startswith(("$ ", "["))]


class TourTestCase(ScriptTestCase):
    """Runs `python -m tools.tour` and checks that it leaves nothing behind."""

    # The longest tour (Part 14 at the text's pace) takes about 10 s.
    timeout = 60

    def setUp(self):
        self.temp = Path(self.mktemp()).resolve()
        self.temp.mkdir()
        self.before = checkout_state()

    def start_tour(self, *args, **env):
        """Start the tour with `args` (and `env` in its environment): (its
        ScriptProcess, a Deferred that fires with it once it has exited)."""
        env = launch.child_env(TMPDIR=str(self.temp), **{MARKER: str(self.temp)}, **env)
        argv = [sys.executable, "-m", "tools.tour", *args]
        started = []
        ended = launch.spawn(argv, env=env, timeout=50, started=started.append)
        return started[0], ended

    def assertLeftNothing(self):
        self.assertEqual(launch.marked_processes(MARKER, str(self.temp)), [])
        self.assertEqual(os.listdir(self.temp), [])
        self.assertEqual(checkout_state(), self.before)

    def assertOwnLinesFit(self, stdout):
        """The picture and our prose are ASCII, within 80 columns."""
        ours = ("--- ", "    ok: ", "    FAILED: ", "    skipped: ")
        for line in intro(stdout) + [
            line for line in stdout.splitlines() if line.startswith(ours)
        ]:
            self.assertTrue(line.isascii(), line)
            self.assertLessEqual(len(line), 80, line)


class TourPartTests(TourTestCase):
    """Each part's tour, with FAST=1: every step does what it promised."""

    @defer.inlineCallbacks
    def tour(self, number, **env):
        _, ended = self.start_tour("--fast", str(number), **env)
        proc = yield ended

        self.assertEqual(proc.exit_code, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stderr, "")
        self.assertRegex(
            proc.stdout,
            rf"\nPart {number}: (all \d+ steps|its one step) did what the text"
            r" says\.\n$",
        )
        self.assertNotIn("FAILED", proc.stdout)
        self.assertOwnLinesFit(proc.stdout)
        self.assertLeftNothing()
        return proc.stdout

    @defer.inlineCallbacks
    def test_part11(self):
        """Part 11: client 4 (and netcat) on the fast server, then the slow one."""
        stdout = yield self.tour(11)

        self.assertRegex(stdout, r"client 4, nc ---> fastpoetry :\d+ ")
        self.assertRegex(stdout, r"\n\$ python twisted-client-4/get-poetry\.py \d+\n")
        self.assertRegex(stdout, r"\n\[slowpoetry \d+\] done sending 2765 bytes to ")

    @defer.inlineCallbacks
    def test_part12(self):
        """Part 12: transform-test's answer, and a bad request logged by the server."""
        stdout = yield self.tour(12)

        self.assertRegex(stdout, r"\n\$ \./twisted-server-1/transform-test \d+\n")
        self.assertEqual(stdout.count("\n15:here is my poem,\n"), 2)
        self.assertRegex(stdout, r"\n\[transform \d+\] .*bad request: no '\.'")

    @defer.inlineCallbacks
    def test_part12WithoutNetcat(self):
        """Part 12 on a machine without netcat: the tour sends the bad request."""
        # python3 alone on the PATH, for transform-test's fallback.
        stdout = yield self.tour(12, PATH=path_with_python_only(self))

        self.assertRegex(
            stdout, r"\n\(no netcat here: the tour sends b'15:HERE IS MY POEM,' to"
        )
        self.assertEqual(stdout.count("\n15:here is my poem,\n"), 2)

    @defer.inlineCallbacks
    def test_part13(self):
        """Part 13: defer-10, and client 6 as the servers go down one by one."""
        stdout = yield self.tour(13)

        self.assertIn("\n$ python twisted-deferred/defer-10.py\n", stdout)
        # (long output is cut, so the tour's verdicts tell what it saw)
        verdicts = " ".join(stdout.split())
        self.assertIn('"Cummingsify failed!" twice on stderr', verdicts)
        self.assertIn('"Cummingsify failed!" once on stderr', verdicts)
        self.assertIn("\nThe poem download failed. 127.0.0.1:", stdout)

    @defer.inlineCallbacks
    def test_part14(self):
        """Part 14: the proxies' misses and hits, and one fetch for three clients."""
        stdout = yield self.tour(14)

        self.assertRegex(
            stdout,
            r"(?s)\[proxy 1\.0 \d+\] Fetching poem from server\.\n"
            r".*\[proxy 1\.0 \d+\] Using cached poem\.\n",
        )
        self.assertRegex(stdout, r"\[proxy 2\.0 \d+\] \[\S+\] No poem from 127")
        self.assertEqual(
            stdout.count("] Waiting for the poem already being fetched.\n"), 2
        )

    @defer.inlineCallbacks
    def test_part15(self):
        """Part 15: trial runs tests/test_poetry.py, and both tests pass."""
        stdout = yield self.tour(15)

        self.assertIn("\nPASSED (successes=2)\n", stdout)

    @defer.inlineCallbacks
    def test_part16(self):
        """Part 16: twistd in the foreground, as a daemon, and the plugin."""
        stdout = yield self.tour(16)

        self.assertRegex(stdout, r"\[twistd \d+\] \S+ \[\S+\] Server Shut Down\.\n")
        self.assertEqual(stdout.count("\n$ kill $(cat $T/twistd.pid)\n"), 2)
        self.assertRegex(stdout, r"\n    fastpoetry +A fast poetry service\.\n")

    @defer.inlineCallbacks
    def test_part17(self):
        """Part 17: the generators, the inlineCallbacks examples, client 7."""
        stdout = yield self.tour(17)

        self.assertIn(
            "\n$ python tools/speedup.py 100 inline-callbacks/inline-callbacks-1.py\n",
            stdout,
        )
        self.assertIn("\nfourth callback got Exception(3)\n", stdout)

    @defer.inlineCallbacks
    def test_part18(self):
        """Part 18: the seven DeferredList examples, then client 8."""
        stdout = yield self.tour(18)

        self.assertEqual(stdout.count("\n$ python deferred-list/deferred-list-"), 7)
        self.assertIn("\nHandled d2's failure: d2 failure\n", stdout)


class TourInterruptTests(TourTestCase):
    """Ctrl-C (SIGINT to the tour) stops everything it started, then it exits 130."""

    @defer.inlineCallbacks
    def interrupt(self, args, line, before=None):
        """Start the tour, send it SIGINT once it prints `line` (a regex; and
        `before()` has run) and wait for it to exit; fire with it and the
        pids of what it had started then."""
        proc, ended = self.start_tour(*args)
        yield proc.wait_for(re.compile(line), timeout=40)
        if before is not None:
            before()
        started = launch.marked_processes(MARKER, str(self.temp))
        self.assertTrue(started)

        proc.send_signal("INT")
        yield ended

        self.assertEqual(proc.exit_code, 130, proc.stdout + proc.stderr)
        self.assertEqual(
            proc.stderr,
            "Interrupted: the tour stopped everything it had started and"
            " removed its temporary files.\n",
        )
        self.assertTrue(all(launch.process_gone(pid) for pid in started))
        self.assertLeftNothing()
        return proc, started

    @defer.inlineCallbacks
    def test_withServersUp(self):
        """Interrupted as its first step starts, with Part 14's five servers up."""
        proc, started = yield self.interrupt(["14"], rb"--- 1\. ")

        # the tour itself and its five servers (and perhaps the step's command)
        self.assertGreaterEqual(len(started), 6)
        self.assertNotIn("Stopping everything", proc.stdout)

    @defer.inlineCallbacks
    def test_daemonRunning(self):
        """Interrupted while a twistd daemon (not a child of the tour) runs."""
        pids = []

        def read_pid():
            (directory,) = self.temp.iterdir()
            pids.append(int((directory / "twistd.pid").read_text()))

        _, started = yield self.interrupt(["16"], rb"ok: .*a daemon runs", read_pid)

        self.assertIn(pids[0], started)


class TourCommandLineTests(TourTestCase):
    """`make tour` lists the parts; a part that has no tour is a usage error."""

    def make(self, *args):
        return launch.run_make("tour", *args)

    @defer.inlineCallbacks
    def test_makeTourLists(self):
        """`make tour` prints one line per part, 11 to 18, and exits 0."""
        proc = yield self.make()

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        rows = [line for line in proc.stdout.splitlines() if line.startswith("  1")]
        self.assertEqual(
            [row.split()[0] for row in rows], [str(n) for n in range(11, 19)]
        )
        for line in proc.stdout.splitlines():
            self.assertLessEqual(len(line), 80, line)

    @defer.inlineCallbacks
    def test_makeTourPart10(self):
        """`make tour PART=10` says there is no such tour, with status 2."""
        proc = yield self.make("PART=10")

        self.assertEqual(proc.exit_code, 2)
        self.assertIn(
            "tour: error: there is no tour of part 10: the parts are 11 to 18",
            proc.stderr,
        )

    @defer.inlineCallbacks
    def test_badPartStatus(self):
        """The tool itself exits 2 for a part it has no tour of."""
        for part in ("10", "19", "eleven"):
            _, ended = self.start_tour(part)
            proc = yield ended

            self.assertEqual(proc.exit_code, 2, part)
            self.assertIn(f"there is no tour of part {part}:", proc.stderr)
            self.assertEqual(proc.stdout, "")


class FailingStepTests(unittest.TestCase):
    """A step that does not do what it promised is reported, and the tour goes on."""

    timeout = 30

    @defer.inlineCallbacks
    def test_serverThatResets(self):
        """A poetry server that resets its clients fails the steps that use it."""
        # In place of the fast server: proxy 1.0 in front of a poetry server
        # that is down, which resets each client, having no poem to give.
        faulty = Server(
            "fast",
            "faulty",
            python(launch.PROXY_1, "--port", "0", str(dead_port(self))),
        )
        self.patch(part11, "FAST", faulty)
        out = io.StringIO()
        tour = Tour(Output(out), fast=True)

        code = yield defer.ensureDeferred(run_part(tour, part11))

        stdout = out.getvalue()
        self.assertEqual(code, 1, stdout)
        # test that the client's step failed, and said why ...
        first = " ".join(stdout.split("\n--- 1. ")[1].split("\n--- 2. ")[0].split())
        self.assertIn("FAILED: expected exit status 0, saw 1 ", first)
        self.assertIn(
            "FAILED: expected poetry/fascination.txt (608 characters), not found"
            " in the 0 characters printed",
            first,
        )
        self.assertRegex(first, r"Poem failed: 127\.0\.0\.1:\d+: Connection broke")
        # ... that the tour went on to the slow server, which did its part ...
        self.assertRegex(
            stdout, r"\n    ok: exit status 0; poetry/ecstasy\.txt, whole;"
        )
        # ... and that the summary names the failed step (netcat's, if any, too).
        self.assertRegex(
            stdout,
            r"\nPart 11: (1 of 2 steps did not do what the text says \(step 1\)"
            r"|2 of 3 steps did not do what the text says \(steps 1, 2\))\.\n$",
        )
        self.assertTrue(all(proc.ended for proc in tour.children))
        self.assertFalse(tour.temp.exists())

    @defer.inlineCallbacks
    def test_serverThatCannotStart(self):
        """A server that cannot start stops the tour before its steps, cleanly."""
        self.patch(part11, "FAST", fastpoetry("fast", "no-such-poem.txt"))
        out = io.StringIO()
        tour = Tour(Output(out), fast=True)

        code = yield defer.ensureDeferred(run_part(tour, part11))

        stdout = out.getvalue()
        self.assertEqual(code, 1, stdout)
        said = " ".join(stdout.split())
        self.assertIn(
            "The tour cannot go on: could not start `python"
            " twisted-server-1/fastpoetry.py --port 0 poetry/no-such-poem.txt`:",
            said,
        )
        self.assertIn(
            "\nfastpoetry.py: cannot read poetry/no-such-poem.txt: No such file", stdout
        )
        self.assertNotIn("\n--- 1.", stdout)
        self.assertTrue(said.endswith("Part 11: the tour stopped at once."), said)
        # The slow server, started at the same time, was stopped.
        self.assertEqual(len(tour.children), 2)
        self.assertTrue(all(proc.ended for proc in tour.children))
        self.assertFalse(tour.temp.exists())


class CleanupTests(unittest.TestCase):
    """The clean-up leaves the plugin cache as the tour found it."""

    def setUp(self):
        self.cache = Path(self.mktemp()).resolve()
        self.patch(launch, "DROPIN_CACHE", self.cache)

    @defer.inlineCallbacks
    def test_newDropinCacheRemoved(self):
        """A dropin.cache that twistd or trial wrote during the tour is removed."""
        tour = Tour(Output(io.StringIO()))
        self.cache.write_text("written during the tour")

        yield tour.cleanup()

        self.assertFalse(self.cache.exists())
        self.assertFalse(tour.temp.exists())

    @defer.inlineCallbacks
    def test_oldDropinCacheKept(self):
        """A dropin.cache that was there before the tour stays."""
        self.cache.write_text("there before")
        tour = Tour(Output(io.StringIO()))

        yield tour.cleanup()

        self.assertEqual(self.cache.read_text(), "there before")


class OutputTests(unittest.SynchronousTestCase):
    """Progress and long output, on a terminal and elsewhere."""

    def output(self, tty):
        stream = io.StringIO()
        stream.isatty = lambda: tty
        clock = task.Clock()
        return Output(stream, clock), stream, clock

    def test_dotsOffATerminal(self):
        """Off a terminal, progress is a row of dots, ended before any other line."""
        out, stream, clock = self.output(tty=False)

        out.wait_for("x.py")
        clock.advance(0.5)
        out.line("quick")
        clock.advance(1)
        clock.advance(1)
        out.line("later")
        clock.advance(1)
        out.stop_waiting()

        self.assertEqual(
            stream.getvalue(),
            "quick\n... waiting for x.py ..\nlater\n... waiting for x.py .\n",
        )
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_lineOnATerminal(self):
        """On a terminal, progress is one line redrawn in place, wiped before output."""
        out, stream, clock = self.output(tty=True)

        out.wait_for("x.py")
        clock.advance(1)
        clock.advance(1)
        out.line("later")
        out.stop_waiting()

        self.assertEqual(
            stream.getvalue(),
            "\r\x1b[K... waiting for x.py: 1 s"
            "\r\x1b[K... waiting for x.py: 2 s"
            "\r\x1b[Klater\n",
        )

    def test_sayWraps(self):
        """Our prose is wrapped within 79 columns, with a hanging indent."""
        out, stream, _ = self.output(tty=False)

        out.say("--- 1. " + "word " * 30, hang="    ")

        lines = stream.getvalue().splitlines()
        self.assertEqual(" ".join(lines).split(), ["---", "1.", *["word"] * 30])
        self.assertTrue(all(len(line) <= 79 for line in lines))
        self.assertTrue(all(line.startswith("    word") for line in lines[1:]))

    def test_excerpt(self):
        """Long output keeps its head and tail and says how much was left out."""
        out, stream, _ = self.output(tty=False)
        excerpt = Excerpt(out, head=2, tail=2)

        for n in range(10):
            excerpt(f"line {n}")
        excerpt.close()

        self.assertEqual(
            stream.getvalue().splitlines(),
            ["line 0", "line 1", "[... 6 more lines ...]", "line 8", "line 9"],
        )

    def test_repeats(self):
        """A run of identical lines shows three, then how many more there were."""
        shown = []
        repeats = Repeats(shown.append, lambda n: shown.append(f"+{n}"))

        for text in ["a", "b", "b", "b", "b", "b", "c"]:
            repeats(text)

        self.assertEqual(shown, ["a", "b", "b", "b", "+2", "c"])
