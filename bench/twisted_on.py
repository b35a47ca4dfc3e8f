"""Run one of the tutorial's Twisted scripts on a reactor of your choice.

    python bench/twisted_on.py asyncio-uvloop twisted-server-1/fastpoetry.py poetry/science.txt

installs the reactor, then runs the script as __main__ with the remaining
arguments, unchanged. The scripts import the reactor late (inside main), so
they pick up whichever one is installed here. Reactors:

    default         what Twisted picks by itself (epoll on Linux)
    epoll, poll, select
    asyncio         Twisted's AsyncioSelectorReactor on asyncio's own loop
    asyncio-uvloop  the same reactor on a uvloop event loop
"""

import argparse
import runpy
import sys

REACTORS = ("default", "epoll", "poll", "select", "asyncio", "asyncio-uvloop")


def install(name):
    """Install the named reactor (before anything imports the global one)."""
    if name == "default":
        return
    if name in ("epoll", "poll", "select"):
        module = __import__(f"twisted.internet.{name}reactor", fromlist=["install"])
        module.install()
        return
    import asyncio

    from twisted.internet import asyncioreactor

    if name == "asyncio":
        loop = asyncio.new_event_loop()
    elif name == "asyncio-uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        raise SystemExit(f"twisted_on.py: no reactor {name!r}; choose from {REACTORS}")
    asyncio.set_event_loop(loop)
    asyncioreactor.install(loop)


def main():
    parser = argparse.ArgumentParser(
        prog="python bench/twisted_on.py",
        usage="%(prog)s REACTOR SCRIPT [ARGUMENTS...]",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reactor", metavar="REACTOR", choices=REACTORS)
    parser.add_argument("script", metavar="SCRIPT", help="a tutorial script")
    # Whatever follows SCRIPT is the script's own, options included.
    args = parser.parse_args(sys.argv[1:3])
    install(args.reactor)
    sys.argv = [args.script, *sys.argv[3:]]
    runpy.run_path(args.script, run_name="__main__")


if __name__ == "__main__":
    main()
