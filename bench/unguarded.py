"""Run a tutorial server without the ServerGuard around its factory.

    python bench/unguarded.py twisted-server-1/fastpoetry.py poetry/fascination.txt

loads the script, replaces its ServerGuard with a stand-in that hands back
the lesson's factory unwrapped, and runs its main() with the remaining
arguments. Nothing else changes, so `make bench` can put the two side by
side and show what the guard (time-outs, half-close, the connection limit,
the cut on stop) costs per request.
"""

import argparse
import runpy
import sys

from twisted.internet import defer


def no_guard(factory, timeout, **kwargs):
    """Stands in for ServerGuard(factory, timeout): the factory itself serves."""
    factory.cutConnections = lambda: defer.succeed(None)
    return factory


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python bench/unguarded.py",
        usage="%(prog)s SCRIPT [ARGUMENTS...]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("script", metavar="SCRIPT", help="a tutorial server")
    # Whatever follows SCRIPT is the script's own, options included.
    script = parser.parse_args(argv[:1]).script
    arguments = argv[1:]
    # Loaded under another name, the script defines its classes but does not
    # run its main(); this does, once the guard is out of the way.
    namespace = runpy.run_path(script, run_name="unguarded")
    if "ServerGuard" not in namespace:
        parser.error(f"{script} has no ServerGuard")
    main = namespace["main"]
    main.__globals__["ServerGuard"] = no_guard
    sys.argv = [script, *arguments]
    main()


if __name__ == "__main__":
    main()
