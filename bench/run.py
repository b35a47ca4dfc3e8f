"""`make bench`: the tutorial's servers under load, beside plain asyncio doing the same job.

    python -m bench                          # every scenario, 4 to 7 minutes
    python -m bench --json bench.json        # also write every round to a file
    python -m bench --only fastpoetry,herd --rounds 5

Scenarios (--only takes their names; each is a module of bench/scenarios/):

    fastpoetry  fastpoetry.py at concurrency 1, 16, 128, 1024, then bursts
    large       an 8 MiB generated poem at concurrency 4: MB/s
    transform   transformedpoetry.py at concurrency 16, 128, 1024
    proxies     50 clients at once on a cold cache in front of a slow server,
                then the cached poem at concurrency 16, 128, 1024
    herd        300 clients at once on a cold cache, an 8 MiB poem
    client8     client 8 against 8 slow servers of 1 s: wall time
    memory      fastpoetry.py RSS after 1,000 and 20,000 connections

The method, the columns and the targets: bench/README.md.
"""

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench import common, twisted_on
from bench.scenarios import SCENARIOS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per figure (default: 3)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all: {','.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the scheduler place the load generator and the servers",
    )
    parser.add_argument(
        "--reactors",
        default=os.environ.get("BENCH_REACTORS", "default,asyncio-uvloop"),
        help="Twisted reactors to measure fastpoetry, the large poem and the"
        " transform server on, from bench/twisted_on.py (default:"
        " default,asyncio-uvloop; or set BENCH_REACTORS)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 3:
        parser.error(
            f"--rounds must be at least 3 (every figure is a median), not {args.rounds}"
        )
    args.only = [s for s in args.only.split(",") if s]
    for name in args.only:
        if name not in SCENARIOS:
            parser.error(f"no scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    args.reactors = [r for r in args.reactors.split(",") if r]
    unknown = [r for r in args.reactors if r not in twisted_on.REACTORS]
    if unknown:
        parser.error(
            f"no reactor {unknown[0]!r}; choose from {', '.join(twisted_on.REACTORS)}"
        )
    if "default" not in args.reactors:
        args.reactors.insert(0, "default")
    if common.uvloop is None and "asyncio-uvloop" in args.reactors:
        args.reactors.remove("asyncio-uvloop")
    return args


def machine():
    import twisted

    uv = common.uvloop
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs,"
        f" load {os.getloadavg()[0]:.2f} at start; Python"
        f" {platform.python_version()}, Twisted {twisted.__version__}"
        + (f", uvloop {uv.__version__}" if uv else ", no uvloop")
    )


def render(meta, outcome):
    """The report: a header, every table, then every target."""
    lines = [
        f"make bench, {meta['date']}: {meta['machine']}",
        f"load generator: {meta['load_generator']}; {meta['cpus']};",
        f"medians of {meta['rounds']} rounds; took {meta['seconds']:.0f} s"
        f" ({', '.join(f'{k} {v:.0f} s' for k, v in meta['scenario_seconds'].items())})",
        "",
    ]
    for table in outcome.tables:
        lines.extend(table.render())
        lines.append("")
    if outcome.targets:
        lines.append("targets (bench/README.md)")
        for target in outcome.targets:
            lines.extend(target.render())
    return "\n".join(lines)


async def run_scenarios(ctx, names, meta):
    outcome = common.Outcome()
    for name in names:
        started = time.monotonic()
        outcome.extend(await SCENARIOS[name].run(ctx))
        meta["scenario_seconds"][name] = time.monotonic() - started
    return outcome


def main(argv=None):
    args = parse_args(argv)
    # 1,024 clients here and 1,024 connections in the server, plus the rest.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

    started = time.monotonic()
    cpus = common.pin_cpus() if args.pin else "not pinned (--no-pin)"
    meta = {
        "cpus": cpus,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "load_generator": "this process, asyncio on "
        + ("uvloop" if common.uvloop else "its own event loop"),
        "rounds": args.rounds,
        "reactors": args.reactors,
        "scenario_seconds": {},
    }
    runner = common.uvloop.run if common.uvloop else asyncio.run
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ctx = common.Context(Path(tmp), args.rounds, args.reactors)
        try:
            outcome = runner(run_scenarios(ctx, args.only, meta))
        except KeyboardInterrupt:
            ctx.progress.show("interrupted", final=True)
            return 130
    meta["seconds"] = time.monotonic() - started
    ctx.progress.show("done", final=True)
    print(render(meta, outcome))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(
                {
                    "meta": meta,
                    "results": outcome.results,
                    "targets": [t.as_dict() for t in outcome.targets],
                },
                f,
                indent=1,
                default=str,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
