"""What the tour prints: its own lines, the lines of the programs it runs, and
a sign of life while it waits.

Everything goes through one Output, so that a progress line never ends up in
the middle of another line. On a terminal, progress is one line at the
bottom ("... waiting for X: 4 s") that is redrawn in place and wiped before
any other line is printed. Anywhere else (a pipe, a file, a test), progress
is a row of dots after "... waiting for X", ended with a newline before any
other line, so the output reads the same with `| less` or in a log.
"""

import textwrap

# Our own prose stays within this many columns.
WIDTH = 79
# Seconds of silence before the first sign of progress, then between two.
PROGRESS_AFTER = 1.0
PROGRESS_EVERY = 1.0


class Output:
    """Writes whole lines to `stream`; shows and clears the progress line."""

    def __init__(self, stream, clock=None):
        self.stream = stream
        self.clock = clock
        self.tty = stream.isatty() if hasattr(stream, "isatty") else False
        self.muted = False
        self._waiting = None  # what we are waiting for, while we wait
        self._seconds = 0
        self._ticker = None
        self._dots = False  # a row of dots is open on the current line
        self._status = False  # a terminal status line is on screen

    def _reactor(self):
        if self.clock is None:
            from twisted.internet import reactor

            self.clock = reactor
        return self.clock

    # -- lines ---------------------------------------------------------------

    def _clear(self):
        if self._status:
            self.stream.write("\r\x1b[K")
            self._status = False
        if self._dots:
            self.stream.write("\n")
            self._dots = False

    def line(self, text=""):
        """Print one line as it is (a program's output, a command)."""
        if self.muted:
            return
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def say(self, text="", indent="", hang=None):
        """Print our own prose, wrapped to WIDTH columns; `hang` indents the
        lines after the first (by default as much as the first)."""
        if not text:
            self.line()
            return
        for row in textwrap.wrap(
            text,
            WIDTH,
            initial_indent=indent,
            subsequent_indent=indent if hang is None else hang,
            break_on_hyphens=False,
        ):
            self.line(row)

    def mute(self):
        """Print nothing more (after Ctrl-C), and wipe the progress line."""
        self.muted = True
        self.stop_waiting()

    # -- progress --------------------------------------------------------------

    def wait_for(self, what):
        """Show progress from now until stop_waiting(), after a second of quiet."""
        self.stop_waiting()
        self._waiting = what
        self._seconds = 0
        self._ticker = self._reactor().callLater(PROGRESS_AFTER, self._tick)

    def stop_waiting(self):
        if self._ticker is not None and self._ticker.active():
            self._ticker.cancel()
        self._ticker = None
        self._waiting = None
        self._clear()
        self.stream.flush()

    def _tick(self):
        self._seconds += PROGRESS_EVERY if self._seconds else PROGRESS_AFTER
        if not self.muted:
            if self.tty:
                self.stream.write(
                    f"\r\x1b[K... waiting for {self._waiting}: {self._seconds:.0f} s"
                )
                self._status = True
            elif self._dots:
                self.stream.write(".")
            else:
                self.stream.write(f"... waiting for {self._waiting} .")
                self._dots = True
            self.stream.flush()
        self._ticker = self._reactor().callLater(PROGRESS_EVERY, self._tick)


class Lines:
    """Cuts a stream of bytes into lines and hands each one, decoded, to `emit`."""

    def __init__(self, emit):
        self.emit = emit
        self.partial = b""

    def feed(self, data):
        self.partial += data
        *whole, self.partial = self.partial.split(b"\n")
        for raw in whole:
            self.emit(raw.rstrip(b"\r").decode("utf-8", errors="replace"))

    def flush(self):
        """Hand over what is left after the last newline, if anything."""
        if self.partial:
            rest, self.partial = self.partial, b""
            self.emit(rest.decode("utf-8", errors="replace"))


class Excerpt:
    """Prints a program's lines as they come, up to `head` of them; of the
    rest it keeps the last `tail`, and `close()` prints them after a line
    saying how many were left out (when more than one was).
    """

    def __init__(self, out, head=18, tail=4):
        self.out = out
        self.head = head
        self.tail = tail
        self.shown = 0
        self.held = []
        self.skipped = 0

    def __call__(self, text):
        if self.shown < self.head:
            self.shown += 1
            self.out.line(text)
            return
        self.held.append(text)
        if len(self.held) > self.tail + 1:
            self.held.pop(0)
            self.skipped += 1

    def close(self):
        if self.skipped:
            # Leave out at least two lines, or the notice takes as much room.
            self.skipped += 1
            self.held.pop(0)
            self.out.line(f"[... {self.skipped} more lines ...]")
        for text in self.held:
            self.out.line(text)
        self.held = []


class Repeats:
    """Passes lines on to `show`, except in a run of identical lines (as
    `key` sees them): after the first `keep` of them, it counts the rest, and
    tells `more` how many there were when the run ends (or at `flush()`)."""

    def __init__(self, show, more, keep=3, key=None):
        self.show = show
        self.more = more
        self.keep = keep
        self.key = key or (lambda text: text)
        self.last = None
        self.run = 0
        self.held = 0

    def __call__(self, text):
        if self.key(text) == self.last:
            self.run += 1
            if self.run > self.keep:
                self.held += 1
                return
        else:
            self.flush()
            self.last = self.key(text)
            self.run = 1
        self.show(text)

    def flush(self):
        if self.held:
            self.more(self.held)
            self.held = 0
