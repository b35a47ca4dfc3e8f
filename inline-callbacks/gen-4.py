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

print(next(gen))  # run up to the first yield
print(gen.send(10))  # resume: that yield evaluates to 10
print(gen.send(20))  # resume: the next yield evaluates to 20
print(gen.throw(Malfunction()))  # resume by raising Malfunction at the yield

try:
    next(gen)
except StopIteration:
    pass
