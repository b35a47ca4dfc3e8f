"""Sending values and exceptions into a generator (Part 17).

Run from the repository root:

    python inline-callbacks/gen-4.py

next(gen) starts the generator; send(10) and send(20) restart it and become
the value of the yield expression it paused on ("got: 10", "got: 20");
throw(Malfunction()) restarts it by raising the exception at that yield,
where the generator catches it ("malfunction!"). A result and a failure
reaching a generator: that is what inlineCallbacks builds on.
"""


class Malfunction(Exception):
    pass


def my_generator():
    print("starting up")

    val = yield 1
    print("got:", val)

    val = yield 2
    print("got:", val)

    try:
        yield 3
    except Malfunction:
        print("malfunction!")

    yield 4

    print("done")


gen = my_generator()

print(next(gen))  # start the generator
print(gen.send(10))  # send the value 10
print(gen.send(20))  # send the value 20
print(gen.throw(Malfunction()))  # raise an exception inside the generator

try:
    next(gen)
except StopIteration:
    pass
