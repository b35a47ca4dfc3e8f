"""Two generators interleaved by one loop (Part 17).

Run from the repository root:

    python inline-callbacks/gen-3.py

Every line names the generator it comes from. The loop restarts
the generators in turn, so their steps alternate, the way independent tasks
take turns running their callbacks in a single-threaded reactor. Each
generator keeps its own local variables from one step to the next.
"""


def my_generator(name):
    print("starting up", name)
    yield 1
    print("workin'", name)
    yield 2
    print("still workin'", name)
    yield 3
    print("done", name)


gens = [("gen1", my_generator("gen1")), ("gen2", my_generator("gen2"))]

# Keep going round until every generator has finished.
while gens:
    for name, gen in gens[:]:
        try:
            n = next(gen)
        except StopIteration:
            gens.remove((name, gen))
        else:
            print(name, "yielded", n)
