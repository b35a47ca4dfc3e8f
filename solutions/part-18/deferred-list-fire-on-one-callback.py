"""Part 18, exercise 2: a DeferredList with fireOnOneCallback.

A copy of deferred-list/deferred-list-4.py (two Deferreds fired out of
order) whose DeferredList is made with fireOnOneCallback=True. It no longer
waits for every Deferred: the first one to succeed fires it, with a
(result, index) pair instead of a list, the index saying which Deferred in
the list won. Later results change nothing.

When to use it: the same request sent to several mirrors, or the same poem
asked of several servers, where any one answer will do and the first to
arrive wins. The others go on running; cancel them yourself once you have
your answer (cancelling a DeferredList that has fired does nothing).
defer.race does the same job and cancels the losers for you. Add
fireOnOneErrback=True as well when a failure from any of them means none of
the answers can be trusted.

Run from the repository root:

    python solutions/part-18/deferred-list-fire-on-one-callback.py

and you should see

    Two Deferreds.
    Adding Callback.
    Firing d2.
    We got: ('d2 result', 1)
    Firing d1.

The callback runs as soon as d2 fires; firing d1 afterwards prints nothing.
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


print("Two Deferreds.")
d1 = defer.Deferred()
d2 = defer.Deferred()
d = defer.DeferredList([d1, d2], fireOnOneCallback=True)
print("Adding Callback.")
d.addCallback(got_results)
print("Firing d2.")
d2.callback("d2 result")
print("Firing d1.")
d1.callback("d1 result")
