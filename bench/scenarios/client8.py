"""Client 8 fetching from eight slow servers at once: does it wait for one delay or eight?

One transformation server and eight slowpoetry.py servers that close 1 s
after sending the poem; the client fetches the eight poems at once and has
each cummingsified. Its wall time is compared with the same client against
eight fastpoetry.py servers (start-up plus the work, no waiting), and with
an asyncio client doing the same job (bench/reference.py client). Each run
must print the eight transformed poems and exit with status 0.

Target: wall time ≤ 1.1 × the 1 s delay + the client's start-up.
"""

import statistics
import subprocess
import time

from bench.common import (
    FASTPOETRY,
    POEM_FILE,
    ROOT,
    SLOW_DELAY,
    Outcome,
    Table,
    Target,
    Variant,
    slow_server,
)
from tools import launch, syncproc

# The clients measured, one a line.
CLIENTS = [
    Variant("client 8", launch.CLIENTS[8]),
]

SERVERS = 8
TIMEOUT = 30.0  # seconds one run of a client may take
TARGET = 1.1


def commands(transform, slow, fast):
    """{label: argv}: each client against the slow servers, then the fast ones."""
    runs = {}
    for client in CLIENTS:
        if not client.exists():
            continue
        argv = launch.python_argv(client.script, *client.options, transform.port)
        runs[f"{client.label}, {SERVERS} slow servers"] = [*argv, *slow]
        runs[f"{client.label}, {SERVERS} fast servers (start-up)"] = [*argv, *fast]
    asyncio_client = launch.python_argv("bench/reference.py", "client", transform.port)
    runs[f"asyncio client, {SERVERS} slow servers"] = [*asyncio_client, *slow]
    return runs


def one_run(argv, expected, timeout=TIMEOUT):
    """Run a client once: its wall time, whether it printed the SERVERS poems
    and exited 0, and its status. A client still running after `timeout`
    seconds is killed, and that run fails with the limit as its wall time."""
    t0 = time.perf_counter()
    try:
        done = syncproc.run(argv, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"wall": timeout, "ok": False, "status": None}
    wall = time.perf_counter() - t0
    text = done.stdout.decode("utf-8", errors="replace")
    ok = done.returncode == 0 and text.count(expected) == SERVERS
    return {"wall": wall, "ok": ok, "status": done.returncode}


async def run(ctx):
    slow = [slow_server(f"slow {i}") for i in range(SERVERS)]
    fast = [Variant(f"fast {i}", FASTPOETRY).server(POEM_FILE) for i in range(SERVERS)]
    transform = Variant("transform", launch.TRANSFORM).server()
    expected = (ROOT / POEM_FILE).read_text("utf-8").lower().strip()

    async def body():
        runs = {}
        argvs = commands(transform, [s.port for s in slow], [s.port for s in fast])
        for r in range(ctx.rounds):
            for label, argv in argvs.items():
                ctx.progress.show(f"client 8: {label} round {r + 1}/{ctx.rounds}")
                runs.setdefault(label, []).append(one_run(argv, expected))
        return runs

    runs = await ctx.run_servers([transform, *slow, *fast], body)
    med = {
        label: statistics.median(x["wall"] for x in rs) for label, rs in runs.items()
    }
    rows = [
        [
            label,
            f"{med[label]:.3f}",
            f"{med[label] / SLOW_DELAY:.2f}",
            "yes" if all(x["ok"] for x in rs) else "NO",
        ]
        for label, rs in runs.items()
    ]
    table = Table(
        f"client 8 (one transform server, {SERVERS} poetry servers;"
        f" slow = --delay {SLOW_DELAY:g})",
        ["run", "wall s", f"wall / {SLOW_DELAY:g} s", "8 poems, transformed, status 0"],
        rows,
    )
    out = Outcome([table], [], {"client8": runs})
    for client in CLIENTS:
        slow_label = f"{client.label}, {SERVERS} slow servers"
        if slow_label not in runs:
            continue
        wall = med[slow_label]
        startup = med[f"{client.label}, {SERVERS} fast servers (start-up)"]
        out.targets.append(
            Target(
                f"{client.label}: wall ≤ {TARGET} × {SLOW_DELAY:g} s + start-up",
                f"{wall:.3f} s; start-up (same client, fast servers) {startup:.3f} s;"
                f" (wall - start-up) / {SLOW_DELAY:g} s ="
                f" {(wall - startup) / SLOW_DELAY:.2f}",
                wall <= TARGET * SLOW_DELAY + startup
                and all(x["ok"] for x in runs[slow_label]),
            )
        )
    return out
