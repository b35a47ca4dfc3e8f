"""The tooling: `make test`'s closing line and `make demo`."""

import os
import sys
import textwrap

from twisted.internet import defer
from twisted.trial import unittest

from tests.helpers import ScriptTestCase
from tools import launch

# A small suite with one test of each outcome trial knows about.
FIXTURE = textwrap.dedent(
    """
    from twisted.trial import unittest

    class FixtureTests(unittest.TestCase):
        def test_passes(self):
            pass

        def test_passesToo(self):
            pass

        def test_fails(self):
            self.fail("on purpose")

        def test_errors(self):
            raise RuntimeError("on purpose")

        def test_skips(self):
            raise unittest.SkipTest("on purpose")
    """
)


class TrialSummaryTests(ScriptTestCase):
    """tools/trial_summary.py turns trial's result into "N passed, M failed"."""

    def fixture(self, source):
        """A directory holding the package `fixture` with the given test module."""
        root = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(root, "fixture"))
        with open(os.path.join(root, "fixture", "__init__.py"), "w") as f:
            f.write("")
        with open(os.path.join(root, "fixture", "test_it.py"), "w") as f:
            f.write(source)
        return root

    def summarise(self, root):
        argv = launch.python_argv("tools/trial_summary.py", "fixture")
        # A red run keeps trial's directory for debugging: keep it in ours.
        env = launch.child_env(TMPDIR=root)
        return launch.spawn(argv, cwd=root, env=env, timeout=30)

    @defer.inlineCallbacks
    def test_countsEveryOutcome(self):
        """Failures and errors count as failed, skips are shown, the exit is 1."""
        result = yield self.summarise(self.fixture(FIXTURE))

        self.assertEqual(
            result.stdout.splitlines()[-1], "2 passed, 2 failed, 1 skipped"
        )
        self.assertEqual(result.exit_code, 1)

    @defer.inlineCallbacks
    def test_allPass(self):
        """A green run ends with "N passed, 0 failed" and exits 0."""
        source = FIXTURE.split("    def test_fails")[0]

        result = yield self.summarise(self.fixture(source))

        self.assertEqual(result.stdout.splitlines()[-1], "2 passed, 0 failed")
        self.assertEqual(result.exit_code, 0)

    @defer.inlineCallbacks
    def test_importErrorFails(self):
        """A module that cannot be imported is a failure, not a silent pass."""
        result = yield self.summarise(self.fixture("import no_such_module\n"))

        self.assertEqual(result.stdout.splitlines()[-1], "0 passed, 1 failed")
        self.assertEqual(result.exit_code, 1)

    @defer.inlineCallbacks
    def test_noTestsFails(self):
        """A module with no tests in it is a failure, said on stderr."""
        result = yield self.summarise(
            self.fixture("from twisted.trial import unittest\n")
        )

        self.assertEqual(
            result.stdout.splitlines()[-2:], ["PASSED", "0 passed, 0 failed"]
        )
        self.assertIn("trial ran no tests", result.stderr)
        self.assertEqual(result.exit_code, 1)

    @defer.inlineCallbacks
    def test_bytesThatAreNotText(self):
        """A test that prints bytes that are not UTF-8 still gets its summary."""
        source = textwrap.dedent(
            """
            import sys
            from twisted.trial import unittest

            class FixtureTests(unittest.TestCase):
                def test_prints(self):
                    sys.stdout.buffer.write(b"\\xff\\xfe not text\\n")
                    sys.stdout.flush()
            """
        )

        result = yield self.summarise(self.fixture(source))

        self.assertIn(b"\xff\xfe not text\n", result.out)
        self.assertEqual(result.out.splitlines()[-1], b"1 passed, 0 failed")
        self.assertEqual(result.exit_code, 0)

    @defer.inlineCallbacks
    def test_deprecationIsAnError(self):
        """A deprecated Twisted API used by the code under test fails the run."""
        source = textwrap.dedent(
            """
            from twisted.internet import defer
            from twisted.trial import unittest

            class FixtureTests(unittest.TestCase):
                def test_old(self):
                    @defer.inlineCallbacks
                    def old():
                        yield None
                        defer.returnValue(1)
                    return old()
            """
        )

        result = yield self.summarise(self.fixture(source))

        # trial reports the warning as an error after the test itself has
        # passed, so the one test shows in both counts.
        self.assertEqual(result.stdout.splitlines()[-1], "1 passed, 1 failed")
        self.assertIn("returnValue was deprecated", result.stdout)
        self.assertEqual(result.exit_code, 1)


class DemoTests(ScriptTestCase):
    """`make demo` runs the whole network and stops it again."""

    # Four servers and two client runs: a few seconds on a slow machine.
    timeout = 60

    @defer.inlineCallbacks
    def test_demo(self):
        """The demo prints transformed poems, a proxy miss then a hit, and exits 0."""
        result = yield self.run_script("tools/demo.py", timeout=50)

        self.assertEqual(result.exit_code, 0, result.stdout + result.stderr)
        self.assertIn("the fascination of what's difficult", result.stdout)
        self.assertIn("science! true daughter of old time thou art!", result.stdout)
        self.assertIn(
            '"Fetching poem from server." once and "Using cached poem." once',
            result.stdout,
        )
        self.assertTrue(result.stdout.rstrip().endswith("Done."))


class SpeedupTests(ScriptTestCase):
    """tools/speedup.py runs a script with shorter callLater delays."""

    @defer.inlineCallbacks
    def test_delaysShrink(self):
        """A one-minute callLater fires at once with a factor of 6000."""
        script = os.path.abspath(self.mktemp())
        with open(script, "w") as f:
            f.write(
                "from twisted.internet import reactor\n"
                "reactor.callLater(60, print, 'a minute later')\n"
                "reactor.callLater(60.5, reactor.stop)\n"
                "reactor.run()\n"
            )

        result = yield self.run_script("tools/speedup.py", "6000", script, timeout=5)

        self.assertEqual((result.exit_code, result.stdout), (0, "a minute later\n"))

    @defer.inlineCallbacks
    def test_badFactor(self):
        """A factor that is not a positive number is refused."""
        result = yield self.run_script("tools/speedup.py", "0", "x.py")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("usage: python tools/speedup.py FACTOR SCRIPT", result.stderr)
        self.assertIn("FACTOR must be a number above 0, not '0'", result.stderr)

    @defer.inlineCallbacks
    def test_noScript(self):
        """Without a script to run, the usage is printed with status 2."""
        result = yield self.run_script("tools/speedup.py", "100")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("the following arguments are required: SCRIPT", result.stderr)

    @defer.inlineCallbacks
    def test_optionsGoToTheScript(self):
        """Options after the script are the script's, even -h."""
        script = os.path.abspath(self.mktemp())
        with open(script, "w") as f:
            f.write("import sys\nprint(sys.argv[1:])\n")

        result = yield self.run_script(
            "tools/speedup.py", "2", script, "--port", "0", "-h", timeout=5
        )

        self.assertEqual(result.stdout, "['--port', '0', '-h']\n")


# Ignores SIGTERM, says so, then waits to be killed.
STUBBORN = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


class LaunchTests(unittest.TestCase):
    """tools/launch.py: waiting for new output, and stopping what is not ours."""

    timeout = 20

    @defer.inlineCallbacks
    def test_waitForSince(self):
        """wait_for with `since` counts only the lines printed after that point."""
        proc = launch.ScriptProcess("fake")
        proc.outReceived(b"tick\n")
        proc.errReceived(b"tick\n")
        since = (len(proc.out), len(proc.err))

        waiting = proc.wait_for(rb"tick", since=since)
        before = waiting.called
        proc.errReceived(b"tick\n")
        yield waiting

        self.assertFalse(before)
        self.assertTrue(waiting.called)

    @defer.inlineCallbacks
    def test_stopPidsKills(self):
        """stop_pids SIGKILLs a process that ignores SIGTERM, after the grace."""
        started = []
        ended = launch.spawn(
            [sys.executable, "-c", STUBBORN], timeout=15, started=started.append
        )
        (proc,) = started
        yield proc.wait_for(rb"ready\n")
        pid = proc.transport.pid

        yield launch.stop_pids([pid], grace=0.2)

        self.assertTrue(launch.process_gone(pid))
        yield ended
        self.assertEqual(proc.signal, 9)
