"""modern/: the same tests as the classic scripts, through tests/mixins.py.

Each class plugs a modern script into the mixin its classic twin passes, so
both editions answer to one set of tests: the command lines, the start-up
lines, the error lines and exit statuses, and the client end to end. The
classes at the end cross the editions (the classic client against the
modern servers, and the other way round), since a learner may mix them.

The behaviour around connections (time-outs, half-close, limits, the reset on
shutdown) is in tests/test_modern_servers.py; the modern client's main
function, whose shape TransformingMainMixin cannot fake, is tested in
tests/test_modern_client.py.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import FASTPOETRY, TRANSFORM, ScriptTestCase
from tests.mixins import (
    ClientEndToEndMixin,
    PoemFileServerMixin,
    ServerCommandLineMixin,
    TransformingCommandLineMixin,
)

CLIENT = "modern/get-poetry.py"
MODERN_FASTPOETRY = "modern/fastpoetry.py"
MODERN_TRANSFORM = "modern/transformedpoetry.py"
MODERN_PROXY = "modern/poetry-proxy.py"


class ModernClientCommandLineTests(TransformingCommandLineMixin, SynchronousTestCase):
    CLIENT = CLIENT
    VERSION = "8.0 (Part 18), in today's idiom"


class ModernClientEndToEndTests(ClientEndToEndMixin, ScriptTestCase):
    """The modern client against the modern servers."""

    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed:"
    POETRY_SERVER = MODERN_FASTPOETRY
    TRANSFORM_SERVER = MODERN_TRANSFORM


class ModernClientClassicServersTests(ClientEndToEndMixin, ScriptTestCase):
    """The modern client against the classic servers."""

    CLIENT = CLIENT
    DOWNLOAD_FAILED = "The poem download failed:"
    POETRY_SERVER = FASTPOETRY
    TRANSFORM_SERVER = TRANSFORM


class Client8ModernServersTests(ClientEndToEndMixin, ScriptTestCase):
    """Client 8 (the text's) against the modern servers."""

    CLIENT = "twisted-client-8/get-poetry.py"
    DOWNLOAD_FAILED = "The poem download failed:"
    POETRY_SERVER = MODERN_FASTPOETRY
    TRANSFORM_SERVER = MODERN_TRANSFORM


class ModernFastPoetryCommandLineTests(PoemFileServerMixin, ScriptTestCase):
    SCRIPT = MODERN_FASTPOETRY
    COMMAND = "python modern/fastpoetry.py --port 10002 poetry/fascination.txt"
    OPTIONS = ServerCommandLineMixin.OPTIONS + ("--timeout TIMEOUT",)


class ModernTransformCommandLineTests(ServerCommandLineMixin, ScriptTestCase):
    SCRIPT = MODERN_TRANSFORM
    STARTUP = "Serving transforms"
    COMMAND = "python modern/transformedpoetry.py --port 11000"
    OPTIONS = ServerCommandLineMixin.OPTIONS + ("--timeout TIMEOUT",)


class ModernProxyCommandLineTests(ServerCommandLineMixin, ScriptTestCase):
    SCRIPT = MODERN_PROXY
    ARGS = ("10001",)  # the upstream server, which it only dials on a request
    STARTUP = "Proxying 127.0.0.1:10001"
    COMMAND = f"python {MODERN_PROXY} --port 10000 10001"
    OPTIONS = ServerCommandLineMixin.OPTIONS + (
        "--timeout TIMEOUT",
        "--upstream-timeout UPSTREAM_TIMEOUT",
        "--max-poem-size MAX_POEM_SIZE",
    )
