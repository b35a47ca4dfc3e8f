"""Part 13, "Deferred All The Way Down": defer-10, then client 6 with every
server up, without the transformation server, and without a poetry server."""

from tools.tour.checks import Exits, InOrder, Poems, Says, Silent, stopped
from tools.tour.commands import python
from tools.tour.network import (
    THREE_SERVERS,
    THREE_SERVERS_PICTURE,
    three_servers_client,
)

NUMBER = 13
TITLE = "Deferred All The Way Down"
SUMMARY = "defer-10, client 6"

DEFER_10 = python("twisted-deferred/defer-10.py")


async def run(tour):
    tour.ahead(DEFER_10)
    await tour.start_servers(*THREE_SERVERS)
    tour.introduce(THREE_SERVERS_PICTURE, client=6)

    await tour.command(
        "In the second example callback_2 returns an inner Deferred: the outer"
        " one pauses, and callback_3 runs only once the inner one fires.",
        DEFER_10,
        expect=[
            Exits(0),
            InOrder(
                "Example 2: the middle callback returns an inner Deferred.",
                "callback_2 got 1 and returns an inner Deferred",
                "The outer Deferred is paused; callback_3 has not run.",
                "Firing the inner Deferred with 20.",
                "callback_3 got 20",
                what="callback_3 after 'Firing the inner Deferred with 20.'",
            ),
        ],
    )

    await tour.command(
        "Every server is up: try_to_cummingsify returns the transformation's"
        " Deferred, and both poems print in lower case.",
        three_servers_client(6),
        expect=[
            Exits(0),
            Poems("fascination.txt", "science.txt", lower=True),
            Silent("err"),
        ],
    )

    await tour.ctrl_c(
        "Stop the transformation server, as the text asks.",
        "transform",
        expect=stopped("transform"),
    )

    await tour.command(
        "No transformation server: each inner Deferred fails, the errback says"
        " 'Cummingsify failed!' and returns the poem as it came.",
        three_servers_client(6),
        expect=[
            Exits(0),
            Poems("fascination.txt", "science.txt"),
            Says(r"^Cummingsify failed!$", "err", 2, what='"Cummingsify failed!"'),
        ],
    )

    await tour.ctrl_c(
        "Stop the poetry server of poetry/science.txt as well.",
        "science",
        expect=stopped("science"),
    )

    science = tour.fields["science"]
    await tour.command(
        "Now one download fails: the client says why, prints the other poem,"
        " and exits with status 1.",
        three_servers_client(6),
        expect=[
            Exits(1),
            Poems("fascination.txt"),
            Says(
                rf"^The poem download failed\. 127\.0\.0\.1:{science}: Connection"
                " was refused",
                "err",
                what=f'"The poem download failed. 127.0.0.1:{science}: ..."',
            ),
            Says(r"^Cummingsify failed!$", "err", 1, what='"Cummingsify failed!"'),
        ],
    )
