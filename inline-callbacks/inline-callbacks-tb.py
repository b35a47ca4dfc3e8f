"""Who calls an inline callback? The reactor, as for any callback (Part 17).

Run from the repository root:

    python inline-callbacks/inline-callbacks-tb.py

After a second it prints the Python stack of the code that is running inside
the generator, then stops the reactor. Read it from the top: the
reactor.run() call at the bottom of this file, the reactor's loop running a
timed call, the Deferred firing its callbacks, inlineCallbacks restarting
the generator with send(), and at the bottom my_callbacks itself. The stack
goes to stderr, as traceback.print_stack() prints it.
"""

import traceback

from twisted.internet.defer import Deferred, inlineCallbacks


@inlineCallbacks
def my_callbacks():
    from twisted.internet import reactor

    d = Deferred()
    reactor.callLater(1, d.callback, 1)
    yield d  # the code below runs as a callback of d

    traceback.print_stack()

    reactor.stop()


from twisted.internet import reactor

reactor.callWhenRunning(my_callbacks)
reactor.run()
