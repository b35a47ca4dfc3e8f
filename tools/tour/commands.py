"""Command lines as the learner types them, and as the tour really runs them.

A Command keeps the words the learner would type ("python
twisted-client-4/get-poetry.py {proxy}") and knows how to turn them into a
real argv (this Python, the twistd and trial beside it, absolute script
paths). Fields in braces are filled in when the command runs: a server's key
gives its real port, and {T} the tour's temporary directory, which is shown
as $T (the tour prints `T=...` first, so the shown commands work as typed).
"""

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tools import launch


@dataclass(frozen=True)
class Command:
    """A command line: `words` as shown, `program` to find what really runs."""

    words: tuple
    # "python", "script", "twistd", "trial", "shell", or a program on PATH
    program: str = "python"
    # Run as `... 2>&1`: both streams through one pipe, so the order in
    # which the program wrote its lines to them is kept.
    merged: bool = False

    def shown(self, fields):
        """The command as the learner types it."""
        shown = " ".join(fill(word, fields, temp="$T") for word in self.words)
        return shown + " 2>&1" if self.merged else shown

    def argv(self, fields, temp):
        """The argv that really runs it."""
        argv = self._argv([fill(word, fields, temp=str(temp)) for word in self.words])
        if self.merged:
            return ["/bin/sh", "-c", 'exec "$@" 2>&1', "sh", *argv]
        return argv

    def _argv(self, words):
        if self.program == "shell":
            return ["/bin/sh", "-c", " ".join(words)]
        if self.program == "python":
            # words[0] is "python"; run the script by its absolute path.
            return launch.python_argv(*words[1:])
        if self.program == "script":
            # words[0] is "./path/to/script", run by its absolute path.
            return [launch.script(words[0].removeprefix("./")), *words[1:]]
        if self.program == "twistd":
            return launch.twistd_argv(*words[1:])
        if self.program == "trial":
            return [str(Path(sys.executable).with_name("trial")), *words[1:]]
        return [shutil.which(words[0]) or words[0], *words[1:]]

    @property
    def name(self):
        """What the progress line calls it: the script or program name."""
        word = self.words[1] if self.program == "python" else self.words[0]
        return Path(word).name


def fill(word, fields, temp):
    return str(word).format(T=temp, **fields)


def python(script, *args, merged=False):
    """`python SCRIPT ARGS...`, run with this Python (`merged`: `2>&1`)."""
    return Command(("python", script, *args), merged=merged)


def script(path, *args):
    """`./PATH ARGS...`: a repository script that runs by itself (sh, say)."""
    return Command((f"./{path}", *args), program="script")


def twistd(*args):
    return Command(("twistd", *args), program="twistd")


def trial(*args):
    return Command(("trial", *args), program="trial")


def shell(text):
    """A line for /bin/sh (a pipe, $(...)), shown as it is."""
    return Command((text,), program="shell")


def program(name, *args):
    """A program found on PATH, such as nc."""
    return Command((name, *args), program=name)


@dataclass(frozen=True)
class Server:
    """A server the tour starts: `key` names it in commands and pictures."""

    key: str
    # The name in the labels of its lines: "[proxy 41240] ..."
    name: str
    command: Command
    # The line that carries its real port.
    ready: object = launch.SERVING
    # The last line it prints as it starts (our servers start logging just
    # after they print their port), so that it comes before the first step.
    settled: bytes = rb"\] Log opened\."
    # Keep Twisted's time stamps on its log lines (twistd, where the log
    # format is the lesson).
    stamps: bool = False
