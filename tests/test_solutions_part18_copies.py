"""Part 18, exercise 4: client 8 printing nothing until every poem is done.

solutions/part-18/print-when-all-done.py prints the poems from the
DeferredList's result, in the order of the command line, once the reactor
has stopped. client 8's shared tests (tests/mixins.py) run against it,
except the one about Ctrl-C, where it differs on purpose: a run stopped
early prints no poem at all. tests/test_stages.py checks that it differs
from client 8 only in poetry_main.
"""

import sys

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    load_script,
    lowered_text,
    poem_path,
    run_in_process,
    serve_poem,
    serve_transforms,
)
from tests.mixins import ClientEndToEndMixin, TransformingMainMixin

CLIENT = "solutions/part-18/print-when-all-done.py"
DOWNLOAD_FAILED = "The poem download failed:"
from tools import launch

SLOWPOETRY = launch.SLOWPOETRY


class HelpTests(SynchronousTestCase):
    """The answer's --help is its docstring, with the command that runs it."""

    def test_helpShowsTheCommand(self):
        """--help prints the exercise and the answer's own command line."""
        result = run_in_process(load_script(CLIENT).parse_args, "--help")

        self.assertEqual(result.exit_code, 0)
        self.assertIn("Part 18, exercise 4", result.stdout)
        self.assertIn(f"python {CLIENT} 10001 10002 10003", result.stdout)


class PrintWhenAllDoneMainTests(TransformingMainMixin, SynchronousTestCase):
    """poetry_main on the fake reactor: client 8's tests, and the poems held back."""

    CLIENT = CLIENT
    DOWNLOAD_FAILED = DOWNLOAD_FAILED

    def test_stoppedEarly(self):
        """Stopped (Ctrl-C) before every poem is in: no poem printed, status 1."""

        def scene():
            self.download(10003).callback(b"B")
            self.proxy.requests[0][2].callback(b"b")

        result = self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual((result.stdout, result.exit_code), ("", 1))

    def test_nothingPrintedUntilAllDone(self):
        """A poem that is in waits, unprinted, until the last one is done."""
        seen = []

        def scene():
            self.download(10003).callback(b"SCIENCE")
            self.proxy.requests[0][2].callback(b"science")
            seen.append(sys.stdout.getvalue())
            self.download(10002).callback(b"FASCINATION")
            self.proxy.requests[1][2].callback(b"fascination")
            seen.append(sys.stdout.getvalue())

        result = self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual(seen, ["", ""])
        self.assertEqual(self.reactor.stops, 1)
        self.assertEqual(result.stdout, "fascination\nscience\n")

    def test_commandLineOrder(self):
        """Poems print in the order of their servers, not the order they arrived in."""
        ports = ["10002", "10003", "10004"]

        def scene():
            for port, index in [(10004, 0), (10002, 1), (10003, 2)]:
                self.download(port).callback(b"poem from %d" % port)
                self.proxy.requests[index][2].callback(b"poem from %d" % port)

        result = self.run_main(scene, "10001", *ports)

        self.assertEqual(
            result.stdout, "".join(f"poem from {port}\n" for port in ports)
        )
        self.assertEqual(result.exit_code, 0)

    def test_failedPoemLeftOut(self):
        """A poem that failed is left out of the list printed; the report is on stderr."""

        def scene():
            self.download(10002).errback(ConnectionRefusedError())
            self.download(10003).callback(b"SCIENCE")
            self.proxy.requests[0][2].callback(b"science")

        result = self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual(result.stdout, "science\n")
        self.assertTrue(result.stderr.startswith(DOWNLOAD_FAILED))
        self.assertEqual(result.exit_code, 1)


class PrintWhenAllDoneEndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = DOWNLOAD_FAILED

    @defer.inlineCallbacks
    def test_slowPoemFirst(self):
        """The slow server's poem, given first, prints first though it came last."""
        xform = yield serve_transforms(self)
        slow = yield self.start_server(
            SLOWPOETRY,
            "--port",
            "0",
            "--num-bytes",
            "100",
            "--delay",
            "0.05",
            poem_path("fascination.txt"),
        )
        fast = yield serve_poem(self, "science.txt")

        proc = yield self.run_script(CLIENT, xform, slow.port, fast)

        self.assertEqual(
            proc.stdout,
            lowered_text("fascination.txt") + "\n" + lowered_text("science.txt") + "\n",
        )
        self.assertEqual((proc.stderr, proc.exit_code), ("", 0))
