"""Part 18, exercise 5: a DeferredDict (new script).

A DeferredList keyed by name instead of by position: a dict of Deferreds in,
one Deferred of a dict of their results out. Like the tutorial's scripts,
this file is meant to be read and copied (its hyphenated name is not an
importable module); run it for a short demo (see the end).

The semantics
-------------

DeferredDict(deferreds, fireOnOneCallback=False, fireOnOneErrback=False,
consumeErrors=False) takes a mapping of keys to Deferreds and is itself a
Deferred, like DeferredList. Keys can be anything a dict accepts: names,
numbers, (host, port) pairs.

* By default it fires once every input has fired, with a new dict holding
  the same keys, in the order of the mapping given (not the order the
  inputs fired in). Each value is a pair: (True, result) for an input that
  succeeded, (False, failure) for one that failed. We keep DeferredList's
  pair rather than a bare result because by default a DeferredDict never
  fails: a failure is one of the things it reports, so each value must say
  which kind it is, and code written for a DeferredList's result reads a
  DeferredDict's the same way, with a key for the index.
* fireOnOneCallback=True: it fires with (result, key) as soon as one input
  succeeds, without waiting for the others.
* fireOnOneErrback=True: it fails as soon as one input fails, with a
  FirstKeyError whose .key names that input and whose .subFailure is its
  Failure. FirstKeyError is a defer.FirstError, so code that traps
  FirstError (as gatherResults's callers do) traps it too.
* When neither "first" event happens (every input failed under
  fireOnOneCallback, or every input succeeded under fireOnOneErrback), it
  fires with the full dict, as DeferredList does with its full list.
* consumeErrors=True: after the DeferredDict has seen an input fail, that
  input's own chain goes on with None, so its failure is handled and no
  "Unhandled error in Deferred" is logged for it. Without it, the failure
  is passed on down the input's chain, where something else must handle it.
* An empty dict has nothing to wait for, so the DeferredDict has fired
  already, with {}, whatever the options. Here we depart from DeferredList,
  which never fires when it is empty and fireOnOneCallback is set: a
  Deferred that can never fire is a hang, and "no input succeeded" already
  gives the full dict when there are inputs.
* Cancelling the DeferredDict before it has fired cancels each input that
  has not reported to it yet. Those inputs then fail (usually with
  CancelledError) and are reported like any other failure, so the
  DeferredDict fires with its dict, or with a FirstKeyError under
  fireOnOneErrback. If it has still not fired after that (an input left
  waiting, say a paused one, or one whose canceller raised: that error is
  logged, and the other inputs are still cancelled), it fails with
  CancelledError, as any cancelled Deferred does. Inputs that have
  reported are left alone:
  cancelling one of those would reach whatever was chained onto it since,
  work the DeferredDict does not own (DeferredList.cancel cancels every
  input, and does reach it). Cancelling after it has fired does nothing.

How it is built
---------------

From scratch, as a Deferred subclass, with the same shape as DeferredList's
own code in twisted/internet/defer.py (__init__ adds one callback/errback
pair to each input; _cbDeferred records a result and decides whether to
fire), so the two can be read side by side. Wrapping a DeferredList and
translating its result would also work, but every rule above that differs
from DeferredList's (the empty dict, the key in the FirstError, cancelling
only the pending inputs, the CancelledError guarantee) would then be a
patch over DeferredList's behaviour instead of a line of this class.

The demo
--------

Run from the repository root:

    python solutions/part-18/deferred-dict.py

It fires the Deferreds of six DeferredDicts by hand and prints

    Default: every input reported, failures included.
    Firing science, then fascination with errback.
    We got: {'fascination': (False, <twisted.python.failure.Failure builtins.Exception: server down>), 'science': (True, 'a science poem')}

    fireOnOneCallback: the first success wins.
    Firing mirror-2, then mirror-1.
    We got: ('the poem', 'mirror-2')

    fireOnOneErrback: the first failure ends it.
    Firing port 10003 with errback.
    We failed: FirstKeyError[('127.0.0.1', 10003), ConnectionRefusedError('no server')]

    An empty dict.
    We got: {}

    Inputs that have fired already.
    We got: {1: (True, 'one'), 2: (True, 'two')}

    Cancelling: the pending input is cancelled.
    Cancelling the DeferredDict.
    We got: {'done': (True, 'fast'), 'slow': (False, <twisted.python.failure.Failure twisted.internet.defer.CancelledError: >)}

The keys come out in the order they went in, whichever input fired first.
"""

from twisted.internet import defer
from twisted.python import log
from twisted.python.failure import Failure


class FirstKeyError(defer.FirstError):
    """The first failure in a DeferredDict with fireOnOneErrback: .key and .subFailure."""

    def __init__(self, failure, key):
        super().__init__(failure, key)
        # FirstError calls the position "index"; in a dict it is the key.
        self.key = key

    def __repr__(self):
        # FirstError formats its index with %d, which only works for ints.
        return f"FirstKeyError[{self.key!r}, {self.subFailure.value!r}]"

    def __str__(self):
        return f"FirstKeyError[{self.key!r}, {self.subFailure}]"


class DeferredDict(defer.Deferred):
    """A Deferred that fires with the results of a dict of Deferreds, by key."""

    def __init__(
        self,
        deferreds,
        fireOnOneCallback=False,
        fireOnOneErrback=False,
        consumeErrors=False,
    ):
        super().__init__(canceller=self._cancelPending)
        # Our own copy, so that changing the caller's dict changes nothing.
        self._deferreds = dict(deferreds)
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors
        self.resultDict = {}
        if not self._deferreds:
            self.callback({})
            return
        # The options are set first: an input that has already fired runs
        # _cbDeferred right here, inside addCallbacks.
        for key, deferred in self._deferreds.items():
            deferred.addCallbacks(
                self._cbDeferred,
                self._cbDeferred,
                callbackArgs=(key, True),
                errbackArgs=(key, False),
            )

    def _cbDeferred(self, result, key, succeeded):
        """Record one input's result; fire if this result decides it."""
        self.resultDict[key] = (succeeded, result)
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, key))
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstKeyError(result, key)))
            elif len(self.resultDict) == len(self._deferreds):
                # In the order of the dict we were given, not of the firing.
                self.callback({k: self.resultDict[k] for k in self._deferreds})
        if not succeeded and self.consumeErrors:
            return None
        return result

    def _cancelPending(self, _):
        """Cancel every input that has not reported yet."""
        pending = [d for k, d in self._deferreds.items() if k not in self.resultDict]
        for deferred in pending:
            try:
                deferred.cancel()
            except Exception:
                # Someone else's canceller failed: say so, and go on
                # cancelling the rest (DeferredList does the same).
                log.err(None, "An input's canceller raised")


def demo():
    """Fire a few DeferredDicts by hand and print what each gives."""

    def got_results(res):
        print("We got:", res)

    def got_failure(failure):
        print("We failed:", repr(failure.value))

    print("Default: every input reported, failures included.")
    d1, d2 = defer.Deferred(), defer.Deferred()
    d = DeferredDict({"fascination": d1, "science": d2}, consumeErrors=True)
    d.addCallbacks(got_results, got_failure)
    print("Firing science, then fascination with errback.")
    d2.callback("a science poem")
    d1.errback(Exception("server down"))

    print()
    print("fireOnOneCallback: the first success wins.")
    d1, d2 = defer.Deferred(), defer.Deferred()
    d = DeferredDict({"mirror-1": d1, "mirror-2": d2}, fireOnOneCallback=True)
    d.addCallbacks(got_results, got_failure)
    print("Firing mirror-2, then mirror-1.")
    d2.callback("the poem")
    d1.callback("the poem")

    print()
    print("fireOnOneErrback: the first failure ends it.")
    d1, d2 = defer.Deferred(), defer.Deferred()
    d = DeferredDict(
        {("127.0.0.1", 10002): d1, ("127.0.0.1", 10003): d2},
        fireOnOneErrback=True,
        consumeErrors=True,
    )
    d.addCallbacks(got_results, got_failure)
    print("Firing port 10003 with errback.")
    d2.errback(ConnectionRefusedError("no server"))
    d1.callback("too late to matter")

    print()
    print("An empty dict.")
    DeferredDict({}).addCallbacks(got_results, got_failure)

    print()
    print("Inputs that have fired already.")
    d = DeferredDict({1: defer.succeed("one"), 2: defer.succeed("two")})
    d.addCallbacks(got_results, got_failure)

    print()
    print("Cancelling: the pending input is cancelled.")
    d1 = defer.Deferred()
    d = DeferredDict({"done": defer.succeed("fast"), "slow": d1}, consumeErrors=True)
    d.addCallbacks(got_results, got_failure)
    print("Cancelling the DeferredDict.")
    d.cancel()


if __name__ == "__main__":
    demo()
