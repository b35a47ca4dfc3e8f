"""The servers and clients the parts share, and the picture of Parts 13, 17
and 18 (a transformation server, two poetry servers, one client)."""

import shutil

from tools.launch import CLIENTS, FASTPOETRY, SLOWPOETRY, TRANSFORM
from tools.tour.commands import Server, python

# How long `nc -h` may take to say which netcat it is.
NETCAT_TIMEOUT = 5.0


def fastpoetry(key, poem, port="0"):
    """Part 11's fast poetry server for poetry/<poem>."""
    return Server(
        key, "fastpoetry", python(FASTPOETRY, "--port", port, f"poetry/{poem}")
    )


def slowpoetry(key, poem, num_bytes, delay):
    """Part 11's slow server (exercise 3): `num_bytes` every `delay` seconds."""
    return Server(
        key,
        "slowpoetry",
        python(
            SLOWPOETRY,
            "--port",
            "0",
            "--num-bytes",
            num_bytes,
            "--delay",
            f"{delay:g}",
            f"poetry/{poem}",
        ),
    )


def transform(key="transform"):
    """Part 12's transformation server."""
    return Server(key, "transform", python(TRANSFORM, "--port", "0"))


def client(n, *addresses):
    """`python twisted-client-N/get-poetry.py ADDRESSES...`."""
    return python(CLIENTS[n], *addresses)


# Parts 13, 17 and 18: what the text starts in three terminals.
THREE_SERVERS = (
    transform(),
    fastpoetry("fascination", "fascination.txt"),
    fastpoetry("science", "science.txt"),
)

THREE_SERVERS_PICTURE = """\
                  +-----> transform  :{transform:<5}  cummingsify (lower case)
                  |
  client {client} -------+-----> fastpoetry :{fascination:<5}  poetry/fascination.txt
                  |
                  +-----> fastpoetry :{science:<5}  poetry/science.txt

  Client {client} downloads both poems at once, and sends each one to the
  transformation server as soon as it has arrived.
"""


def three_servers_client(n):
    """Client N given the three servers, transformation server first."""
    return client(n, "{transform}", "{fascination}", "{science}")


async def netcat():
    """How to call netcat here: ["nc", "-N"] (OpenBSD's, which can half-close
    when its input ends), ["nc"], or None when there is none."""
    from twisted.internet import reactor, utils

    path = shutil.which("nc")
    if path is None:
        return None
    asked = utils.getProcessOutputAndValue(path, ["-h"])
    out, err, _ = await asked.addTimeout(NETCAT_TIMEOUT, reactor)
    return ["nc", "-N"] if b"OpenBSD netcat" in out + err else ["nc"]
