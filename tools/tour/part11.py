"""Part 11, "Your Poetry is Served": the fast poetry server, client 4 and
netcat against it, then the slow server of exercise 3."""

import math

from tools import launch
from tools.tour.checks import Exits, Logs, Poems
from tools.tour.commands import program
from tools.tour.network import client, fastpoetry, netcat, slowpoetry

NUMBER = 11
TITLE = "Your Poetry is Served"
SUMMARY = "fastpoetry, client 4, nc, slowpoetry"

FAST = fastpoetry("fast", "fascination.txt")
SLOW_POEM = "ecstasy.txt"
# The slow server's pace: the text's exercise sends 10 bytes every 0.7 s
# (three minutes for this poem); the tour sends bigger pieces, more often.
NUM_BYTES = 100
DELAY = 0.1
FAST_DELAY = 0.01

PICTURE = """\
  client 4, nc ---> fastpoetry :{fast:<5}  fascination.txt, all at once
  client 4 -------> slowpoetry :{slow:<5}  {slow_poem}, {pace}
"""


async def run(tour):
    delay = FAST_DELAY if tour.fast else DELAY
    slow = slowpoetry("slow", SLOW_POEM, NUM_BYTES, delay)
    await tour.start_servers(FAST, slow)
    tour.introduce(
        PICTURE,
        slow_poem=SLOW_POEM,
        pace=f"{NUM_BYTES} bytes every {delay:g} s",
    )

    await tour.command(
        "Client 4 connects; in connectionMade the server writes the whole poem"
        " and closes the connection, so the poem arrives in one go.",
        client(4, "{fast}"),
        expect=[Exits(0), Poems("fascination.txt")],
    )

    note = (
        "netcat is a poetry client too: the protocol is only 'connect, then"
        " read until the server closes'."
    )
    nc = await netcat()
    if nc:
        await tour.command(
            note,
            program(*nc, "localhost", "{fast}"),
            expect=[Exits(0), Poems("fascination.txt", raw=True)],
        )
    else:
        tour.skip(note, "netcat (nc) is not installed here")

    size = (launch.POETRY / SLOW_POEM).stat().st_size
    pieces = math.ceil(size / NUM_BYTES)
    await tour.command(
        f"The slow server (exercise 3) writes {NUM_BYTES} bytes, then a"
        " callLater brings it back for the next piece; the client prints the"
        " poem once the server hangs up.",
        client(4, "{slow}"),
        expect=[
            Exits(0),
            Poems(SLOW_POEM),
            Logs("slow", r"\] sending \d+ bytes to", pieces, what="a piece sent"),
            Logs("slow", rf"done sending {size} bytes to", 1),
        ],
        watch={"slow": None},
    )
