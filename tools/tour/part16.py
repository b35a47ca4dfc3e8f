"""Part 16, "Twisted Daemonologie": twisted.python.log, the tac file under
python and under twistd (in the foreground, Ctrl-C, then as a daemon with
its pid and log files, stopped with kill), and the fastpoetry plugin.

twistd runs from the repository root, where the tac file's relative poem
path leads, on a copy of the tac file whose port is 0 instead of 10000, and
with every file it writes (pid file, log) in the tour's temporary directory.
"""

from tools import launch
from tools.tour.checks import (
    Daemon,
    DaemonGone,
    Ended,
    Exits,
    FileGone,
    FileHas,
    Logs,
    PidFile,
    Poems,
    Says,
    Silent,
)
from tools.tour.commands import Server, program, python, shell, twistd
from tools.tour.network import client

NUMBER = 16
TITLE = "Twisted Daemonologie"
SUMMARY = "log.py, twistd, a daemon, the plugin"

POEM = "ecstasy.txt"
PIDFILE = "{T}/twistd.pid"
LOGFILE = "{T}/twistd.log"
FILES = ("--pidfile", PIDFILE, "--logfile", LOGFILE)

FOREGROUND = Server(
    "twistd",
    "twistd",
    twistd("--nodaemon", "--pidfile", PIDFILE, "--python", "{T}/fastpoetry.py"),
    ready=launch.TWISTD_STARTING,
    settled=rb"loaded a poem from",
    stamps=True,
)

LOG = python("basic-twisted/log.py")
TAC_PYTHON = python(launch.TAC)
DIFF = program("diff", launch.TAC, "{T}/fastpoetry.py")

PICTURE = """\
  twistd --nodaemon --python $T/fastpoetry.py    in the foreground, then
  twistd --python $T/fastpoetry.py               as a daemon, then
  twistd fastpoetry --port 0 --poem ...          the plugin, as a daemon

  build and run the same application:

      application "fastpoetry"
        `-- MultiService
              |-- PoetryService    loads poetry/{poem} when started
              |-- CutOnStop        resets unfinished poems when stopped
              `-- TCPServer        listens on a free port   <--- client 4

  Each run logs its port: "PoetryFactory starting on PORT".
"""

SENDING = rf"sending {len((launch.POETRY / POEM).read_bytes())} bytes of poetry to"


def sending(key):
    return Logs(key, SENDING + r" IPv4Address\(", what=f'"{SENDING} ..."')


def commands_section(lines):
    """Of `twistd --help`, the list of commands (plugins) at its end."""
    start = next((n for n, line in enumerate(lines) if line == "Commands:"), 0)
    skipped = [f"[... {start} lines of twistd's own options ...]"] if start else []
    return skipped + lines[start:]


def daemon_steps(tour, key, how):
    """Fetch a poem from a daemon, then stop it with kill."""

    async def steps():
        await tour.command(
            f"The {how} serves as before; its log lines now go to the log file.",
            client(4, "{" + key + "}"),
            expect=[
                Exits(0),
                Poems(POEM),
                FileHas(LOGFILE, SENDING, what=f'"{SENDING} ..."'),
            ],
            files=[LOGFILE],
        )
        await tour.command(
            "A daemon has no terminal for Ctrl-C: kill sends SIGTERM to the pid"
            " in its pid file; it shuts down as cleanly, and removes the file.",
            shell("kill $(cat {T}/twistd.pid)"),
            expect=[
                Exits(0),
                FileHas(LOGFILE, r"Server Shut Down\.", what='"Server Shut Down."'),
                FileGone(PIDFILE),
                DaemonGone(key),
            ],
            files=[LOGFILE],
        )

    return steps()


async def run(tour):
    launch.tac_copy(launch.TAC, tour.temp, port=0)
    tour.ahead(LOG, TAC_PYTHON, DIFF)
    tour.introduce(PICTURE, poem=POEM)

    await tour.command(
        "log.msg and log.err write to the log that startLogging opened: a"
        " message, then an error with its traceback.",
        LOG,
        expect=[
            Exits(0),
            Says(r"\[-\] Log opened\.$", "out", what='"Log opened."'),
            Says(
                r"\[-\] This is a log message from basic-twisted/log\.py\.$",
                "out",
                what="the message",
            ),
            Says(
                r"builtins\.ZeroDivisionError: division by zero$",
                "out",
                what="the ZeroDivisionError",
            ),
        ],
    )

    await tour.command(
        "A tac file only builds the application: run with python, nothing"
        " happens, and it exits at once.",
        TAC_PYTHON,
        expect=[Exits(0), Silent()],
    )

    tour.show_temp()
    await tour.command(
        "twistd will run a copy of the tac file, $T/fastpoetry.py, whose only"
        " change is port = 0 (any free port) instead of 10000.",
        DIFF,
        expect=[
            Exits(1),
            Says(r"^< port = 10000$", "out", what="port = 10000"),
            Says(r"^> port = 0$", "out", what="port = 0"),
            Says(r"^[<>] ", "out", 2, what="changed lines"),
        ],
    )

    await tour.start_step(
        "twistd --nodaemon: the log goes to the terminal; the services start;"
        " the pid file ($T/twistd.pid) holds the server's pid.",
        FOREGROUND,
        expect=[
            Logs(
                "twistd",
                rf"loaded a poem from: poetry/{POEM}$",
                what=f'"loaded a poem from: poetry/{POEM}"',
            ),
            PidFile(PIDFILE, "twistd"),
        ],
    )

    await tour.command(
        "Each poem sent is one line in twistd's log, from log.msg in connectionMade.",
        client(4, "{twistd}"),
        expect=[Exits(0), Poems(POEM), sending("twistd")],
        watch={"twistd": None},
    )

    await tour.ctrl_c(
        "Ctrl-C: twistd shuts down cleanly, says so, and removes its pid file.",
        "twistd",
        expect=[
            Logs("twistd", r"Received SIGINT, shutting down\.", what="Received SIGINT"),
            Logs("twistd", r"Server Shut Down\.$", what='"Server Shut Down."'),
            Ended("twistd"),
            FileGone(PIDFILE),
        ],
    )

    await tour.command(
        "Without --nodaemon, twistd becomes a daemon: the prompt comes back at"
        " once, and the log goes to the log file.",
        twistd(*FILES, "--python", "{T}/fastpoetry.py"),
        expect=[Exits(0), Silent(), Daemon(PIDFILE, LOGFILE, "daemon")],
        files=[LOGFILE],
    )
    await daemon_steps(tour, "daemon", "daemon")

    await tour.command(
        "twistd finds the plugin in twisted/plugins on the Python path (the"
        " scan writes twisted/plugins/dropin.cache, the tour removes it).",
        twistd("--help"),
        expect=[
            Exits(0),
            Says(
                r"^ +fastpoetry +A fast poetry service\.$",
                "out",
                what='"fastpoetry  A fast poetry service."',
            ),
        ],
        show=commands_section,
    )

    await tour.command(
        "The plugin's own options come after its name; twistd's go before it.",
        twistd("fastpoetry", "--help"),
        expect=[
            Exits(0),
            Says(
                r"^  -p, --port=  +The port number to listen on\. \[default: 10000\]$",
                "out",
                what="--port",
            ),
            Says(
                r"^      --poem=  +The file containing the poem\.$",
                "out",
                what="--poem",
            ),
            Says(r"^      --iface=  +.*\[default: localhost\]$", "out", what="--iface"),
        ],
    )

    await tour.command(
        "The plugin as a daemon: the same application, built from command-line"
        " options instead of a tac file.",
        twistd(*FILES, "fastpoetry", "--port", "0", "--poem", f"poetry/{POEM}"),
        expect=[Exits(0), Silent(), Daemon(PIDFILE, LOGFILE, "plugin")],
        files=[LOGFILE],
    )
    await daemon_steps(tour, "plugin", "plugin")
