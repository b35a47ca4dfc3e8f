"""Part 18: client 8, twisted-client-8/get-poetry.py (a DeferredList).

Only poetry_main differs from client 7 (tests/test_stages.py checks that);
the shared tests of poetry_main and of the real command are tests/mixins.py's.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase
from tests.mixins import (
    ClientEndToEndMixin,
    TransformingCommandLineMixin,
    TransformingMainMixin,
)

CLIENT = "twisted-client-8/get-poetry.py"


class Client8CommandLineTests(TransformingCommandLineMixin, SynchronousTestCase):
    CLIENT = CLIENT
    VERSION = "8.0 (Part 18)"


class Client8MainTests(TransformingMainMixin, SynchronousTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed:"


class Client8EndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed:"
