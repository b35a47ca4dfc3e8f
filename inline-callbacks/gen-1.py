"""A generator driven by a for loop (Part 17).

Run from the repository root:

    python inline-callbacks/gen-1.py

Look at the order of the lines: the generator's own messages alternate with
the numbers the loop prints. The generator only runs when the loop asks it
for its next value, and the loop waits while the generator runs.
"""


def my_generator():
    print("starting up")
    yield 1
    print("workin'")
    yield 2
    print("still workin'")
    yield 3
    print("done")


for n in my_generator():
    print(n)
