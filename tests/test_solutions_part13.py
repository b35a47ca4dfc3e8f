"""Part 13, exercises 4 and 5: a callback or errback that returns a Deferred.

Exercise 4 is solutions/part-13/defer-10-errback.py, run as a learner runs
it. Exercise 5 is a written answer (solutions/README.md, "Part 13,
exercise 5: where a Deferred waits for a Deferred"); the tests below back
each claim it makes about Deferred._runCallbacks in twisted/internet/defer.py.
"""

import gc
import itertools

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase, logged_messages
from tests.test_deferred_examples import DEFER_10

ANSWER = "solutions/part-13/defer-10-errback.py"

# defer-10.py's two examples, then the two the answer adds.
DEFER_10_ERRBACK = (
    DEFER_10
    + """
Example 3: the outer Deferred fails; its errback returns an inner Deferred.
Failing the outer Deferred with Exception('outer failure').
errback_2 got the failure 'outer failure' and returns an inner Deferred
The outer Deferred is paused; callback_3 and errback_3 have not run.
Firing the inner Deferred with 20.
callback_3 got 20
The outer Deferred has finished its chain; its result is 3.

Example 4: the same, but the inner Deferred fails.
Failing the outer Deferred with Exception('outer failure').
errback_2 got the failure 'outer failure' and returns an inner Deferred
The outer Deferred is paused; callback_3 and errback_3 have not run.
Failing the inner Deferred with Exception('inner failure').
errback_3 got the failure 'inner failure'
The outer Deferred has finished its chain; its result is recovered.
"""
)


class DeferErrbackScriptTests(ScriptTestCase):
    """Exercise 4: the script prints its lines in the order its docstring shows."""

    # It fires its Deferreds by hand and ends at once.
    timeout = 10

    @defer.inlineCallbacks
    def test_outputInOrder(self):
        """The errback's inner Deferred pauses the chain; its result picks the path."""
        proc = yield self.run_script(ANSWER)

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stdout, DEFER_10_ERRBACK)
        self.assertEqual(proc.stderr, "")


class ChainingTests(SynchronousTestCase):
    """Exercise 5: what Deferred._runCallbacks does when a callback returns a Deferred."""

    def outer_waiting_on(self, inner, via="callback"):
        """An outer Deferred fired so that its first callback (or errback)
        returns `inner`; a second callback and errback record what they get."""
        outer = defer.Deferred()
        self.got = []
        if via == "callback":
            outer.addCallback(lambda _: inner)
        else:
            outer.addErrback(lambda _: inner)
        outer.addCallbacks(self.got.append, lambda f: self.got.append(f.value))
        if via == "callback":
            outer.callback("outer result")
        else:
            outer.errback(ValueError("outer failure"))
        return outer

    def test_outerPausesWhileInnerHasNoResult(self):
        """The outer Deferred pauses itself, and says what it waits on."""
        inner = defer.Deferred()

        outer = self.outer_waiting_on(inner)

        self.assertEqual(outer.paused, 1)
        self.assertEqual(self.got, [])
        self.assertIn(f"waiting on Deferred at 0x{id(inner):x}", str(outer))

    def test_errbackReturningDeferredPausesToo(self):
        """An errback that returns an unfired Deferred pauses the chain the same way."""
        inner = defer.Deferred()

        outer = self.outer_waiting_on(inner, via="errback")

        self.assertEqual(outer.paused, 1)
        self.assertEqual(self.got, [])

    def test_innerResultResumesOuter(self):
        """When the inner Deferred fires, the outer goes on with its result and unpauses."""
        inner = defer.Deferred()
        outer = self.outer_waiting_on(inner)

        inner.callback(20)

        self.assertEqual(self.got, [20])
        self.assertEqual(outer.paused, 0)

    def test_innerFailureGoesDownTheErrbackPath(self):
        """An inner failure arrives in the outer's next errback."""
        inner = defer.Deferred()
        self.outer_waiting_on(inner, via="errback")

        inner.errback(KeyError("inner failure"))

        [value] = self.got
        self.assertIsInstance(value, KeyError)

    def test_continuationJoinsTheInnerChain(self):
        """The outer adds one step to the end of the inner's chain: it takes the
        inner's result, so a callback added to the inner later gets None."""
        inner = defer.Deferred()
        self.outer_waiting_on(inner)
        later = []
        inner.addCallback(later.append)

        inner.callback(20)

        self.assertEqual(self.got, [20])
        self.assertEqual(later, [None])

    def test_innerCallbacksRunFirst(self):
        """Callbacks already on the inner run before the outer gets the result."""
        inner = defer.Deferred()
        inner.addCallback(lambda n: n * 2)
        self.outer_waiting_on(inner)

        inner.callback(20)

        self.assertEqual(self.got, [40])

    def test_firedInnerIsTakenAtOnce(self):
        """An inner Deferred that already has a result: the outer takes it at once,
        without pausing, and the inner is left holding None."""
        inner = defer.succeed(5)

        outer = self.outer_waiting_on(inner)

        self.assertEqual(self.got, [5])
        self.assertEqual(outer.paused, 0)
        self.assertIsNone(self.successResultOf(inner))

    def test_pausedInnerIsWaitedFor(self):
        """An inner Deferred that has a result but is paused is waited for all the same."""
        inner = defer.succeed(5)
        inner.pause()

        outer = self.outer_waiting_on(inner)
        waited = (outer.paused, list(self.got))
        inner.unpause()

        self.assertEqual(waited, (1, []))
        self.assertEqual(self.got, [5])

    def test_failureHandedOverIsNotReportedTwice(self):
        """An inner failure passed to the outer is no longer the inner's: once the
        outer handles it, nothing is logged as unhandled when both are collected."""
        log = self.enterContext(logged_messages())
        inner = defer.Deferred()
        self.outer_waiting_on(inner)
        inner.errback(KeyError("handled by the outer"))

        del inner
        gc.collect()

        self.assertEqual(log, [])

    def test_longChainsDoNotRecurse(self):
        """Thousands of Deferreds each waiting on the next resolve in one loop, with
        no RecursionError: _runCallbacks walks the chain with a list, not recursion."""
        depth = 10_000
        deferreds = [defer.Deferred() for _ in range(depth)]
        for outer, inner in itertools.pairwise(deferreds):
            outer.addCallback(lambda _, inner=inner: inner)
        for d in deferreds[:-1]:
            d.callback(None)
        got = []
        deferreds[0].addCallback(got.append)

        deferreds[-1].callback("from the bottom")

        self.assertEqual(got, ["from the bottom"])
