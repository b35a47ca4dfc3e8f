"""Parts 13 and 14: the Deferred examples in twisted-deferred/.

defer-10.py and defer-11.py fire their Deferreds by hand, so they run in
this process (runpy, as `python <script>` would run them); defer-unhandled.py,
whose report comes through Twisted's log, runs as a process of its own. What
matters is the order of the lines: it shows when each callback ran.
"""

from twisted.internet import defer

from tests.helpers import ScriptTestCase, run_example

DEFER_10 = """\
Example 1: three callbacks that return plain values.
Firing the outer Deferred with 0.
callback_1 got 0
callback_2 got 1
callback_3 got 2
The outer Deferred has finished its chain; its result is 3.

Example 2: the middle callback returns an inner Deferred.
Firing the outer Deferred with 0.
callback_1 got 0
callback_2 got 1 and returns an inner Deferred
The outer Deferred is paused; callback_3 has not run.
Firing the inner Deferred with 20.
callback_3 got 20
The outer Deferred has finished its chain; its result is 3.
"""

DEFER_11 = """\
Example 1: fire first, then add the callbacks.
Firing the Deferred with 0.
Adding callback_1.
callback_1 got 0
Adding callback_2.
callback_2 got 1
Adding callback_3.
callback_3 got 2

Example 2: pause, fire, add the callbacks, unpause.
Pausing the Deferred.
Firing the Deferred with 0.
Adding callback_1, callback_2 and callback_3.
Unpausing the Deferred.
callback_1 got 0
callback_2 got 1
callback_3 got 2
"""


class DeferredExampleTests(ScriptTestCase):
    """Each example prints its lines in the order its docstring promises."""

    # The examples fire their Deferreds by hand and end at once.
    timeout = 10

    def test_defer10(self):
        """defer-10.py: the outer chain pauses on the inner Deferred, then resumes."""
        proc = run_example("twisted-deferred/defer-10.py")

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stdout, DEFER_10)
        self.assertEqual(proc.stderr, "")

    def test_defer11(self):
        """defer-11.py: callbacks on a fired Deferred run at once; paused, they wait."""
        proc = run_example("twisted-deferred/defer-11.py")

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stdout, DEFER_11)
        self.assertEqual(proc.stderr, "")

    @defer.inlineCallbacks
    def test_deferUnhandled(self):
        """defer-unhandled.py: the report comes when the Deferred is collected."""
        # Both streams into one pipe, so the test sees them in the order written.
        proc = yield self.run_shell(
            "twisted-deferred/defer-unhandled.py", merge_stderr=True
        )

        self.assertEqual(proc.exit_code, 0)
        lines = proc.stdout.splitlines()
        self.assertEqual(
            lines[:4],
            [
                "Firing the Deferred; its callback raises.",
                "The failure is not handled, but nothing is reported yet.",
                "Dropping the last reference to the Deferred.",
                "Unhandled error in Deferred:",
            ],
        )
        self.assertIn("builtins.Exception: oops", lines)
        self.assertEqual(lines[-1], "Finished.")
        self.assertEqual(proc.stdout.count("Unhandled error in Deferred:"), 1)
