"""Part 17, exercises 5 and 6: client 7 with its callbacks moved into the generator.

solutions/part-17/got-poem-inside.py (exercise 5) prints the poem inside
get_transformed_poem; solutions/part-17/poem-done-inside.py (exercise 6)
also counts the finished poems and stops the reactor there. Both must
behave exactly as client 7 does, so the shared tests of client 7's
poetry_main and of its real command (tests/mixins.py) run against each.
Exercise 6 asks for care with every way a poem can fail;
PoemDoneInsideMainTests plays each of them, and one that nothing in the
generator expects, on the fake reactor, and the real command is run with
every server down.
tests/test_stages.py checks that each answer differs from its stage only
in poetry_main.
"""

import gc

from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase, dead_port, load_script, run_in_process
from tests.mixins import ClientEndToEndMixin, TransformingMainMixin

GOT_POEM_INSIDE = "solutions/part-17/got-poem-inside.py"
POEM_DONE_INSIDE = "solutions/part-17/poem-done-inside.py"
DOWNLOAD_FAILED = "The poem download failed:"


class HelpTests(SynchronousTestCase):
    """Each answer's --help is its docstring, with the command that runs it."""

    def test_helpShowsTheCommand(self):
        """--help prints the exercise and the answer's own command line."""
        for path, exercise in [
            (GOT_POEM_INSIDE, "Part 17, exercise 5"),
            (POEM_DONE_INSIDE, "Part 17, exercise 6"),
        ]:
            with self.subTest(path=path):
                result = run_in_process(load_script(path).parse_args, "--help")

                self.assertEqual(result.exit_code, 0)
                self.assertIn(exercise, result.stdout)
                self.assertIn(f"python {path} 10001 10002 10003", result.stdout)


class GotPoemInsideMainTests(TransformingMainMixin, SynchronousTestCase):
    """Exercise 5's poetry_main passes every test of client 7's."""

    CLIENT = GOT_POEM_INSIDE
    DOWNLOAD_FAILED = DOWNLOAD_FAILED


class GotPoemInsideEndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = GOT_POEM_INSIDE
    DOWNLOAD_FAILED = DOWNLOAD_FAILED


class PoemDoneInsideMainTests(TransformingMainMixin, SynchronousTestCase):
    """Exercise 6's poetry_main passes client 7's tests, and stops the reactor
    once, at the end, however each of two poems ends."""

    CLIENT = POEM_DONE_INSIDE
    DOWNLOAD_FAILED = DOWNLOAD_FAILED

    def play(self, scene):
        """Run poetry_main with a transformation server and two poetry servers."""
        return self.run_main(scene, "10001", "10002", "10003")

    def assertStoppedAtTheEnd(self, finish_first, finish_last):
        """Nothing stops the reactor until `finish_last()` ends the last poem."""

        def scene():
            finish_first()
            self.assertEqual(self.reactor.stops, 0)
            finish_last()
            self.assertEqual(self.reactor.stops, 1)

        return self.play(scene)

    def transform(self, index, result):
        """Fire the `index`th transformation request with `result`."""
        d = self.proxy.requests[index][2]
        if isinstance(result, Exception):
            d.errback(Failure(result))
        else:
            d.callback(result)

    def test_allUp(self):
        """Both poems arrive and are transformed: both print, status 0."""

        def first():
            self.download(10003).callback(b"SCIENCE")
            self.transform(0, b"science")

        def last():
            self.download(10002).callback(b"FASCINATION")
            self.transform(1, b"fascination")

        result = self.assertStoppedAtTheEnd(first, last)

        self.assertEqual(result.stdout, "science\nfascination\n")
        self.assertEqual((result.stderr, result.exit_code), ("", 0))

    def test_transformServerDown(self):
        """No transformation: each poem prints as it came, status 0."""

        def first():
            self.download(10002).callback(b"FASCINATION")
            self.transform(0, ConnectionRefusedError())

        def last():
            self.download(10003).callback(b"SCIENCE")
            self.transform(1, ConnectionRefusedError())

        result = self.assertStoppedAtTheEnd(first, last)

        self.assertEqual(result.stdout, "FASCINATION\nSCIENCE\n")
        self.assertEqual(result.stderr, "Cummingsify failed!\n" * 2)
        self.assertEqual(result.exit_code, 0)

    def test_poetryServerDownFirst(self):
        """A poem failing first does not stop the reactor; the other still prints."""

        def first():
            self.download(10002).errback(ConnectionRefusedError())

        def last():
            self.download(10003).callback(b"SCIENCE")
            self.transform(0, b"science")

        result = self.assertStoppedAtTheEnd(first, last)

        self.assertEqual(result.stdout, "science\n")
        self.assertTrue(result.stderr.startswith(DOWNLOAD_FAILED))
        self.assertEqual(result.exit_code, 1)

    def test_poetryServerDownLast(self):
        """A poem failing last is what stops the reactor."""

        def first():
            self.download(10002).callback(b"FASCINATION")
            self.transform(0, b"fascination")

        def last():
            self.download(10003).errback(ConnectionRefusedError())

        result = self.assertStoppedAtTheEnd(first, last)

        self.assertEqual((result.stdout, result.exit_code), ("fascination\n", 1))

    def test_allDown(self):
        """Every server down: no poem, one line per poem on stderr, status 1."""

        def first():
            self.download(10003).errback(ConnectionRefusedError())

        def last():
            self.download(10002).errback(ConnectionRefusedError())

        result = self.assertStoppedAtTheEnd(first, last)

        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr.count(DOWNLOAD_FAILED), 2)
        self.assertEqual(result.exit_code, 1)

    def test_failedDownloadIsHandled(self):
        """A failed download ends the generator quietly: no unhandled failure."""

        def scene():
            self.download(10002).errback(ConnectionRefusedError())
            self.download(10003).errback(ConnectionRefusedError())

        self.play(scene)
        gc.collect()

        self.assertEqual(self.flushLoggedErrors(), [])

    def test_unexpectedErrorStillStops(self):
        """An error nothing in the generator expects still stops the reactor, loudly."""

        def first():
            self.download(10002).callback(b"FASCINATION")
            self.transform(0, b"fascination")

        def last():
            # str where bytes are due: poem.decode raises AttributeError.
            self.download(10003).callback(b"SCIENCE")
            self.transform(1, "science")

        result = self.assertStoppedAtTheEnd(first, last)
        gc.collect()

        self.assertEqual((result.stdout, result.exit_code), ("fascination\n", 1))
        # test that the error is reported as an unhandled failure, not swallowed
        self.assertEqual(len(self.flushLoggedErrors(AttributeError)), 1)

    def test_ctrlCLeavesTheReactorAlone(self):
        """A poem finishing after Ctrl-C began stopping the reactor does not stop it."""

        def scene():
            self.download(10002).callback(b"FASCINATION")
            self.transform(0, b"fascination")
            self.reactor.running = False
            self.download(10003).errback(ConnectionRefusedError())

        result = self.play(scene)

        self.assertEqual(self.reactor.stops, 0)
        self.assertEqual(result.exit_code, 1)


class PoemDoneInsideEndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = POEM_DONE_INSIDE
    DOWNLOAD_FAILED = DOWNLOAD_FAILED

    @defer.inlineCallbacks
    def test_allServersDown(self):
        """With nothing listening, the client still stops by itself: status 1."""
        xform, first, second = dead_port(self), dead_port(self), dead_port(self)

        proc = yield self.run_script(self.CLIENT, xform, first, second)

        self.assertEqual(proc.stdout, "")
        self.assertEqual(proc.stderr.count(f"{DOWNLOAD_FAILED} 127.0.0.1:"), 2)
        self.assertEqual(proc.exit_code, 1)
