"""Start the tutorial's servers from code that has no Twisted reactor running.

launch.py does the same for Twisted code (tests, the demo) and returns
Deferreds; this is its blocking twin for tools built on asyncio or plain
Python, such as the benchmarks. Both use the same command line
(`launch.python_argv`), the same environment (`launch.child_env`) and the
same "port=NNN)" line (`launch.SERVING`), so a server is started the same way
everywhere.

A child's stdout and stderr go to files rather than pipes: a chatty server
(one log line per connection) can then never stall on a full pipe that
nobody reads, and the caller can still count lines in its output.
"""

import re
import signal
import subprocess
import tempfile
import time

from tools import launch

# How often to look for the ready line while a child starts.
POLL = 0.01


class ChildFailed(Exception):
    """A child exited, or did not become ready in time."""


class Child:
    """A running child process whose output is kept in two temporary files."""

    def __init__(self, argv, *, env=None, cwd=None):
        self.argv = [str(arg) for arg in argv]
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=str(cwd or launch.ROOT),
            env=env if env is not None else launch.child_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
        )
        self.pid = self.proc.pid
        self.port = None

    def _read(self, f):
        f.seek(0)
        return f.read()

    @property
    def out(self):
        """Everything the child has written to stdout so far, as bytes."""
        return self._read(self._out)

    @property
    def err(self):
        """Everything the child has written to stderr so far, as bytes."""
        return self._read(self._err)

    def count(self, pattern):
        """How many times the bytes regex `pattern` matches stdout plus stderr."""
        pattern = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        return len(pattern.findall(self.out)) + len(pattern.findall(self.err))

    def wait_ready(self, pattern=launch.SERVING, timeout=10.0):
        """Block until `pattern` (group 1: the port) appears in the output."""
        deadline = time.monotonic() + timeout
        while True:
            match = pattern.search(self.out) or pattern.search(self.err)
            if match:
                self.port = int(match[1])
                return self
            if self.proc.poll() is not None:
                raise ChildFailed(
                    f"{' '.join(self.argv)} exited with status"
                    f" {self.proc.returncode} before it was ready; stderr:\n"
                    + self.err.decode(errors="replace")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ChildFailed(
                    f"{' '.join(self.argv)} did not become ready within {timeout} s"
                )
            time.sleep(POLL)

    def stop(self, sig=signal.SIGTERM, grace=launch.STOP_GRACE):
        """Signal the child, SIGKILL it after `grace` seconds, and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        """Stop the child and drop its output files."""
        self.stop()
        self._out.close()
        self._err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def start(argv, *, ready=launch.SERVING, timeout=10.0, env=None, cwd=None):
    """Start `argv` and return its Child once a line matches `ready`."""
    child = Child(argv, env=env, cwd=cwd)
    try:
        return child.wait_ready(ready, timeout)
    except BaseException:
        child.close()
        raise


def start_server(path, *args, **kwargs):
    """Start a tutorial server script and return it once it prints its port."""
    return start(launch.python_argv(path, *args), **kwargs)


def run(argv, *, timeout=10.0, env=None, cwd=None):
    """Run `argv` to completion; a subprocess.CompletedProcess with bytes output."""
    return subprocess.run(
        [str(arg) for arg in argv],
        cwd=str(cwd or launch.ROOT),
        env=env if env is not None else launch.child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )
