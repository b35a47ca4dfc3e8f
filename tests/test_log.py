"""Part 16: the twisted.python.log example, basic-twisted/log.py."""

from twisted.internet import defer

from tests.helpers import ScriptTestCase

SCRIPT = "basic-twisted/log.py"
# Each entry starts with a time stamp and a context in brackets.
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} \[-\] "


class LogExampleTests(ScriptTestCase):
    """The example run as a learner runs it."""

    @defer.inlineCallbacks
    def test_logsMessageAndError(self):
        """It logs the start, a message, and the caught error with its traceback."""
        proc = yield self.run_script(SCRIPT)

        self.assertEqual((proc.exit_code, proc.err), (0, b""))
        self.assertRegex(
            proc.stdout,
            rf"^{STAMP}Log opened\.\n"
            rf"{STAMP}This is a log message from basic-twisted/log\.py\.\n"
            rf"{STAMP}Something went wrong while dividing:\n"
            r"\tTraceback \(most recent call last\):\n"
            r"(?s:.*)"
            r"\tbuiltins\.ZeroDivisionError: division by zero\n",
        )
