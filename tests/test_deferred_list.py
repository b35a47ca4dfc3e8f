"""Part 18: the DeferredList examples, deferred-list/deferred-list-1.py ... -7.py.

Each script's output must be the text's, with the Python 3 repr of a Failure
(builtins.Exception where the text, written for Python 2, shows
exceptions.Exception). They fire their Deferreds by hand, so they run in this
process (runpy), but deferred-list-6.py, whose report comes through Twisted's
log: it runs as a process of its own. The tour's tests run every one as a
learner would.
"""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase, run_example

WITH_FAILURE = (
    "Firing d1.\n"
    "Firing d2 with errback.\n"
    "We got: [(True, 'd1 result'), (False,"
    " <twisted.python.failure.Failure builtins.Exception: d2 failure>)]\n"
)


class DeferredListExampleTests(SynchronousTestCase):
    """Each deferred-list example prints exactly the part's output."""

    def run_example(self, number):
        result = run_example(f"deferred-list/deferred-list-{number}.py")
        self.assertEqual(result.exit_code, 0)
        return result

    def test_emptyList(self):
        """deferred-list-1.py: an empty DeferredList has fired already: []."""
        proc = self.run_example(1)

        self.assertEqual(proc.stdout, "Empty List.\nAdding Callback.\nWe got: []\n")
        self.assertEqual(proc.stderr, "")

    def test_oneDeferred(self):
        """deferred-list-2.py: the list fires when its one Deferred does."""
        proc = self.run_example(2)

        self.assertEqual(
            proc.stdout,
            "One Deferred.\n"
            "Adding Callback.\n"
            "Firing d1.\n"
            "We got: [(True, 'd1 result')]\n",
        )
        self.assertEqual(proc.stderr, "")

    def test_twoDeferreds(self):
        """deferred-list-3.py: the list waits for both Deferreds."""
        proc = self.run_example(3)

        self.assertEqual(
            proc.stdout,
            "Two Deferreds.\n"
            "Adding Callback.\n"
            "Firing d1.\n"
            "Firing d2.\n"
            "We got: [(True, 'd1 result'), (True, 'd2 result')]\n",
        )
        self.assertEqual(proc.stderr, "")

    def test_firedOutOfOrder(self):
        """deferred-list-4.py: results keep the list's order, not the firing order."""
        proc = self.run_example(4)

        self.assertEqual(
            proc.stdout,
            "Two Deferreds.\n"
            "Adding Callback.\n"
            "Firing d2.\n"
            "Firing d1.\n"
            "We got: [(True, 'd1 result'), (True, 'd2 result')]\n",
        )
        self.assertEqual(proc.stderr, "")

    def test_consumeErrors(self):
        """deferred-list-5.py: a failure is (False, Failure), and nothing is reported."""
        proc = self.run_example(5)

        self.assertEqual(proc.stdout, WITH_FAILURE)
        self.assertEqual(proc.stderr, "")

    def test_ownErrback(self):
        """deferred-list-7.py: our errback on d2 handles the failure: no report."""
        proc = self.run_example(7)

        self.assertEqual(
            proc.stdout, WITH_FAILURE + "Handled d2's failure: d2 failure\n"
        )
        self.assertEqual(proc.stderr, "")


class UnhandledErrorExampleTests(ScriptTestCase):
    """deferred-list-6.py, whose report comes through Twisted's log."""

    # It fires its Deferreds by hand and ends at once.
    timeout = 10

    @defer.inlineCallbacks
    def test_unhandledErrorReported(self):
        """deferred-list-6.py: without consumeErrors, d2's failure is reported."""
        # Its report comes from Twisted's log, which only a process of its own
        # prints on stderr.
        proc = yield self.run_script("deferred-list/deferred-list-6.py")

        self.assertEqual(proc.stdout, WITH_FAILURE)
        # Twisted separates the report's parts with blank lines; the text
        # shows them without.
        self.assertEqual(
            [line for line in proc.stderr.splitlines() if line],
            [
                "Unhandled error in Deferred:",
                "Traceback (most recent call last):",
                "Failure: builtins.Exception: d2 failure",
            ],
        )
