"""Twisted Poetry Transformation Server, version 1.0 (Part 12).

A tiny remote procedure call over netstrings. The client sends one netstring
holding "<transform-name>.<text of the poem>"; the server answers with one
netstring holding the transformed poem and closes the connection. Anything
else (a malformed request, an unknown transform) gets the connection closed
with no answer, and one line in the log on stderr.

Run from the repository root:

    python twisted-server-1/transformedpoetry.py --port 11000

and, in another terminal, send it a poem in capitals:

    ./twisted-server-1/transform-test 11000

which prints the answer, still netstring-encoded:

    15:here is my poem,

Leave out --port (or give --port 0) and the system picks a free port.
"""

import argparse
import sys

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import ServerFactory
from twisted.protocols.basic import NetstringReceiver
from twisted.protocols.policies import TimeoutMixin
from twisted.python import log


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="the port to listen on (default: 0, any free port)",
    )
    parser.add_argument(
        "--iface", default="localhost", help="the interface to listen on"
    )
    # Twisted's default backlog of 50 overflows when a few hundred clients
    # connect at once, and the kernel then makes them retry a second later.
    parser.add_argument(
        "--backlog",
        type=int,
        default=1024,
        help="how many connections may wait to be accepted (default: 1024)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds a client may take to send its request and read the"
        " answer before it is dropped (default: 60)",
    )
    args = parser.parse_args()
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.backlog < 1:
        parser.error(f"--backlog must be at least 1, not {args.backlog}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be more than 0, not {args.timeout}")
    return args


class TransformService:
    def cummingsify(self, poem):
        return poem.lower()


class TransformProtocol(NetstringReceiver, TimeoutMixin):
    # Set when the one request a connection may carry has arrived.
    requested = False
    # Set when the time-out dropped the connection (already logged).
    timedOut = False

    def connectionMade(self):
        # An idle or very slow client would otherwise hold its socket open
        # for ever; the whole exchange must fit in the factory's time-out.
        self.setTimeout(self.factory.timeout)

    def stringReceived(self, request):
        if self.requested:  # one request per connection; ignore the rest
            return
        self.requested = True

        # The wire carries bytes; the transforms work on text.
        try:
            request = request.decode("utf-8")
        except UnicodeDecodeError:
            self.badRequest("the request is not UTF-8 text")
            return

        if "." not in request:  # not of the form <name>.<poem>
            self.badRequest("no '.' after the transform name")
            return

        xform_name, poem = request.split(".", 1)

        self.xformRequestReceived(xform_name, poem)

    def xformRequestReceived(self, xform_name, poem):
        new_poem = self.factory.transform(xform_name, poem)

        if new_poem is not None:
            self.sendString(new_poem.encode("utf-8"))

        self.transport.loseConnection()

    def badRequest(self, why):
        log.msg(f"bad request: {why}; closing the connection")
        self.transport.loseConnection()

    def timeoutConnection(self):
        self.timedOut = True
        log.msg(f"no request and answer within {self.factory.timeout:g} s; dropping")
        self.transport.abortConnection()

    def connectionLost(self, reason):
        self.setTimeout(None)
        # NetstringReceiver closes the connection itself on a malformed or
        # oversized netstring and sets brokenPeer; say so once, here.
        if self.brokenPeer:
            log.msg(
                "bad request: not a netstring of at most"
                f" {self.MAX_LENGTH} bytes; closing the connection"
            )
        elif not self.requested and not self.timedOut:
            log.msg("connection closed before a whole request arrived")


class TransformFactory(ServerFactory):
    protocol = TransformProtocol

    # Seconds a connection may last; main() sets it from --timeout.
    timeout = 60.0

    def __init__(self, service):
        self.service = service

    def transform(self, xform_name, poem):
        # Only names with the xform_ prefix can be reached, so a client
        # cannot call any other attribute of the factory or the service.
        thunk = getattr(self, f"xform_{xform_name}", None)

        if thunk is None:  # not a transform we offer
            log.msg(f"no such transform: {xform_name[:40]!r}")
            return None

        try:
            return thunk(poem)
        except Exception:
            log.err(None, f"transform {xform_name!r} failed")
            return None

    def xform_cummingsify(self, poem):
        return self.service.cummingsify(poem)


def main():
    args = parse_args()

    service = TransformService()

    factory = TransformFactory(service)
    factory.timeout = args.timeout

    from twisted.internet import reactor

    try:
        port = reactor.listenTCP(
            args.port, factory, backlog=args.backlog, interface=args.iface
        )
    except CannotListenError as e:
        reason = getattr(e.socketError, "strerror", None) or e.socketError
        sys.exit(
            f"transformedpoetry.py: cannot listen on {args.iface}:{args.port}: {reason}"
        )

    # The log (one line per refused request) goes to stderr, so stdout holds
    # only the line below.
    log.startLogging(sys.stderr, setStdout=False)

    print(f"Serving transforms on {port.getHost()}.")

    reactor.run()


if __name__ == "__main__":
    main()
