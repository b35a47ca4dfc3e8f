"""What a step promised, checked against what really happened.

Each check has a short description, printed after "ok:" when it holds, and
an async `check(tour, result)` that returns None when it holds, or a few
words saying what was expected and what was seen. Checks on a server's
output, or on a daemon's files, wait for it (a line may come a moment after
the client has exited), up to a few seconds.
"""

import re

from twisted.internet import defer

from tools import launch

# How long a check waits for a server line or a daemon's file.
PATIENCE = 5.0

TIMES = {1: "once", 2: "twice"}


def times(n):
    return TIMES.get(n, f"{n} times")


def quoted(text):
    return f'"{text}"'


def shorten(text, width=60):
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


def poem_text(name, lower=False):
    """The text of poetry/<name>, as a client prints it (lower case if asked)."""
    text = (launch.POETRY / name).read_bytes().decode("utf-8")
    return text.lower() if lower else text


def streams(result, stream):
    """The text a command wrote to "out", "err" or "both"."""
    out = result.out.decode("utf-8", errors="replace")
    err = result.err.decode("utf-8", errors="replace")
    return {"out": out, "err": err, "both": out + err}[stream]


STREAM_NAMES = {"out": "on stdout", "err": "on stderr", "both": ""}


class Exits:
    """The command ended by itself with status `code`."""

    def __init__(self, code=0):
        self.code = code
        self.what = f"exit status {code}"

    async def check(self, tour, result):
        if result.timed_out:
            return f"still running after {result.timeout:g} s, so it was killed"
        if result.signal is not None:
            return f"expected exit status {self.code}, but killed by signal {result.signal}"
        if result.exit_code != self.code:
            return f"expected exit status {self.code}, saw {result.exit_code}"
        return None


class Poems:
    """stdout is exactly these poems (in any order), as a client prints them:
    each one followed by a newline, or, with `raw`, the file's bytes as sent."""

    def __init__(self, *names, lower=False, raw=False):
        self.names = names
        self.lower = lower
        self.raw = raw
        counted = {name: names.count(name) for name in names}
        listed = " and ".join(
            f"poetry/{name}" + (f" {times(n)}" if n > 1 else "")
            for name, n in counted.items()
        )
        self.what = f"{listed}, whole" + (", in lower case" if lower else "")

    async def check(self, tour, result):
        if self.raw:
            expected = b"".join(
                (launch.POETRY / name).read_bytes() for name in self.names
            )
            if result.out == expected:
                return None
            return (
                f"expected the {len(expected)} bytes of {self.what}, saw"
                f" {len(result.out)} bytes that differ"
            )
        left = streams(result, "out")
        printed = len(left)
        for name in self.names:
            text = poem_text(name, self.lower) + "\n"
            if text not in left:
                return (
                    f"expected poetry/{name} ({len(text) - 1} characters)"
                    + (" in lower case" if self.lower else "")
                    + f", not found in the {printed} characters printed"
                )
            left = left.replace(text, "", 1)
        if left:
            return (
                f"{len(left)} characters printed besides the poems: {shorten(left)!r}"
            )
        return None


class Says:
    """The command wrote a line matching `pattern`, `count` times (or at least
    once, with count=None), to `stream`."""

    def __init__(self, pattern, stream="both", count=1, what=None):
        self.pattern = re.compile(pattern, re.MULTILINE)
        self.stream = stream
        self.count = count
        text = what or quoted(pattern)
        where = STREAM_NAMES[stream]
        how = "" if count is None else times(count)
        self.what = " ".join(part for part in (text, how, where) if part)

    async def check(self, tour, result):
        seen = len(self.pattern.findall(streams(result, self.stream)))
        if (self.count is None and seen) or seen == self.count:
            return None
        expected = "at least once" if self.count is None else times(self.count)
        return (
            f"{self.what}: expected {expected}, saw {times(seen) if seen else 'none'}"
        )


class Prints:
    """stdout is exactly `text`."""

    def __init__(self, text, what=None):
        self.text = text
        self.what = what or "the output the text gives"

    async def check(self, tour, result):
        printed = streams(result, "out")
        if printed == self.text:
            return None
        expected, seen = self.text.splitlines(), printed.splitlines()
        for number, (want, got) in enumerate(zip(expected, seen, strict=False), 1):
            if want != got:
                return f"line {number}: expected {want!r}, saw {got!r}"
        return f"expected {len(expected)} lines, saw {len(seen)}"


class Silent:
    """The command printed nothing at all (or nothing on `stream`)."""

    def __init__(self, stream="both"):
        self.stream = stream
        self.what = "no output" + (
            f" {STREAM_NAMES[stream]}" if stream != "both" else ""
        )

    async def check(self, tour, result):
        text = streams(result, self.stream)
        if not text:
            return None
        return f"expected no output, saw {shorten(text)!r}"


class InOrder:
    """These whole lines appear on `stream`, in this order (others may come between)."""

    def __init__(self, *lines, stream="out", what=None):
        self.lines = lines
        self.stream = stream
        self.what = what or f"{len(lines)} lines in the order the text gives"

    async def check(self, tour, result):
        printed = streams(result, self.stream).splitlines()
        position = 0
        previous = None
        for line in self.lines:
            try:
                position = printed.index(line, position) + 1
            except ValueError:
                if line in printed:
                    return f"{line!r} came before {previous!r}, not after it"
                return f"the line {line!r} is missing"
            previous = line
        return None


# -- servers and daemons ---------------------------------------------------------


class Logs:
    """A server wrote a line matching `pattern` `count` times during the step."""

    def __init__(self, key, pattern, count=1, what=None):
        self.key = key
        self.pattern = re.compile(pattern.encode("utf-8"), re.MULTILINE)
        self.count = count
        self.what = f"[{key}] {what or quoted(pattern)} {times(count)}"

    def seen(self, tour, result):
        server = tour.servers[self.key]
        out_mark, err_mark = result.marks.get(self.key, (0, 0))
        proc = server.proc
        return len(self.pattern.findall(proc.out, out_mark)) + len(
            self.pattern.findall(proc.err, err_mark)
        )

    async def check(self, tour, result):
        server = tour.servers[self.key]
        self.what = self.what.replace(f"[{self.key}]", f"[{server.label}]", 1)
        try:
            await server.proc.wait_for(
                self.pattern,
                PATIENCE,
                self.count,
                since=result.marks.get(self.key, (0, 0)),
            )
        except (defer.TimeoutError, launch.ScriptFailed):
            pass  # told below
        seen = self.seen(tour, result)
        if seen == self.count:
            return None
        return f"{self.what}: saw it {times(seen) if seen else 'never'}"


class Ended:
    """A server's process has exited (after Ctrl-C, say)."""

    def __init__(self, key):
        self.key = key
        self.what = f"[{key}] exited"

    async def check(self, tour, result):
        server = tour.servers[self.key]
        self.what = f"[{server.label}] exited"
        if server.proc.ended:
            return None
        return f"[{server.label}] is still running"


class FileHas:
    """A file (a daemon's log) has a line matching `pattern` (waits for it)."""

    def __init__(self, path, pattern, what=None):
        self.path = path
        self.pattern = re.compile(pattern, re.MULTILINE)
        self.what = f"{path.format(T='$T')} has {what or quoted(pattern)}"

    def holds(self, tour):
        # What was added since the step began.
        path = tour.path(self.path)
        start = tour.log_marks.get(self.path, 0)
        return path.exists() and self.pattern.search(
            path.read_bytes()[start:].decode("utf-8", errors="replace")
        )

    async def check(self, tour, result):
        try:
            await launch.poll(lambda: self.holds(tour), self.what, PATIENCE)
        except launch.ScriptFailed:
            return f"not in {self.path.format(T='$T')} after {PATIENCE:g} s"
        return None


class FileGone:
    """A file (a pid file) is not there, or goes within a few seconds."""

    def __init__(self, path):
        self.path = path
        self.what = f"{path.format(T='$T')} removed"

    async def check(self, tour, result):
        path = tour.path(self.path)
        try:
            await launch.poll(lambda: not path.exists(), self.what, PATIENCE)
        except launch.ScriptFailed:
            return f"{self.path.format(T='$T')} is still there"
        return None


class PidFile:
    """The pid file holds the pid of the server started in this step."""

    def __init__(self, path, key):
        self.path = path
        self.key = key
        self.what = f"{path.format(T='$T')} holds its pid"

    async def check(self, tour, result):
        path = tour.path(self.path)
        pid = tour.servers[self.key].proc.transport.pid
        if not path.exists():
            return f"{self.path.format(T='$T')} is missing"
        written = path.read_text().strip()
        if written != str(pid):
            return f"{self.path.format(T='$T')} holds {written!r}, not {pid}"
        return None


class Daemon:
    """A twistd daemon runs: its pid file names a live process, and its log
    says which port it listens on, which commands may then use as {key}."""

    def __init__(self, pidfile, logfile, key):
        self.pidfile = pidfile
        self.logfile = logfile
        self.key = key
        self.what = f"a daemon runs, its pid in {pidfile.format(T='$T')}"

    async def check(self, tour, result):
        pidfile = tour.path(self.pidfile)
        if not pidfile.exists():
            return f"no {self.pidfile.format(T='$T')}"
        pid = int(pidfile.read_text())
        if launch.process_gone(pid):
            return f"no process {pid}, although the pid file names it"
        logfile = tour.path(self.logfile)
        start = tour.log_marks.get(self.logfile, 0)

        def port():
            found = launch.TWISTD_STARTING.search(logfile.read_bytes()[start:])
            return found and int(found[1])

        try:
            await launch.poll(lambda: logfile.exists() and port(), "its port", PATIENCE)
        except launch.ScriptFailed:
            return f"no 'starting on PORT' line in {self.logfile.format(T='$T')}"
        tour.daemons[self.key] = pid
        tour.fields[self.key] = port()
        return None


class DaemonGone:
    """The daemon started earlier as `key` has exited."""

    def __init__(self, key):
        self.key = key
        self.what = "the daemon has exited"

    async def check(self, tour, result):
        pid = tour.daemons.get(self.key)
        if pid is None:
            return "no daemon was running"
        try:
            await launch.poll(lambda: launch.process_gone(pid), self.what, PATIENCE)
        except launch.ScriptFailed:
            return f"process {pid} is still running"
        return None


def stopped(key):
    """A server stopped with Ctrl-C says so, and exits."""
    return [
        Logs(key, r"Received SIGINT, shutting down\.", what="Received SIGINT"),
        Ended(key),
    ]
