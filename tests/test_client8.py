"""Part 18: client 8, twisted-client-8/get-poetry.py (a DeferredList).

Client 8 must behave exactly as client 7 does, so it runs client 7's tests
(the mixins in tests/test_client7.py, and the end-to-end tests of
tests/mixins.py) against its own script.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import ScriptTestCase
from tests.mixins import ClientEndToEndMixin
from tests.test_client7 import (
    CLIENT7,
    PoetryMainTestsMixin,
    UnchangedOutsideTheLessonMixin,
    inner_function,
)

CLIENT8 = "twisted-client-8/get-poetry.py"


class Client8SourceTests(UnchangedOutsideTheLessonMixin, SynchronousTestCase):
    CLIENT = CLIENT8
    PREVIOUS = CLIENT7

    def test_generatorUnchanged(self):
        """get_transformed_poem and got_poem are client 7's, as is."""
        for name in ["get_transformed_poem", "got_poem"]:
            self.assertEqual(
                inner_function(CLIENT8, name), inner_function(CLIENT7, name)
            )


class Client8PoetryMainTests(PoetryMainTestsMixin, SynchronousTestCase):
    CLIENT = CLIENT8


class Client8EndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    CLIENT = CLIENT8
    VERSION = "8.0 (Part 18)"
    DOWNLOAD_FAILED = "The poem download failed:"
