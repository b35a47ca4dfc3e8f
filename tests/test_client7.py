"""Part 17: client 7, twisted-client-7/get-poetry.py (inlineCallbacks).

The mixins here hold the unit tests that clients 7 and 8 share: poetry_main
with its collaborators faked, and the check that nothing outside poetry_main
changed. tests/test_client8.py imports them. The end-to-end tests, which
client 6 shares too, are tests/mixins.py's ClientEndToEndMixin.
"""

import ast
import io
import sys

import twisted.internet
from twisted.internet import defer, task
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ROOT, ScriptTestCase, load_script, lowered, read_poem
from tests.mixins import ClientEndToEndMixin


def _poetry_main(tree):
    return next(
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "poetry_main"
    )


def outside_poetry_main(path):
    """A script's source without its docstring and poetry_main."""
    source = (ROOT / path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    main = _poetry_main(tree)
    docstring = tree.body[0]
    return "".join(
        lines[docstring.end_lineno : main.lineno - 1] + lines[main.end_lineno :]
    )


def inner_function(path, name):
    """The source of the function `name` defined inside a script's poetry_main."""
    source = (ROOT / path).read_text(encoding="utf-8")
    main = _poetry_main(ast.parse(source))
    node = next(
        node
        for node in main.body
        if isinstance(node, ast.FunctionDef) and node.name == name
    )
    # Include the decorators, which the node's own position leaves out.
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    lines = source.splitlines(keepends=True)
    return "".join(lines[start - 1 : node.end_lineno])


class UnchangedOutsideTheLessonMixin:
    """Only poetry_main (and the docstring) differ from the previous client."""

    CLIENT = None
    PREVIOUS = None

    def test_classesUnchanged(self):
        """The classes, parse_args and the helpers are the previous client's, as is."""
        self.assertEqual(
            outside_poetry_main(self.CLIENT), outside_poetry_main(self.PREVIOUS)
        )


class FakeReactor(task.Clock):
    """Stands in for the reactor in poetry_main: run() plays the test's scene."""

    def __init__(self, scene):
        super().__init__()
        self.scene = scene
        self.stops = 0

    def run(self):
        self.scene()

    def stop(self):
        self.stops += 1


class FakeTransformProxy:
    """Stands in for TransformProxy: each xform returns a Deferred the test fires."""

    def __init__(self):
        self.address = None
        self.requests = []
        self.cancelled = []

    def __call__(self, host, port):
        self.address = (host, port)
        return self

    def xform(self, xform_name, poem):
        d = defer.Deferred(self.cancelled.append)
        self.requests.append((xform_name, poem, d))
        return d


class PoetryMainTestsMixin:
    """poetry_main with get_poetry, the proxy and the reactor replaced by fakes.

    The test fires every Deferred itself, inside the fake reactor's run(),
    so it can look at what the client has done between two steps.
    """

    CLIENT = None

    def setUp(self):
        self.module = load_script(self.CLIENT)
        self.downloads = {}
        self.cancelled = []
        self.proxy = FakeTransformProxy()
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.patch(self.module, "get_poetry", self.fake_get_poetry)
        self.patch(self.module, "TransformProxy", self.proxy)

    def fake_get_poetry(self, host, port):
        d = defer.Deferred(self.cancelled.append)
        self.downloads[(host, port)] = d
        return d

    def download(self, port):
        return self.downloads[("127.0.0.1", port)]

    def run_main(self, scene, *argv):
        """Run poetry_main with `argv` and return its exit status."""
        self.reactor = FakeReactor(scene)
        # poetry_main imports the reactor late, from twisted.internet.
        self.patch(twisted.internet, "reactor", self.reactor)
        self.patch(sys, "argv", ["get-poetry.py", *argv])
        self.patch(sys, "stdout", self.stdout)
        self.patch(sys, "stderr", self.stderr)

        with self.assertRaises(SystemExit) as caught:
            self.module.poetry_main()

        # test that no time-out is left pending once the client is done
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        return caught.exception.code

    def test_yieldsPauseTheGenerator(self):
        """The generator waits for the download, then for the transformation."""

        def scene():
            self.assertEqual(self.proxy.requests, [])
            self.download(10002).callback(b"A POEM\n")

            [(xform_name, poem, d)] = self.proxy.requests
            self.assertEqual((xform_name, poem), ("cummingsify", b"A POEM\n"))
            self.assertEqual(self.stdout.getvalue(), "")
            d.callback(b"a poem\n")

        status = self.run_main(scene, "10001", "10002")

        self.assertEqual(self.proxy.address, ("127.0.0.1", 10001))
        self.assertEqual(self.stdout.getvalue(), "a poem\n\n")
        self.assertEqual(self.stderr.getvalue(), "")
        self.assertEqual(status, 0)

    def test_stopsAfterLastPoem(self):
        """The reactor is stopped once, when the last poem is done."""

        def scene():
            self.download(10003).callback(b"B")
            self.proxy.requests[0][2].callback(b"b")
            self.assertEqual(self.reactor.stops, 0)

            self.download(10002).errback(ConnectionRefusedError())
            self.assertEqual(self.reactor.stops, 1)

        self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual(self.reactor.stops, 1)

    def test_downloadFailed(self):
        """A failed download is reported, not transformed, and makes the status 1."""

        def scene():
            self.download(10002).errback(ConnectionRefusedError())
            self.download(10003).callback(b"B")
            self.proxy.requests[0][2].callback(b"b")

        status = self.run_main(scene, "10001", "10002", "10003")

        self.assertEqual(
            self.stderr.getvalue(),
            "The poem download failed: Connection was refused by other side.\n",
        )
        self.assertEqual([r[1] for r in self.proxy.requests], [b"B"])
        self.assertEqual(self.stdout.getvalue(), "b\n")
        self.assertEqual(status, 1)

    def test_transformFailed(self):
        """A failed transformation is reported and the original poem printed."""

        def scene():
            self.download(10002).callback(b"A POEM")
            self.proxy.requests[0][2].errback(Failure(ConnectionRefusedError()))

        status = self.run_main(scene, "10001", "10002")

        self.assertEqual(self.stderr.getvalue(), "Cummingsify failed!\n")
        self.assertEqual(self.stdout.getvalue(), "A POEM\n")
        self.assertEqual(status, 0)

    def test_timeoutWhileDownloading(self):
        """A download slower than --timeout is cancelled and reported as timed out."""

        def scene():
            self.reactor.advance(2.5)

        status = self.run_main(scene, "--timeout", "2.5", "10001", "10002")

        self.assertEqual(self.cancelled, [self.download(10002)])
        self.assertEqual(
            self.stderr.getvalue(), "The poem download failed: Timed out after 2.5 s.\n"
        )
        self.assertEqual(self.stdout.getvalue(), "")
        self.assertEqual(status, 1)

    def test_timeoutWhileTransforming(self):
        """A transformation still running at --timeout is given up on: poem as sent."""

        def scene():
            self.reactor.advance(1)
            self.download(10002).callback(b"A POEM")
            self.reactor.advance(1.5)

        status = self.run_main(scene, "--timeout", "2.5", "10001", "10002")

        self.assertEqual(self.proxy.cancelled, [self.proxy.requests[0][2]])
        self.assertEqual(self.stderr.getvalue(), "Cummingsify failed!\n")
        self.assertEqual(self.stdout.getvalue(), "A POEM\n")
        self.assertEqual(status, 0)

    def test_utf8Poem(self):
        """A UTF-8 poem is decoded once, for printing."""
        poem = read_poem("alla-sera.txt")

        def scene():
            self.download(10002).callback(poem)
            self.proxy.requests[0][2].callback(poem.lower())

        self.run_main(scene, "10001", "10002")

        self.assertEqual(self.stdout.getvalue(), lowered("alla-sera.txt") + "\n")


CLIENT7 = "twisted-client-7/get-poetry.py"


class Client7SourceTests(UnchangedOutsideTheLessonMixin, SynchronousTestCase):
    CLIENT = CLIENT7
    PREVIOUS = "twisted-client-6/get-poetry.py"


class Client7PoetryMainTests(PoetryMainTestsMixin, SynchronousTestCase):
    CLIENT = CLIENT7


class Client7EndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT7
    VERSION = "7.0 (Part 17)"
    DOWNLOAD_FAILED = "The poem download failed:"
