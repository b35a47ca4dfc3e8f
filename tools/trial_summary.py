"""Run trial and finish with one line CI can read: "N passed, M failed".

trial's own summary ("PASSED (successes=12)" or "FAILED (failures=1,
errors=2, successes=9, skips=1)") is streamed through unchanged; the counts
in it become the closing line. The exit status is non-zero when trial's is,
when anything failed or errored, or when no summary could be found.

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
from pathlib import Path

SUMMARY = re.compile(r"^(PASSED|FAILED) \((.*)\)\s*$")
# Counts that mean something went wrong, in trial's own words.
BAD = ("failures", "errors", "unexpectedSuccesses")
# trial's scan for reporter plugins writes this cache into the checkout.
DROPIN_CACHE = Path(__file__).resolve().parent.parent / "twisted/plugins/dropin.cache"


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
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    counts = None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        match = SUMMARY.match(line)
        if match:
            counts = {
                key: int(value)
                for key, value in (
                    item.split("=") for item in match[2].split(", ") if item
                )
            }
    status = proc.wait()
    if not had_cache:
        DROPIN_CACHE.unlink(missing_ok=True)

    if counts is None:
        print("0 passed, 1 failed")
        print(f"trial printed no summary; see {workdir}/_trial_temp", file=sys.stderr)
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
