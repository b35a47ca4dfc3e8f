"""A DeferredList waiting on two Deferreds (Part 18).

Firing d1 is not enough: the DeferredList waits until every Deferred in its
list has fired, then gives one (success, result) pair for each.

Run from the repository root:

    python deferred-list/deferred-list-3.py

and you should see

    Two Deferreds.
    Adding Callback.
    Firing d1.
    Firing d2.
    We got: [(True, 'd1 result'), (True, 'd2 result')]
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


print("Two Deferreds.")
d1 = defer.Deferred()
d2 = defer.Deferred()
d = defer.DeferredList([d1, d2])
print("Adding Callback.")
d.addCallback(got_results)
print("Firing d1.")
d1.callback("d1 result")
print("Firing d2.")
d2.callback("d2 result")
