"""Part 15, "Tested Poetry": trial runs tests/test_poetry.py, for real."""

from tools.tour.checks import Exits, Says
from tools.tour.commands import trial

NUMBER = 15
TITLE = "Tested Poetry"
SUMMARY = "trial tests/test_poetry.py"

PICTURE = """\
  trial ---> tests/test_poetry.py, class PoetryTestCase:

    setUp          a poetry server on a free port, with a test poem
    test_client    get_poetry() from that port; the test returns the Deferred,
                   and trial waits for it to fire before it goes on
    test_failure   get_poetry() from a port just closed: assertFailure(d,
                   ConnectionRefusedError)
    tearDown       stopListening(), whose Deferred trial waits for too

  All of it runs on one reactor, which trial starts and stops around each
  test.
"""


async def run(tour):
    tour.introduce(PICTURE)
    tour.show_temp()

    await tour.command(
        "Each test returns a Deferred and trial waits for it: both pass"
        " (--temp-directory keeps trial's _trial_temp out of the checkout).",
        trial("--temp-directory={T}/_trial_temp", "tests/test_poetry.py"),
        expect=[
            Exits(0),
            Says(r"^ +test_client \.\.\. +\[OK\]$", "out", what="test_client [OK]"),
            Says(r"^ +test_failure \.\.\. +\[OK\]$", "out", what="test_failure [OK]"),
            Says(r"^PASSED \(successes=2\)$", "out", what="PASSED (successes=2)"),
        ],
        timeout=60,
    )
