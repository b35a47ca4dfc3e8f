"""The failure handled by an errback of our own (Part 18).

As in deferred-list-6.py, the DeferredList passes d2's failure on down d2's
chain, but this time an errback we added to d2 handles it there, so no
"Unhandled error in Deferred" report appears. The DeferredList added its
callbacks to d2 first, so it still sees the failure, and our errback runs
after it.

Run from the repository root:

    python deferred-list/deferred-list-7.py

and you should see

    Firing d1.
    Firing d2 with errback.
    We got: [(True, 'd1 result'), (False, <twisted.python.failure.Failure builtins.Exception: d2 failure>)]
    Handled d2's failure: d2 failure
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


def handle_error(failure):
    print("Handled d2's failure:", failure.getErrorMessage())
    # Returning None (not the failure) ends the error in d2's chain.


d1 = defer.Deferred()
d2 = defer.Deferred()
d = defer.DeferredList([d1, d2])
d.addCallback(got_results)
d2.addErrback(handle_error)
print("Firing d1.")
d1.callback("d1 result")
print("Firing d2 with errback.")
d2.errback(Exception("d2 failure"))
