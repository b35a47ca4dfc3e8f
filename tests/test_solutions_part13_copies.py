"""Part 13's exercises 1, 2 and 3: three copies of client 6.

- 1: solutions/part-13/get-poetry-xform.py asks for the transform --xform names;
- 2: solutions/part-13/get-poetry-optional-xform.py transforms only when
  given --xform-server;
- 3: solutions/part-13/get-poetry-you-fire-it.py, whose PoetryClientFactory
  makes the Deferred it fires.

Everything else in them is client 6's (tests/test_stages.py checks it), so
client 6's own tests are run against them where they still apply: the
mixins of tests/mixins.py, and client 4's download tests for exercise 3,
whose change is all in the download.
"""

from twisted.internet import defer, error
from twisted.trial.unittest import SynchronousTestCase

import tests.test_client4 as client4
from tests.helpers import (
    ScriptTestCase,
    fake_reactor,
    load_script,
    lowered_text,
    poem_bytes,
    poem_text,
    serve_poems,
    serve_transforms,
)
from tests.mixins import (
    ClientCommandLineMixin,
    ClientEndToEndMixin,
    FakedClientMixin,
    TransformingCommandLineMixin,
    TransformingMainMixin,
)

XFORM = "solutions/part-13/get-poetry-xform.py"
OPTIONAL = "solutions/part-13/get-poetry-optional-xform.py"
YOU_FIRE_IT = "solutions/part-13/get-poetry-you-fire-it.py"
MORE = "solutions/part-12/transformedpoetry-more.py"


def mirrored(name):
    """The text of poetry/<name> with each line backwards, as "mirror" gives it."""
    return "\n".join(line[::-1] for line in poem_text(name).split("\n"))


# -- exercise 1: a transform by name ----------------------------------------


class XformCommandLineTests(TransformingCommandLineMixin, SynchronousTestCase):
    CLIENT = XFORM
    VERSION = "6.0, with --xform (Part 13, exercise 1)"
    EXAMPLE = "--xform cummingsify 10001 10002 10003"

    def test_nameWithADot(self):
        """A name with a dot in it could not be sent: a usage error."""
        result = self.parse("--xform", "mirror.twice", "10001", "10002")

        self.assertEqual(result.exit_code, 2)
        self.assertIn(
            "--xform must be a name without a dot, not 'mirror.twice'", result.stderr
        )

    def test_emptyName(self):
        """An empty name is a usage error too."""
        result = self.parse("--xform=", "10001", "10002")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("--xform must be a name without a dot, not ''", result.stderr)


class XformMainTests(TransformingMainMixin, SynchronousTestCase):
    """Client 6's poetry_main tests hold without --xform; then --xform itself."""

    CLIENT = XFORM
    DOWNLOAD_FAILED = "The poem download failed."

    def test_namedTransform(self):
        """--xform mirror asks the server for "mirror", and prints its answer."""

        def scene():
            self.download(10002).callback(b"AB\n")

            [(xform_name, poem, d)] = self.proxy.requests
            self.assertEqual((xform_name, poem), ("mirror", b"AB\n"))
            d.callback(b"BA\n")

        result = self.run_main(scene, "--xform", "mirror", "10001", "10002")

        self.assertEqual((result.stdout, result.stderr), ("BA\n\n", ""))

    def test_failureNamesTheTransform(self):
        """A failed transform is reported under its own name."""

        def scene():
            self.download(10002).callback(b"A POEM")
            self.proxy.requests[0][2].errback(error.ConnectionLost())

        result = self.run_main(scene, "--xform", "shakespearify", "10001", "10002")

        self.assertEqual(result.stderr, "Shakespearify failed!\n")
        self.assertEqual((result.stdout, result.exit_code), ("A POEM\n", 0))


class XformEndToEndTests(ScriptTestCase):
    """The real client against Part 12's server with "mirror" (exercise 2's answer)."""

    @defer.inlineCallbacks
    def test_knownAndUnknownNames(self):
        """mirror comes back mirrored; an unknown name prints the poem as sent."""
        xform = yield self.start_server(MORE)
        [poems] = yield serve_poems(self, "alla-sera.txt")

        known = yield self.run_script(XFORM, "--xform", "mirror", xform.port, poems)
        unknown = yield self.run_script(
            XFORM, "--xform", "shakespearify", xform.port, poems
        )

        self.assertEqual(known.stdout, mirrored("alla-sera.txt") + "\n")
        self.assertEqual((known.stderr, known.exit_code), ("", 0))
        self.assertEqual(unknown.stdout, poem_text("alla-sera.txt") + "\n")
        self.assertEqual(
            (unknown.stderr, unknown.exit_code), ("Shakespearify failed!\n", 0)
        )


# -- exercise 2: the transformation server optional --------------------------


class OptionalCommandLineTests(ClientCommandLineMixin, SynchronousTestCase):
    CLIENT = OPTIONAL
    VERSION = "6.0, transformation optional (Part 13, exercise 2)"
    EXAMPLE = "10002 10003"

    def test_onePoetryServerIsEnough(self):
        """A single address is a poetry server, no longer a usage error."""
        result = self.parse("10002")

        self.assertEqual(result.exit_code, 0)

    def test_badXformServer(self):
        """A malformed --xform-server is a usage error naming it."""
        result = self.parse("--xform-server", "nowhere", "10002")

        self.assertEqual(result.exit_code, 2)
        self.assertIn("invalid address 'nowhere'", result.stderr)


class OptionalMainTests(FakedClientMixin, SynchronousTestCase):
    """poetry_main with get_poetry, TransformProxy and the reactor faked."""

    CLIENT = OPTIONAL

    def test_withoutServerNoTransform(self):
        """Without --xform-server every address is a poem, printed as it came."""

        def scene():
            self.download(10002).callback(b"A POEM")
            self.download(10003).callback(b"B POEM")

        result = self.run_main(scene, "10002", "10003")

        self.assertIsNone(self.proxy.address)  # no TransformProxy made
        self.assertEqual(self.proxy.requests, [])
        self.assertEqual((result.stdout, result.stderr), ("A POEM\nB POEM\n", ""))
        self.assertEqual(result.exit_code, 0)

    def test_withServerTransforms(self):
        """With --xform-server the poem is cummingsified by that server."""

        def scene():
            self.download(10002).callback(b"A POEM")
            [(xform_name, poem, d)] = self.proxy.requests
            self.assertEqual((xform_name, poem), ("cummingsify", b"A POEM"))
            d.callback(b"a poem")

        result = self.run_main(scene, "--xform-server", "[::1]:10001", "10002")

        self.assertEqual(self.proxy.address, ("::1", 10001))
        self.assertEqual((result.stdout, result.exit_code), ("a poem\n", 0))

    def test_failedDownloadWithoutServer(self):
        """A failed download is still reported, and makes the status 1."""

        def scene():
            self.download(10002).errback(
                self.module.DownloadFailed("127.0.0.1:10002: Timed out after 60 s.")
            )

        result = self.run_main(scene, "10002")

        self.assertEqual(
            result.stderr,
            "The poem download failed. 127.0.0.1:10002: Timed out after 60 s.\n",
        )
        self.assertEqual(result.exit_code, 1)


class OptionalEndToEndTests(ScriptTestCase):
    """The real client, with and without a transformation server."""

    @defer.inlineCallbacks
    def test_withAndWithout(self):
        """Without the option the poems print as sent; with it, lower-cased."""
        first, second = yield serve_poems(self, "fascination.txt", "alla-sera.txt")
        xform = yield serve_transforms(self)

        plain = yield self.run_script(OPTIONAL, first, second)
        transformed = yield self.run_script(
            OPTIONAL, "--xform-server", xform, first, second
        )

        self.assertEqual(
            plain.stdout,
            poem_text("fascination.txt") + "\n" + poem_text("alla-sera.txt") + "\n",
        )
        self.assertEqual(
            transformed.stdout,
            lowered_text("fascination.txt")
            + "\n"
            + lowered_text("alla-sera.txt")
            + "\n",
        )
        # No "Cummingsify failed!": without the option nothing was asked.
        for proc in [plain, transformed]:
            self.assertEqual((proc.stderr, proc.exit_code), ("", 0))


# -- exercise 3: you make it, you fire it ------------------------------------


class YouFireItDownloadTests(client4.DownloadTests):
    """Client 4's download tests, run against the refactored get_poetry."""

    def setUp(self):
        super().setUp()
        self.module = load_script(YOU_FIRE_IT)
        self.patch(self.module.DownloadGuard, "timeout", 5.0)


class YouFireItTests(SynchronousTestCase):
    """Who makes the download's Deferred, and who fires it."""

    def setUp(self):
        self.module = load_script(YOU_FIRE_IT)

    def test_factoryMakesItsDeferred(self):
        """PoetryClientFactory takes no Deferred: it makes its own."""
        factory = self.module.PoetryClientFactory()

        self.assertIsInstance(factory.deferred, defer.Deferred)
        self.assertFalse(factory.deferred.called)

    def test_getPoetryReturnsTheFactorysDeferred(self):
        """get_poetry returns the very Deferred its factory made."""
        reactor = fake_reactor(self)

        d = self.module.get_poetry("127.0.0.1", 10002)

        factory = reactor.tcpClients[-1][2].wrappedFactory
        self.assertIs(factory.deferred, d)

    def test_factoryFiresIt(self):
        """The factory fires its Deferred, once, and then lets go of it."""
        factory = self.module.PoetryClientFactory()
        d = factory.deferred

        factory.poem_finished(poem_bytes("science.txt"))
        factory.clientConnectionLost(None, error.ConnectionDone())

        self.assertEqual(self.successResultOf(d), poem_bytes("science.txt"))
        self.assertIsNone(factory.deferred)


class YouFireItEndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    """The real client behaves as client 6 does."""

    CLIENT = YOU_FIRE_IT
    DOWNLOAD_FAILED = "The poem download failed."
