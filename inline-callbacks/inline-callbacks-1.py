"""A generator run as a chain of callbacks by inlineCallbacks (Part 17).

Run from the repository root:

    python inline-callbacks/inline-callbacks-1.py

It takes about ten seconds and prints

    first callback
    second callback got 1
    third callback got 2
    fourth callback got Exception(3)

then stops the reactor. A plain value yielded by the generator comes straight
back; a yielded Deferred pauses the generator until it fires, 5 seconds
later, and the yield then gives its result, or raises its exception.
"""

from twisted.internet.defer import Deferred, inlineCallbacks


@inlineCallbacks
def my_callbacks():
    from twisted.internet import reactor

    print("first callback")
    result = yield 1  # a plain value is sent straight back in

    print("second callback got", result)
    d = Deferred()
    reactor.callLater(5, d.callback, 2)
    result = yield d  # the generator sleeps here until d fires

    print("third callback got", result)  # what d fired with

    d = Deferred()
    reactor.callLater(5, d.errback, Exception(3))

    try:
        yield d
    except Exception as e:
        result = e

    print("fourth callback got", repr(result))  # the exception d failed with

    reactor.stop()


from twisted.internet import reactor

reactor.callWhenRunning(my_callbacks)
reactor.run()
