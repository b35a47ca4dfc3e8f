"""Part 17: client 7, twisted-client-7/get-poetry.py (inlineCallbacks).

Only poetry_main differs from client 6 (tests/test_stages.py checks that);
the shared tests of poetry_main and of the real command are tests/mixins.py's.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase
from tests.mixins import (
    ClientEndToEndMixin,
    TransformingCommandLineMixin,
    TransformingMainMixin,
)

CLIENT = "twisted-client-7/get-poetry.py"


class Client7CommandLineTests(TransformingCommandLineMixin, SynchronousTestCase):
    CLIENT = CLIENT
    VERSION = "7.0 (Part 17)"


class Client7MainTests(TransformingMainMixin, SynchronousTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed:"


class Client7EndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed:"
