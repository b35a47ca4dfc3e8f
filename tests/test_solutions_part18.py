"""Part 18's exercise answers: DeferredList read, varied, nested; a DeferredDict.

Exercise 1's written answer (solutions/README.md) walks through DeferredList,
gatherResults and race in twisted/internet/defer.py; DeferredListSourceTests
shows each claim it makes. Exercises 2 and 3 are scripts, run in this
process as `python <script>` runs them. Exercise 5's DeferredDict is tested directly, on Deferreds fired
by hand, and its demo is run once.
"""

import ast
import gc

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import load_script, run_example
from tests.test_solutions_part17 import shown_output

DEFERRED_DICT = "solutions/part-18/deferred-dict.py"


def cancellable(log, name):
    """A Deferred whose canceller records `name` in `log` (then fails it as usual)."""
    return defer.Deferred(lambda d: log.append(name))


class DeferredListSourceTests(SynchronousTestCase):
    """Exercise 1: what DeferredList.__init__ and _cbDeferred do, claim by claim."""

    def test_resultsInListOrder(self):
        """Results go in the input's slot of resultList, whatever order they fire in."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        dl = defer.DeferredList([d1, d2])

        d2.callback("second")

        self.assertEqual(dl.resultList, [None, (True, "second")])
        self.assertNoResult(dl)
        d1.callback("first")
        self.assertEqual(self.successResultOf(dl), [(True, "first"), (True, "second")])

    def test_alreadyFiredInputsCountAtOnce(self):
        """Inputs that fired already are collected inside the constructor."""
        dl = defer.DeferredList([defer.succeed(1), defer.succeed(2)])

        self.assertEqual(self.successResultOf(dl), [(True, 1), (True, 2)])

    def test_emptyListFiresAtOnce(self):
        """An empty DeferredList has fired with [] before anyone adds a callback."""
        self.assertEqual(self.successResultOf(defer.DeferredList([])), [])

    def test_itsCallbacksAreJustCallbacks(self):
        """A callback added to an input first changes what the DeferredList sees."""
        d1 = defer.Deferred()
        d1.addCallback(lambda poem: poem.upper())
        dl = defer.DeferredList([d1])

        d1.callback("a poem")

        self.assertEqual(self.successResultOf(dl), [(True, "A POEM")])

    def test_resultPassesOnDownTheInput(self):
        """_cbDeferred returns the result, so callbacks added later still get it."""
        d1 = defer.Deferred()
        defer.DeferredList([d1])
        later = []
        d1.addCallback(later.append)

        d1.callback("a poem")

        self.assertEqual(later, ["a poem"])

    def test_consumeErrorsTurnsInputFailureIntoNone(self):
        """With consumeErrors, the input's chain goes on with None after a failure."""
        d1 = defer.Deferred()
        dl = defer.DeferredList([d1], consumeErrors=True)

        d1.errback(ValueError("server down"))

        self.assertIsNone(self.successResultOf(d1))
        [(succeeded, failure)] = self.successResultOf(dl)
        self.assertFalse(succeeded)
        self.assertIsInstance(failure.value, ValueError)

    def test_unconsumedFailureIsReportedWhenCollected(self):
        """Without consumeErrors the input keeps its failure, logged when collected."""
        d1 = defer.Deferred()
        dl = defer.DeferredList([d1])
        d1.errback(ValueError("server down"))
        self.assertFalse(self.successResultOf(dl)[0][0])

        del d1, dl
        gc.collect()

        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_fireOnOneCallbackGivesResultAndIndex(self):
        """fireOnOneCallback: the first success fires it with (result, index)."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        dl = defer.DeferredList([d1, d2], fireOnOneCallback=True)

        d2.callback("mirror 2")
        d1.callback("mirror 1")

        self.assertEqual(self.successResultOf(dl), ("mirror 2", 1))
        # test that later results are still recorded, but fire nothing
        self.assertEqual(dl.resultList, [(True, "mirror 1"), (True, "mirror 2")])

    def test_fireOnOneCallbackAllFailedGivesTheList(self):
        """fireOnOneCallback with no success at all: the full list, after all."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        dl = defer.DeferredList([d1, d2], fireOnOneCallback=True, consumeErrors=True)

        d1.errback(ValueError("one"))
        d2.errback(ValueError("two"))

        self.assertEqual([ok for ok, _ in self.successResultOf(dl)], [False, False])

    def test_fireOnOneCallbackEmptyNeverFires(self):
        """An empty DeferredList with fireOnOneCallback never fires."""
        self.assertNoResult(defer.DeferredList([], fireOnOneCallback=True))

    def test_fireOnOneErrbackGivesFirstError(self):
        """fireOnOneErrback: the first failure fails it with FirstError(index)."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        dl = defer.DeferredList([d1, d2], fireOnOneErrback=True, consumeErrors=True)
        error = ValueError("server down")

        d2.errback(error)

        first = self.failureResultOf(dl, defer.FirstError).value
        self.assertEqual(first.index, 1)
        self.assertIs(first.subFailure.value, error)
        self.assertEqual(repr(first), "FirstError[#1, ValueError('server down')]")

    def test_fireOnOneErrbackDoesNotConsume(self):
        """fireOnOneErrback alone leaves the failure in the input, logged when collected."""
        d1 = defer.Deferred()
        dl = defer.DeferredList([d1], fireOnOneErrback=True)
        dl.addErrback(lambda f: f.trap(defer.FirstError))

        d1.errback(ValueError("server down"))
        del d1, dl
        gc.collect()

        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_cancelCancelsEveryInput(self):
        """cancel() cancels each input; the list then fires with their failures."""
        cancelled = []
        d1, d2 = cancellable(cancelled, "d1"), cancellable(cancelled, "d2")
        dl = defer.DeferredList([d1, d2], consumeErrors=True)

        dl.cancel()

        self.assertEqual(cancelled, ["d1", "d2"])
        results = self.successResultOf(dl)
        self.assertEqual(
            [f.check(defer.CancelledError) for _, f in results],
            [defer.CancelledError, defer.CancelledError],
        )

    def test_cancellerErrorsAreLogged(self):
        """A canceller that raises is logged and skipped; the others are still cancelled."""
        cancelled = []

        def broken(d):
            raise ZeroDivisionError("a broken canceller")

        d1, d2 = defer.Deferred(broken), cancellable(cancelled, "d2")
        dl = defer.DeferredList([d1, d2], consumeErrors=True)

        dl.cancel()

        self.assertEqual(cancelled, ["d2"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        # test that d1, whose canceller raised, was left unfired, so the
        # DeferredList still waits for it
        self.assertNoResult(d1)
        self.assertNoResult(dl)
        d1.callback("late")
        self.assertEqual([ok for ok, _ in self.successResultOf(dl)], [True, False])

    def test_cancelReachesIntoFiredInputs(self):
        """cancel() cancels fired inputs too, reaching a Deferred chained after them."""
        cancelled = []
        d1, d2 = defer.Deferred(), defer.Deferred()
        dl = defer.DeferredList([d1, d2], consumeErrors=True)
        d1.callback("a poem")
        # Work chained on d1 after the DeferredList saw its result.
        transform = cancellable(cancelled, "transform")
        d1.addCallback(lambda poem: transform)

        dl.cancel()

        self.assertEqual(cancelled, ["transform"])
        self.failureResultOf(d1, defer.CancelledError)

    def test_cancelAfterFiringDoesNothing(self):
        """Once it has fired (here on one callback), cancel() leaves the inputs alone."""
        cancelled = []
        d2 = cancellable(cancelled, "d2")
        dl = defer.DeferredList([defer.succeed("fast"), d2], fireOnOneCallback=True)

        dl.cancel()

        self.assertEqual(cancelled, [])
        self.assertNoResult(d2)
        d2.callback("slow")

    def test_gatherResultsGivesPlainValues(self):
        """gatherResults: a list of plain results, no (success, result) pairs."""
        d = defer.gatherResults([defer.succeed(1), defer.succeed(2)])

        self.assertEqual(self.successResultOf(d), [1, 2])

    def test_gatherResultsIsADeferredList(self):
        """gatherResults returns a DeferredList made with fireOnOneErrback=True."""
        d = defer.gatherResults([defer.Deferred()])

        self.assertIsInstance(d, defer.DeferredList)
        self.assertTrue(d.fireOnOneErrback)

    def test_gatherResultsFailsWithFirstError(self):
        """gatherResults fails on the first failure, with a FirstError."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = defer.gatherResults([d1, d2], consumeErrors=True)

        d2.errback(ValueError("server down"))

        first = self.failureResultOf(d, defer.FirstError).value
        self.assertEqual(first.index, 1)
        self.assertIsInstance(first.subFailure.value, ValueError)

    def test_raceGivesIndexThenResultAndCancelsTheRest(self):
        """race: (index, result) of the first success; the others are cancelled."""
        cancelled = []
        d1, d2 = cancellable(cancelled, "d1"), defer.Deferred()
        d = defer.race([d1, d2])

        d2.callback("mirror 2")

        self.assertEqual(self.successResultOf(d), (1, "mirror 2"))
        self.assertEqual(cancelled, ["d1"])
        # test that race's callbacks consumed both the loser's CancelledError
        # and the winner's result
        self.assertIsNone(self.successResultOf(d1))
        self.assertIsNone(self.successResultOf(d2))

    def test_raceEmptyNeverFires(self):
        """race of no Deferreds never fires."""
        self.assertNoResult(defer.race([]))

    def test_raceAllFailedGivesFailureGroup(self):
        """race fails only when every input has, with a FailureGroup in input order."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = defer.race([d1, d2])

        d2.errback(KeyError("two"))
        self.assertNoResult(d)
        d1.errback(ValueError("one"))

        group = self.failureResultOf(d, defer.FailureGroup).value
        self.assertEqual([f.type for f in group.failures], [ValueError, KeyError])


class FireOnOneExampleTests(SynchronousTestCase):
    """Exercise 2: the fireOnOneCallback and fireOnOneErrback examples."""

    def test_fireOnOneCallback(self):
        """The first Deferred to succeed (d2) fires the list with (result, index)."""
        proc = run_example("solutions/part-18/deferred-list-fire-on-one-callback.py")

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        lines = proc.stdout.splitlines()
        self.assertEqual(
            lines,
            [
                "Two Deferreds.",
                "Adding Callback.",
                "Firing d2.",
                "We got: ('d2 result', 1)",
                "Firing d1.",
            ],
        )
        # test that the result is a (result, index) pair, not a list
        shape = ast.literal_eval(lines[3].removeprefix("We got: "))
        self.assertEqual(shape, ("d2 result", 1))

    def test_fireOnOneErrback(self):
        """The first Deferred to fail (d2) fails the list with FirstError, index 1."""
        proc = run_example("solutions/part-18/deferred-list-fire-on-one-errback.py")

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        self.assertEqual(
            proc.stdout,
            "Firing d2 with errback.\n"
            "We failed: FirstError[#1, Exception('d2 failure')]\n"
            "  index: 1\n"
            "  sub-failure:"
            " <twisted.python.failure.Failure builtins.Exception: d2 failure>\n"
            "Firing d1.\n",
        )
        # test that consumeErrors still keeps d2's failure from being
        # unhandled: that would be logged when d2 is collected
        gc.collect()
        self.assertEqual(self.flushLoggedErrors(), [])


class NestedExampleTests(SynchronousTestCase):
    """Exercise 3: a DeferredList of DeferredLists."""

    def test_nestedResult(self):
        """The outer list holds one (True, inner list) pair per inner DeferredList."""
        proc = run_example("solutions/part-18/deferred-list-nested.py")

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        self.assertEqual(
            proc.stdout,
            "Firing d1.\n"
            "Firing d2 with errback.\n"
            "Firing d3.\n"
            "Firing d4.\n"
            "We got: [(True, [(True, 'd1 result'), (False,"
            " <twisted.python.failure.Failure builtins.Exception: d2 failure>)]),"
            " (True, [(True, 'd3 result'), (True, 'd4 result')])]\n",
        )


class DeferredDictTests(SynchronousTestCase):
    """Exercise 5: DeferredDict keeps the semantics its docstring defines."""

    def setUp(self):
        module = load_script(DEFERRED_DICT)
        self.DeferredDict = module.DeferredDict
        self.FirstKeyError = module.FirstKeyError

    def test_emptyDictFiresAtOnce(self):
        """An empty dict gives {} at once."""
        self.assertEqual(self.successResultOf(self.DeferredDict({})), {})

    def test_emptyDictFiresEvenWithFireOnOneCallback(self):
        """Unlike an empty DeferredList, it fires with {} under fireOnOneCallback too."""
        d = self.DeferredDict({}, fireOnOneCallback=True)

        self.assertEqual(self.successResultOf(d), {})

    def test_waitsForEveryInput(self):
        """It fires only once the last input has fired."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict({"a": d1, "b": d2})

        d1.callback(1)

        self.assertNoResult(d)
        d2.callback(2)
        self.assertEqual(self.successResultOf(d), {"a": (True, 1), "b": (True, 2)})

    def test_keysInInputOrderNotFiringOrder(self):
        """Fired out of order, the results still come in the dict's own order."""
        ds = {name: defer.Deferred() for name in ["science", "ecstasy", "fascination"]}
        d = self.DeferredDict(ds)

        for name in ["fascination", "science", "ecstasy"]:
            ds[name].callback(name.upper())

        result = self.successResultOf(d)
        self.assertEqual(list(result), ["science", "ecstasy", "fascination"])
        self.assertEqual(result["ecstasy"], (True, "ECSTASY"))

    def test_failureIsAFalsePair(self):
        """A failed input is reported as (False, failure); the dict still succeeds."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict({"up": d1, "down": d2}, consumeErrors=True)
        error = ValueError("server down")

        d1.callback("a poem")
        d2.errback(error)

        result = self.successResultOf(d)
        self.assertEqual(result["up"], (True, "a poem"))
        succeeded, failure = result["down"]
        self.assertFalse(succeeded)
        self.assertIsInstance(failure, Failure)
        self.assertIs(failure.value, error)

    def test_consumeErrorsHandlesTheInputFailure(self):
        """With consumeErrors, a failed input's chain goes on with None."""
        d1 = defer.Deferred()
        self.DeferredDict({"down": d1}, consumeErrors=True)

        d1.errback(ValueError("server down"))

        self.assertIsNone(self.successResultOf(d1))

    def test_withoutConsumeErrorsTheFailurePassesOn(self):
        """Without consumeErrors, the input still fails for callbacks added later."""
        d1 = defer.Deferred()
        self.DeferredDict({"down": d1})

        d1.errback(ValueError("server down"))

        self.failureResultOf(d1, ValueError)

    def test_unconsumedFailureIsReportedWhenCollected(self):
        """An unconsumed failure is logged as unhandled when its input is collected."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict({"up": d1, "down": d2})
        d1.callback("a poem")
        d2.errback(ValueError("server down"))
        self.assertFalse(self.successResultOf(d)["down"][0])

        del d1, d2, d
        gc.collect()

        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_fireOnOneCallbackGivesResultAndKey(self):
        """fireOnOneCallback: the first success fires it with (result, key)."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict({"mirror-1": d1, "mirror-2": d2}, fireOnOneCallback=True)

        d2.callback("the poem")
        d1.callback("the poem, later")

        self.assertEqual(self.successResultOf(d), ("the poem", "mirror-2"))

    def test_fireOnOneCallbackSkipsFailures(self):
        """fireOnOneCallback waits past failures for the first success."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict(
            {"down": d1, "up": d2}, fireOnOneCallback=True, consumeErrors=True
        )

        d1.errback(ValueError("server down"))

        self.assertNoResult(d)
        d2.callback("the poem")
        self.assertEqual(self.successResultOf(d), ("the poem", "up"))

    def test_fireOnOneCallbackAllFailedGivesTheDict(self):
        """fireOnOneCallback with no success at all: the full dict of failures."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict(
            {"a": d1, "b": d2}, fireOnOneCallback=True, consumeErrors=True
        )

        d1.errback(ValueError("one"))
        d2.errback(ValueError("two"))

        result = self.successResultOf(d)
        self.assertEqual(
            {k: ok for k, (ok, _) in result.items()}, {"a": False, "b": False}
        )

    def test_fireOnOneErrbackNamesTheKey(self):
        """fireOnOneErrback: the first failure fails it with a FirstKeyError."""
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict(
            {"up": d1, "down": d2}, fireOnOneErrback=True, consumeErrors=True
        )
        error = ValueError("server down")

        d2.errback(error)

        first = self.failureResultOf(d, self.FirstKeyError).value
        self.assertEqual(first.key, "down")
        self.assertIs(first.subFailure.value, error)
        self.assertEqual(
            repr(first), "FirstKeyError['down', ValueError('server down')]"
        )
        d1.callback("too late")  # changes nothing

    def test_firstKeyErrorIsAFirstError(self):
        """Code that traps defer.FirstError traps a FirstKeyError too."""
        d1 = defer.Deferred()
        d = self.DeferredDict({"down": d1}, fireOnOneErrback=True, consumeErrors=True)

        d1.errback(ValueError("server down"))

        self.failureResultOf(d, defer.FirstError)

    def test_fireOnOneErrbackAllSucceededGivesTheDict(self):
        """fireOnOneErrback with no failure: the full dict, as by default."""
        d = self.DeferredDict(
            {"a": defer.succeed(1), "b": defer.succeed(2)}, fireOnOneErrback=True
        )

        self.assertEqual(self.successResultOf(d), {"a": (True, 1), "b": (True, 2)})

    def test_alreadyFiredInputs(self):
        """Inputs that fired already are counted at once, in the constructor."""
        d1 = defer.Deferred()
        d = self.DeferredDict({"ready": defer.succeed("cached"), "later": d1})

        self.assertNoResult(d)
        d1.callback("fetched")
        self.assertEqual(
            self.successResultOf(d),
            {"ready": (True, "cached"), "later": (True, "fetched")},
        )

    def test_alreadyFiredInputWinsFireOnOneCallback(self):
        """With fireOnOneCallback, an input that fired already wins at construction."""
        pending = defer.Deferred()
        d = self.DeferredDict(
            {"slow": pending, "cached": defer.succeed("the poem")},
            fireOnOneCallback=True,
        )

        self.assertEqual(self.successResultOf(d), ("the poem", "cached"))
        pending.callback("later")

    def test_nonStringKeys(self):
        """Any hashable is a key: (host, port) pairs, numbers, None."""
        keys = [("127.0.0.1", 10002), ("127.0.0.1", 10003), 7, None]
        d = self.DeferredDict({key: defer.succeed(str(key)) for key in keys})

        result = self.successResultOf(d)

        self.assertEqual(list(result), keys)
        self.assertEqual(result[("127.0.0.1", 10003)], (True, "('127.0.0.1', 10003)"))

    def test_callersDictIsCopied(self):
        """Changing the dict after making the DeferredDict changes nothing."""
        d1 = defer.Deferred()
        inputs = {"a": d1}
        d = self.DeferredDict(inputs)

        inputs["b"] = defer.Deferred()
        d1.callback(1)

        self.assertEqual(self.successResultOf(d), {"a": (True, 1)})

    def test_cancelCancelsPendingInputs(self):
        """Cancelling it cancels the inputs that have not fired, and only those."""
        cancelled = []
        d1, d2 = cancellable(cancelled, "d1"), cancellable(cancelled, "d2")
        d = self.DeferredDict(
            {"fired": defer.succeed("fast"), "one": d1, "two": d2}, consumeErrors=True
        )

        d.cancel()

        self.assertEqual(cancelled, ["d1", "d2"])
        result = self.successResultOf(d)
        self.assertEqual(result["fired"], (True, "fast"))
        for key in ["one", "two"]:
            succeeded, failure = result[key]
            self.assertFalse(succeeded)
            failure.trap(defer.CancelledError)

    def test_cancelLeavesFiredInputsAlone(self):
        """Unlike DeferredList's, its cancel() leaves alone work chained on a fired input."""
        cancelled = []
        d1, d2 = defer.Deferred(), defer.Deferred()
        d = self.DeferredDict({"fetched": d1, "pending": d2}, consumeErrors=True)
        d1.callback("a poem")
        # Work chained on d1 after the DeferredDict saw its result.
        transform = cancellable(cancelled, "transform")
        d1.addCallback(lambda poem: transform)

        d.cancel()

        self.assertEqual(cancelled, [])
        self.assertNoResult(d1)
        self.assertEqual(self.successResultOf(d)["fetched"], (True, "a poem"))
        transform.callback("the transformed poem")

    def test_cancelWithFireOnOneErrback(self):
        """Under fireOnOneErrback, cancelling fails it with the first CancelledError."""
        d1 = defer.Deferred()
        d = self.DeferredDict({"one": d1}, fireOnOneErrback=True, consumeErrors=True)

        d.cancel()

        first = self.failureResultOf(d, self.FirstKeyError).value
        self.assertEqual(first.key, "one")
        first.subFailure.trap(defer.CancelledError)

    def test_cancelStillPendingGivesCancelledError(self):
        """If an input stays pending after cancel(), it fails with CancelledError."""
        d1 = defer.Deferred()
        d1.pause()  # its callbacks, ours included, cannot run yet
        d = self.DeferredDict({"paused": d1}, consumeErrors=True)

        d.cancel()

        self.failureResultOf(d, defer.CancelledError)
        d1.unpause()  # its CancelledError reaches us now, and is ignored
        self.assertIsNone(self.successResultOf(d1))

    def test_cancellerErrorsAreLogged(self):
        """A canceller that raises is logged; the others are cancelled, and so is it."""
        cancelled = []

        def broken(d):
            raise ZeroDivisionError("a broken canceller")

        d1, d2 = defer.Deferred(broken), cancellable(cancelled, "d2")
        d = self.DeferredDict({"broken": d1, "fine": d2}, consumeErrors=True)

        d.cancel()

        self.assertEqual(cancelled, ["d2"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.failureResultOf(d, defer.CancelledError)
        d1.callback("late")  # ignored: the DeferredDict has fired

    def test_cancelAfterFiringDoesNothing(self):
        """Once it has fired, cancel() changes nothing and cancels nothing."""
        cancelled = []
        d2 = cancellable(cancelled, "d2")
        d = self.DeferredDict(
            {"fast": defer.succeed("the poem"), "slow": d2}, fireOnOneCallback=True
        )

        d.cancel()

        self.assertEqual(self.successResultOf(d), ("the poem", "fast"))
        self.assertEqual(cancelled, [])
        self.assertNoResult(d2)
        d2.callback("later")

    def test_yieldableFromInlineCallbacks(self):
        """A DeferredDict is a Deferred: an inlineCallbacks generator can wait on it."""
        d1 = defer.Deferred()

        @defer.inlineCallbacks
        def poems():
            results = yield self.DeferredDict({"science": d1})
            return results["science"][1]

        d = poems()
        d1.callback("a science poem")

        self.assertEqual(self.successResultOf(d), "a science poem")


class DeferredDictDemoTests(SynchronousTestCase):
    """Exercise 5: the module's demo prints what its docstring shows."""

    def test_demoOutput(self):
        """python solutions/part-18/deferred-dict.py prints the docstring's output."""
        expected = shown_output(DEFERRED_DICT, "It fires the Deferreds of six")

        proc = run_example(DEFERRED_DICT)

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        self.assertEqual(proc.stdout, expected)
