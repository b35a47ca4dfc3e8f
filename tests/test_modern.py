"""modern/: the same tests as the classic scripts, through the shared mixins.

Each class plugs a modern script into the mixin its classic twin passes
(tests/mixins.py, and the proxy's mixins in tests/test_poetry_proxy.py), so
both editions answer to one set of tests: the command lines, the start-up
lines, the error lines and exit statuses, the end-to-end runs. The modern
client also runs against the classic servers, since a learner may mix them.

One mixin test is replaced, not reused: ServerCommandLineMixin's
test_portInUse runs main() in this process on a reactor whose run() fails,
to prove that main() exits before serving. A modern server's main() hands
its work to task.react, which always runs the reactor, if only to stop it
again (that is how it turns a failure into an exit status); so for these
scripts the same behaviour is checked on the real command instead
(RealCommandPortInUseMixin).

The behaviour around connections (time-outs, half-close, limits, the reset on
shutdown) is checked on both editions by tests/test_modern_servers.py; the
modern client's main function, whose shape TransformingMainMixin cannot
fake, is tested in tests/test_modern_client.py.
"""

from twisted.internet import defer
from twisted.internet.protocol import ServerFactory
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import (
    FASTPOETRY,
    TRANSFORM,
    ScriptTestCase,
    listen,
    netstring,
    poem_bytes,
    poem_path,
)
from tests.mixins import (
    ClientEndToEndMixin,
    PoemFileServerMixin,
    ServerCommandLineMixin,
    ServerEndToEndMixin,
    TransformingCommandLineMixin,
)
from tests.test_poetry_proxy import ProxyCommandLineMixin, ProxyEndToEndMixin

CLIENT = "modern/get-poetry.py"
MODERN_FASTPOETRY = "modern/fastpoetry.py"
MODERN_TRANSFORM = "modern/transformedpoetry.py"
MODERN_PROXY = "modern/poetry-proxy.py"
# twisted.logger writes no "Log opened." line: the log starts with Twisted's
# own line for the listening port.
LOGGER_OPENED = r"^\S+ \[-\] \w+ starting on \d+\n"


class RealCommandPortInUseMixin:
    """ServerCommandLineMixin's test_portInUse, on the real command (see above)."""

    @defer.inlineCallbacks
    def test_portInUse(self):
        """A port that is taken gives one clear line and status 1, not a traceback."""
        taken = listen(self, ServerFactory())

        result = yield self.run_script(self.SCRIPT, "--port", taken, *self.ARGS)

        self.assertEqual(result.exit_code, 1)
        self.assertEqual(
            result.stderr,
            f"{self.program}: cannot listen on localhost:{taken}:"
            " Address already in use\n",
        )
        self.assertEqual(result.stdout, "")


# -- the client ---------------------------------------------------------------


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


# -- the poetry server --------------------------------------------------------


class ModernFastPoetryCommandLineTests(
    RealCommandPortInUseMixin, PoemFileServerMixin, ScriptTestCase
):
    SCRIPT = MODERN_FASTPOETRY
    COMMAND = "python modern/fastpoetry.py --port 10002 poetry/fascination.txt"


class ModernFastPoetryEndToEndTests(ServerEndToEndMixin, ScriptTestCase):
    SCRIPT = MODERN_FASTPOETRY
    ARGS = (poem_path("alla-sera.txt"),)
    STARTUP = f"Serving {poem_path('alla-sera.txt')}"
    REQUEST = b""
    ANSWER = poem_bytes("alla-sera.txt")
    LOG_OPENED = LOGGER_OPENED


# -- the transformation server ------------------------------------------------


class ModernTransformCommandLineTests(
    RealCommandPortInUseMixin, ServerCommandLineMixin, ScriptTestCase
):
    SCRIPT = MODERN_TRANSFORM
    COMMAND = "python modern/transformedpoetry.py --port 11000"


class ModernTransformEndToEndTests(ServerEndToEndMixin, ScriptTestCase):
    SCRIPT = MODERN_TRANSFORM
    STARTUP = "Serving transforms"
    REQUEST = netstring(b"cummingsify." + poem_bytes("alla-sera.txt"))
    ANSWER = netstring(poem_bytes("alla-sera.txt").decode("utf-8").lower().encode())
    LOG_OPENED = LOGGER_OPENED


# -- the proxy ----------------------------------------------------------------


class ModernProxyCommandLineTests(
    RealCommandPortInUseMixin, ProxyCommandLineMixin, ScriptTestCase
):
    SCRIPT = MODERN_PROXY
    COMMAND = f"python {MODERN_PROXY} --port 10000 10001"


class ModernProxyEndToEndTests(ProxyEndToEndMixin, ScriptTestCase):
    SCRIPT = MODERN_PROXY
