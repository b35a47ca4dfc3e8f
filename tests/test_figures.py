"""docs/figures.md, and the Mermaid check behind `make figures`.

FiguresPageTests read the page: one section per figure, in order, with the
anchors the README links to. MermaidCheckTests run tools/figures/check.mjs
under node on small Markdown files, to show that it passes good diagrams and
fails broken ones with the file and line; they need node on PATH and the npm
packages in tools/figures/node_modules.
"""

import os
import re
import shutil
import tempfile

from twisted.internet import defer
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.helpers import ROOT, ScriptTestCase
from tools import launch

PAGE = ROOT / "docs" / "figures.md"
CHECK = ROOT / "tools" / "figures" / "check.mjs"
NODE = shutil.which("node")

# The anchors GitHub gives the page's sections, in order; the README links
# to them, so renaming a heading must show up here.
ANCHORS = [
    "figure-26-the-poetry-server-in-action",
    "figure-27-a-transformation-server-with-two-protocols",
    "figure-28-outer-and-inner-deferred-processing",
    "figure-29-the-thread-of-control-in-figure-28",
    "figure-30-a-caching-proxy-server",
    "figure-31-a-deferred-that-has-been-fired",
    "figure-32-the-same-deferred-with-a-new-callback",
    "figure-33-a-trial-test-in-progress",
    "figure-34-the-structure-of-our-fastpoetry-application",
    "figure-35-generator-as-a-callback-sequence",
    "figure-36-flow-control-in-an-inlinecallbacks-function",
    "figure-37-the-result-of-a-deferredlist",
    "part-14-exercise-3-a-proxy-that-fetches-once",
]

GOOD = """\
# Two diagrams

```mermaid
flowchart LR
    A["PoetryFactory"] --> B["PoetryProtocol"]
```

```mermaid
sequenceDiagram
    reactor->>Deferred: callback(poem)
```
"""

# The second block is broken (an arrow to nowhere); its fence is on line 8.
BROKEN = """\
# One good diagram, one broken

```mermaid
flowchart LR
    A --> B
```

```mermaid
flowchart LR
    A -->
```
"""

# Only the last block is a diagram: the mermaid fence inside the four-backtick
# block is an example in a code block, which GitHub shows as text.
QUOTED = """\
# How to write a diagram

````markdown
```mermaid
flowchart LR
    A -->
```
````

```mermaid
stateDiagram-v2
    [*] --> NotCached
```
"""

UNCLOSED = """\
# A fence left open

```mermaid
flowchart LR
    A --> B
"""


def github_anchor(heading):
    """The anchor GitHub makes for a Markdown heading's text."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sections(markdown):
    """The page's "## " sections as (heading, body) pairs, in order."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2], strict=True))


class FiguresPageTests(SynchronousTestCase):
    """docs/figures.md has one section per figure, in the text's order."""

    def setUp(self):
        self.page = PAGE.read_text(encoding="utf-8")

    def test_sectionsInOrder(self):
        """The sections are Figures 26 to 37, then the exercise, with the expected anchors."""
        headings = [heading for heading, _ in sections(self.page)]

        self.assertEqual([github_anchor(h) for h in headings], ANCHORS)

    def test_oneDiagramPerSection(self):
        """Each section holds exactly one mermaid block."""
        for heading, body in sections(self.page):
            self.assertEqual(body.count("```mermaid\n"), 1, heading)

    def test_linksPointAtSections(self):
        """Every link within the page leads to one of its sections."""
        links = re.findall(r"\]\(#([^)]+)\)", self.page)

        self.assertEqual(sorted(set(links)), sorted(ANCHORS))


ALL_GOOD = ("good", "quoted")
WITH_BROKEN = ("good", "broken", "unclosed")
# The checker's runs, shared by the tests (see MermaidCheckTests.check).
_RUNS = {}
_FIXTURES = tempfile.TemporaryDirectory(prefix="twisted-intro-figures-")


def _fixture(name):
    """One of the Markdown fixtures below, written to a file; its path."""
    path = os.path.join(_FIXTURES.name, f"{name}.md")
    text = {"good": GOOD, "broken": BROKEN, "unclosed": UNCLOSED, "quoted": QUOTED}
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[name])
    return path


class MermaidCheckTests(ScriptTestCase):
    """tools/figures/check.mjs parses each mermaid block with Mermaid itself."""

    # A node run of the checker takes a second or two, more on a busy machine.
    timeout = 60

    def setUp(self):
        if NODE is None:
            raise SkipTest("node is not on PATH, so the Mermaid check cannot run")
        return self.install()

    @defer.inlineCallbacks
    def install(self):
        if _RUNS.get("installed"):
            return
        # Only what is installed: `make -q` installs nothing, it only says
        # whether node_modules is up to date. `make test` (offline) and
        # .ci/run install the packages before trial starts, so two trial
        # workers never run npm ci at once, and no test downloads.
        result = yield launch.run_make("-q", "figures-deps")
        _RUNS["installed"] = result.exit_code == 0
        if result.exit_code != 0:
            raise SkipTest(
                "tools/figures/node_modules is missing or out of date; run"
                " `make figures-deps` (it downloads mermaid and jsdom), then the"
                " tests again"
            )

    @defer.inlineCallbacks
    def check(self, *names):
        """The checker's run on these fixtures: (result, {name: path}).

        A node run takes a second or more, so the tests share two: one where
        every file is good, one with the broken files. (`make figures`, which
        CI runs, parses the diagrams of docs/ themselves.)
        """
        if names not in _RUNS:
            paths = {name: _fixture(name) for name in names}
            result = yield launch.spawn([NODE, str(CHECK), *paths.values()])
            _RUNS[names] = (result, paths)
        return _RUNS[names]

    @defer.inlineCallbacks
    def test_goodDiagramsPass(self):
        """Valid diagrams are counted and the exit status is 0."""
        result, paths = yield self.check(*ALL_GOOD)

        self.assertEqual(result.exit_code, 0, result.stderr)
        self.assertIn(f"{paths['good']}: 2 diagrams parsed\n", result.stdout)
        self.assertEqual(result.stderr, "")

    @defer.inlineCallbacks
    def test_brokenDiagramFails(self):
        """A broken diagram is reported with its file, line and Mermaid's error; exit 1."""
        result, paths = yield self.check(*WITH_BROKEN)
        path = paths["broken"]

        self.assertEqual(result.exit_code, 1)
        self.assertIn(f"{path}:8: mermaid cannot parse this diagram:", result.stderr)
        # Mermaid's own words, not a message of ours.
        self.assertIn("Parse error on line", result.stderr)
        self.assertNotIn(f"{path}:3:", result.stderr)
        self.assertIn(f"{path}: 1 diagram parsed, 1 failed\n", result.stdout)

    @defer.inlineCallbacks
    def test_unclosedBlockFails(self):
        """A mermaid fence that is never closed is an error, with its line."""
        result, paths = yield self.check(*WITH_BROKEN)

        self.assertIn(
            f"{paths['unclosed']}:3: this mermaid block is never closed", result.stderr
        )

    @defer.inlineCallbacks
    def test_quotedBlockIgnored(self):
        """A mermaid fence inside another code block is text, not a diagram."""
        result, paths = yield self.check(*ALL_GOOD)

        self.assertIn(f"{paths['quoted']}: 1 diagram parsed\n", result.stdout)

    @defer.inlineCallbacks
    def test_failureInOneFileFailsAll(self):
        """With several files, one broken diagram anywhere makes the exit status 1."""
        result, paths = yield self.check(*WITH_BROKEN)

        self.assertEqual(result.exit_code, 1)
        self.assertIn(f"{paths['good']}: 2 diagrams parsed\n", result.stdout)
        self.assertIn(f"{paths['broken']}:8:", result.stderr)
