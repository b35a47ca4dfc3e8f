"""Part 17: the generator examples, inline-callbacks/gen-1.py ... gen-4.py.

Each script prints what the text describes, in Python 3. They are plain
Python, so they run in this process (runpy, as `python <script>` would run
them); the tour's tests run every one as a learner would.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import run_example

# gen-1.py and gen-2.py drive the same generator, one with a for loop and one
# with next() by hand, so they print the same lines.
ONE_GENERATOR = """\
starting up
1
workin'
2
still workin'
3
done
"""

TWO_GENERATORS = """\
starting up gen1
gen1 yielded 1
starting up gen2
gen2 yielded 1
workin' gen1
gen1 yielded 2
workin' gen2
gen2 yielded 2
still workin' gen1
gen1 yielded 3
still workin' gen2
gen2 yielded 3
done gen1
done gen2
"""

SEND_AND_THROW = """\
starting up
1
got: 10
2
got: 20
3
malfunction!
4
done
"""


class GeneratorExampleTests(SynchronousTestCase):
    """The generator examples print their interleaved steps and exit 0."""

    def assertPrints(self, path, expected):
        proc = run_example(path)

        self.assertEqual(proc.stdout, expected)
        self.assertEqual(proc.stderr, "")
        self.assertEqual(proc.exit_code, 0)

    def test_forLoop(self):
        """gen-1.py: the generator's prints alternate with the for loop's."""
        self.assertPrints("inline-callbacks/gen-1.py", ONE_GENERATOR)

    def test_nextByHand(self):
        """gen-2.py: a while loop calling next() prints the same as the for loop."""
        self.assertPrints("inline-callbacks/gen-2.py", ONE_GENERATOR)

    def test_twoGeneratorsInterleaved(self):
        """gen-3.py: one loop takes turns restarting two generators."""
        self.assertPrints("inline-callbacks/gen-3.py", TWO_GENERATORS)

    def test_sendAndThrow(self):
        """gen-4.py: send() gives the yield a value, throw() raises inside it."""
        self.assertPrints("inline-callbacks/gen-4.py", SEND_AND_THROW)
