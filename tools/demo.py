"""`make demo`: the whole poetry network of Parts 11-18, on free ports.

Starts a transformation server (Part 12), two fast poetry servers (Part 11)
and a caching poetry proxy 2.0 (Part 14) in front of the second one. Then it
runs client 8 (Part 18) twice: first for both poems, the proxied one fetched
from upstream, then for the proxied poem alone, now served from the proxy's
cache. Every poem comes back cummingsified. Last, it says what each server
reported, stops them all and exits 0 (1 if anything went wrong).

Run from the repository root:

    make demo            # or: .venv/bin/python tools/demo.py
"""

from twisted.internet import defer, task

from tools import launch
from tools.launch import FASTPOETRY, PROXY_2, TRANSFORM

CLIENT = launch.CLIENTS[8]

DIRECT_POEM = "poetry/fascination.txt"
PROXIED_POEM = "poetry/science.txt"


def say(text=""):
    print(text, flush=True)


def times(n):
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def command(path, *args):
    return " ".join(["python", path, *map(str, args)])


@defer.inlineCallbacks
def start(procs, label, path, *args):
    """Start one server, announce it, and remember it for stopping."""
    say(f"  {label:<19} {command(path, *args)}")
    proc = yield launch.start_server(path, *args)
    procs.append(proc)
    say(f"  {'':<19} -> {proc.stdout.strip()}")
    return proc


@defer.inlineCallbacks
def run_client(*ports):
    say(f"$ {command(CLIENT, *ports)}")
    result = yield launch.run_script(CLIENT, *ports, timeout=30)
    say(result.stdout.rstrip("\n"))
    if result.stderr:
        say(result.stderr.rstrip("\n"))
    say(f"(client exited with status {result.exit_code})")
    say()
    return result.exit_code


@defer.inlineCallbacks
def demo(reactor):
    procs = []
    try:
        say("Starting the servers, each on a port the system picks:")
        transform = yield start(procs, "transform server", TRANSFORM, "--port", 0)
        direct = yield start(
            procs, "poetry server", FASTPOETRY, "--port", 0, DIRECT_POEM
        )
        upstream = yield start(
            procs, "poetry server", FASTPOETRY, "--port", 0, PROXIED_POEM
        )
        proxy = yield start(
            procs, "caching proxy 2.0", PROXY_2, "--port", 0, upstream.port
        )
        say()

        say("Client 8 fetches both poems (the second through the proxy):")
        first = yield run_client(transform.port, direct.port, proxy.port)
        say("Client 8 fetches the proxied poem again:")
        second = yield run_client(transform.port, proxy.port)

        fetched = proxy.stdout.count("Fetching poem from server.")
        cached = proxy.stdout.count("Using cached poem.")
        say("What happened:")
        say(
            f"  - the transformation server on port {transform.port} cummingsified"
            f" the poems (client 8 exited with {first} and {second}; 0 means every"
            " poem arrived);"
        )
        say(
            f'  - the proxy on port {proxy.port} printed "Fetching poem from server."'
            f' {times(fetched)} and "Using cached poem." {times(cached)}:'
            f" {PROXIED_POEM} left port {upstream.port} {times(fetched)}."
        )
        ok = first == 0 and second == 0 and (fetched, cached) == (1, 1)
    finally:
        say("Stopping the servers.")
        yield launch.stop_all(procs)
    if not ok:
        say("Something went wrong: see the output above.")
        raise SystemExit(1)
    say("Done.")


if __name__ == "__main__":
    task.react(demo)
