"""Part 17's exercise answers: inlineCallbacks read, probed, and looped.

Exercise 2's written answer (solutions/README.md) reads inlineCallbacks and
_inlineCallbacks in twisted/internet/defer.py; InlineCallbacksSourceTests
shows each claim it makes, on Deferreds fired by hand. Exercises 3 and 4
are answered by solutions/part-17/interleaving-probe.py, tested here both as
functions and as the script a learner runs. Exercise 7's poem ticker is
tested on a task.Clock, then end to end against the fast poetry server and
against servers that fail it (down, silent, cutting the poem off).
"""

import contextvars
import re
import socket
import sys

from twisted.internet import defer, protocol, task
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ScriptTestCase,
    dead_port,
    listen,
    listen_silent,
    load_script,
    poem_bytes,
    poem_text,
    run_in_process,
    serve_poem,
)
from tools import launch

PROBE = "solutions/part-17/interleaving-probe.py"
TICKER = "solutions/part-17/poem-ticker.py"


def shown_output(path, after):
    """The output a script's docstring shows: the indented block after `after`."""
    doc = load_script(path).__doc__
    block = doc.split(after, 1)[1].split("\n\n", 1)[1]
    lines = []
    for line in block.split("\n"):
        if line and not line.startswith("    "):
            break
        lines.append(line.removeprefix("    "))
    return "\n".join(lines).strip("\n") + "\n"


class InlineCallbacksSourceTests(SynchronousTestCase):
    """Exercise 2: what _inlineCallbacks does with each thing a generator yields."""

    def test_plainValueComesStraightBack(self):
        """A yielded value that is not a Deferred is sent straight back in."""

        @defer.inlineCallbacks
        def gen():
            got = yield "a poem"
            return got

        self.assertEqual(self.successResultOf(gen()), "a poem")

    def test_firedDeferredsDoNotRecurse(self):
        """Fired Deferreds are handled in _inlineCallbacks' loop, never by recursion."""
        # Far more yields than Python's recursion limit allows nested calls.
        count = 5 * sys.getrecursionlimit()

        @defer.inlineCallbacks
        def gen():
            total = 0
            for _ in range(count):
                total += yield defer.succeed(1)
            return total

        # test that it finished before gen() returned: no reactor was needed
        self.assertEqual(self.successResultOf(gen()), count)

    def test_waitsOnAnUnfiredDeferred(self):
        """An unfired Deferred stops the generator at its yield; gen() returns."""
        steps = []
        d = defer.Deferred()

        @defer.inlineCallbacks
        def gen():
            steps.append("before")
            yield d
            steps.append("after")

        result = gen()

        self.assertEqual(steps, ["before"])
        self.assertNoResult(result)
        d.callback(None)

    def test_resumesInsideTheFiringCallback(self):
        """When the Deferred fires, the generator runs on inside that callback() call."""
        steps = []
        d = defer.Deferred()

        @defer.inlineCallbacks
        def gen():
            got = yield d
            steps.append(got)
            return "done"

        result = gen()
        d.callback("the poem")

        # test that the generator ran before callback() returned to us
        self.assertEqual(steps, ["the poem"])
        self.assertEqual(self.successResultOf(result), "done")

    def test_failureIsRaisedAtTheYield(self):
        """A failed Deferred raises its own exception at the yield, to catch there."""
        d = defer.Deferred()
        error = ConnectionRefusedError("no server")

        @defer.inlineCallbacks
        def gen():
            try:
                yield d
            except ConnectionRefusedError as e:
                return e

        result = gen()
        d.errback(error)

        self.assertIs(self.successResultOf(result), error)

    def test_uncaughtExceptionFailsTheDeferred(self):
        """An exception leaving the generator fails the Deferred gen() returned."""

        @defer.inlineCallbacks
        def gen():
            yield None
            raise ValueError("uh oh")

        self.failureResultOf(gen(), ValueError)

    def test_returnGivesTheResult(self):
        """A plain return (StopIteration's value) fires the Deferred with that value."""

        @defer.inlineCallbacks
        def gen():
            yield None
            return 4

        self.assertEqual(self.successResultOf(gen()), 4)

    def test_fallingOffTheEndGivesNone(self):
        """A generator that ends without return fires its Deferred with None."""

        @defer.inlineCallbacks
        def gen():
            yield None

        self.assertIsNone(self.successResultOf(gen()))

    def test_cancelCancelsTheAwaitedDeferred(self):
        """Cancelling gen()'s Deferred cancels the Deferred it is waiting on."""
        cancelled = []
        d = defer.Deferred(lambda d: cancelled.append(d))

        @defer.inlineCallbacks
        def gen():
            yield d

        result = gen()
        result.cancel()

        self.assertEqual(cancelled, [d])
        self.failureResultOf(result, defer.CancelledError)

    def test_cancelRaisesCancelledErrorAtTheYield(self):
        """The generator sees the cancel as CancelledError raised at its yield."""
        seen = []

        @defer.inlineCallbacks
        def gen():
            try:
                yield defer.Deferred()
            except defer.CancelledError:
                seen.append("cancelled")
                raise

        result = gen()
        result.cancel()

        self.assertEqual(seen, ["cancelled"])
        self.failureResultOf(result, defer.CancelledError)

    def test_cancelIsOnlyARequest(self):
        """A generator that catches the CancelledError decides the result itself."""

        @defer.inlineCallbacks
        def gen():
            try:
                yield defer.Deferred()
            except defer.CancelledError:
                return "stopped early"

        result = gen()
        result.cancel()

        self.assertEqual(self.successResultOf(result), "stopped early")

    def test_contextVariablesFollowTheGenerator(self):
        """A context variable set in the generator holds across yields, and stays in it."""
        var = contextvars.ContextVar("poem")
        d = defer.Deferred()
        seen = []

        @defer.inlineCallbacks
        def gen():
            var.set("science")
            yield d
            seen.append(var.get("unset"))

        gen()
        # test that the caller's context never saw the generator's value
        self.assertEqual(var.get("unset"), "unset")
        d.callback(None)  # fired from our context, where var is unset

        self.assertEqual(seen, ["science"])

    def test_yieldedGeneratorRunsAsInlineCallbacks(self):
        """A yielded generator is itself run as an inlineCallbacks generator."""

        def inner():
            poem = yield defer.succeed("a poem")
            return poem.upper()

        @defer.inlineCallbacks
        def outer():
            result = yield inner()
            return result

        self.assertEqual(self.successResultOf(outer()), "A POEM")

    def test_onlyGeneratorsAreAccepted(self):
        """Decorating a function that is not a generator fails when it is called."""

        @defer.inlineCallbacks
        def not_a_generator():
            return 1

        self.assertRaises(TypeError, not_a_generator)


class InterleavingProbeTests(SynchronousTestCase):
    """Exercises 3 and 4: the probe's counts and the orders it observes."""

    def setUp(self):
        self.probe = load_script(PROBE)

    def test_eachGeneratorRunsInThreePieces(self):
        """Exercise 3: two yields, three pieces, each recorded once."""
        order = self.probe.run(((1, 1), (2, 2), (3, 3)))

        self.assertEqual(
            sorted(order), ["A1", "A2", "A3", "B1", "B2", "B3", "C1", "C2", "C3"]
        )

    def test_conceivableOrders(self):
        """Three sequences of three pieces interleave in 9! / (3! 3! 3!) = 1680 ways."""
        orders = self.probe.conceivable_orders()

        self.assertEqual(len(set(orders)), 1680)

    def test_startedLikeClient7(self):
        """Whatever the delays, A1 B1 C1 come first, and each generator's pieces in order."""
        for delays in [((3, 1), (2, 1), (1, 1)), ((1, 3), (1, 2), (1, 1))]:
            order = self.probe.run(delays)
            self.assertEqual(order[:3], ("A1", "B1", "C1"))
            for name in "ABC":
                mine = [piece for piece in order if piece.startswith(name)]
                self.assertEqual(mine, [f"{name}1", f"{name}2", f"{name}3"])

    def test_ninetyOrdersAllReachable(self):
        """Exercise 4: 6! / (2! 2! 2!) = 90 orders remain, and delays produce each."""
        possible = self.probe.possible_orders()

        self.assertEqual(len(set(possible)), 90)
        for order in possible:
            self.assertEqual(self.probe.run(self.probe.delays_for(order)), order)

    def test_firedDeferredSkipsTheReactor(self):
        """A download that has fired already lets A go on before B even starts."""
        order = self.probe.run(self.probe.CACHED)

        self.assertEqual(order[:4], ("A1", "A2", "B1", "C1"))


class InterleavingProbeScriptTests(ScriptTestCase):
    """The probe, run as a learner runs it, prints what its docstring shows."""

    # 1000 runs of three generators on a task.Clock take well under a second.
    timeout = 15

    def test_output(self):
        """python solutions/part-17/interleaving-probe.py prints its documented output."""
        expected = shown_output(PROBE, "and you should see")

        def check(proc):
            self.assertEqual(proc.exit_code, 0)
            self.assertEqual(proc.stderr, "")
            self.assertEqual(proc.stdout, expected)

        return self.run_script(PROBE).addCallback(check)


class PoemTickerTests(SynchronousTestCase):
    """Exercise 7: poem_ticker on a task.Clock."""

    LINES = ["first line", "second line", "third line"]

    def setUp(self):
        self.ticker = load_script(TICKER).poem_ticker
        self.clock = task.Clock()
        self.shown = []

    def start(self, delay=2.0, limit=None):
        return self.ticker(
            self.LINES, delay, limit, clock=self.clock, show=self.shown.append
        )

    def test_firstLineAtOnce(self):
        """The first line is shown at once; the next waits for the delay."""
        self.start()

        self.assertEqual(self.shown, ["first line"])
        self.clock.advance(1.9)
        self.assertEqual(self.shown, ["first line"])

    def test_oneLinePerTick(self):
        """N ticks of the clock show N more lines, wrapping round to the top."""
        d = self.start()

        self.clock.pump([2.0] * 4)

        self.assertEqual(self.shown, self.LINES + self.LINES[:2])
        self.assertNoResult(d)

    def test_limitEndsTheLoop(self):
        """With a limit, the loop ends after that many lines and leaves no timer."""
        d = self.start(limit=4)

        self.clock.pump([2.0] * 10)

        self.assertEqual(self.successResultOf(d), 4)
        self.assertEqual(self.shown, self.LINES + self.LINES[:1])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancelBetweenTicks(self):
        """Cancelling between two lines cancels the wait and ends the ticker."""
        d = self.start()
        self.clock.advance(2.0)

        d.cancel()

        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(self.shown, self.LINES[:2])

    def test_zeroDelay(self):
        """--delay 0 still goes round the reactor (the clock) between two lines."""
        d = self.start(delay=0, limit=3)

        self.assertEqual(self.shown, ["first line"])
        self.clock.pump([0, 0])
        self.assertEqual(self.successResultOf(d), 3)


# A megabyte or so of verse: the start of a poem that is never finished.
POEM_START = poem_bytes("science.txt") * (1_000_000 // len(poem_bytes("science.txt")))


class _CutOff(protocol.Protocol):
    """Sends POEM_START, then resets the connection once the client has read most of it."""

    sent = False

    def connectionMade(self):
        # A pull producer is asked for more once Twisted has handed all it
        # wrote to the kernel; with a send buffer this small, that is when
        # the client has read all but its own receive window.
        self.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.transport.registerProducer(self, False)

    def resumeProducing(self):
        if self.sent:
            self.transport.abortConnection()
        else:
            self.transport.write(POEM_START)
            self.sent = True

    def stopProducing(self):
        pass


class PoemTickerScriptTests(ScriptTestCase):
    """Exercise 7: poem-ticker.py against fastpoetry.py, and servers that fail it."""

    timeout = 15

    @defer.inlineCallbacks
    def test_threeLines(self):
        """--lines 3 --delay 0 prints the poem's first three lines and exits 0."""
        port = yield serve_poem(self, "science.txt")

        proc = yield self.run_script(TICKER, "--lines", "3", "--delay", "0", str(port))

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        first = poem_text("science.txt").splitlines()[:3]
        self.assertEqual(proc.stdout, "".join(line + "\n" for line in first))

    @defer.inlineCallbacks
    def test_interruptStopsCleanly(self):
        """Ctrl-C (SIGINT) while waiting for the next line stops it with status 0."""
        port = yield serve_poem(self, "science.txt")
        started = []
        ended = launch.spawn(
            launch.python_argv(TICKER, "--delay", "60", str(port)),
            started=started.append,
        )
        proc = started[0]
        self.addCleanup(proc.stop)
        first = poem_text("science.txt").splitlines()[0]

        yield proc.wait_for(re.escape(first.encode("utf-8")) + rb"\n")
        proc.send_signal("INT")
        yield ended

        self.assertEqual(proc.exit_code, 0, proc.stderr)
        self.assertEqual(proc.stderr, "")
        self.assertEqual(proc.stdout, first + "\n")

    @defer.inlineCallbacks
    def test_noServer(self):
        """With nothing listening, it says why on stderr and exits 1."""
        port = dead_port(self)
        proc = yield self.run_script(TICKER, str(port))

        self.assertEqual(proc.exit_code, 1)
        self.assertTrue(
            proc.stderr.startswith(
                f"The poem ticker stopped: 127.0.0.1:{port}: Connection was refused"
            ),
            proc.stderr,
        )
        self.assertEqual(proc.stdout, "")

    @defer.inlineCallbacks
    def test_silentServer(self):
        """A server that sends nothing is given up on after --timeout: one line, status 1."""
        server = listen_silent(self)

        proc = yield self.run_script(TICKER, "--timeout", "0.5", str(server.port))

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"The poem ticker stopped: 127.0.0.1:{server.port}:"
            " Timed out after 0.5 s.\n",
        )
        self.assertEqual(proc.stdout, "")

    @defer.inlineCallbacks
    def test_cutPoem(self):
        """A poem cut off by a reset is not ticked as if whole: one line, status 1."""
        port = listen(self, protocol.Factory.forProtocol(_CutOff))

        proc = yield self.run_script(TICKER, "--lines", "3", "--delay", "0", str(port))

        self.assertEqual(proc.exit_code, 1)
        got = re.fullmatch(
            rf"The poem ticker stopped: 127\.0\.0\.1:{port}:"
            r" Connection broke after (\d+) bytes\.\n",
            proc.stderr,
        )
        self.assertIsNotNone(got, proc.stderr)
        self.assertLessEqual(int(got.group(1)), len(POEM_START))
        self.assertEqual(proc.stdout, "")

    @defer.inlineCallbacks
    def test_poemTooLarge(self):
        """A poem larger than --max-poem-size is refused: one line, status 1."""
        port = yield serve_poem(self, "science.txt")

        proc = yield self.run_script(TICKER, "--max-poem-size", "100", str(port))

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"The poem ticker stopped: 127.0.0.1:{port}: Poem larger than 100 bytes.\n",
        )
        self.assertEqual(proc.stdout, "")

    def test_badCommandLine(self):
        """--lines 0, --timeout 0 or --max-poem-size 0 is a usage error."""
        main = load_script(TICKER).poetry_main
        for args, message in [
            (["--lines", "0"], "--lines must be at least 1, not 0"),
            (["--timeout", "0"], "--timeout must be more than 0, not 0"),
            (["--timeout", "nan"], "--timeout must be more than 0, not nan"),
            (["--delay", "nan"], "--delay must not be negative, not nan"),
            (["--max-poem-size", "0"], "--max-poem-size must be at least 1, not 0"),
        ]:
            result = run_in_process(main, *args, "10002")

            self.assertEqual(result.exit_code, 2, args)
            self.assertIn(message, result.stderr)

    @defer.inlineCallbacks
    def test_cancelDuringDownloadClosesConnection(self):
        """Cancelling while the poem is still downloading closes the connection."""
        server = listen_silent(self)
        download_and_tick = load_script(TICKER).download_and_tick
        d = download_and_tick("127.0.0.1", server.port, 0, 1)
        yield server.whenMade(1)

        d.cancel()

        self.failureResultOf(d, defer.CancelledError)
        yield server.whenAllClosed()
