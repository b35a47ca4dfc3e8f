"""Adding callbacks to a Deferred that has already failed (Part 14, exercise 1).

Made from twisted-deferred/defer-11.py, whose two examples are kept as they
are. A Deferred can fail before anyone adds callbacks to it, just as it can
succeed. Each callback or errback added afterwards is looked at at once,
inside addCallback or addErrback: a callback is skipped while the result is
a failure, and the first errback runs straight away and, by returning a
value, puts the chain back on the callback path. Example 3 fails a new
Deferred with .errback(); Example 4 gets the same Deferred in one call from
defer.fail(). Example 5 never handles the failure: Twisted reports it only
when the Deferred is destroyed (as in twisted-deferred/defer-unhandled.py).

Run from the repository root:

    python solutions/part-14/defer-11-prefailed.py

After the two examples of defer-11.py you should see the lines below.
Nothing follows "Adding callback_1." (it is skipped); "errback_1 got" and
"callback_2 got" each come straight after the line that adds them:

    Example 3: fail first with .errback(), then add the callbacks.
    Failing the Deferred with Exception('oops').
    Adding callback_1.
    Adding errback_1.
    errback_1 got the failure 'oops'
    Adding callback_2.
    callback_2 got 1

    Example 4: defer.fail() makes a Deferred that has already failed.
    Making the Deferred with fail(Exception('oops')).
    Adding callback_1.
    Adding errback_1.
    errback_1 got the failure 'oops'
    Adding callback_2.
    callback_2 got 1

    Example 5: a failure that nobody handles.
    Making the Deferred with fail(Exception('nobody handles this')).
    Adding callback_1.
    The failure is still in the Deferred; nothing is reported yet.
    Dropping the last reference to the Deferred.
    Unhandled error in Deferred:

    Traceback (most recent call last):
    Failure: builtins.Exception: nobody handles this

    Finished.

The report goes to stderr and the rest to stdout. Its traceback is empty:
the exception was made, not raised, so it never had one.
"""

from twisted.internet.defer import Deferred, fail


def callback_1(res):
    print("callback_1 got", res)
    return 1


def callback_2(res):
    print("callback_2 got", res)
    return 2


def callback_3(res):
    print("callback_3 got", res)
    return 3


def errback_1(failure):
    print(f"errback_1 got the failure {failure.getErrorMessage()!r}")
    return 1


print("Example 1: fire first, then add the callbacks.")
d = Deferred()
print("Firing the Deferred with 0.")
d.callback(0)
print("Adding callback_1.")
d.addCallback(callback_1)
print("Adding callback_2.")
d.addCallback(callback_2)
print("Adding callback_3.")
d.addCallback(callback_3)
print()

print("Example 2: pause, fire, add the callbacks, unpause.")
d = Deferred()
print("Pausing the Deferred.")
d.pause()
print("Firing the Deferred with 0.")
d.callback(0)
print("Adding callback_1, callback_2 and callback_3.")
d.addCallback(callback_1)
d.addCallback(callback_2)
d.addCallback(callback_3)
print("Unpausing the Deferred.")
d.unpause()
print()

print("Example 3: fail first with .errback(), then add the callbacks.")
d = Deferred()
print("Failing the Deferred with Exception('oops').")
d.errback(Exception("oops"))
print("Adding callback_1.")
d.addCallback(callback_1)
print("Adding errback_1.")
d.addErrback(errback_1)
print("Adding callback_2.")
d.addCallback(callback_2)
print()

print("Example 4: defer.fail() makes a Deferred that has already failed.")
print("Making the Deferred with fail(Exception('oops')).")
d = fail(Exception("oops"))
print("Adding callback_1.")
d.addCallback(callback_1)
print("Adding errback_1.")
d.addErrback(errback_1)
print("Adding callback_2.")
d.addCallback(callback_2)
print()

print("Example 5: a failure that nobody handles.")
print("Making the Deferred with fail(Exception('nobody handles this')).")
d = fail(Exception("nobody handles this"))
print("Adding callback_1.")
d.addCallback(callback_1)
print("The failure is still in the Deferred; nothing is reported yet.")
# flush=True: the report goes to stderr, so stdout must be out before it.
print("Dropping the last reference to the Deferred.", flush=True)
# The exception was never raised, so it has no traceback and no reference
# cycle keeps the Deferred alive (defer-unhandled.py needs gc.collect() for
# that): it goes, and the failure is reported, right here.
del d
print("Finished.")
