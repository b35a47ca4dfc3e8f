"""Part 17, "Just Another Way to Spell 'Callback'": generators, the
inlineCallbacks examples, and client 7."""

from tools.tour.checks import Exits, InOrder, Poems, Prints, Says, Silent, stopped
from tools.tour.commands import python
from tools.tour.network import (
    THREE_SERVERS,
    THREE_SERVERS_PICTURE,
    three_servers_client,
)

NUMBER = 17
TITLE = "Just Another Way to Spell 'Callback'"
SUMMARY = "gen-N, inlineCallbacks, client 7"

# With FAST=1, the inlineCallbacks examples run through tools/speedup.py,
# their callLater delays this many times shorter.
SPEEDUP = 100

GENERATORS = [
    (
        "gen-1.py",
        "A generator runs in steps: each time the for loop asks for the next"
        " value, it runs on to its next yield.",
        "starting up\n1\nworkin'\n2\nstill workin'\n3\ndone\n",
    ),
    (
        "gen-2.py",
        "The same generator driven by hand with next(): the loop's lines and"
        " the generator's take turns, like callbacks and the reactor.",
        "starting up\n1\nworkin'\n2\nstill workin'\n3\ndone\n",
    ),
    (
        "gen-3.py",
        "Two generators at once, each restarted in turn: their steps"
        " interleave, as independent callbacks do.",
        "starting up gen1\ngen1 yielded 1\nstarting up gen2\ngen2 yielded 1\n"
        "workin' gen1\ngen1 yielded 2\nworkin' gen2\ngen2 yielded 2\n"
        "still workin' gen1\ngen1 yielded 3\nstill workin' gen2\ngen2 yielded 3\n"
        "done gen1\ndone gen2\n",
    ),
    (
        "gen-4.py",
        "send() gives each yield a value and throw() raises in the generator:"
        " a result or a failure, as a callback or errback receives.",
        "starting up\n1\ngot: 10\n2\ngot: 20\n3\nmalfunction!\n4\ndone\n",
    ),
]


# Always at the text's pace: through tools/speedup.py, its frames would sit
# above reactor.run() in the very stack this example is about.
TRACEBACK = python("inline-callbacks/inline-callbacks-tb.py")


def example(tour, name):
    """An inlineCallbacks example, through tools/speedup.py with FAST=1."""
    if tour.fast:
        return python("tools/speedup.py", SPEEDUP, f"inline-callbacks/{name}")
    return python(f"inline-callbacks/{name}")


def pace(tour, seconds):
    if tour.fast:
        return f" (FAST=1: its {seconds:g} s of waiting, {SPEEDUP} times shorter.)"
    return f" It takes about {seconds:g} s."


async def run(tour):
    tour.ahead(
        *(python(f"inline-callbacks/{name}") for name, _, _ in GENERATORS),
        example(tour, "inline-callbacks-1.py"),
        example(tour, "inline-callbacks-2.py"),
        TRACEBACK,
    )
    await tour.start_servers(*THREE_SERVERS)
    tour.introduce(THREE_SERVERS_PICTURE, client=7)

    for name, note, output in GENERATORS:
        await tour.command(
            note, python(f"inline-callbacks/{name}"), expect=[Exits(0), Prints(output)]
        )

    await tour.command(
        "inlineCallbacks: each yield of a Deferred waits for it, and gets its"
        " result, or has its failure raised." + pace(tour, 10),
        example(tour, "inline-callbacks-1.py"),
        expect=[
            Exits(0),
            Prints(
                "first callback\nsecond callback got 1\nthird callback got 2\n"
                "fourth callback got Exception(3)\n"
            ),
        ],
    )

    await tour.command(
        "The caller gets a Deferred: it fires with what the generator returns,"
        " or fails with what it raises." + pace(tour, 10),
        example(tour, "inline-callbacks-2.py"),
        expect=[
            Exits(0),
            InOrder(
                "calling my_callbacks()",
                "the caller's Deferred fired with the result 4",
                "calling my_callbacks_error()",
                "raising an exception",
                "the caller's Deferred failed with",
                "  <twisted.python.failure.Failure builtins.Exception: uh oh>",
                what="the result 4, then the Failure 'uh oh'",
            ),
        ],
    )

    await tour.command(
        "The stack from inside the generator: reactor.run() at the top, the"
        " reactor and inlineCallbacks between, my_callbacks at the bottom.",
        TRACEBACK,
        expect=[
            Exits(0),
            Says(
                r'(?s)\A  File "[^"]*inline-callbacks-tb\.py", line \d+, in <module>\n'
                r"    reactor\.run\(\)\n.*in _inlineCallbacks\n.*in my_callbacks\n",
                "err",
                what="reactor.run() ... _inlineCallbacks ... my_callbacks",
            ),
        ],
    )

    await tour.command(
        "Client 7: one generator per poem, downloading then transforming it;"
        " the same two poems in lower case as client 6.",
        three_servers_client(7),
        expect=[
            Exits(0),
            Poems("fascination.txt", "science.txt", lower=True),
            Silent("err"),
        ],
    )

    await tour.ctrl_c(
        "Turn off the poetry server of poetry/science.txt, as the text suggests.",
        "science",
        expect=stopped("science"),
    )

    science = tour.fields["science"]
    await tour.command(
        "The generator's try/except catches the failed download: the client"
        " says why, prints the other poem, and exits with status 1.",
        three_servers_client(7),
        expect=[
            Exits(1),
            Poems("fascination.txt", lower=True),
            Says(
                rf"^The poem download failed: 127\.0\.0\.1:{science}: ",
                "err",
                what=f'"The poem download failed: 127.0.0.1:{science}: ..."',
            ),
        ],
    )
