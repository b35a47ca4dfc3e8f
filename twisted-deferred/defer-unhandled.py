"""An unhandled failure is reported when its Deferred is garbage-collected.

(First met in Part 9; Part 14 explains the timing.) The only callback of this
Deferred raises, and nothing handles the failure. Twisted cannot complain at
once: as long as the program holds the Deferred it might still add an
errback that handles it. So "Unhandled error in Deferred:" is only logged
when the Deferred itself is destroyed.

Run from the repository root:

    python twisted-deferred/defer-unhandled.py

You should see, in this order:

    Firing the Deferred; its callback raises.
    The failure is not handled, but nothing is reported yet.
    Dropping the last reference to the Deferred.
    Unhandled error in Deferred:

    Traceback (most recent call last):
      ...
    builtins.Exception: oops

    Finished.

The report goes to stderr and the rest to stdout. The traceback shows
builtins.Exception where Python 2 showed exceptions.Exception.
"""

import gc

from twisted.internet.defer import Deferred


def callback(res):
    raise Exception("oops")


d = Deferred()
d.addCallback(callback)
print("Firing the Deferred; its callback raises.")
d.callback("Here is your result.")

print("The failure is not handled, but nothing is reported yet.")

# flush=True: the report goes to stderr, so stdout must be out before it even
# when it goes to a pipe rather than a terminal.
print("Dropping the last reference to the Deferred.", flush=True)
del d
# The failure's traceback keeps a reference cycle alive, so deleting our last
# reference is not enough: the Deferred goes when the cycle collector runs,
# which we make happen now rather than at some moment of its own choosing.
gc.collect()

print("Finished.")
