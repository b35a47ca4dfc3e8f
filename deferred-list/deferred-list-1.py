"""A DeferredList made from an empty list (Part 18).

With no Deferreds to wait for, the DeferredList has already fired when the
callback is added, so the callback runs at once, with an empty list.

Run from the repository root:

    python deferred-list/deferred-list-1.py

and you should see

    Empty List.
    Adding Callback.
    We got: []
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


print("Empty List.")
d = defer.DeferredList([])
print("Adding Callback.")
d.addCallback(got_results)
