"""Part 17, exercises 3 and 4: callbacks per generator, and interleavings (new script).

Client 7's get_transformed_poem, reduced to its shape: start and ask for the
poem, yield; get the poem and ask for its transformation, yield; get the
transformed poem and finish. Two yields cut it into three pieces, and each
piece is one callback (exercise 3: N yields, no loops or ifs, make N + 1).
This probe starts three such generators, A, B and C, the way client 7 starts
its three downloads, fires their Deferreds from a task.Clock after delays it
chooses, and records the order in which the nine pieces run (A1 is A's first
piece, and so on). No servers are needed and no real time passes.

Run from the repository root:

    python solutions/part-17/interleaving-probe.py

and you should see

    Client 7's generator has 2 yields, so it runs in 3 pieces.
    Three generators of 3 pieces each could interleave in 1680 orders.

    Started the way client 7 starts them, with these delays (download + transform):
      A 1+1, B 3+1, C 5+1:  A1 B1 C1 A2 A3 B2 B3 C2 C3
      A 5+1, B 3+1, C 1+1:  A1 B1 C1 C2 C3 B2 B3 A2 A3
      A 1+5, B 2+3, C 3+1:  A1 B1 C1 A2 B2 C2 C3 B3 A3
      A 2+2, B 2+2, C 2+2:  A1 B1 C1 A2 B2 C2 A3 B3 C3

    In every run A1 B1 C1 come first, and each generator runs in 3 pieces.
    That leaves 90 orders for the other six pieces; delays chosen
    for each one produced it: 90 of 90.
    1000 runs with random whole-second delays of 1 to 3 (ties included)
    gave 52 different orders, every one of them among those 90.

    If A's poem had been there already (a Deferred that has fired),
    A would not have waited for the reactor:
      A 0+1, B 1+1, C 1+1:  A1 A2 B1 C1 A3 B2 C2 B3 C3

Every run starts A1 B1 C1: client 7 calls its three generators one after
another before the reactor runs, and each stops at its first yield, since
no download can finish before the reactor runs. After that the network
(here, the delays) decides, but each generator's own pieces stay in order;
Deferreds due at the same moment, as in the fourth run, fire in the order
they were scheduled. The last run shows the one way around the first rule:
when the Deferred a generator yields has already fired (a cached poem, say),
inlineCallbacks sends its result straight back in and the generator goes on
without returning to the reactor. Client 7's get_poetry never returns such
a Deferred.

--runs and --seed change the random runs; --help prints this text.
"""

import argparse
import random

from twisted.internet import defer, task

NAMES = "ABC"
PIECES = 3  # client 7's generator: 2 yields, 3 pieces

# The fixed runs printed first: (download, transform) delays for A, B and C.
EXAMPLES = [
    ((1, 1), (3, 1), (5, 1)),
    ((5, 1), (3, 1), (1, 1)),
    ((1, 5), (2, 3), (3, 1)),
    ((2, 2), (2, 2), (2, 2)),
]
# A's download has fired already (delay 0: the probe yields defer.succeed).
CACHED = ((0, 1), (1, 1), (1, 1))


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=1000, help="random runs (default: 1000)"
    )
    parser.add_argument(
        "--seed", type=int, default=17, help="seed for the random delays (default: 17)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, not {args.runs}")
    return args


def wait(clock, delay, value):
    """A Deferred that fires with `value` after `delay` seconds (0: fired already)."""
    if delay == 0:
        return defer.succeed(value)
    return task.deferLater(clock, delay, lambda: value)


@defer.inlineCallbacks
def get_transformed_poem(name, clock, download, transform, steps):
    """Client 7's generator in outline: each piece records its name in `steps`."""
    steps.append(f"{name}1")
    poem = yield wait(clock, download, f"poem {name}")  # get_poetry(host, port)
    steps.append(f"{name}2")
    poem = yield wait(clock, transform, poem.upper())  # proxy.xform(...)
    steps.append(f"{name}3")
    return poem


def run(delays):
    """Start A, B and C as client 7 does, let the clock run; the pieces' order."""
    clock = task.Clock()
    steps = []
    # Client 7's loop: each call runs its generator up to the first yield.
    poems = [
        get_transformed_poem(name, clock, download, transform, steps)
        for name, (download, transform) in zip(NAMES, delays, strict=True)
    ]
    # Then "the reactor": one second at a time until nothing is left to do.
    while clock.getDelayedCalls():
        clock.advance(1)
    assert all(d.called for d in poems)
    return tuple(steps)


def interleavings(counts):
    """Every distinct order of names, each name appearing counts[name] times."""
    if not any(counts.values()):
        yield ()
        return
    for name, left in counts.items():
        if left:
            rest = dict(counts, **{name: left - 1})
            for tail in interleavings(rest):
                yield (name, *tail)


def with_numbers(names):
    """("A", "B", "A") -> ("A1", "B1", "A2"): number each name's pieces in turn."""
    seen = {}
    numbered = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        numbered.append(f"{name}{seen[name]}")
    return tuple(numbered)


def conceivable_orders():
    """Every interleaving of three generators of PIECES pieces each."""
    return [with_numbers(o) for o in interleavings(dict.fromkeys(NAMES, PIECES))]


def possible_orders():
    """The interleavings client 7 allows: A1 B1 C1, then the rest in any order."""
    rest = interleavings(dict.fromkeys(NAMES, PIECES - 1))
    return [with_numbers(tuple(NAMES) + order) for order in rest]


def delays_for(order):
    """Delays that make the pieces after A1 B1 C1 happen in `order`.

    Piece k of the order (after the first three) happens at second k.
    """
    times = {}
    for second, piece in enumerate(order[len(NAMES) :], start=1):
        times[piece] = second
    return tuple(
        (times[f"{name}2"], times[f"{name}3"] - times[f"{name}2"]) for name in NAMES
    )


def random_delays(rng):
    return tuple((rng.randint(1, 3), rng.randint(1, 3)) for _ in NAMES)


def show(delays, order):
    shown = ", ".join(f"{n} {d}+{t}" for n, (d, t) in zip(NAMES, delays, strict=True))
    return f"  {shown}:  {' '.join(order)}"


def main():
    args = parse_args()

    print(f"Client 7's generator has 2 yields, so it runs in {PIECES} pieces.")
    print(
        f"Three generators of {PIECES} pieces each could interleave in"
        f" {len(conceivable_orders())} orders."
    )

    print()
    print(
        "Started the way client 7 starts them, with these delays (download + transform):"
    )
    runs = [run(delays) for delays in EXAMPLES]
    for delays, order in zip(EXAMPLES, runs, strict=True):
        print(show(delays, order))

    possible = possible_orders()
    reproduced = [order for order in possible if run(delays_for(order)) == order]
    rng = random.Random(args.seed)
    seen = {run(random_delays(rng)) for _ in range(args.runs)}
    runs += seen
    lead = all(order[: len(NAMES)] == tuple(f"{n}1" for n in NAMES) for order in runs)
    pieces = all(
        sum(piece.startswith(n) for piece in order) == PIECES
        for order in runs
        for n in NAMES
    )

    print()
    if lead and pieces:
        print(
            f"In every run A1 B1 C1 come first, and each generator runs in {PIECES} pieces."
        )
    else:
        print("Some run did not start with A1 B1 C1, or cut a generator differently!")
    print(f"That leaves {len(possible)} orders for the other six pieces; delays chosen")
    print(f"for each one produced it: {len(reproduced)} of {len(possible)}.")
    print(f"{args.runs} runs with random whole-second delays of 1 to 3 (ties included)")
    among = "every one of them" if seen <= set(possible) else "NOT all of them"
    print(f"gave {len(seen)} different orders, {among} among those {len(possible)}.")

    print()
    print("If A's poem had been there already (a Deferred that has fired),")
    print("A would not have waited for the reactor:")
    print(show(CACHED, run(CACHED)))


if __name__ == "__main__":
    main()
