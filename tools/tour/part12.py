"""Part 12, "A Poetry Transformation Server": the transformation server,
transform-test, and a bad request that closes only its own connection."""

from twisted.internet import protocol

from tools.tour.checks import Exits, Logs, Says, Silent
from tools.tour.commands import script, shell
from tools.tour.network import netcat, transform
from tools.tour.runner import COMMAND_TIMEOUT, Result

NUMBER = 12
TITLE = "A Poetry Transformation Server"
SUMMARY = "transform-test, a bad request"

TRANSFORM = transform()
# A netstring, but with no "<transform-name>." in front of the poem.
BAD_REQUEST = b"15:HERE IS MY POEM,"

PICTURE = """\
  transform-test --- 27:cummingsify.HERE IS MY POEM, ---> transform :{transform:<5}
                 <-- 15:here is my poem, ---------------

  Both ways, one netstring each, then the server closes the connection.
"""


class Sender(protocol.Protocol):
    """Sends bytes, stops sending (as nc -N does), keeps what comes back."""

    def __init__(self, data, done):
        self.data = data
        self.done = done
        self.received = b""

    def connectionMade(self):
        self.transport.write(self.data)
        self.transport.loseWriteConnection()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.done.callback(self.received)


async def send_from_here(tour, port, data):
    """Without netcat, the tour sends the bad request itself: a Result, whose
    exit status is nc's, 0, once the server has closed the connection."""
    from twisted.internet import defer, reactor

    tour.out.line(f"(no netcat here: the tour sends {data!r} to port {port} itself)")
    done = defer.Deferred()
    creator = protocol.ClientCreator(reactor, Sender, data, done)
    connecting = creator.connectTCP("127.0.0.1", port)
    connecting.addErrback(done.errback)
    try:
        received = await done.addTimeout(COMMAND_TIMEOUT, reactor)
        result = Result(out=received, exit_code=0)
    except defer.TimeoutError:
        # Still open: hang up, as a command that runs too long is killed.
        sender = await connecting
        sender.transport.abortConnection()
        result = Result(out=sender.received, timed_out=True, timeout=COMMAND_TIMEOUT)
    for line in result.out.decode("utf-8", errors="replace").splitlines():
        tour.out.line(line)
    return result


async def run(tour):
    await tour.start_servers(TRANSFORM)
    tour.introduce(PICTURE)

    served = [
        Exits(0),
        Says(r"^15:here is my poem,$", "out", what='"15:here is my poem,"'),
    ]
    await tour.command(
        "transform-test sends one netstring and prints the answer as it came:"
        " a netstring too, with the poem in lower case.",
        script("twisted-server-1/transform-test", "{transform}"),
        expect=served,
        watch={"transform": None},
    )

    refused = Logs(
        "transform",
        r"bad request: no '\.' after the transform name",
        what="bad request",
    )
    note = (
        "A request with no transform name: the server logs one line and resets"
        " that connection, so nothing comes back."
    )
    nc = await netcat()
    if nc:
        request = BAD_REQUEST.decode()
        await tour.command(
            note,
            shell(f"printf '{request}' | {' '.join(nc)} localhost {{transform}}"),
            expect=[Exits(0), Silent("out"), refused],
            watch={"transform": None},
        )
    else:

        async def action():
            return await send_from_here(tour, tour.fields["transform"], BAD_REQUEST)

        await tour.step(
            note, action, [Exits(0), Silent("out"), refused], {"transform": None}
        )

    await tour.command(
        "Only that one connection was closed: the server goes on serving.",
        script("twisted-server-1/transform-test", "{transform}"),
        expect=served,
        watch={"transform": None},
    )
