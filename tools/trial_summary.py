"""Run trial and finish with one line CI can read: "N passed, M failed".

trial's own summary ("PASSED (successes=12)" or "FAILED (failures=1,
errors=2, successes=9, skips=1)") is streamed through unchanged; the counts
in it become the closing line. The exit status is non-zero when trial's is,
when anything failed or errored, when no summary could be found, or when
trial ran no tests at all (a misspelt module name, say).

trial's working directory (its log, the tests' temporary files) is made
outside the checkout; it is deleted after a green run and kept, with its
path printed, after a red one.

Usage: python tools/trial_summary.py [trial arguments...]
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from tools.launch import DROPIN_CACHE

# "PASSED (successes=12)"; a bare "PASSED" when there were no tests at all.
SUMMARY = re.compile(r"^(PASSED|FAILED)(?: \((.*)\))?\s*$")
RAN = re.compile(r"^Ran (\d+) tests? in ")
# Counts that mean something went wrong, in trial's own words.
BAD = ("failures", "errors", "unexpectedSuccesses")


def main(argv):
    env = dict(os.environ)
    # Scripts started by the tests inherit this, so a deprecated API in any
    # tutorial script fails the test that runs it.
    env["PYTHONWARNINGS"] = "error::DeprecationWarning"
    workdir = tempfile.mkdtemp(prefix="twisted-intro-trial-")
    # hypothesis keeps its example database in the directory it was imported
    # from (the checkout) unless told otherwise.
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(workdir, "hypothesis")
    command = [
        sys.executable,
        "-W",
        "error::DeprecationWarning",
        "-m",
        "twisted.trial",
        f"--temp-directory={workdir}/_trial_temp",
        *argv,
    ]
    had_cache = DROPIN_CACHE.exists()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    counts = ran = None
    # trial's output passes through as bytes: a test may print anything.
    for raw in proc.stdout:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        line = raw.decode("utf-8", errors="replace")
        if match := RAN.match(line):
            ran = int(match[1])
        if match := SUMMARY.match(line):
            counts = {
                key: int(value)
                for key, value in (
                    item.split("=") for item in (match[2] or "").split(", ") if item
                )
            }
    status = proc.wait()
    if not had_cache:
        DROPIN_CACHE.unlink(missing_ok=True)

    if counts is None:
        print("0 passed, 1 failed")
        print(f"trial printed no summary; see {workdir}/_trial_temp", file=sys.stderr)
        return status or 1
    if ran == 0 or not counts:
        print("0 passed, 0 failed")
        print(
            f"trial ran no tests: is {' '.join(argv)!r} the right name?",
            file=sys.stderr,
        )
        shutil.rmtree(workdir, ignore_errors=True)
        return status or 1
    passed = counts.get("successes", 0) + counts.get("expectedFailures", 0)
    failed = sum(counts.get(key, 0) for key in BAD)
    skipped = counts.get("skips", 0)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    if failed or status:
        print(
            f"trial's log and temporary files: {workdir}/_trial_temp", file=sys.stderr
        )
        return status or 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
