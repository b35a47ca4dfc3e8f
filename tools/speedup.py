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

import runpy
import sys


def speed_up(reactor, factor):
    """Make reactor.callLater wait `factor` times less than it is asked to."""
    call_later = reactor.callLater

    def shorter(delay, f, *args, **kwargs):
        return call_later(delay / factor, f, *args, **kwargs)

    reactor.callLater = shorter


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        sys.exit("usage: python tools/speedup.py FACTOR SCRIPT [ARGUMENTS...]")
    try:
        factor = float(argv[0])
    except ValueError:
        factor = 0
    if factor <= 0:
        sys.exit(f"speedup.py: FACTOR must be a number above 0, not {argv[0]!r}")

    from twisted.internet import reactor

    speed_up(reactor, factor)
    script, *arguments = argv[1:]
    sys.argv = [script, *arguments]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
