"""The same failure without consumeErrors (Part 18).

The DeferredList still records d2's failure, but it passes the failure on
down d2's own chain, where nothing handles it. When d2 is garbage-collected
(here, as the program exits) Twisted reports the failure on stderr, after
the lines the program prints itself.

Run from the repository root:

    python deferred-list/deferred-list-6.py

and you should see

    Firing d1.
    Firing d2 with errback.
    We got: [(True, 'd1 result'), (False, <twisted.python.failure.Failure builtins.Exception: d2 failure>)]
    Unhandled error in Deferred:

    Traceback (most recent call last):
    Failure: builtins.Exception: d2 failure
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


d1 = defer.Deferred()
d2 = defer.Deferred()
d = defer.DeferredList([d1, d2])  # no consumeErrors this time
d.addCallback(got_results)
print("Firing d1.")
d1.callback("d1 result")
print("Firing d2 with errback.")
d2.errback(Exception("d2 failure"))
