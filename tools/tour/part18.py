"""Part 18, "Deferreds En Masse": the DeferredList examples and client 8."""

from tools.tour.checks import Exits, Poems, Prints, Says, Silent
from tools.tour.commands import python
from tools.tour.network import (
    THREE_SERVERS,
    THREE_SERVERS_PICTURE,
    three_servers_client,
)

NUMBER = 18
TITLE = "Deferreds En Masse"
SUMMARY = "deferred-list-1 ... -7, client 8"

D2_FAILURE = "<twisted.python.failure.Failure builtins.Exception: d2 failure>"
FAILED_LIST = (
    "Firing d1.\nFiring d2 with errback.\n"
    f"We got: [(True, 'd1 result'), (False, {D2_FAILURE})]\n"
)

# (script, what to notice, stdout as the text gives it, with Python 3 reprs,
# and the checks on stderr)
EXAMPLES = [
    (
        "deferred-list-1.py",
        "A DeferredList of no Deferreds has already fired: the callback runs"
        " as it is added, with an empty list.",
        "Empty List.\nAdding Callback.\nWe got: []\n",
        [Silent("err")],
    ),
    (
        "deferred-list-2.py",
        "With one Deferred, the list fires when it does: one (success, result) pair.",
        "One Deferred.\nAdding Callback.\nFiring d1.\nWe got: [(True, 'd1 result')]\n",
        [Silent("err")],
    ),
    (
        "deferred-list-3.py",
        "With two, it waits for both: the callback runs after 'Firing d2.'.",
        "Two Deferreds.\nAdding Callback.\nFiring d1.\nFiring d2.\n"
        "We got: [(True, 'd1 result'), (True, 'd2 result')]\n",
        [Silent("err")],
    ),
    (
        "deferred-list-4.py",
        "d2 fires first, yet the results keep the order of the list, not the"
        " order of firing.",
        "Two Deferreds.\nAdding Callback.\nFiring d2.\nFiring d1.\n"
        "We got: [(True, 'd1 result'), (True, 'd2 result')]\n",
        [Silent("err")],
    ),
    (
        "deferred-list-5.py",
        "A failure takes its place in the list as (False, Failure); the"
        " DeferredList itself still succeeds.",
        FAILED_LIST,
        [Silent("err")],
    ),
    (
        "deferred-list-6.py",
        "The same without consumeErrors: d2 keeps its failure, and Twisted"
        " reports it as unhandled when d2 is garbage collected.",
        FAILED_LIST,
        [
            Says(
                r"^Unhandled error in Deferred:$",
                "err",
                what='"Unhandled error in Deferred:"',
            )
        ],
    ),
    (
        "deferred-list-7.py",
        "An errback of our own on d2 handles the failure: no report this time.",
        FAILED_LIST + "Handled d2's failure: d2 failure\n",
        [Silent("err")],
    ),
]


async def run(tour):
    tour.ahead(*(python(f"deferred-list/{name}") for name, _, _, _ in EXAMPLES))
    await tour.start_servers(*THREE_SERVERS)
    tour.introduce(THREE_SERVERS_PICTURE, client=8)

    for name, note, output, stderr in EXAMPLES:
        await tour.command(
            note,
            python(f"deferred-list/{name}"),
            expect=[Exits(0), Prints(output), *stderr],
        )

    await tour.command(
        "Client 8 puts every poem's Deferred in one DeferredList, whose"
        " callback stops the reactor: the same two poems as client 7.",
        three_servers_client(8),
        expect=[
            Exits(0),
            Poems("fascination.txt", "science.txt", lower=True),
            Silent("err"),
        ],
    )
