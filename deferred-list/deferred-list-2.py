"""A DeferredList waiting on one Deferred (Part 18).

The DeferredList fires only once d1 has fired. Its result is a list holding
one (success, result) pair for d1.

Run from the repository root:

    python deferred-list/deferred-list-2.py

and you should see

    One Deferred.
    Adding Callback.
    Firing d1.
    We got: [(True, 'd1 result')]
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


print("One Deferred.")
d1 = defer.Deferred()
d = defer.DeferredList([d1])
print("Adding Callback.")
d.addCallback(got_results)
print("Firing d1.")
d1.callback("d1 result")
