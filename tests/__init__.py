"""The trial tests: run them with `make test` or `python -m twisted.trial tests`."""

import os
import tempfile

# hypothesis (tests/test_transform_fuzz.py) writes its caches under
# .hypothesis/ in the directory it is imported from, the checkout, unless told
# otherwise: keep them in the system's temporary directory.
# tools/trial_summary.py picks a place of its own.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY",
    os.path.join(tempfile.gettempdir(), "twisted-intro-hypothesis"),
)
