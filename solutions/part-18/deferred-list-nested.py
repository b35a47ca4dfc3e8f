"""Part 18, exercise 3: a DeferredList of DeferredLists.

A copy of deferred-list/deferred-list-5.py with two more Deferreds, d3 and
d4. d1 and d2 go into one DeferredList, d3 and d4 into another, and those
two DeferredLists into a third. A DeferredList is a Deferred, so it can be
put in a list like any other; the outer one fires once both inner ones
have, that is once all four Deferreds have fired.

The result is nested the same way: a list of two (success, result) pairs,
one per inner DeferredList, each result being that inner DeferredList's
own list of pairs. The outer pairs are always True: a DeferredList does not
fail, so d2's failure appears only inside the first inner list.

Run from the repository root:

    python solutions/part-18/deferred-list-nested.py

and you should see (the last line is one long line)

    Firing d1.
    Firing d2 with errback.
    Firing d3.
    Firing d4.
    We got: [(True, [(True, 'd1 result'), (False, <twisted.python.failure.Failure builtins.Exception: d2 failure>)]), (True, [(True, 'd3 result'), (True, 'd4 result')])]
"""

from twisted.internet import defer


def got_results(res):
    print("We got:", res)


d1 = defer.Deferred()
d2 = defer.Deferred()
d3 = defer.Deferred()
d4 = defer.Deferred()
first = defer.DeferredList([d1, d2], consumeErrors=True)
second = defer.DeferredList([d3, d4], consumeErrors=True)
d = defer.DeferredList([first, second])  # neither inner list can fail
d.addCallback(got_results)
print("Firing d1.")
d1.callback("d1 result")
print("Firing d2 with errback.")
d2.errback(Exception("d2 failure"))
print("Firing d3.")
d3.callback("d3 result")
print("Firing d4.")
d4.callback("d4 result")
