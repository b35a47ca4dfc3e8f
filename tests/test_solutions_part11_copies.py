"""Part 11's exercise 4: solutions/part-11/fastpoetry-many.py, many poems on many ports.

The lesson's protocol and factory are fastpoetry.py's (tests/test_stages.py
checks it), so the tests here are for what the answer adds: the command
line that pairs ports with poems, one guarded factory per port, and the
real server answering on every port at once.
"""

import resource

from twisted.internet import defer
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    ROOT,
    ScriptTestCase,
    connect_protocol,
    fetch,
    load_script,
    poem_bytes,
    poem_path,
    serving_ports,
)
from tests.mixins import PoemFileServerMixin, ServingReactor

SCRIPT = "solutions/part-11/fastpoetry-many.py"
# Absolute: trial runs the tests in a directory of its own.
SCIENCE = str(ROOT / poem_path("science.txt"))
ECSTASY = str(ROOT / poem_path("ecstasy.txt"))
ALLA_SERA = str(ROOT / poem_path("alla-sera.txt"))


class ManyPoemsCommandLineTests(PoemFileServerMixin, SynchronousTestCase):
    """The command line of fastpoetry.py still holds, for one poem as for many."""

    SCRIPT = SCRIPT
    COMMAND = (
        f"python {SCRIPT} --port 10002 poetry/fascination.txt"
        " --port 10003 poetry/science.txt"
    )

    def serve(self, *argv):
        """Run main() with `argv` on a ServingReactor; return it and how main ended."""
        reactor = ServingReactor()
        result = self.run_main(*argv, reactor=reactor)
        return reactor, result

    def test_eachPortWithItsPoem(self):
        """Each --port goes with the poem after it; each gets its own guarded factory."""
        reactor, result = self.serve(
            "--port", "10002", SCIENCE, "--port", "10003", ECSTASY
        )

        served = [(p.port, p.factory.wrappedFactory.poem) for p in reactor.listening]
        self.assertEqual(
            served,
            [(10002, poem_bytes("science.txt")), (10003, poem_bytes("ecstasy.txt"))],
        )
        module = load_script(SCRIPT)
        guards = [p.factory for p in reactor.listening]
        for guard in guards:
            self.assertIsInstance(guard, module.ServerGuard)
        self.assertIsNot(guards[0], guards[1])
        self.assertTrue(reactor.ran)
        self.assertEqual(result.exit_code, 0)

    def test_oneStartupLinePerPoem(self):
        """The server prints one "Serving ... on ..." line per poem, in order."""
        reactor, result = self.serve(
            "--port", "10002", SCIENCE, "--port", "10003", ECSTASY
        )

        self.assertEqual(
            result.stdout,
            f"Serving {SCIENCE} on IPv4Address(type='TCP', host='127.0.0.1',"
            " port=10002).\n"
            f"Serving {ECSTASY} on IPv4Address(type='TCP', host='127.0.0.1',"
            " port=10003).\n",
        )

    def test_portsFirstIsTheSame(self):
        """All the --port options first, then the poems, pair up the same way."""
        reactor, _ = self.serve("--port", "10002", "--port", "10003", SCIENCE, ECSTASY)

        self.assertEqual(
            [(p.port, p.factory.wrappedFactory.poem) for p in reactor.listening],
            [(10002, poem_bytes("science.txt")), (10003, poem_bytes("ecstasy.txt"))],
        )

    def test_noPortFreePorts(self):
        """Without --port every poem gets port 0: a free port of its own."""
        reactor, _ = self.serve(SCIENCE, ECSTASY, ALLA_SERA)

        self.assertEqual([p.port for p in reactor.listening], [0, 0, 0])

    def test_portCountMustMatch(self):
        """Some --port options, but not one per poem, is a usage error."""
        for argv, counts in [
            (("--port", "10002", SCIENCE, ECSTASY), "1 --port option for 2 poems"),
            (
                ("--port", "10002", "--port", "10003", SCIENCE),
                "2 --port options for 1 poem",
            ),
        ]:
            result = self.run_main(*argv)

            self.assertEqual(result.exit_code, 2)
            self.assertIn(
                f"give one --port per poem, or none: {counts}\n", result.stderr
            )

    def test_guardsShareTheDescriptors(self):
        """Three ports: each guard takes a third of the file descriptors."""
        reactor, _ = self.serve(SCIENCE, ECSTASY, ALLA_SERA)

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = soft - load_script(SCRIPT).ServerGuard.spare_descriptors
        self.assertEqual(
            [p.factory.limit for p in reactor.listening], [max(1, room // 3)] * 3
        )

    def test_secondPortTaken(self):
        """A port in use stops the server before it serves: the ports already open close."""
        reactor = ServingReactor(taken={10003})

        result = self.run_main(
            "--port", "10002", SCIENCE, "--port", "10003", ECSTASY, reactor=reactor
        )

        self.assertEqual(
            (result.exit_code, result.stdout, result.stderr),
            (
                1,
                "",
                "fastpoetry-many.py: cannot listen on localhost:10003:"
                " Address already in use\n",
            ),
        )
        self.assertEqual(
            [(p.port, p.stopped) for p in reactor.listening], [(10002, True)]
        )
        self.assertFalse(reactor.ran)

    def test_stopCutsEveryPort(self):
        """At shutdown every port stops listening, and every guard cuts its clients."""
        reactor, _ = self.serve(SCIENCE, ECSTASY)
        guards = [p.factory for p in reactor.listening]
        transports = [connect_protocol(guard)[1] for guard in guards]

        d = reactor.shut_down()

        self.assertTrue(all(p.stopped for p in reactor.listening))
        self.assertTrue(all(t.disconnected for t in transports))
        self.assertNoResult(d)  # until the connections are really gone
        for guard in guards:
            for p in list(guard.protocols):
                p.connectionLost(Failure(ConnectionLost()))
        self.successResultOf(d)


class ManyPoemsEndToEndTests(ScriptTestCase):
    """The real command: one process, three ports, three poems."""

    @defer.inlineCallbacks
    def test_threePortsAtOnce(self):
        """Each port serves its own poem, to many clients at once."""
        names = ["science.txt", "ecstasy.txt", "alla-sera.txt"]
        server = yield self.start_server(SCRIPT, *(poem_path(name) for name in names))
        ports = yield serving_ports(server, 3)

        poems = yield defer.gatherResults(
            [fetch(port) for port in ports for _ in range(10)]
        )

        expected = [poem_bytes(name) for name in names for _ in range(10)]
        self.assertEqual(poems, expected)
        self.assertEqual(len(set(ports)), 3)
        self.assertEqual(
            [line.split(" on ")[0] for line in server.stdout.splitlines()],
            [f"Serving {poem_path(name)}" for name in names],
        )
