"""Two Deferreds fired out of order (Part 18).

d2 fires before d1, yet the results come in the order of the list given to
the DeferredList, so each result can be matched with the work that made it.

Run from the repository root:

    python deferred-list/deferred-list-4.py

and you should see

    Two Deferreds.
    Adding Callback.
    Firing d2.
    Firing d1.
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
print("Firing d2.")
d2.callback("d2 result")
print("Firing d1.")
d1.callback("d1 result")
