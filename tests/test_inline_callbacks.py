"""Part 17: the inlineCallbacks examples in inline-callbacks/.

The scripts keep the tutorial's 5-second delays. The tests run them on the
real reactor, in their own process, through tools/speedup.py, which makes
every callLater wait a hundred times less: the same lines in the same order,
without the wait.
"""

import re

from twisted.internet import defer

from tests.helpers import ScriptTestCase

FOUR_CALLBACKS = """\
first callback
second callback got 1
third callback got 2
fourth callback got Exception(3)
"""

VALUE_AND_FAILURE = """\
calling my_callbacks()
first callback
second callback got 1
third callback got 2
the caller's Deferred fired with the result 4
calling my_callbacks_error()
first callback
second callback got 1
raising an exception
the caller's Deferred failed with
  <twisted.python.failure.Failure builtins.Exception: uh oh>
"""

# One frame of a printed stack: '  File "<path>", line N, in <function>'.
FRAME = re.compile(r'^  File "(?P<path>[^"]+)", line \d+, in (?P<function>\S+)$')


class InlineCallbacksExampleTests(ScriptTestCase):
    """The inlineCallbacks examples print what the text describes."""

    def run_sped_up(self, script):
        """Run `script` with its delays a hundred times shorter."""
        return self.run_script("tools/speedup.py", "100", script)

    @defer.inlineCallbacks
    def test_fourCallbacks(self):
        """inline-callbacks-1.py: a value, a Deferred's result, then its exception."""
        proc = yield self.run_sped_up("inline-callbacks/inline-callbacks-1.py")

        self.assertEqual(proc.stdout, FOUR_CALLBACKS)
        self.assertEqual(proc.stderr, "")
        self.assertEqual(proc.exit_code, 0)

    @defer.inlineCallbacks
    def test_returnValueAndFailure(self):
        """inline-callbacks-2.py: the caller gets the returned value, then a Failure."""
        proc = yield self.run_sped_up("inline-callbacks/inline-callbacks-2.py")

        self.assertEqual(proc.stdout, VALUE_AND_FAILURE)
        self.assertEqual(proc.stderr, "")
        self.assertEqual(proc.exit_code, 0)

    @defer.inlineCallbacks
    def test_stackFromReactorToCallback(self):
        """inline-callbacks-tb.py: reactor.run() is near the top, the generator last."""
        proc = yield self.run_script("inline-callbacks/inline-callbacks-tb.py")

        lines = proc.stderr.splitlines()
        frames = [FRAME.match(line) for line in lines]
        frames = [(m["path"], m["function"]) for m in frames if m]
        # test that the script's own module frame calls reactor.run() ...
        self.assertTrue(frames[0][0].endswith("inline-callbacks-tb.py"), frames)
        self.assertEqual(frames[0][1], "<module>")
        self.assertEqual(lines[1].strip(), "reactor.run()")
        # ... that the reactor's loop and inlineCallbacks sit in between ...
        functions = [function for _, function in frames]
        self.assertIn("runUntilCurrent", functions)
        self.assertIn("_inlineCallbacks", functions)
        # ... and that the generator's code is the bottom frame.
        self.assertTrue(frames[-1][0].endswith("inline-callbacks-tb.py"), frames)
        self.assertEqual(frames[-1][1], "my_callbacks")
        self.assertEqual(proc.stdout, "")
        self.assertEqual(proc.exit_code, 0)
