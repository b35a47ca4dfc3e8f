"""Part 15's exercise answers: a test broken on purpose, and Twisted's own tests.

Exercise 1 runs solutions/part-15/test_poetry_broken.py under trial, as the
answer's README row says, and checks what trial prints. Exercise 4's written
answer (solutions/README.md) makes claims about what two of Twisted's test
modules teach; the tests at the end show each claim on our own code.
"""

import os
import sys
from pathlib import Path

from twisted.internet import defer
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import NetstringReceiver
from twisted.trial.reporter import TestResult
from twisted.trial.runner import TestLoader
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ROOT, ScriptTestCase, netstring
from tools import launch

BROKEN = "solutions/part-15/test_poetry_broken.py"
BROKEN_ASSERTION = 'self.assertEqual(poem, TEST_POEM.decode("utf-8"))'
# The line trial's traceback names: the one assertion the copy changed.
BROKEN_LINE = 1 + [
    line.strip() for line in (ROOT / BROKEN).read_text(encoding="utf-8").splitlines()
].index(BROKEN_ASSERTION)

# What solutions/README.md quotes from trial's report: whole lines, each with
# its runs of spaces squeezed to one (trial pads the [OK] column).
EXCERPT = [
    "test_client ... [FAIL]",
    "test_failure ... [OK]",
    f'File "{BROKEN}", line {BROKEN_LINE}, in got_poem',
    BROKEN_ASSERTION,
    "twisted.trial.unittest.FailTest:"
    ' b"This is a test.\\nThis is only a test.\\n[54 chars] vu."'
    ' != "This is a test.\\nThis is only a test.\\nC[28 chars] vu."',
    "FAILED (failures=1, successes=1)",
]


def squeeze(line):
    """The line without its indentation, each run of spaces made one space."""
    return " ".join(line.split())


class BrokenTestTests(ScriptTestCase):
    """Exercise 1: trial runs the broken copy and reports exactly one failure."""

    # trial starts, runs two tests on loopback, and exits within a second or two.
    timeout = 20

    @defer.inlineCallbacks
    def test_oneFailureOnePass(self):
        """trial fails test_client, passes test_failure, and prints the quoted lines."""
        # The README's command, plus a temporary directory of trial's own, so
        # that it leaves no _trial_temp in the checkout.
        temp = os.path.abspath(self.mktemp())
        trial = str(Path(sys.executable).with_name("trial"))
        argv = [trial, f"--temp-directory={temp}", BROKEN]
        # With a learner's warning filters: trial loads a file that is not in
        # a package through importlib's load_module(), which Python 3.11
        # deprecates (twisted/trial/runner.py, TestLoader.loadFile), so our
        # usual error::DeprecationWarning would stop trial before any test.
        env = launch.child_env()
        del env["PYTHONWARNINGS"]

        proc = yield launch.spawn(argv, env=env, timeout=15)

        self.assertEqual(proc.exit_code, 1, proc.stdout + proc.stderr)
        lines = [squeeze(line) for line in proc.stdout.splitlines()]
        for quoted in EXCERPT:
            self.assertIn(quoted, lines)
        # test that exactly one test failed and one passed
        self.assertEqual(proc.stdout.count("[FAIL]"), 2)  # its line and its report
        self.assertEqual(proc.stdout.count("[OK]"), 1)
        self.assertIn("test_poetry_broken.PoetryTestCase.test_client\n", proc.stdout)

    def test_readmeQuotesTheExcerpt(self):
        """solutions/README.md quotes the lines trial prints, word for word."""
        readme = (ROOT / "solutions" / "README.md").read_text(encoding="utf-8")

        for quoted in EXCERPT:
            self.assertIn(f"`{quoted}`", readme)


class NotCollectedTests(SynchronousTestCase):
    """Exercise 1's broken test stays out of `make test`."""

    def test_trialTestsDoesNotFindIt(self):
        """Loading the tests package, as `trial tests` does, never finds the copy."""
        suite = TestLoader().loadByName("tests", recurse=True)

        ids = [test.id() for test in _flatten(suite)]

        self.assertIn("tests.test_poetry.PoetryTestCase.test_client", ids)
        self.assertEqual([i for i in ids if "test_poetry_broken" in i], [])


def _flatten(suite):
    for test in suite:
        if hasattr(test, "__iter__"):
            yield from _flatten(test)
        else:
            yield test


# -- exercise 2: a pitfall the documentation warns about -------------------


class SynchronousTestCaseTests(SynchronousTestCase):
    """A SynchronousTestCase never waits for a Deferred its test returns."""

    def run_case(self, method):
        """Run `method` as the one test of a SynchronousTestCase; return the result."""
        # Defined here, not at module level, so that trial does not collect it.
        case = type("Example", (SynchronousTestCase,), {"test_it": method})
        result = TestResult()
        case("test_it").run(result)
        return result

    def test_returnedDeferredIsNotWaitedFor(self):
        """A returned Deferred that never fires passes: nothing waited for it."""
        result = self.run_case(lambda self: defer.Deferred())

        self.assertTrue(result.wasSuccessful())
        self.assertEqual(result.successes, 1)

    def test_successResultOfInsists(self):
        """successResultOf on a Deferred without a result fails the test instead."""
        result = self.run_case(lambda self: self.successResultOf(defer.Deferred()))

        self.assertEqual(len(result.failures), 1)


# -- exercise 4: what Twisted's own tests teach, shown on our code ----------


class ChainingTests(SynchronousTestCase):
    """twisted/test/test_defer.py, DeferredTests.test_synchronousImplicitChain."""

    def test_chainedDeferredGivesUpItsResult(self):
        """A Deferred returned from a callback hands its result on and keeps None."""
        inner = defer.succeed(b"a poem")
        outer = defer.Deferred()
        outer.addCallback(lambda _: inner)

        outer.callback(None)

        self.assertEqual(self.successResultOf(outer), b"a poem")
        self.assertIsNone(self.successResultOf(inner))


class CancelWithoutCancellerTests(SynchronousTestCase):
    """twisted/test/test_defer.py, DeferredCancellerTests.test_raisesAfterCancelAndCallback."""

    def test_oneLateCallbackIsSwallowed(self):
        """After cancel(), one late callback is ignored; a second one raises."""
        d = defer.Deferred()
        d.cancel()

        d.callback(b"the poem arrived anyway")  # swallowed, not AlreadyCalledError

        self.failureResultOf(d, defer.CancelledError)
        self.assertRaises(defer.AlreadyCalledError, d.callback, b"again")


class Collector(NetstringReceiver):
    """A NetstringReceiver that keeps every string it receives."""

    def connectionMade(self):
        self.received = []

    def stringReceived(self, string):
        self.received.append(string)


class NetstringPortionsTests(SynchronousTestCase):
    """twisted/protocols/test/test_basic.py, NetstringReceiverTests."""

    def connect(self):
        proto = Collector()
        proto.makeConnection(StringTransport())
        return proto

    def test_oneByteAtATime(self):
        """A poem request split into single bytes is received whole, once."""
        request = netstring("cummingsify.A Poem — déjà vu".encode())
        proto = self.connect()

        for i in range(len(request)):
            proto.dataReceived(request[i : i + 1])

        self.assertEqual(proto.received, ["cummingsify.A Poem — déjà vu".encode()])

    def test_badLengthClosesConnection(self):
        """A netstring longer than its length says makes the receiver hang up."""
        proto = self.connect()

        proto.dataReceived(b"2:aaa,")

        self.assertEqual(proto.received, [])
        self.assertTrue(proto.transport.disconnecting)
