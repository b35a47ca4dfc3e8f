"""A callback that returns a Deferred (Part 13).

Two outer Deferreds get three callbacks each. In the first, every callback
returns a plain value and the chain runs straight through. In the second,
the middle callback returns a new, inner Deferred: the outer Deferred pauses
its chain there and only goes on, with the inner Deferred's result, once
the inner Deferred fires.

Run from the repository root:

    python twisted-deferred/defer-10.py

Look at the second example: firing the outer Deferred runs callback_1 and
callback_2 only. callback_3 runs after the inner Deferred is fired, and gets
the inner Deferred's result (20), not anything callback_2 returned itself:

    Example 2: the middle callback returns an inner Deferred.
    Firing the outer Deferred with 0.
    callback_1 got 0
    callback_2 got 1 and returns an inner Deferred
    The outer Deferred is paused; callback_3 has not run.
    Firing the inner Deferred with 20.
    callback_3 got 20
    The outer Deferred has finished its chain; its result is 3.
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
