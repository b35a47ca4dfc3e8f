"""The loop of gen-1.py written out by hand (Part 17).

Run from the repository root:

    python inline-callbacks/gen-2.py

The output is the same as gen-1.py's. Here the while loop plays the part of
the reactor: each next(gen) restarts the generator, which runs until its next
yield hands control back, and StopIteration says it has finished.
"""


def my_generator():
    print("starting up")
    yield 1
    print("workin'")
    yield 2
    print("still workin'")
    yield 3
    print("done")


gen = my_generator()

while True:
    try:
        n = next(gen)  # Python 2's gen.next() is spelled next(gen) in Python 3
    except StopIteration:
        break
    else:
        print(n)
