"""Adding callbacks to a Deferred that has already fired (Part 14).

A Deferred can be fired before anyone adds callbacks to it. Each callback
added afterwards runs at once, inside addCallback, with the result the chain
has reached so far. The second example pauses the Deferred first: then the
callbacks wait, and run only when it is unpaused. (Pausing is also what a
Deferred does to itself while a callback's inner Deferred has not fired.)

Run from the repository root:

    python twisted-deferred/defer-11.py

In the first example each "callback_N got" line comes straight after the
line that adds that callback; in the second, all three come after
"Unpausing the Deferred.":

    Example 1: fire first, then add the callbacks.
    Firing the Deferred with 0.
    Adding callback_1.
    callback_1 got 0
    Adding callback_2.
    callback_2 got 1
    Adding callback_3.
    callback_3 got 2

    Example 2: pause, fire, add the callbacks, unpause.
    Pausing the Deferred.
    Firing the Deferred with 0.
    Adding callback_1, callback_2 and callback_3.
    Unpausing the Deferred.
    callback_1 got 0
    callback_2 got 1
    callback_3 got 2
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
