"""Part 14, exercises 1 and 5: Deferreds that fire before, or not during, our code.

Exercise 1 is solutions/part-14/defer-11-prefailed.py, run as a learner
runs it, and the note in solutions/README.md on defer.fail, backed by the
tests of FailTests. Exercise 5 is a written answer (solutions/README.md,
"Part 14, exercise 5: can a Deferred fire while we add its callbacks?"),
backed by NoFiringMidwayTests.
"""

import threading

from twisted.internet import defer, task
from twisted.python.failure import Failure, NoCurrentExceptionError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.helpers import ScriptTestCase, logged_messages
from tests.test_deferred_examples import DEFER_11

ANSWER = "solutions/part-14/defer-11-prefailed.py"

# What the answer adds after defer-11.py's two examples, on stdout.
EXAMPLES_3_TO_5 = """
Example 3: fail first with .errback(), then add the callbacks.
Failing the Deferred with Exception('oops').
Adding callback_1.
Adding errback_1.
errback_1 got the failure 'oops'
Adding callback_2.
callback_2 got 1

Example 4: defer.fail() makes a Deferred that has already failed.
Making the Deferred with fail(Exception('oops')).
Adding callback_1.
Adding errback_1.
errback_1 got the failure 'oops'
Adding callback_2.
callback_2 got 1

Example 5: a failure that nobody handles.
Making the Deferred with fail(Exception('nobody handles this')).
Adding callback_1.
The failure is still in the Deferred; nothing is reported yet.
Dropping the last reference to the Deferred.
"""

# What Twisted logs on stderr when the unhandled failure's Deferred goes.
REPORT = """\
Unhandled error in Deferred:

Traceback (most recent call last):
Failure: builtins.Exception: nobody handles this

"""


class PrefailedScriptTests(ScriptTestCase):
    """Exercise 1: the script, run as a learner runs it."""

    # It fires its Deferreds by hand and ends at once.
    timeout = 10

    @defer.inlineCallbacks
    def test_outputInOrder(self):
        """With stderr in the same pipe, each line comes where the docstring shows:
        the report comes after the last reference goes, before "Finished."."""
        proc = yield self.run_shell(ANSWER, merge_stderr=True)

        self.assertEqual(proc.exit_code, 0)
        self.assertEqual(
            proc.stdout, DEFER_11 + EXAMPLES_3_TO_5 + REPORT + "Finished.\n"
        )

    @defer.inlineCallbacks
    def test_reportOnStderr(self):
        """The report, and only the report, goes to stderr."""
        proc = yield self.run_script(ANSWER)

        self.assertEqual(proc.exit_code, 0)
        self.assertEqual(proc.stdout, DEFER_11 + EXAMPLES_3_TO_5 + "Finished.\n")
        self.assertEqual(proc.stderr, REPORT)


class FailTests(SynchronousTestCase):
    """Exercise 1's note: what defer.fail does (twisted/internet/defer.py)."""

    def test_failedAtOnce(self):
        """fail(exception) returns a Deferred that has already failed with it."""
        error = KeyError("missing")

        d = defer.fail(error)

        self.assertTrue(d.called)
        self.assertIs(self.failureResultOf(d, KeyError).value, error)

    def test_sameAsErrback(self):
        """It is a new Deferred given to errback(): the same Failure comes out."""
        failure = Failure(KeyError("missing"))
        made = defer.Deferred()
        made.errback(failure)

        self.assertIs(self.failureResultOf(defer.fail(failure)), failure)
        self.assertIs(self.failureResultOf(made), failure)

    def test_noArgumentTakesTheCurrentException(self):
        """With no argument, inside an except block, it fails with that exception."""
        try:
            {}["missing"]
        except KeyError:
            d = defer.fail()

        failure = self.failureResultOf(d, KeyError)
        self.assertIsNotNone(failure.getTracebackObject())

    def test_noArgumentAndNoException(self):
        """With no argument and no exception being handled, it raises at once."""
        self.assertRaises(NoCurrentExceptionError, defer.fail)

    def test_unhandledIsReportedWhenCollected(self):
        """A failure nobody handles is logged as soon as its Deferred is destroyed."""
        log = self.enterContext(logged_messages())
        d = defer.fail(KeyError("nobody handles this"))
        d.addCallback(lambda result: result)  # skipped: the result is a failure
        before = list(log)

        del d

        self.assertEqual(before, [])
        self.assertIn("Unhandled error in Deferred:", log)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)


class NoFiringMidwayTests(TestCase):
    """Exercise 5: nothing fires a Deferred between two lines of our code."""

    timeout = 5

    def add_callbacks(self, d, record):
        """Lines 2-4 of the snippet: two callbacks and an errback."""
        d.addCallback(lambda result: record.append(("my_callback", result)) or result)
        d.addCallback(lambda result: record.append(("my_other_callback", result)))
        d.addErrback(lambda failure: record.append(("my_errback", failure)))

    def test_dueTimerWaitsForUs(self):
        """A timer already due does not fire while our code runs."""
        from twisted.internet import reactor

        record = []
        d = task.deferLater(reactor, 0, lambda: "fired")  # due at once

        self.add_callbacks(d, record)
        called_while_adding = d.called

        self.assertFalse(called_while_adding)
        self.assertEqual(record, [])
        # Returning d gives the reactor back control: only then does it fire.
        return d.addCallback(
            lambda _: self.assertEqual(
                record, [("my_callback", "fired"), ("my_other_callback", "fired")]
            )
        )

    def test_threadResultWaitsForUs(self):
        """A thread that has finished and handed its result over with
        callFromThread still waits for the reactor, which waits for us."""
        from twisted.internet import reactor

        record = []
        d = defer.Deferred()
        worker = threading.Thread(
            target=reactor.callFromThread, args=(d.callback, "from a thread")
        )
        worker.start()
        worker.join(5)

        self.add_callbacks(d, record)
        called_while_adding = d.called

        self.assertFalse(worker.is_alive())
        self.assertFalse(called_while_adding)
        return d.addCallback(
            lambda _: self.assertEqual(record[0], ("my_callback", "from a thread"))
        )

    def test_alreadyFiredRunsInsideAddCallback(self):
        """The other case: a Deferred that has already fired runs each callback
        at once, inside addCallback, before the next line."""
        record = []
        d = defer.succeed("already here")

        d.addCallback(lambda result: record.append(("my_callback", result)))
        record.append("the next line")

        self.assertEqual(record, [("my_callback", "already here"), "the next line"])
