"""Part 12, exercises 1 and 5: bad netstrings, and a blocking client.

Exercise 1 is a written answer (solutions/README.md, "Part 12, exercise 1:
bad and huge netstrings"); the first tests back each claim it makes about
twisted/protocols/basic.py, through our own TransformProtocol. Exercise 5
is solutions/part-12/sync-transform-client.py: its netstring reading is
tested on a socket pair, then the script runs against real servers.
"""

import os
import shlex
import socket
import time

from twisted.internet import defer, protocol, task
from twisted.internet.error import ConnectionDone
from twisted.protocols.basic import Int32StringReceiver, NetstringReceiver
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    TRANSFORM,
    ScriptTestCase,
    connect_protocol,
    dead_port,
    listen,
    listen_silent,
    load_script,
    logged_messages,
    lowered_text,
    netstring,
    poem_path,
    run_in_process,
    serve_transforms,
)
from tools import launch

CLIENT = "solutions/part-12/sync-transform-client.py"
MAX_LENGTH = 99999  # NetstringReceiver.MAX_LENGTH


# -- exercise 1: what NetstringReceiver does with bad input --------------------


class BadNetstringTests(SynchronousTestCase):
    """Malformed and oversized netstrings sent to transformedpoetry.py's protocol."""

    def setUp(self):
        self.module = load_script(TRANSFORM)
        self.factory = self.module.TransformFactory(self.module.TransformService())
        self.clock = task.Clock()
        self.log = self.enterContext(logged_messages())

    def send(self, *pieces):
        """Connect, feed `pieces` one dataReceived each; return (protocol, transport)."""
        proto, transport = connect_protocol(self.factory, self.clock)
        for piece in pieces:
            proto.dataReceived(piece)
        return proto, transport

    def assertRefused(self, proto, transport):
        """Nothing was answered, the connection is closing, and brokenPeer is set."""
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(proto.brokenPeer, 1)

    def test_goodNetstringLeavesBrokenPeerUnset(self):
        """brokenPeer starts at 0 and stays 0 for a well-formed request."""
        proto, transport = self.send(netstring(b"cummingsify.HI"))

        self.assertEqual(transport.value(), netstring(b"hi"))
        self.assertEqual(proto.brokenPeer, 0)

    def test_malformedLength(self):
        """A length that is not digits is refused at once (_consumeLength)."""
        self.assertRefused(*self.send(b"twelve:cummingsify.HI,"))

    def test_leadingZero(self):
        """A length with a leading zero is malformed too: netstrings forbid it."""
        self.assertRefused(*self.send(b"014:cummingsify.HI,"))

    def test_missingComma(self):
        """Data not followed by a comma is refused (_checkForTrailingComma)."""
        self.assertRefused(*self.send(b"14:cummingsify.HI;"))

    def test_tooLongAnnouncedWithColon(self):
        """A length above MAX_LENGTH is refused before any of its data arrives."""
        self.assertRefused(*self.send(b"%d:" % (MAX_LENGTH + 1,)))

    def test_tooLongAnnouncedWithoutColon(self):
        """Even before the colon, digits that already exceed MAX_LENGTH are refused."""
        self.assertRefused(*self.send(b"%d" % (MAX_LENGTH + 1,)))

    def test_tooManyDigits(self):
        """A length with more digits than MAX_LENGTH can have is refused unread."""
        self.assertRefused(*self.send(b"9" * 1000))

    def test_maxLengthIsAccepted(self):
        """A request of exactly MAX_LENGTH bytes, in pieces, is buffered and answered."""
        request = b"cummingsify." + b"A" * (MAX_LENGTH - len(b"cummingsify."))
        framed = netstring(request)

        proto, transport = self.send(
            *[framed[i : i + 4096] for i in range(0, len(framed), 4096)]
        )

        self.assertEqual(proto.brokenPeer, 0)
        self.assertEqual(transport.value(), netstring(b"a" * (MAX_LENGTH - 12)))

    def test_laterDataIgnored(self):
        """After a bad netstring, even a good request on the connection is not served."""
        proto, transport = self.send(
            b"14:cummingsify.HI;", netstring(b"cummingsify.HI")
        )

        self.assertRefused(proto, transport)
        self.assertFalse(proto.requested)

    def test_closesGracefully(self):
        """The connection is closed with loseConnection, not aborted."""
        _, transport = self.send(b"twelve:")

        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)

    def test_ourLogLineFromBrokenPeer(self):
        """TransformProtocol.connectionLost reads brokenPeer and logs one line."""
        proto, _ = self.send(b"%d:" % (MAX_LENGTH + 1,))

        proto.connectionLost(Failure(ConnectionDone()))

        [message] = self.log
        self.assertTrue(
            message.startswith("bad request: not a netstring of at most 99999 bytes;"),
            message,
        )

    def test_noLengthLimitExceededHook(self):
        """lengthLimitExceeded belongs to the Int32-style receivers, not to
        NetstringReceiver: defining it in a netstring protocol changes nothing."""
        calls = []

        class Spy(self.module.TransformProtocol):
            def lengthLimitExceeded(self, length):
                calls.append(length)

        self.factory.protocol = Spy

        proto, transport = self.send(b"%d:" % (MAX_LENGTH + 1,))

        self.assertRefused(proto, transport)
        self.assertEqual(calls, [])
        self.assertFalse(hasattr(NetstringReceiver, "lengthLimitExceeded"))
        self.assertTrue(hasattr(Int32StringReceiver, "lengthLimitExceeded"))


# -- exercise 5: the synchronous client ----------------------------------------


class ReadNetstringTests(SynchronousTestCase):
    """sync-transform-client.py's read_netstring, on a connected socket pair."""

    def setUp(self):
        self.module = load_script(CLIENT)
        self.ours, self.theirs = socket.socketpair()
        self.addCleanup(self.ours.close)
        self.addCleanup(self.theirs.close)

    def read(self, sent, close=True, within=5.0, **kwargs):
        """Have the peer send `sent` (and close), then read one netstring."""
        self.theirs.sendall(sent)
        if close:
            self.theirs.close()
        return self.module.read_netstring(
            self.ours, time.monotonic() + within, **kwargs
        )

    def assertNotANetstring(self, sent, message, **kwargs):
        with self.assertRaises(self.module.TransformError) as caught:
            self.read(sent, **kwargs)
        self.assertEqual(str(caught.exception), message)

    def test_netstringFraming(self):
        """netstring() frames bytes as <length>:<bytes>, the length in bytes."""
        self.assertEqual(self.module.netstring("é".encode()), b"2:\xc3\xa9,")

    def test_readsOneNetstring(self):
        """A well-formed answer gives its payload, and nothing after it is read."""
        answer = self.read(b"15:here is my poem,EXTRA", close=False)

        self.assertEqual(answer, b"here is my poem")
        self.assertEqual(self.ours.recv(5), b"EXTRA")

    def test_emptyNetstring(self):
        """0:, is a netstring holding nothing."""
        self.assertEqual(self.read(b"0:,"), b"")

    def test_closedWithoutAnswer(self):
        """A peer that closes before sending anything is NoAnswer."""
        with self.assertRaises(self.module.NoAnswer):
            self.read(b"")

    def test_missingComma(self):
        """Data not followed by a comma is refused."""
        self.assertNotANetstring(
            b"2:hi;", "the answer is not a netstring (no comma at its end)"
        )

    def test_notDigits(self):
        """A length that is not digits is refused."""
        self.assertNotANetstring(b"two:hi,", "the answer is not a netstring")

    def test_leadingZero(self):
        """A length with a leading zero is refused, as NetstringReceiver does."""
        self.assertNotANetstring(b"02:hi,", "the answer is not a netstring")

    def test_cutOff(self):
        """A peer that closes in the middle of the data is reported."""
        self.assertNotANetstring(
            b"15:here is", "the answer was cut off before its 15 bytes"
        )

    def test_tooLongRefusedUnread(self):
        """A length above the limit is refused before any data is waited for."""
        self.assertNotANetstring(
            b"1001:",
            "the answer announces more than the 1000 bytes accepted",
            close=False,
            max_length=1000,
        )

    def test_endlessDigitsRefused(self):
        """A peer sending digits for ever is cut short, not buffered."""
        self.assertNotANetstring(
            b"9" * 100,
            f"the answer announces more than the {self.module.MAX_LENGTH} bytes"
            " accepted",
            close=False,
        )

    def test_endlessZerosRefused(self):
        """Zeros for ever are a leading zero, refused at the second one."""
        self.assertNotANetstring(
            b"0" * 100, "the answer is not a netstring", close=False
        )

    def test_colonFirst(self):
        """A colon with no length before it is refused."""
        self.assertNotANetstring(b":hi,", "the answer is not a netstring")

    def test_deadline(self):
        """A silent peer raises TimeoutError once the deadline has passed."""
        with self.assertRaises(TimeoutError):
            self.read(b"15:here", close=False, within=0.05)


class _HangUp(protocol.Protocol):
    def connectionMade(self):
        self.transport.loseConnection()


class _AnnounceHuge(protocol.Protocol):
    def connectionMade(self):
        self.transport.write(b"999999999:")


class SyncTransformClientScriptTests(ScriptTestCase):
    """sync-transform-client.py run as a learner runs it."""

    # Each run takes a fraction of a second; the silent server waits 0.5 s.
    timeout = 15

    @defer.inlineCallbacks
    def test_poemOnStandardInput(self):
        """The docstring's command: a UTF-8 poem on stdin comes back lower-cased."""
        port = yield serve_transforms(self)

        proc = yield self.run_shell(
            CLIENT, "--xform", "cummingsify", port, stdin=poem_path("alla-sera.txt")
        )

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        self.assertEqual(proc.stdout, lowered_text("alla-sera.txt"))

    @defer.inlineCallbacks
    def test_poemFileArgument(self):
        """The poem can be named after the address instead; cummingsify is the default."""
        port = yield serve_transforms(self)

        proc = yield self.run_script(
            CLIENT, f"127.0.0.1:{port}", poem_path("science.txt")
        )

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        self.assertEqual(proc.stdout, lowered_text("science.txt"))

    @defer.inlineCallbacks
    def test_unknownTransform(self):
        """The server hangs up on an unknown transform: one line, status 1."""
        port = yield serve_transforms(self)

        proc = yield self.run_script(
            CLIENT, "--xform", "shakespeare", port, poem_path("science.txt")
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(
            proc.stderr,
            f"sync-transform-client.py: 127.0.0.1:{port}: the server closed the"
            " connection without an answer (is 'shakespeare' one of its"
            " transforms?)\n",
        )

    def poem_file(self, size):
        """A file of `size` capital letters; its path."""
        path = os.path.abspath(self.mktemp())
        with open(path, "wb") as f:
            f.write(b"A" * size)
        return path

    @defer.inlineCallbacks
    def test_longestPoem(self):
        """The longest poem that fits the server's limit, with the name, is transformed."""
        port = yield serve_transforms(self)
        longest = MAX_LENGTH - len(b"cummingsify.")

        proc = yield self.run_script(CLIENT, port, self.poem_file(longest))

        self.assertEqual((proc.exit_code, proc.stderr), (0, ""))
        self.assertEqual(proc.stdout, "a" * longest)

    @defer.inlineCallbacks
    def test_poemTooLong(self):
        """One byte more and the poem is refused, before connecting: one line, status 1."""
        path = self.poem_file(MAX_LENGTH - len(b"cummingsify.") + 1)

        proc = yield self.run_script(CLIENT, dead_port(self), path)

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"sync-transform-client.py: {path}: more than 99987 bytes; the server"
            " takes requests of at most 99999 bytes\n",
        )

    @defer.inlineCallbacks
    def test_endlessPoemFile(self):
        """/dev/zero as the poem is refused after reading what the server takes."""
        # Under a 512 MiB address-space limit, in case the client read it all.
        proc = yield launch.spawn(
            [
                "prlimit",
                f"--as={512 * 1024 * 1024}",
                *launch.python_argv(CLIENT, dead_port(self), "/dev/zero"),
            ]
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            "sync-transform-client.py: /dev/zero: more than 99987 bytes; the server"
            " takes requests of at most 99999 bytes\n",
        )

    @defer.inlineCallbacks
    def test_endlessStandardInput(self):
        """/dev/zero on standard input is refused the same way, naming it."""
        # Under a 512 MiB address-space limit, in case the client read it all.
        command = shlex.join(
            [
                "prlimit",
                f"--as={512 * 1024 * 1024}",
                *launch.python_argv(CLIENT, "--xform", "x", dead_port(self)),
            ]
        )
        proc = yield launch.spawn(["/bin/sh", "-c", f"exec {command} < /dev/zero"])

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            "sync-transform-client.py: standard input: more than 99997 bytes; the"
            " server takes requests of at most 99999 bytes\n",
        )

    @defer.inlineCallbacks
    def test_ipv6(self):
        """A server listening on ::1 is reached as [::1]:port, and named so."""
        from twisted.internet import reactor

        module = load_script(TRANSFORM)
        factory = module.TransformFactory(module.TransformService())
        listening = reactor.listenTCP(0, factory, interface="::1")
        self.addCleanup(listening.stopListening)
        address = f"[::1]:{listening.getHost().port}"

        good = yield self.run_script(CLIENT, address, poem_path("science.txt"))
        bad = yield self.run_script(
            CLIENT, "--xform", "nosuch", address, poem_path("science.txt")
        )

        self.assertEqual(
            (good.exit_code, good.stdout), (0, lowered_text("science.txt"))
        )
        self.assertTrue(bad.stderr.startswith(f"sync-transform-client.py: {address}: "))

    @defer.inlineCallbacks
    def test_serverHangsUp(self):
        """A server that closes without answering: one line, status 1."""
        port = listen(self, protocol.Factory.forProtocol(_HangUp))

        proc = yield self.run_script(CLIENT, port, poem_path("science.txt"))

        self.assertEqual(proc.exit_code, 1)
        self.assertRegex(
            proc.stderr, r"^sync-transform-client\.py: .*without an answer .*\n$"
        )

    @defer.inlineCallbacks
    def test_silentServer(self):
        """A server that never answers is given up on after --timeout seconds."""
        silent = listen_silent(self)

        proc = yield self.run_script(
            CLIENT, "--timeout", "0.5", silent.port, poem_path("science.txt")
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"sync-transform-client.py: 127.0.0.1:{silent.port}:"
            " no answer within 0.5 s\n",
        )

    @defer.inlineCallbacks
    def test_serverDown(self):
        """Nothing listening: one line naming the reason, status 1."""
        port = dead_port(self)

        proc = yield self.run_script(CLIENT, port, poem_path("science.txt"))

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"sync-transform-client.py: 127.0.0.1:{port}: cannot connect:"
            " Connection refused\n",
        )

    @defer.inlineCallbacks
    def test_hugeAnnouncedLength(self):
        """An answer announcing a gigabyte is refused without allocating it."""
        port = listen(self, protocol.Factory.forProtocol(_AnnounceHuge))

        # Under a 512 MiB address-space limit, in case the client ever tried.
        proc = yield launch.spawn(
            [
                "prlimit",
                f"--as={512 * 1024 * 1024}",
                *launch.python_argv(CLIENT, port, poem_path("science.txt")),
            ]
        )

        self.assertEqual(proc.exit_code, 1)
        self.assertEqual(
            proc.stderr,
            f"sync-transform-client.py: 127.0.0.1:{port}: the answer announces"
            " more than the 1000000 bytes accepted\n",
        )

    def test_badCommandLine(self):
        """A bad address, a dotted transform, a time-out of 0, nan or inf: usage, status 2."""
        main = load_script(CLIENT).main
        for args, message in [
            (["ten"], "invalid address 'ten'"),
            (["--xform", "a.b", "11000"], "--xform must be a name without a '.'"),
            (["--timeout", "0", "11000"], "--timeout must be more than 0"),
            (["--timeout", "nan", "11000"], "--timeout must be more than 0"),
            (["--timeout", "inf", "11000"], "--timeout must be more than 0"),
        ]:
            result = run_in_process(main, *args)

            self.assertEqual(result.exit_code, 2, args)
            self.assertIn("usage: sync-transform-client.py", result.stderr)
            self.assertIn(message, result.stderr)

    def test_helpShowsTheCommand(self):
        """--help prints the docstring, with the command to run."""
        proc = run_in_process(load_script(CLIENT).main, "--help")

        self.assertEqual(proc.exit_code, 0)
        self.assertIn(
            f"python {CLIENT} --xform cummingsify 11000 < poetry/science.txt",
            proc.stdout,
        )
