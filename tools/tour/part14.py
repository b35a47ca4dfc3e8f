"""Part 14, "When a Deferred Isn't": Deferreds that have already fired, the
caching proxies 1.0 and 2.0 (a miss, a hit, an upstream server that is
down), and the proxy of exercise 3 that fetches once for many clients."""

from tools.launch import PROXY_1, PROXY_2, PROXY_WAITERS
from tools.tour.checks import Exits, InOrder, Logs, Poems, Says, Silent, stopped
from tools.tour.commands import Server, python
from tools.tour.network import client, fastpoetry, slowpoetry

NUMBER = 14
TITLE = "When a Deferred Isn't"
SUMMARY = "defer-11, the caching proxies"

POEM = "fascination.txt"
FAST = fastpoetry("fast", POEM)
# Exercise 3's slow server sends the whole poem at once, then waits this long
# before it hangs up; the proxy's clients wait as long.
DELAY = 5.0
FAST_DELAY = 0.3

PROXY1 = Server("proxy1", "proxy 1.0", python(PROXY_1, "--port", "0", "{fast}"))
PROXY2 = Server("proxy2", "proxy 2.0", python(PROXY_2, "--port", "0", "{fast}"))
WAITERS = Server("waiters", "waiters", python(PROXY_WAITERS, "--port", "0", "{slow}"))

PICTURE = """\
  client 4 ---> proxy 1.0 :{proxy1:<5} --+
                                   +--> fastpoetry :{fast:<5}  {poem}
  client 4 ---> proxy 2.0 :{proxy2:<5} --+

  client 4 ---> waiters   :{waiters:<5} -----> slowpoetry :{slow:<5}  {poem}
  (3 at once)   (proxy 2.0 with waiters)   at once, then hangs up {delay:g} s later

  Each proxy keeps the first poem it fetches, and serves that copy after.
"""

DEFER_11 = python("twisted-deferred/defer-11.py")
# Both streams through one pipe, to see where the report comes.
DEFER_UNHANDLED = python("twisted-deferred/defer-unhandled.py", merged=True)

FETCHING = r"^Fetching poem from server\.$"
CACHED = r"^Using cached poem\.$"


def fetched(key):
    return Logs(key, FETCHING, 1, what='"Fetching poem from server."')


def cached(key):
    return Logs(key, CACHED, 1, what='"Using cached poem."')


async def run(tour):
    delay = FAST_DELAY if tour.fast else DELAY
    slow = slowpoetry("slow", POEM, 1000, delay)
    tour.ahead(DEFER_11, DEFER_UNHANDLED)
    await tour.start_servers(FAST, slow)
    await tour.start_servers(PROXY1, PROXY2, WAITERS)
    tour.introduce(PICTURE, poem=POEM, delay=delay)

    await tour.command(
        "A Deferred that has already fired runs each callback as it is added;"
        " a paused one holds them all until it is unpaused.",
        DEFER_11,
        expect=[
            Exits(0),
            InOrder(
                "Adding callback_1.",
                "callback_1 got 0",
                "Adding callback_2.",
                "callback_2 got 1",
                "Adding callback_3.",
                "callback_3 got 2",
                "Pausing the Deferred.",
                "Adding callback_1, callback_2 and callback_3.",
                "Unpausing the Deferred.",
                "callback_1 got 0",
                what="each callback runs as it is added, or on unpause",
            ),
        ],
    )

    await tour.command(
        "The error is reported only when the last reference to the Deferred"
        " goes: until then a callback could still handle it.",
        DEFER_UNHANDLED,
        expect=[
            Exits(0),
            InOrder(
                "Dropping the last reference to the Deferred.",
                "Unhandled error in Deferred:",
                "Finished.",
                what="'Unhandled error in Deferred:' after the reference is dropped",
            ),
        ],
    )

    await tour.command(
        "Proxy 1.0 has no poem yet: get_poem returns a Deferred, and the proxy"
        " fetches the poem from the server.",
        client(4, "{proxy1}"),
        expect=[Exits(0), Poems(POEM), fetched("proxy1")],
        watch={"proxy1": None},
    )

    await tour.command(
        "The same again: now get_poem returns the poem itself, and"
        " maybeDeferred wraps it in a Deferred that has already fired.",
        client(4, "{proxy1}"),
        expect=[Exits(0), Poems(POEM), cached("proxy1")],
        watch={"proxy1": None},
    )

    await tour.ctrl_c(
        "Stop the poetry server behind the proxies.", "fast", expect=stopped("fast")
    )

    proxy2, fast = tour.fields["proxy2"], tour.fields["fast"]
    await tour.command(
        "Proxy 2.0, with its server down: the fetch fails, the proxy logs why,"
        " caches nothing, and resets the client, which reports it.",
        client(4, "{proxy2}"),
        expect=[
            Exits(1),
            Silent("out"),
            Says(
                rf"^Poem failed: 127\.0\.0\.1:{proxy2}: Connection broke",
                "err",
                what=f'"Poem failed: 127.0.0.1:{proxy2}: Connection broke ..."',
            ),
            fetched("proxy2"),
            Logs(
                "proxy2",
                rf"No poem from 127\.0\.0\.1:{fast}: ",
                what=f'"No poem from 127.0.0.1:{fast}: ..."',
            ),
        ],
        watch={"proxy2": None},
    )

    await tour.start_step(
        "Start the poetry server again, on the port the proxies know.",
        fastpoetry("fast", POEM, port="{fast}"),
        expect=[
            Says(
                rf"^Serving poetry/{POEM} on .*port={fast}\)\.$",
                "out",
                None,
                what=f"serving on port {fast} again",
            )
        ],
    )

    await tour.command(
        "Nothing was cached, so proxy 2.0 fetches the poem now.",
        client(4, "{proxy2}"),
        expect=[Exits(0), Poems(POEM), fetched("proxy2")],
        watch={"proxy2": None},
    )

    await tour.command(
        "And now get_poem returns succeed(poem): a Deferred that has already"
        " fired, so no maybeDeferred is needed.",
        client(4, "{proxy2}"),
        expect=[Exits(0), Poems(POEM), cached("proxy2")],
        watch={"proxy2": None},
    )

    await tour.command(
        "Three clients at once on an empty cache (exercise 3): one fetch, two"
        " waiters, a single connection to the slow server.",
        client(4, "{waiters}", "{waiters}", "{waiters}"),
        expect=[
            Exits(0),
            Poems(POEM, POEM, POEM),
            fetched("waiters"),
            Logs(
                "waiters",
                r"^Waiting for the poem already being fetched\.$",
                2,
                what='"Waiting for the poem already being fetched."',
            ),
            Logs("slow", r"wants poetry", 1, what="a connection"),
        ],
        watch={"waiters": None, "slow": r"wants poetry|done sending"},
    )
