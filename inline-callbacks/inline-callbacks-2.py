"""What the caller of an inlineCallbacks function gets back (Part 17).

Calling a function decorated with inlineCallbacks returns a Deferred, which
fires once the generator has finished: with the value the generator returns,
or, if it raises, with the exception wrapped in a Failure.

Run from the repository root:

    python inline-callbacks/inline-callbacks-2.py

It takes about ten seconds and prints

    calling my_callbacks()
    first callback
    second callback got 1
    third callback got 2
    the caller's Deferred fired with the result 4
    calling my_callbacks_error()
    first callback
    second callback got 1
    raising an exception
    the caller's Deferred failed with
      <twisted.python.failure.Failure builtins.Exception: uh oh>

then stops the reactor.
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

    # The text uses defer.returnValue(4); Twisted 24.7 deprecated it for a plain return.
    return 4


@inlineCallbacks
def my_callbacks_error():
    from twisted.internet import reactor

    print("first callback")
    result = yield 1

    print("second callback got", result)
    d = Deferred()
    reactor.callLater(5, d.callback, 2)
    yield d

    print("raising an exception")
    raise Exception("uh oh")  # the caller's Deferred fails with this


def got_result(result):
    print("the caller's Deferred fired with the result", repr(result))


def got_failure(failure):
    print("the caller's Deferred failed with")
    print(" ", repr(failure))


def run_both():
    from twisted.internet import reactor

    print("calling my_callbacks()")
    d = my_callbacks()
    d.addCallbacks(got_result, got_failure)

    # Start the second generator only once the first one has finished, so
    # the two stories do not mix.
    def call_error_version(_):
        print("calling my_callbacks_error()")
        d = my_callbacks_error()
        return d.addCallbacks(got_result, got_failure)

    def stop(result):
        reactor.stop()
        return result  # anything unexpected is still reported

    d.addCallback(call_error_version)
    d.addBoth(stop)


from twisted.internet import reactor

reactor.callWhenRunning(run_both)
reactor.run()
