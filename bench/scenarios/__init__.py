"""The scenarios of `make bench`, one module each; `python -m bench --only` takes their names.

Each module has a docstring saying what it measures and its targets, a list
of the Twisted scripts it measures (one `Variant` a line), and
`async def run(ctx) -> Outcome`.
"""

from bench.scenarios import (
    client8,
    fastpoetry,
    herd,
    large,
    memory,
    proxies,
    transform,
)

# In the order of a default run.
SCENARIOS = {
    "fastpoetry": fastpoetry,
    "large": large,
    "transform": transform,
    "proxies": proxies,
    "herd": herd,
    "client8": client8,
    "memory": memory,
}
