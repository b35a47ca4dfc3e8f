"""Run a tutorial script with its reactor's delays made shorter.

    python tools/speedup.py FACTOR SCRIPT [ARGUMENTS...]

runs SCRIPT (a path from the repository root) as `python SCRIPT ARGUMENTS`
would, on the real reactor, except that every reactor.callLater waits
FACTOR times less: inline-callbacks/inline-callbacks-1.py, which waits 5
seconds twice, finishes in a tenth of a second with FACTOR 100. The script
itself is not changed; only the time it waits for.

The tests and the guided tour use this to run the examples whose delays are
part of the lesson without waiting for them. Only delays given to callLater
shrink: reactor.seconds() still tells the real time, so code that schedules
by the clock (LoopingCall, say) does not speed up.
"""

import argparse
import runpy
import sys


def speed_up(reactor, factor):
    """Make reactor.callLater wait `factor` times less than it is asked to."""
    call_later = reactor.callLater

    def shorter(delay, f, *args, **kwargs):
        return call_later(delay / factor, f, *args, **kwargs)

    reactor.callLater = shorter


def parse_args(argv):
    """FACTOR and SCRIPT; whatever follows is the script's, options included."""
    parser = argparse.ArgumentParser(
        prog="python tools/speedup.py",
        usage="%(prog)s FACTOR SCRIPT [ARGUMENTS...]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("factor", metavar="FACTOR", help="how many times faster")
    parser.add_argument("script", metavar="SCRIPT", help="the script to run")
    args = parser.parse_args(argv[:2])
    args.arguments = argv[2:]
    try:
        factor = float(args.factor)
    except ValueError:
        factor = 0
    if not factor > 0:
        parser.error(f"FACTOR must be a number above 0, not {args.factor!r}")
    args.factor = factor
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    from twisted.internet import reactor

    speed_up(reactor, args.factor)
    sys.argv = [args.script, *args.arguments]
    runpy.run_path(args.script, run_name="__main__")


if __name__ == "__main__":
    main()
