"""The tour's engine: starts the servers, runs the steps, checks them, and
stops everything it started.

A part (tools/tour/partNN.py) is an async function that drives a Tour:

    await tour.start_servers(FAST, SLOW)          # at once, on free ports
    tour.introduce(PICTURE)                       # who talks to whom
    await tour.command(                           # one step
        "The whole poem arrives at once.",        # what to notice
        python(CLIENT, "{fast}"),                 # as the learner types it
        expect=[Exits(0), Poems("ecstasy.txt")],  # what the text promises
        watch={"fast": None},                     # server lines to show
    )

Each step prints its note, the command with the real ports, the command's
output as it comes (and the lines of the watched servers, labelled with the
server's name and port), then "ok" or what failed. A step that fails does
not stop the tour; a server that cannot start does (StopTour).

Everything the tour starts is remembered, and `cleanup()` stops it: the
child processes, any twistd daemon (found through a variable the tour puts
in its children's environment), the temporary directory, and the
twisted/plugins/dropin.cache that twistd and trial write if it was not
there before.
"""

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from twisted.internet import defer

from tools import launch
from tools.tour.output import Excerpt, Lines, Repeats

# Seconds a server gets to print its port, and a command to finish.
START_TIMEOUT = 15.0
# Seconds to wait for the rest of a server's start-up lines.
SETTLE_TIMEOUT = 5.0
COMMAND_TIMEOUT = 30.0
# The variable that marks every process the tour starts, and their children.
MARKER = "TWISTED_INTRO_TOUR"
# Twisted's log prefix: "2026-12-01 14:59:48+0000 [-] " (the [-] is dropped,
# a named context such as [PoetryFactory] is kept).
STAMP = re.compile(
    r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:[+-]\d{4}|Z)? (?:\[-\] )?"
)


class StopTour(Exception):
    """The next steps cannot run; the message says why."""


class Running:
    """A server the tour has started."""

    def __init__(self, spec, proc, shown):
        self.spec = spec
        self.proc = proc
        self.shown = shown
        self.port = proc.port
        self.label = f"{spec.name} {proc.port}"

    def format(self, text):
        """One of its lines, labelled, without Twisted's time stamp."""
        if not self.spec.stamps:
            text = STAMP.sub("", text)
        return f"[{self.label}] {text}"

    def lines(self):
        """Everything it has printed so far, stdout first."""
        return (
            (self.proc.out + self.proc.err)
            .decode("utf-8", errors="replace")
            .splitlines()
        )


@dataclass
class Result:
    """What a step's command (or in-process exchange) did."""

    out: bytes = b""
    err: bytes = b""
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    timeout: float = 0.0
    # For each server: how much it had printed when the step began.
    marks: dict = field(default_factory=dict)

    @classmethod
    def of(cls, proc, timed_out=False, timeout=0.0):
        return cls(proc.out, proc.err, proc.exit_code, proc.signal, timed_out, timeout)


class Launched:
    """A command started by the tour, whose output is kept until a step
    follows it."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.proc = None
        self.recorded = []  # (stream, data), in the order they came
        self.timed_out = None  # a Deferred: True if it had to be killed

    def record(self, proc, stream, data):
        self.recorded.append((stream, data))

    def follow(self, listener):
        """Hand `listener` what came so far, then what comes from now on."""
        self.proc.remove_listener(self.record)
        for stream, data in self.recorded:
            listener(self.proc, stream, data)
        self.recorded = []
        self.proc.add_listener(listener)


class Tour:
    """Runs one part's steps; see the module docstring."""

    def __init__(self, out, fast=False):
        self.out = out
        self.fast = fast
        self.servers = {}  # key -> Running
        self.started = []  # the servers started at the beginning, in order
        self.fields = {}  # key -> port, for commands and pictures
        self.daemons = {}  # key -> pid of a twistd daemon
        self.children = []  # every process started, in order
        self.started_ahead = {}  # command as shown -> Launched (FAST=1)
        self.log_marks = {}  # file template -> its size when a step began
        self.results = []  # (step number, True / False / None for skipped)
        self.stopping = False
        self.temp = Path(tempfile.mkdtemp(prefix="twisted-intro-tour-"))
        self.had_dropin_cache = launch.DROPIN_CACHE.exists()
        # No __pycache__ left in the checkout by the scripts the tour runs.
        self.env = launch.child_env(
            PYTHONDONTWRITEBYTECODE="1", **{MARKER: str(self.temp)}
        )
        self._cleaning = None
        self._undo = []

    def path(self, template):
        """A path given as "{T}/twistd.pid" (T: the temporary directory)."""
        return Path(template.format(T=self.temp, **self.fields))

    # -- starting things ---------------------------------------------------------

    def spawn(self, argv, **kwargs):
        """launch.spawn, in the tour's environment, remembering the child."""
        if self.stopping:
            raise StopTour("the tour is stopping")
        started = kwargs.pop("started", None)

        def remember(proc):
            self.children.append(proc)
            if started is not None:
                started(proc)

        return launch.spawn(
            argv, env=self.env, close_stdin=True, started=remember, **kwargs
        )

    async def _start(self, spec):
        shown = spec.command.shown(self.fields)
        argv = spec.command.argv(self.fields, self.temp)
        try:
            proc = await self.spawn(argv, ready=spec.ready, timeout=START_TIMEOUT)
        except launch.ScriptFailed as e:
            raise StopTour(f"could not start `{shown}`: {e}") from None
        try:
            await proc.wait_for(spec.settled, timeout=SETTLE_TIMEOUT)
        except (defer.TimeoutError, launch.ScriptFailed):
            pass  # shown, and checked, by the steps that use it
        server = Running(spec, proc, shown)
        self.servers[spec.key] = server
        self.fields[spec.key] = server.port
        return server

    async def start_servers(self, *specs):
        """Start these servers all at once; fire when every one is listening."""
        self.out.say(
            f"Starting {len(specs)} server{'s' if len(specs) > 1 else ''}"
            " on ports the system picks..."
        )
        self.out.wait_for("the servers")
        try:
            results = await defer.DeferredList(
                [defer.ensureDeferred(self._start(spec)) for spec in specs],
                consumeErrors=True,
            )
        finally:
            self.out.stop_waiting()
        problems = [failure.value for ok, failure in results if not ok]
        if problems:
            raise problems[0]
        started = [server for _, server in results]
        self.started += started
        return started

    def show_lines(self, server):
        """A server's command, and what it has printed so far, labelled."""
        self.out.line(f"$ {server.shown}")
        for text in server.lines():
            self.out.line(server.format(text))

    def introduce(self, picture, **extra):
        """Print the picture of what runs, then how each server was started."""
        self.out.line()
        self.out.say("What runs, and who talks to whom:")
        self.out.line()
        for row in picture.format(**self.fields, **extra).splitlines():
            self.out.line(row.rstrip())
        if self.started:
            self.out.line()
            self.out.say(
                "Each server as you would start it in a terminal of its own,"
                " and what it printed (lines after [name port] come from that"
                " server; Twisted's time stamps are left out):"
            )
            for server in self.started:
                self.show_lines(server)

    def show_temp(self):
        """Introduce $T, the directory for pid files, logs and copies."""
        self.out.line()
        self.out.say(
            "$T is the tour's temporary directory: pid files, logs and copies"
            " go there, not into the checkout, and it goes when the tour ends."
        )
        self.out.line(f"$ T={self.temp}")

    # -- steps -------------------------------------------------------------------

    async def step(self, note, action, expect=(), watch=None, files=()):
        """Run one step: its note, `action()` (which prints the command and
        returns a Result), then the checks in `expect`, and the verdict.

        `watch` maps a server's key to a regex (or None for every line): the
        server's matching lines are shown during the step. `files` names log
        files ("{T}/twistd.log") whose new lines are shown after it.
        """
        number = self.begin(note)
        marks = {
            key: (len(server.proc.out), len(server.proc.err))
            for key, server in self.servers.items()
        }
        for template in files:
            path = self.path(template)
            self.log_marks[template] = path.stat().st_size if path.exists() else 0
        # Undone when the step ends; an action may add to it (start_step).
        self._undo = [self.watch(watch or {})]
        try:
            result = await action()
            result.marks = marks
            verdicts = []
            for check in expect:
                verdicts.append((check, await check.check(self, result)))
        finally:
            for undo in self._undo:
                undo()
            self._undo = []
        for template in files:
            self.show_file(template)
        self.verdict(number, verdicts)
        return result

    def begin(self, note):
        """Print a step's note; its number."""
        number = len(self.results) + 1
        self.out.line()
        self.out.say(f"--- {number}. {note}", hang="    ")
        return number

    def watch(self, patterns):
        """Show the lines of these servers that match; returns the undo."""
        undo = []
        for key, pattern in patterns.items():
            server = self.servers[key]
            wanted = re.compile(pattern) if pattern else None

            def show(text, server=server):
                self.out.line(server.format(text))

            def more(count, server=server):
                self.out.line(server.format(f"[... the same line {count} more times]"))

            # Time stamps aside, the slow server's lines repeat.
            repeats = Repeats(show, more, key=lambda text: STAMP.sub("", text))

            def emit(text, wanted=wanted, repeats=repeats):
                if wanted is None or wanted.search(text):
                    repeats(text)

            feeds = {"out": Lines(emit), "err": Lines(emit)}

            def listener(proc, stream, data, feeds=feeds):
                feeds[stream].feed(data)

            server.proc.add_listener(listener)
            undo.append((server.proc, listener, repeats))

        def detach():
            for proc, listener, repeats in undo:
                proc.remove_listener(listener)
                repeats.flush()

        return detach

    def show_file(self, template):
        path = self.path(template)
        if not path.exists():
            return
        start = self.log_marks.get(template, 0)
        text = path.read_bytes()[start:].decode("utf-8", errors="replace")
        label = template.format(T="$T", **self.fields)
        for line in text.splitlines():
            self.out.line(f"[{label}] {line}")

    def verdict(self, number, verdicts):
        failed = [why for _, why in verdicts if why]
        if failed:
            for why in failed:
                self.out.say(f"    FAILED: {why}", hang="        ")
        else:
            self.out.say(
                "    ok: " + "; ".join(check.what for check, _ in verdicts),
                hang="        ",
            )
        self.results.append((number, not failed))

    def skip(self, note, why):
        """A step that cannot run here (netcat missing, say): not a failure."""
        number = self.begin(note)
        self.out.say(f"    skipped: {why}")
        self.results.append((number, None))

    # -- kinds of steps --------------------------------------------------------

    def _launch(self, command, timeout):
        """Start `command`, recording what it prints; a Launched."""
        launched = Launched(timeout)

        def started(proc):
            launched.proc = proc
            proc.add_listener(launched.record)

        done = self.spawn(
            command.argv(self.fields, self.temp), timeout=timeout, started=started
        )
        launched.timed_out = done.addCallbacks(
            lambda proc: False, lambda failure: bool(failure.trap(launch.ScriptFailed))
        )
        return launched

    def ahead(self, *commands):
        """With FAST=1, start these commands now, all at once: they need no
        server and no earlier step. Each one's step then shows what it
        printed, in the order it printed it, and goes on from there."""
        if self.fast:
            for command in commands:
                shown = command.shown(self.fields)
                self.started_ahead[shown] = self._launch(command, COMMAND_TIMEOUT)

    async def run(self, command, timeout=None, show=None, head=18, tail=4):
        """Print `command`, run it, print its output as it comes; a Result.

        Long output is cut to its first `head` and last `tail` lines; `show`,
        if given, picks the lines to print from the whole output instead.
        """
        shown = command.shown(self.fields)
        self.out.line("$ " + shown)
        launched = self.started_ahead.pop(shown, None)
        if launched is None:
            launched = self._launch(command, timeout or COMMAND_TIMEOUT)
        collected = []
        sink = Excerpt(self.out, head, tail) if show is None else collected.append
        feeds = {"out": Lines(sink), "err": Lines(sink)}

        self.out.wait_for(command.name)
        try:
            launched.follow(lambda proc, stream, data: feeds[stream].feed(data))
            timed_out = await launched.timed_out
        finally:
            self.out.stop_waiting()
        for feed in feeds.values():
            feed.flush()
        if show is None:
            sink.close()
        else:
            for line in show(collected):
                self.out.line(line)
        return Result.of(launched.proc, timed_out, launched.timeout)

    def command(self, note, command, expect=(), watch=None, files=(), **options):
        """A step that runs `command` to the end."""
        return self.step(
            note, lambda: self.run(command, **options), expect, watch, files
        )

    def start_step(self, note, spec, expect=(), watch=None):
        """A step that starts a server (and leaves it running). If it cannot
        start, the steps after it cannot run either: StopTour."""

        async def action():
            self.out.line("$ " + spec.command.shown(self.fields))
            self.out.wait_for(spec.command.name)
            try:
                server = await self._start(spec)
            finally:
                self.out.stop_waiting()
            for text in server.lines():
                self.out.line(server.format(text))
            # And its lines from now on, until the step ends.
            self._undo.append(self.watch({spec.key: None}))
            return Result.of(server.proc)

        return self.step(note, action, expect, watch)

    def ctrl_c(self, note, key, expect=(), watch=None):
        """A step that presses Ctrl-C in a server's terminal (SIGINT)."""

        async def action():
            server = self.servers[key]
            self.out.line(f"^C  (Ctrl-C in the terminal of {server.label})")
            await server.proc.stop("INT")
            return Result.of(server.proc)

        return self.step(note, action, expect, {key: None, **(watch or {})})

    # -- stopping everything -----------------------------------------------------

    def cleanup(self):
        """Stop everything the tour started and remove its files (once)."""
        if self._cleaning is None:
            self._cleaning = defer.ensureDeferred(self._clean())
        waiter = defer.Deferred()

        def fire(result):
            waiter.callback(None)
            return result

        self._cleaning.addBoth(fire)
        return waiter

    async def _clean(self):
        self.stopping = True
        self.out.stop_waiting()
        await launch.stop_all([proc for proc in self.children if not proc.ended])
        await self._stop_marked()
        shutil.rmtree(self.temp, ignore_errors=True)
        if not self.had_dropin_cache:
            launch.DROPIN_CACHE.unlink(missing_ok=True)

    async def _stop_marked(self):
        """Stop what the tour's children left running: a twistd daemon."""
        await launch.stop_pids(launch.marked_processes(MARKER, str(self.temp)))

    # -- the end -------------------------------------------------------------------

    def summary(self, number, finished=True):
        """Print how the steps went; the exit status (0: all did as promised)."""
        failed = [n for n, ok in self.results if ok is False]
        done = [n for n, ok in self.results if ok is not None]
        listed = ", ".join(map(str, failed))
        which = f" (step{'s' if len(failed) > 1 else ''} {listed})" if failed else ""
        self.out.line()
        if not finished:
            where = f"after step {self.results[-1][0]}" if self.results else "at once"
            also = (
                f"; {len(failed)} of {len(done)} steps did not do what the text"
                f" says{which}"
                if failed
                else ""
            )
            self.out.say(f"Part {number}: the tour stopped {where}{also}.")
            return 1
        if failed:
            self.out.say(
                f"Part {number}: {len(failed)} of {len(done)} steps did not do"
                f" what the text says{which}."
            )
            return 1
        steps = "its one step" if len(done) == 1 else f"all {len(done)} steps"
        self.out.say(f"Part {number}: {steps} did what the text says.")
        return 0


async def run_part(tour, part):
    """Run one part's tour (a partNN module), stop everything, print the
    summary; the exit status."""
    heading = f"Part {part.NUMBER}: {part.TITLE}" + (" (FAST=1)" if tour.fast else "")
    tour.out.line(heading)
    tour.out.line("=" * len(heading))
    finished = False
    try:
        await part.run(tour)
        finished = True
    except StopTour as stop:
        # The reason may end with a server's own lines (its stderr).
        first, *rest = str(stop).splitlines()
        tour.out.line()
        tour.out.say(f"The tour cannot go on: {first}")
        for line in rest:
            tour.out.line(line)
    finally:
        tour.out.line()
        tour.out.say("Stopping everything the tour started.")
        await tour.cleanup()
    return tour.summary(part.NUMBER, finished)
