"""An errback that returns a Deferred (Part 13, exercise 4).

Made from twisted-deferred/defer-10.py, whose two examples are kept as they
are. Examples 3 and 4 show that an errback returning a Deferred works just
like a callback doing so: the outer Deferred fails, its errback returns an
inner Deferred, and the outer chain pauses until the inner one fires. What
the inner Deferred fires with then decides the path: a result goes on down
the callback path (Example 3), a failure down the errback path (Example 4).

Run from the repository root:

    python solutions/part-13/defer-10-errback.py

After the two examples of defer-10.py you should see:

    Example 3: the outer Deferred fails; its errback returns an inner Deferred.
    Failing the outer Deferred with Exception('outer failure').
    errback_2 got the failure 'outer failure' and returns an inner Deferred
    The outer Deferred is paused; callback_3 and errback_3 have not run.
    Firing the inner Deferred with 20.
    callback_3 got 20
    The outer Deferred has finished its chain; its result is 3.

    Example 4: the same, but the inner Deferred fails.
    Failing the outer Deferred with Exception('outer failure').
    errback_2 got the failure 'outer failure' and returns an inner Deferred
    The outer Deferred is paused; callback_3 and errback_3 have not run.
    Failing the inner Deferred with Exception('inner failure').
    errback_3 got the failure 'inner failure'
    The outer Deferred has finished its chain; its result is recovered.

callback_1 never runs in Examples 3 and 4: the outer Deferred starts on the
errback path, where callback_1 is skipped.
"""

from twisted.internet.defer import Deferred


def callback_1(res):
    print("callback_1 got", res)
    return 1


def callback_2(res):
    print("callback_2 got", res)
    return 2


def callback_3(res):
    print("callback_3 got", res)
    return 3


def chain_done(res):
    print(f"The outer Deferred has finished its chain; its result is {res}.")


print("Example 1: three callbacks that return plain values.")
d = Deferred()
d.addCallback(callback_1)
d.addCallback(callback_2)
d.addCallback(callback_3)
d.addCallback(chain_done)
print("Firing the outer Deferred with 0.")
d.callback(0)
print()


# There is no reactor here, so nothing would ever fire the inner Deferred:
# callback_2_async keeps it in a global and we fire it by hand below. In a
# real program it would be fired by the work it stands for (a download, a
# timer), and you would never keep it in a global.
inner = None


def callback_2_async(res):
    print("callback_2 got", res, "and returns an inner Deferred")
    global inner
    inner = Deferred()
    return inner


print("Example 2: the middle callback returns an inner Deferred.")
d = Deferred()
d.addCallback(callback_1)
d.addCallback(callback_2_async)
d.addCallback(callback_3)
d.addCallback(chain_done)
print("Firing the outer Deferred with 0.")
d.callback(0)
print("The outer Deferred is paused; callback_3 has not run.")
print("Firing the inner Deferred with 20.")
inner.callback(20)


# The errback twin of callback_2_async: it handles the outer failure by
# returning an inner Deferred, kept in the same global so we can fire it.
def errback_2_async(failure):
    print(
        f"errback_2 got the failure {failure.getErrorMessage()!r}"
        " and returns an inner Deferred"
    )
    global inner
    inner = Deferred()
    return inner


def errback_3(failure):
    print(f"errback_3 got the failure {failure.getErrorMessage()!r}")
    return "recovered"


print()
print("Example 3: the outer Deferred fails; its errback returns an inner Deferred.")
d = Deferred()
d.addCallback(callback_1)
d.addErrback(errback_2_async)
d.addCallbacks(callback_3, errback_3)
d.addCallback(chain_done)
print("Failing the outer Deferred with Exception('outer failure').")
d.errback(Exception("outer failure"))
print("The outer Deferred is paused; callback_3 and errback_3 have not run.")
print("Firing the inner Deferred with 20.")
inner.callback(20)
print()

print("Example 4: the same, but the inner Deferred fails.")
d = Deferred()
d.addCallback(callback_1)
d.addErrback(errback_2_async)
d.addCallbacks(callback_3, errback_3)
d.addCallback(chain_done)
print("Failing the outer Deferred with Exception('outer failure').")
d.errback(Exception("outer failure"))
print("The outer Deferred is paused; callback_3 and errback_3 have not run.")
print("Failing the inner Deferred with Exception('inner failure').")
inner.errback(Exception("inner failure"))
