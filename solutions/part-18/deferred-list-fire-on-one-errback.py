"""Part 18, exercise 2: a DeferredList with fireOnOneErrback.

A copy of deferred-list/deferred-list-5.py (d1 succeeds, d2 fails, errors
consumed) whose DeferredList is made with fireOnOneErrback=True and is
given an errback, and whose d2 now fails first. The DeferredList fails as
soon as d2 does, without waiting for d1, with a FirstError: its .index says
which Deferred failed and its .subFailure holds that Deferred's Failure.
consumeErrors=True still handles d2's own failure, so nothing is reported
as unhandled.

When to use it: fail fast. If the work is useless unless every part
succeeds (all the poems for an anthology, every shard of a file), the first
error is the answer, and there is no point waiting for the rest.
defer.gatherResults is built this way.

Run from the repository root:

    python solutions/part-18/deferred-list-fire-on-one-errback.py

and you should see

    Firing d2 with errback.
    We failed: FirstError[#1, Exception('d2 failure')]
      index: 1
      sub-failure: <twisted.python.failure.Failure builtins.Exception: d2 failure>
    Firing d1.

Firing d1 afterwards prints nothing: the DeferredList has already failed.
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


def got_failure(failure):
    first = failure.value  # a defer.FirstError
    print("We failed:", repr(first))
    print("  index:", first.index)
    print("  sub-failure:", repr(first.subFailure))


d1 = defer.Deferred()
d2 = defer.Deferred()
d = defer.DeferredList([d1, d2], fireOnOneErrback=True, consumeErrors=True)
d.addCallbacks(got_results, got_failure)
print("Firing d2 with errback.")
d2.errback(Exception("d2 failure"))
print("Firing d1.")
d1.callback("d1 result")
