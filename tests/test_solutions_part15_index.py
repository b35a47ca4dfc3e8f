"""Part 15, exercise 3: every script has tests, and solutions/README.md says where.

The answer to "write tests for the other poetry services" is the list in
solutions/README.md, section 15.3: each script of the repository (the
tutorial's servers, clients and examples, the answers in solutions/) with
the test modules that run it. TestIndexTests keeps that list whole as
scripts are added. AnswerTableTests checks the tables of answers in the
same file: their links lead somewhere, and each `diff -u` they give is a
pair that tests/test_stages.py checks.
"""

import os
import re

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ROOT
from tests.test_stages import STAGES
from tools import launch

README = ROOT / "solutions" / "README.md"
# Folders that hold no tutorial script: the tests and tooling themselves,
# the poems, the documentation.
NOT_SCRIPTS = {"tests", "tools", "bench", "docs", "poetry", "node_modules"}
# A path in backquotes, as the tables write them: `twisted-server-1/fastpoetry.py`
QUOTED = re.compile(r"`([\w./-]+)`")


def scripts():
    """Every script in the repository: .py files and executables below the root."""
    found = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith((".", "_")) and name not in NOT_SCRIPTS
        ]
        if folder == str(ROOT):
            continue  # only configuration at the top
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") or (os.access(path, os.X_OK) and "." not in name):
                found.add(os.path.relpath(path, ROOT))
    return found


def section(text, title):
    """The lines of the README section that starts with the heading `title`."""
    start = text.index(f"\n{title}\n")
    end = text.find("\n### ", start + 1)
    return text[start : end if end != -1 else len(text)].splitlines()


def table_rows(lines):
    """The cells of each row of the Markdown tables in `lines` (no header rows)."""
    rows = [
        [cell.strip() for cell in line.strip("|").split(" | ")]
        for line in lines
        if line.startswith("| ")
    ]
    return [row for row in rows if row[0] not in ("#", "Part", "---", "--- | ---")]


class TestIndexTests(SynchronousTestCase):
    """Section 15.3 of solutions/README.md lists every script and its tests."""

    def setUp(self):
        lines = section(
            README.read_text(encoding="utf-8"),
            "### 15.3 A test module for every script",
        )
        self.index = {}
        for _part, script, tests in table_rows(lines):
            (path,) = QUOTED.findall(script)
            self.index[path] = QUOTED.findall(tests)

    def test_everyScriptListed(self):
        """Each script in the repository has a row, and each row is a script."""
        self.assertEqual(sorted(self.index), sorted(scripts()))

    def test_everyScriptTested(self):
        """Each row names test modules that exist and mention the script."""
        for path, modules in self.index.items():
            with self.subTest(script=path):
                self.assertTrue(modules, f"no test module for {path}")
                # A plugin is imported by its module name, not its path.
                names = {path, os.path.basename(path)}
                if "/twisted/plugins/" in f"/{path}":
                    names.add(os.path.basename(path).removesuffix(".py"))
                # Or by the tools.launch constant that holds its path.
                constants = [
                    name for name, value in vars(launch).items() if value == path
                ]
                for module in modules:
                    self.assertRegex(module, r"^tests/test_\w+\.py$")
                    source = (ROOT / module).read_text(encoding="utf-8")
                    self.assertTrue(
                        any(name in source for name in names)
                        or any(re.search(rf"\b{c}\b", source) for c in constants),
                        f"{module} never mentions {path}",
                    )

    def test_scriptsFound(self):
        """The search finds the kinds of script there are, and nothing under tests/."""
        found = scripts()

        for path in [
            "twisted-server-1/fastpoetry.py",
            "twisted-server-1/transform-test",
            "twisted/plugins/fastpoetry_plugin.py",
            "solutions/part-16/twisted/plugins/fastpoetry2_plugin.py",
            "deferred-list/deferred-list-7.py",
        ]:
            self.assertIn(path, found)
        self.assertFalse(any(path.startswith(("tests/", "tools/")) for path in found))


class AnswerTableTests(SynchronousTestCase):
    """The tables of answers in solutions/README.md point at real files and stages."""

    def setUp(self):
        self.text = README.read_text(encoding="utf-8")

    def test_linksLeadToFiles(self):
        """Every relative link in the file is to a file that exists."""
        links = re.findall(r"\]\((?!#|https?:)([^)#]+)(?:#[^)]*)?\)", self.text)

        self.assertTrue(links)
        for link in links:
            with self.subTest(link=link):
                self.assertTrue((README.parent / link).exists(), link)

    def test_anchorsLeadToHeadings(self):
        """Every link to a section of the file names one of its headings."""
        headings = {
            re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
            for title in re.findall(r"^#+ (.*)$", self.text, re.M)
        }

        for anchor in re.findall(r"\]\(#([^)]+)\)", self.text):
            with self.subTest(anchor=anchor):
                self.assertIn(anchor, headings)

    def test_diffsAreCheckedStages(self):
        """Each `diff -u A B` the tables give is a pair tests/test_stages.py checks."""
        pairs = {(earlier, later) for earlier, later, _ in STAGES}
        # Python files only: a shell script (a copy of transform-test) has no
        # definitions to compare, and its own tests run it.
        diffs = re.findall(r"`diff -u ([^`\s]+\.py) ([^`\s]+\.py)`", self.text)

        self.assertGreater(len(diffs), 10)
        for diff in diffs:
            with self.subTest(diff=diff):
                self.assertIn(diff, pairs)
