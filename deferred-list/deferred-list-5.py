"""A DeferredList with a failed Deferred, errors consumed (Part 18).

d2 fails, yet the DeferredList itself succeeds: d2's slot in the result
holds False and the Failure instead of True and a result. Because of
consumeErrors=True the DeferredList also handles d2's failure, so nothing is
reported as unhandled. (Python 3 and current Twisted print the Failure as
builtins.Exception where the text shows exceptions.Exception.)

Run from the repository root:

    python deferred-list/deferred-list-5.py

and you should see

    Firing d1.
    Firing d2 with errback.
    We got: [(True, 'd1 result'), (False, <twisted.python.failure.Failure builtins.Exception: d2 failure>)]
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


d1 = defer.Deferred()
d2 = defer.Deferred()
d = defer.DeferredList([d1, d2], consumeErrors=True)
d.addCallback(got_results)
print("Firing d1.")
d1.callback("d1 result")
print("Firing d2 with errback.")
d2.errback(Exception("d2 failure"))
