"""Part 14, exercise 3: the single-flight proxy, twisted-server-2/poetry-proxy-waiters.py.

The upstream poetry server here is held by the test: it accepts connections
and answers only when the test says so, so "many clients arrive while the
one fetch is on its way" is a fact of the test, not a matter of timing.
"""

from twisted.internet import defer
from twisted.trial.unittest import TestCase

from tests.helpers import (
    ScriptTestCase,
    dead_port,
    listen_silent,
    load_script,
    poem_bytes,
    printed_lines,
    receive,
)
from tools import launch

SCRIPT = launch.PROXY_WAITERS
POEM = poem_bytes("fascination.txt")


class HeldUpstream:
    """A poetry server in the test's reactor that answers when told to.

    It is listen_silent's server (`counter` is its ConnectionCounter, which
    resets what is still open at clean-up): connections wait until the test
    answers them with `send` or `cut`.
    """

    def __init__(self, testcase):
        self.counter = listen_silent(testcase)
        self.port = self.counter.port
        self.answered = set()

    def unanswered(self):
        """The open connections (their counting wrappers) not answered yet, oldest first."""
        return [w for w in self.counter.protocols if w not in self.answered]

    @property
    def waiting(self):
        """The transports of the connections not answered yet, oldest first."""
        return [wrapper.transport for wrapper in self.unanswered()]

    def answer(self):
        """The transports of the connections waiting, now taken as answered."""
        waiting = self.unanswered()
        self.answered.update(waiting)
        return [wrapper.transport for wrapper in waiting]

    def send(self, poem):
        """Send the poem to every connection waiting, and close them."""
        for transport in self.answer():
            transport.write(poem)
            transport.loseConnection()

    def cut(self):
        """Reset every connection waiting, with no poem."""
        for transport in self.answer():
            transport.abortConnection()


class ProxyServiceTests(TestCase):
    """ProxyService with its three states, against a held upstream, in-process."""

    timeout = 15

    def setUp(self):
        self.proxy = load_script(SCRIPT)
        self.printed = printed_lines(self, self.proxy)
        self.upstream = HeldUpstream(self)
        self.service = self.proxy.ProxyService("127.0.0.1", self.upstream.port)

    @defer.inlineCallbacks
    def test_waitersShareOneFetch(self):
        """Requests made while the fetch is on its way wait for it: one connection."""
        ds = [self.service.get_poem() for _ in range(5)]
        yield self.upstream.counter.whenMade(1)

        self.upstream.send(POEM)
        poems = yield defer.gatherResults(ds)

        self.assertEqual(poems, [POEM] * 5)
        self.assertEqual(self.upstream.counter.made, 1)
        self.assertEqual(
            self.printed,
            ["Fetching poem from server."]
            + ["Waiting for the poem already being fetched."] * 4,
        )

    @defer.inlineCallbacks
    def test_cachedAfterTheFetch(self):
        """Once the poem is back it is cached: the next request fires at once."""
        first = self.service.get_poem()
        yield self.upstream.counter.whenMade(1)
        self.upstream.send(POEM)
        yield first

        later = self.service.get_poem()

        self.assertEqual(self.successResultOf(later), POEM)
        self.assertIsNone(self.service.waiters)
        self.assertEqual(self.printed[-1], "Using cached poem.")

    @defer.inlineCallbacks
    def test_failureErrbacksEveryWaiter(self):
        """When the fetch fails, every waiting Deferred fails, and nothing is cached."""
        ds = [self.service.get_poem() for _ in range(3)]
        yield self.upstream.counter.whenMade(1)

        self.upstream.cut()

        for d in ds:
            yield self.assertFailure(d, self.proxy.DownloadFailed)
        self.assertIsNone(self.service.poem)
        self.assertIsNone(self.service.waiters)

    @defer.inlineCallbacks
    def test_refusedErrbacksEveryWaiter(self):
        """With the upstream down, every waiter gets the connection-refused failure."""
        service = self.proxy.ProxyService("127.0.0.1", dead_port(self))

        ds = [service.get_poem() for _ in range(3)]

        for d in ds:
            yield self.assertFailure(d, self.proxy.DownloadFailed)
        self.assertIsNone(service.waiters)

    @defer.inlineCallbacks
    def test_nextRequestRetries(self):
        """After a failed fetch, the next request starts a new fetch, which can succeed."""
        failed = self.service.get_poem()
        yield self.upstream.counter.whenMade(1)
        self.upstream.cut()
        yield self.assertFailure(failed, self.proxy.DownloadFailed)

        retry = self.service.get_poem()
        yield self.upstream.counter.whenMade(2)
        self.upstream.send(POEM)
        poem = yield retry

        self.assertEqual(poem, POEM)
        self.assertEqual(self.upstream.counter.made, 2)
        self.assertEqual(self.service.poem, POEM)


class SingleFlightScriptTests(ScriptTestCase):
    """The real script, with fifty clients at once on a cold cache."""

    SCRIPT = SCRIPT

    def setUp(self):
        self.upstream = HeldUpstream(self)

    @defer.inlineCallbacks
    def cold_clients(self, count):
        """Start the proxy and `count` clients at once; fire with (proxy, fetches).

        It fires once the first client's fetch has reached the upstream and
        every other client is waiting for that same fetch.
        """
        proxy = yield self.start_server(self.SCRIPT, "--port", "0", self.upstream.port)
        fetches = [receive(proxy.port) for _ in range(count)]
        yield proxy.wait_for(
            rb"Waiting for the poem already being fetched\.", count=count - 1
        )
        yield self.upstream.counter.whenMade(1)
        return proxy, fetches

    @defer.inlineCallbacks
    def test_fiftyColdClientsOneUpstreamConnection(self):
        """Fifty clients at once on a cold cache make one upstream connection, and all get the poem."""
        proxy, fetches = yield self.cold_clients(50)

        self.upstream.send(POEM)
        poems = yield defer.gatherResults(fetches)

        self.assertEqual(poems, [(POEM, True)] * 50)
        self.assertEqual(self.upstream.counter.made, 1)
        self.assertEqual(proxy.stdout.count("Fetching poem from server."), 1)

    @defer.inlineCallbacks
    def test_failureClosesEveryClientThenRetries(self):
        """An upstream failure resets every waiting client; the next client is served."""
        proxy, fetches = yield self.cold_clients(3)

        self.upstream.cut()
        failed = yield defer.gatherResults(fetches)
        retry = receive(proxy.port)
        yield self.upstream.counter.whenMade(2)
        self.upstream.send(POEM)
        poem = yield retry

        self.assertEqual(failed, [(b"", False)] * 3)
        self.assertEqual(poem, (POEM, True))
        self.assertEqual(proxy.stdout.count("Fetching poem from server."), 2)
