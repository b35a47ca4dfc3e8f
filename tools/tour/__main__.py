"""The command line of the guided tour.

    make tour                    # the list of parts
    make tour PART=14            # Part 14, at the text's pace
    make tour PART=14 FAST=1     # the same with the long waits shortened

or, from the repository root, `.venv/bin/python -m tools.tour [--fast] [PART]`.

The exit status is 0 when every step did what the text says, 1 when one did
not (or the tour could not go on), 2 for a bad command line, and 130 after
Ctrl-C (143 after SIGTERM), which stops everything the tour started and
removes its files.
(make reports any failure of the command as its own status 2.)
"""

import argparse
import signal
import sys
import traceback

from twisted.internet import defer, error

from tools.tour import PARTS
from tools.tour.output import Output
from tools.tour.runner import Tour, run_part

USAGE = "make tour [PART=N] [FAST=1]  (or: python -m tools.tour [--fast] [N])"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="tour",
        usage=USAGE,
        description="A guided tour of one part of the text, in one terminal.",
    )
    parser.add_argument("part", nargs="?", help="the part: 11 to 18")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="shorten the long waits (slow servers, 5-second delays)",
    )
    args = parser.parse_args(argv)
    if args.part is not None:
        first, last = min(PARTS), max(PARTS)
        if not args.part.isdigit() or int(args.part) not in PARTS:
            parser.error(
                f"there is no tour of part {args.part}: the parts are"
                f" {first} to {last} (`make tour` lists them)"
            )
        args.part = int(args.part)
    return args


def listing():
    """One line per part, for `make tour` without PART."""
    lines = [
        "make tour PART=N runs the guided tour of Part N in one terminal: it",
        "starts the servers, runs the text's commands in order, says what to",
        "notice in each, and checks that it happened.",
        "",
    ]
    for number, part in sorted(PARTS.items()):
        lines.append(f"  {number}  {part.TITLE}: {part.SUMMARY}")
    lines += [
        "",
        "Add FAST=1 to shorten the long waits, through the tour's own options",
        "only: the slow servers get a shorter --delay, and the examples that",
        "wait 5 seconds run through tools/speedup.py. No script is changed.",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.part is None:
        print(listing())
        return 0
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")

    from twisted.internet import reactor

    out = Output(sys.stdout)
    tour = Tour(out, fast=args.fast)
    # The exit status, and the signal that interrupted the tour, if one did.
    outcome = {"code": 1, "signal": None}

    def stop():
        try:
            reactor.stop()
        except error.ReactorNotRunning:
            pass

    def interrupt(signum):
        if outcome["signal"] is None:
            outcome["signal"] = signum
            out.mute()  # and wipe the progress line
            # Stopping the reactor runs tour.cleanup first (see below).
            stop()

    def on_signal(signum, frame):
        # From a terminal, Ctrl-C reaches the tour's children too, and their
        # last words would come first: print nothing more from now on. The
        # rest, as Twisted's own handler does, from the reactor.
        out.muted = True
        reactor.callFromThread(interrupt, signum)

    def finished(code):
        outcome["code"] = code
        stop()

    def crashed(failure):
        out.stop_waiting()
        traceback.print_exception(failure.value, file=sys.stderr)
        stop()

    def begin():
        # In place of Twisted's handlers, which would only stop the reactor.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        run = defer.ensureDeferred(run_part(tour, PARTS[args.part]))
        run.addCallbacks(finished, crashed)

    # However the reactor stops (the end, Ctrl-C, SIGTERM), the tour's
    # children, daemons and files go first.
    reactor.addSystemEventTrigger("before", "shutdown", tour.cleanup)
    reactor.callWhenRunning(begin)
    reactor.run()

    if outcome["signal"] is not None:
        print(
            "Interrupted: the tour stopped everything it had started and"
            " removed its temporary files.",
            file=sys.stderr,
        )
        # As a shell reports a command killed by that signal: 130 for Ctrl-C.
        return 128 + outcome["signal"]
    return outcome["code"]


if __name__ == "__main__":
    sys.exit(main())
