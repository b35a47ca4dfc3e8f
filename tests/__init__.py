"""The trial tests: run them with `make test` or `python -m twisted.trial tests`."""

import os
import tempfile

from hypothesis import settings

# hypothesis writes its caches (and its example database) under .hypothesis/
# in the directory it is imported from, the checkout. Keep the caches in the
# system's temporary directory (tools/trial_summary.py picks a place of its
# own), and keep no example database at all.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY",
    os.path.join(tempfile.gettempdir(), "twisted-intro-hypothesis"),
)
settings.register_profile("twisted-intro", database=None)
settings.load_profile("twisted-intro")
