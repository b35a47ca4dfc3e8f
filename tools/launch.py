"""Start the tutorial's scripts as child processes, the way a learner would.

Shared by the tests, `make demo` and the benchmarks, so that none of them
carries its own copy. Everything here returns Deferreds and runs on whatever
reactor is running (trial's in the tests, task.react's in the tools).

A server is ready when it prints the line that carries its real port:

    Serving poetry/science.txt on IPv4Address(type='TCP', host='127.0.0.1', port=41235).

or, under twistd, when Twisted logs "<Factory> starting on 41235".
"""

import os
import re
import signal
import sys
from pathlib import Path

from twisted.internet import defer, error, protocol, task

ROOT = Path(__file__).resolve().parent.parent
POETRY = ROOT / "poetry"

# The tutorial's scripts that the tests, the demo, the tour and the bench
# start, as the text names them (relative to the repository root).
FASTPOETRY = "twisted-server-1/fastpoetry.py"
SLOWPOETRY = "twisted-server-1/slowpoetry.py"
TRANSFORM = "twisted-server-1/transformedpoetry.py"
PROXY_1 = "twisted-server-1/poetry-proxy.py"
PROXY_2 = "twisted-server-2/poetry-proxy.py"
PROXY_WAITERS = "twisted-server-2/poetry-proxy-waiters.py"
# The tac file of Part 16.
TAC = "twisted-server-3/fastpoetry.py"
# The clients of Parts 11, 13, 17 and 18, by number.
CLIENTS = {n: f"twisted-client-{n}/get-poetry.py" for n in (4, 6, 7, 8)}

# The cache twistd's (and trial's) plugin scan writes into the checkout.
DROPIN_CACHE = ROOT / "twisted" / "plugins" / "dropin.cache"
# The Makefile's $(STAMP): the project is installed in .venv.
INSTALL_STAMP = ".venv/.installed"

# "... on IPv4Address(type='TCP', host='127.0.0.1', port=41235)." (an
# IPv6Address has more fields after the port)
SERVING = re.compile(rb"Address\(type='TCP', host='[^']*', port=(\d+)[,)].*\.\r?\n")
# twistd's log line from twisted/internet/tcp.py: "PoetryFactory starting on 41235"
TWISTD_STARTING = re.compile(rb"starting on (\d+)\r?\n")
# How long a stopped child gets between SIGTERM and SIGKILL.
STOP_GRACE = 5.0


def script(path):
    """The absolute path of a script given relative to the repository root."""
    return str(ROOT / path)


def poem_path(name):
    """The path of a poem in poetry/, as the tutorial names it on the command line."""
    return f"poetry/{name}"


def child_env(**extra):
    """The environment for a child: unbuffered, deprecations are errors."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "error::DeprecationWarning"
    # Poems are UTF-8 whatever the locale of the machine running the tests.
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


class ScriptFailed(Exception):
    """A child exited, or timed out, before doing what was expected of it."""


class ScriptProcess(protocol.ProcessProtocol):
    """A child process whose output is collected and watched for a line."""

    def __init__(self, name, ready_pattern=None):
        self.name = name
        self.ready_pattern = ready_pattern
        self.out = b""
        self.err = b""
        self.port = None
        self.exit_code = None  # None while running, or if killed by a signal
        self.signal = None
        self.ended = False
        # Fires with self once ready_pattern is seen (only when there is one).
        self._ready = defer.Deferred() if ready_pattern is not None else None
        self._end_waiters = []
        self._line_waiters = []
        self._listeners = []

    # -- ProcessProtocol ---------------------------------------------------

    def outReceived(self, data):
        self.out += data
        self._tell_listeners("out", data)
        self._check_ready()
        self._check_lines()

    def errReceived(self, data):
        self.err += data
        self._tell_listeners("err", data)
        self._check_ready()
        self._check_lines()

    def processEnded(self, reason):
        self.ended = True
        self.exit_code = getattr(reason.value, "exitCode", None)
        self.signal = getattr(reason.value, "signal", None)
        if self._ready is not None:
            ready, self._ready = self._ready, None
            ready.errback(
                ScriptFailed(
                    f"{self.name} exited with status {self.exit_code} before it"
                    f" was ready; stderr:\n{self.err.decode(errors='replace')}"
                )
            )
        self._check_lines()
        waiters, self._end_waiters = self._end_waiters, []
        for waiter in waiters:
            waiter.callback(self)

    # -- for callers -------------------------------------------------------

    def add_listener(self, listener):
        """Call `listener(self, "out" or "err", data)` for each chunk from now on."""
        self._listeners.append(listener)

    def remove_listener(self, listener):
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _tell_listeners(self, stream, data):
        for listener in list(self._listeners):
            listener(self, stream, data)

    def _check_ready(self):
        if self._ready is None or self.ready_pattern is None:
            return
        match = self.ready_pattern.search(self.out) or self.ready_pattern.search(
            self.err
        )
        if match:
            self.port = int(match[1])
            ready, self._ready = self._ready, None
            ready.callback(self)

    def wait_for(self, pattern, timeout=10.0, count=1, since=(0, 0)):
        """Fire once `pattern` (bytes regex) has matched `count` times in the output.

        `since` is where to start looking: (offset in stdout, offset in
        stderr), such as (len(proc.out), len(proc.err)) taken earlier.
        """
        from twisted.internet import reactor

        pattern = re.compile(pattern) if isinstance(pattern, bytes) else pattern

        def forget(waiter):  # on time-out: stop looking
            self._line_waiters[:] = [
                e for e in self._line_waiters if e[3] is not waiter
            ]

        waiter = defer.Deferred(forget)
        self._line_waiters.append((pattern, count, since, waiter))
        self._check_lines()
        if not waiter.called:
            waiter.addTimeout(timeout, reactor)
        return waiter

    def _check_lines(self):
        for entry in list(self._line_waiters):
            pattern, count, (out_from, err_from), waiter = entry
            seen = len(pattern.findall(self.out, out_from)) + len(
                pattern.findall(self.err, err_from)
            )
            if seen >= count:
                self._line_waiters.remove(entry)
                waiter.callback(self)
            elif self.ended:
                self._line_waiters.remove(entry)
                waiter.errback(
                    ScriptFailed(
                        f"{self.name} exited having printed {pattern.pattern!r}"
                        f" {seen} times, not {count}"
                    )
                )

    def when_ended(self):
        """A Deferred that fires with this object once the child has exited."""
        if self.ended:
            return defer.succeed(self)
        waiter = defer.Deferred()
        self._end_waiters.append(waiter)
        return waiter

    def send_signal(self, signame):
        """Send a signal ("INT", "TERM", ...) if the child is still running."""
        if not self.ended:
            try:
                self.transport.signalProcess(signame)
            except error.ProcessExitedAlready:
                pass

    def stop(self, signame="TERM", grace=STOP_GRACE):
        """Signal the child, SIGKILL it after `grace` seconds, wait for it to end."""
        from twisted.internet import reactor

        if self.ended:
            return defer.succeed(self)
        self.send_signal(signame)
        killer = reactor.callLater(grace, self.send_signal, "KILL")

        def cancel_killer(result):
            if killer.active():
                killer.cancel()
            return result

        return self.when_ended().addBoth(cancel_killer)

    @property
    def stdout(self):
        return self.out.decode("utf-8")

    @property
    def stderr(self):
        return self.err.decode("utf-8")


def python_argv(path, *args):
    """The command line that runs a repository script with this Python."""
    return [sys.executable, "-u", script(path), *map(str, args)]


def twistd_argv(*args):
    """The command line for the twistd installed beside this Python."""
    return [str(Path(sys.executable).with_name("twistd")), *map(str, args)]


def spawn(
    argv,
    *,
    ready=None,
    timeout=10.0,
    env=None,
    cwd=None,
    close_stdin=False,
    started=None,
):
    """Start the command `argv` (a list) in the repository root, or in `cwd`.

    With `ready` (a compiled bytes pattern whose group 1 is a port), the
    Deferred fires once a line of output matches, with the ScriptProcess (its
    `.port` set). Without it, the Deferred fires when the child exits. Either
    way the child is killed, and the Deferred fails with ScriptFailed, after
    `timeout` seconds. With `close_stdin`, the child reads end-of-file at once,
    as from `< /dev/null`. `started`, if given, is called with the
    ScriptProcess as soon as the child exists (to watch its output as it
    comes, or to be able to stop it).
    """
    from twisted.internet import reactor

    name = " ".join(Path(arg).name for arg in argv[:3] if arg != "-u")
    proc = ScriptProcess(name, ready)
    reactor.spawnProcess(
        proc,
        argv[0],
        argv,
        env=env if env is not None else child_env(),
        path=str(cwd or ROOT),
    )
    if close_stdin:
        proc.transport.closeStdin()
    if started is not None:
        started(proc)

    done = proc._ready if ready is not None else proc.when_ended()
    what = "become ready" if ready is not None else "finish"

    def timed_out(failure):
        failure.trap(defer.TimeoutError)
        proc.send_signal("KILL")
        return proc.when_ended().addCallback(
            lambda _: _raise(
                ScriptFailed(
                    f"{name} did not {what} within {timeout} s;"
                    f" stdout:\n{proc.out.decode(errors='replace')}"
                    f"\nstderr:\n{proc.err.decode(errors='replace')}"
                )
            )
        )

    done.addTimeout(timeout, reactor)
    done.addErrback(timed_out)
    return done


def _raise(exc):
    raise exc


def start_server(path, *args, timeout=10.0, prefix=(), **kwargs):
    """Start a tutorial server and wait for its "Serving ... on ..." line.

    `prefix` goes before the command, e.g. ("prlimit", "--nofile=64").
    """
    argv = [*prefix, *python_argv(path, *args)]
    return spawn(argv, ready=SERVING, timeout=timeout, **kwargs)


def run_script(path, *args, timeout=10.0, **kwargs):
    """Run a script to completion; the Deferred fires with the ScriptProcess."""
    return spawn(python_argv(path, *args), timeout=timeout, **kwargs)


def run_make(*args, timeout=30.0, env=None):
    """Run `make -s ARGS` in the repository root, as spawn() runs a command.

    For the tests: a surrounding make's variables (`make test`'s MAKEFLAGS,
    with -j or -n) do not reach this one, and the install stamp counts as
    up to date (make's --old-file), so a test never pip-installs into the
    venv it runs from.
    """
    env = dict(env if env is not None else child_env())
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    argv = ["make", "-s", "--old-file", INSTALL_STAMP, *args]
    return spawn(argv, timeout=timeout, env=env)


@defer.inlineCallbacks
def stop_all(procs, signame="TERM"):
    """Stop every child in `procs` and wait until they have all exited."""
    yield defer.gatherResults(
        [proc.stop(signame) for proc in procs], consumeErrors=True
    )


# -- twistd daemons: processes that are not our children --------------------


def process_gone(pid):
    """True once `pid` has exited (a zombie waiting for init counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return re.search(r"^State:\s+Z", status, re.MULTILINE) is not None


def signal_quietly(pid, sig):
    """os.kill, where a process that has already gone is no error."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@defer.inlineCallbacks
def stop_pids(pids, grace=STOP_GRACE):
    """SIGTERM processes that are not our children (twistd daemons, say),
    SIGKILL those still there after `grace` seconds; fire once all are gone."""
    pids = [pid for pid in pids if not process_gone(pid)]
    for pid in pids:
        signal_quietly(pid, signal.SIGTERM)
    try:
        yield poll(lambda: all(map(process_gone, pids)), "SIGTERM to work", grace)
    except ScriptFailed:
        for pid in pids:
            signal_quietly(pid, signal.SIGKILL)
        yield poll(lambda: all(map(process_gone, pids)), "SIGKILL to work", grace)


def marked_processes(name, value):
    """The pids of live processes whose environment has `name`=`value`.

    A variable set for a child is inherited by everything it starts, a twistd
    daemon included, so this finds what a child left running (Linux: /proc).
    """
    marker = f"{name}={value}".encode()
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except FileNotFoundError:
        return []
    pids = []
    for entry in entries:
        try:
            environ = Path("/proc", entry, "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and not process_gone(int(entry)):
            pids.append(int(entry))
    return pids


@defer.inlineCallbacks
def poll(condition, what, timeout=10.0, interval=0.05):
    """Fire once `condition()` is true; fail with ScriptFailed after `timeout` s.

    A daemon is not our child, so there is no Deferred for its progress:
    this checks its files every `interval` seconds instead.
    """
    from twisted.internet import reactor

    deadline = reactor.seconds() + timeout
    while not condition():
        if reactor.seconds() > deadline:
            raise ScriptFailed(f"gave up after {timeout:g} s waiting for {what}")
        yield task.deferLater(reactor, interval, lambda: None)


def tac_copy(path, folder, **settings):
    """Copy the tac file at `path` into `folder`, with some of its
    configuration lines (`name = value`) rewritten; the copy's path.

    The tac files keep the text's fixed ports; a copy with port 0 listens on
    a free one, so nothing depends on 10000 being free. A relative poem path
    stays relative: run twistd on the copy from the repository root.
    """
    text = (ROOT / path).read_text(encoding="utf-8")
    for name, value in settings.items():
        lines = text.splitlines(keepends=True)
        found = [i for i, line in enumerate(lines) if line.startswith(f"{name} = ")]
        if len(found) != 1:
            raise ValueError(f"no single '{name} = ...' line in {path}")
        lines[found[0]] = f"{name} = {value!r}\n"
        text = "".join(lines)
    copy = Path(folder) / Path(path).name
    copy.write_text(text, encoding="utf-8")
    return copy


def twist_argv(*args):
    """The command line for the twist installed beside this Python (see twistd_argv)."""
    return [str(Path(sys.executable).with_name("twist")), *map(str, args)]
