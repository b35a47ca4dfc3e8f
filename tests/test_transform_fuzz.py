"""Fuzzing the transformation server's netstring protocol with hypothesis.

Whatever bytes a client sends, in whatever pieces, the protocol must never
raise, must answer with nothing or with one well-formed netstring holding a
lower-cased poem, and the server must answer the next valid request.
"""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.helpers import connect_protocol, load_script, netstring
from tests.test_transformedpoetry import GOOD_ANSWER, GOOD_REQUEST
from tools import launch

SCRIPT = launch.TRANSFORM
NETSTRING = re.compile(rb"(\d+):(.*),", re.DOTALL)

# Valid requests to start mutations from: the tutorial's, a longer ASCII one,
# and a UTF-8 one.
SEEDS = [
    GOOD_REQUEST,
    netstring(b"cummingsify.THE FASCINATION OF WHAT'S DIFFICULT\nHas dried the sap"),
    netstring("cummingsify.Forse perché della fatal quïete".encode()),
]


@st.composite
def mutated_requests(draw):
    """A valid request with a few bytes replaced, inserted or deleted."""
    request = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(request)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.integers(0, 255))
        if kind == "insert" or where == len(request):
            request.insert(where, byte)
        elif kind == "replace":
            request[where] = byte
        else:
            del request[where]
    return bytes(request)


def split(data, cuts):
    """Cut `data` into pieces at the given offsets, as TCP might deliver it."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


# database=None: no example database, so no run writes one anywhere.
class TransformFuzzTests(SynchronousTestCase):
    def setUp(self):
        module = load_script(SCRIPT)
        self.factory = module.TransformFactory(module.TransformService())

    def converse(self, pieces):
        """Feed the pieces to a new connection, close it, return what was sent."""
        proto, transport = connect_protocol(self.factory)
        for piece in pieces:
            if transport.disconnecting:
                break
            proto.dataReceived(piece)
        transport.loseConnection()
        proto.connectionLost(Failure(ConnectionDone()))
        return transport.value()

    def check(self, answer):
        """An answer is empty, or one netstring holding lower-cased UTF-8 text."""
        if answer:
            match = NETSTRING.fullmatch(answer)
            self.assertIsNotNone(match, answer)
            text = match[2].decode("utf-8")
            self.assertEqual(int(match[1]), len(match[2]))
            self.assertEqual(text, text.lower())
        # The server is as good as new for the next client.
        self.assertEqual(self.converse([GOOD_REQUEST]), GOOD_ANSWER)

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.lists(st.binary(max_size=40), max_size=6))
    def test_randomBytes(self, pieces):
        """Random bytes in random pieces never break the server."""
        self.check(self.converse(pieces))

    @settings(max_examples=300, deadline=None, database=None)
    @given(mutated_requests(), st.lists(st.integers(0, 200), max_size=4))
    def test_mutatedRequests(self, request, cuts):
        """Valid requests with a few bytes changed never break the server."""
        self.check(self.converse(split(request, cuts)))

    @settings(max_examples=100, deadline=None, database=None)
    @given(st.text(max_size=200), st.lists(st.integers(0, 400), max_size=4))
    def test_anyTextIsTransformed(self, poem, cuts):
        """Any UTF-8 poem, however it is split, comes back lower-cased."""
        request = netstring(b"cummingsify." + poem.encode("utf-8"))

        answer = self.converse(split(request, cuts))

        self.assertEqual(answer, netstring(poem.lower().encode("utf-8")))
