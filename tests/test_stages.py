"""Each stage differs from the one before it by its lesson, and nothing else.

STAGES lists consecutive stages of the tutorial (and, from the exercise
answers, each answer beside the stage it was copied from) with the
definitions the step is allowed to change: the lesson. Everything else the
two files define must be identical, byte for byte, so that `diff -u` of the
two files shows the lesson and nothing more. See tests/stages.py for what
counts as a definition.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.stages import (
    IMPORTS,
    MAIN_GUARD,
    STATEMENTS,
    changed_definitions,
    definitions,
)

# (earlier file, later file, the definitions the later one changes, adds or drops)
STAGES = [
    # Part 13: client 6 adds the transformation client and its use in poetry_main.
    (
        "twisted-client-4/get-poetry.py",
        "twisted-client-6/get-poetry.py",
        {
            IMPORTS,
            "TransformClientFactory",
            "TransformClientProtocol",
            "TransformProxy",
            "parse_args",
            "poetry_main",
            "poetry_main.got_poem",
            "poetry_main.poem_done",
            "poetry_main.poem_failed",
            "poetry_main.try_to_cummingsify",
        },
    ),
    # Part 17: client 7 replaces the callbacks with an inlineCallbacks generator.
    (
        "twisted-client-6/get-poetry.py",
        "twisted-client-7/get-poetry.py",
        {
            "poetry_main",
            "poetry_main.get_transformed_poem",
            "poetry_main.poem_failed",
            "poetry_main.try_to_cummingsify",
        },
    ),
    # Part 18: client 8 stops the reactor from a DeferredList.
    (
        "twisted-client-7/get-poetry.py",
        "twisted-client-8/get-poetry.py",
        {"poetry_main", "poetry_main.poem_done"},
    ),
    # Part 14: proxy 2.0 returns succeed(poem) instead of using maybeDeferred.
    (
        "twisted-server-1/poetry-proxy.py",
        "twisted-server-2/poetry-proxy.py",
        {
            IMPORTS,
            "PoetryProxyProtocol",
            "PoetryProxyProtocol.connectionMade",
            "ProxyService",
            "ProxyService.get_poem",
        },
    ),
    # Part 14, exercise 3: the single-flight proxy's list of waiters.
    (
        "twisted-server-2/poetry-proxy.py",
        "twisted-server-2/poetry-proxy-waiters.py",
        {
            "ProxyService",
            "ProxyService.fetch_failed",
            "ProxyService.get_poem",
            "ProxyService.set_poem",
            "main",
        },
    ),
    # Part 11, exercise 3: the slow server sends the poem piece by piece.
    (
        "twisted-server-1/fastpoetry.py",
        "twisted-server-1/slowpoetry.py",
        {
            "PoetryFactory",
            "PoetryFactory.__init__",
            "PoetryProtocol",
            "PoetryProtocol.callLater",
            "PoetryProtocol.connectionLost",
            "PoetryProtocol.connectionMade",
            "PoetryProtocol.sendPoetry",
            "main",
            "parse_args",
        },
    ),
    # Part 16: the fast server as a tac file: a service holds the poem.
    (
        "twisted-server-1/fastpoetry.py",
        "twisted-server-3/fastpoetry.py",
        {
            IMPORTS,
            MAIN_GUARD,
            # The services put together at the top level, as Part 16 shows.
            STATEMENTS,
            # The checks twistd cannot make before going into the background.
            "CutOnStop",
            "check_can_listen",
            "check_settings",
            "timeout",
            "PoetryFactory",
            "PoetryFactory.__init__",
            "PoetryProtocol",
            "PoetryProtocol.connectionMade",
            "PoetryService",
            "application",
            "backlog",
            "factory",
            "iface",
            "main",
            "parse_args",
            "poetry_file",
            "poetry_service",
            "port",
            "tcp_service",
            "top_service",
        },
    ),
    # Part 16: the tac file as a plugin: options instead of a configuration block.
    (
        "twisted-server-3/fastpoetry.py",
        "twisted/plugins/fastpoetry_plugin.py",
        {
            IMPORTS,
            # The tac file's checks at load time; the plugin's are in Options.
            MAIN_GUARD,
            # makeService puts the services together instead.
            STATEMENTS,
            "Options",
            "PoetryServiceMaker",
            "application",
            "backlog",
            "factory",
            "iface",
            "poetry_file",
            "poetry_service",
            "port",
            "service_maker",
            "tcp_service",
            "timeout",
            "top_service",
        },
    ),
    # Exercise answers, Parts 11-14
    # Part 13, exercise 4: an errback that returns a Deferred, beside the
    # callback that does.
    (
        "twisted-deferred/defer-10.py",
        "solutions/part-13/defer-10-errback.py",
        {STATEMENTS, "errback_2_async", "errback_3"},
    ),
    # Part 14, exercise 1: Deferreds that have failed before callbacks are
    # added ("d" is rebound by defer.fail in the new examples).
    (
        "twisted-deferred/defer-11.py",
        "solutions/part-14/defer-11-prefailed.py",
        {IMPORTS, STATEMENTS, "d", "errback_1"},
    ),
    # Exercise answers, Parts 15-18
    # Part 15, exercise 1: one assertion of the example tests broken on purpose.
    (
        "tests/test_poetry.py",
        "solutions/part-15/test_poetry_broken.py",
        {"PoetryTestCase", "PoetryTestCase.test_client"},
    ),
    # Part 18, exercise 2: the first Deferred to succeed fires the list.
    (
        "deferred-list/deferred-list-4.py",
        "solutions/part-18/deferred-list-fire-on-one-callback.py",
        {"d"},
    ),
    # Part 18, exercise 2: the first Deferred to fail fails the list.
    (
        "deferred-list/deferred-list-5.py",
        "solutions/part-18/deferred-list-fire-on-one-errback.py",
        {STATEMENTS, "d", "got_failure"},
    ),
    # Part 18, exercise 3: a DeferredList of two DeferredLists.
    (
        "deferred-list/deferred-list-5.py",
        "solutions/part-18/deferred-list-nested.py",
        {STATEMENTS, "d", "d3", "d4", "first", "second"},
    ),
    # Exercise answers, Parts 11-14 (copies)
    # Part 11, exercise 4: several poems, each on its own port, in one process.
    (
        "twisted-server-1/fastpoetry.py",
        "solutions/part-11/fastpoetry-many.py",
        {"main", "main.stop_serving", "parse_args"},
    ),
    # Part 12, exercise 2: one more transform, in the service and the factory.
    (
        "twisted-server-1/transformedpoetry.py",
        "solutions/part-12/transformedpoetry-more.py",
        {
            # Its messages name the answer, not the stage.
            "main",
            "TransformFactory",
            "TransformFactory.xform_mirror",
            "TransformService",
            "TransformService.mirror",
        },
    ),
    # Part 12, exercise 3: a second protocol on a second port, one service.
    (
        "twisted-server-1/transformedpoetry.py",
        "solutions/part-12/transformedpoetry-two-protocols.py",
        {
            IMPORTS,
            "LineTransformFactory",
            "LineTransformProtocol",
            "main",
            "main.stop_serving",
            "parse_args",
        },
    ),
    # Part 12, exercise 4: a service whose transforms return Deferreds.
    (
        "twisted-server-1/transformedpoetry.py",
        "solutions/part-12/transformedpoetry-async.py",
        {
            "TransformFactory",
            "TransformFactory.transform",
            "TransformProtocol",
            "TransformProtocol.connectionLost",
            "TransformProtocol.sendPoem",
            "TransformProtocol.xformRequestReceived",
            "TransformService",
            "TransformService.cummingsify",
            "main",
            "parse_args",
        },
    ),
    # Part 12, exercise 6: the poem sent as a netstring...
    (
        "twisted-server-1/fastpoetry.py",
        "solutions/part-12/netstring-poetry-server.py",
        {
            IMPORTS,
            "PoetryProtocol",
            "PoetryProtocol.connectionMade",
            "PoetryProtocol.stringReceived",
            "main",
        },
    ),
    # ... and received as one: a clean close before it is whole fails the poem.
    (
        "twisted-client-4/get-poetry.py",
        "solutions/part-12/netstring-poetry-client.py",
        {
            IMPORTS,
            "PoetryClientFactory",
            "PoetryClientFactory.clientConnectionLost",
            "PoetryProtocol",
            "PoetryProtocol.connectionLost",
            "PoetryProtocol.connectionMade",
            "PoetryProtocol.dataReceived",
            "PoetryProtocol.stringReceived",
        },
    ),
    # Part 13, exercise 1: the transformation asked for by name.
    (
        "twisted-client-6/get-poetry.py",
        "solutions/part-13/get-poetry-xform.py",
        {
            "parse_args",
            "poetry_main",
            "poetry_main.try_to_cummingsify",
            "poetry_main.try_to_transform",
        },
    ),
    # Part 13, exercise 2: no transformation server, no transformation.
    (
        "twisted-client-6/get-poetry.py",
        "solutions/part-13/get-poetry-optional-xform.py",
        {"parse_args", "poetry_main"},
    ),
    # Part 13, exercise 3: the factory makes the Deferred it fires.
    (
        "twisted-client-6/get-poetry.py",
        "solutions/part-13/get-poetry-you-fire-it.py",
        {"PoetryClientFactory", "PoetryClientFactory.__init__", "get_poetry"},
    ),
    # Part 14, exercise 2: a cached poem older than --max-age is fetched again.
    (
        "twisted-server-2/poetry-proxy.py",
        "solutions/part-14/poetry-proxy-expiring.py",
        {
            "ProxyService",
            "ProxyService.get_poem",
            "ProxyService.set_poem",
            "main",
            "parse_args",
        },
    ),
    # Part 14, exercise 4: transformations too, done by an external server.
    (
        "twisted-server-2/poetry-proxy.py",
        "solutions/part-14/poetry-transform-proxy.py",
        {
            IMPORTS,
            "ProxyService",
            "ProxyService.cummingsify",
            "TransformClientFactory",
            "TransformClientProtocol",
            "TransformFactory",
            "TransformProtocol",
            "TransformProxy",
            "main",
            "main.address",
            "main.stop_serving",
            "parse_args",
        },
    ),
    # Exercise answers, Parts 15-18 (copies)
    # Part 16, exercise 1: the tac file with a second poem, each poem's
    # services under a MultiService of their own.
    (
        "twisted-server-3/fastpoetry.py",
        "solutions/part-16/fastpoetry-two-poems.py",
        {
            MAIN_GUARD,
            STATEMENTS,
            "first_poem",
            "second_factory",
            "second_poem",
            "second_poetry_file",
            "second_poetry_service",
            "second_port",
            "second_tcp_service",
        },
    ),
    # Part 16, exercise 2: proxy 2.0 as a tac file: ProxyService becomes a
    # Service, the command line gives way to a configuration block.
    (
        "twisted-server-2/poetry-proxy.py",
        "solutions/part-16/poetry-proxy.py",
        {
            IMPORTS,
            MAIN_GUARD,
            STATEMENTS,
            "CutOnStop",
            "ProxyService",
            "application",
            "backlog",
            "check_can_listen",
            "factory",
            "iface",
            "main",
            "max_poem_size",
            "parse_address",
            "parse_args",
            "port",
            "proxy_service",
            "server_host",
            "server_port",
            "tcp_service",
            "timeout",
            "top_service",
            "upstream_timeout",
        },
    ),
    # Part 16, exercise 3: the plugin with an optional second poem and port.
    (
        "twisted/plugins/fastpoetry_plugin.py",
        "solutions/part-16/twisted/plugins/fastpoetry2_plugin.py",
        {
            "Options",
            "Options.postOptions",
            "PoetryServiceMaker",
            "PoetryServiceMaker.makePoemService",
            "PoetryServiceMaker.makeService",
        },
    ),
    # Part 16, exercise 4: proxy 2.0 as a twistd plugin.
    (
        "twisted-server-2/poetry-proxy.py",
        "twisted/plugins/poetryproxy_plugin.py",
        {
            IMPORTS,
            MAIN_GUARD,
            "CutOnStop",
            "Options",
            "ProxyService",
            "ProxyServiceMaker",
            "check_can_listen",
            "main",
            "parse_args",
            "service_maker",
        },
    ),
    # Part 17, exercise 5: got_poem becomes the generator's last step.
    (
        "twisted-client-7/get-poetry.py",
        "solutions/part-17/got-poem-inside.py",
        {
            "poetry_main",
            "poetry_main.get_transformed_poem",
            "poetry_main.got_poem",
        },
    ),
    # Part 17, exercise 6: poem_done moves into the generator too, in a finally.
    (
        "solutions/part-17/got-poem-inside.py",
        "solutions/part-17/poem-done-inside.py",
        {
            "poetry_main",
            "poetry_main.get_transformed_poem",
            "poetry_main.poem_done",
        },
    ),
    # Part 18, exercise 4: the poems printed from the DeferredList's result.
    (
        "twisted-client-8/get-poetry.py",
        "solutions/part-18/print-when-all-done.py",
        {"poetry_main"},
    ),
]


class StageTests(SynchronousTestCase):
    """Every pair of consecutive stages differs only where its lesson says."""

    def test_onlyTheLessonChanges(self):
        """The definitions that differ between two stages are exactly the lesson's."""
        for earlier, later, lesson in STAGES:
            with self.subTest(earlier=earlier, later=later):
                self.assertEqual(
                    changed_definitions(earlier, later),
                    sorted(lesson),
                    f"diff -u {earlier} {later}",
                )


# Robustness that is not the lesson: the same code, byte for byte, in every
# script that carries it (scripts copy; they do not import each other).
SERVERS = [
    "twisted-server-1/fastpoetry.py",
    "twisted-server-1/slowpoetry.py",
    "twisted-server-1/transformedpoetry.py",
    "twisted-server-3/fastpoetry.py",
    "twisted/plugins/fastpoetry_plugin.py",
    "twisted-server-1/poetry-proxy.py",
    "twisted-server-2/poetry-proxy.py",
    "twisted-server-2/poetry-proxy-waiters.py",
]
POEM_SERVERS = SERVERS[:2] + SERVERS[3:5]
CLIENTS = [
    "twisted-client-4/get-poetry.py",
    "twisted-client-6/get-poetry.py",
    "twisted-client-7/get-poetry.py",
    "twisted-client-8/get-poetry.py",
]
COPIES = [
    (SERVERS, ["GuardedConnection", "ServerGuard"]),
    (POEM_SERVERS, ["MAX_POEM_SIZE", "read_poem"]),
    (SERVERS[3:5], ["check_can_listen", "check_settings", "CutOnStop"]),
    (CLIENTS, ["DownloadFailed", "GuardedDownload", "DownloadGuard"]),
    (SERVERS[5:], ["DownloadFailed", "GuardedDownload", "DownloadGuard"]),
    (CLIENTS + SERVERS[5:], ["parse_address"]),
    # Part 11, exercises 1 and 2: new servers that read the poem as fastpoetry.py does.
    (
        [
            SERVERS[0],
            "solutions/part-11/select-poetry-server.py",
            "solutions/part-11/lowlevel-poetry-server.py",
        ],
        ["MAX_POEM_SIZE", "read_poem"],
    ),
]

# Exercise answers, Parts 11-14 (copies): the robustness they carry is the
# stages', and so are the lesson's classes that one answer takes from
# another stage than the one it copies.
ANSWER_POEM_SERVERS = [
    "solutions/part-11/fastpoetry-many.py",
    "solutions/part-12/netstring-poetry-server.py",
]
ANSWER_PROXIES = [
    "solutions/part-14/poetry-proxy-expiring.py",
    "solutions/part-14/poetry-transform-proxy.py",
]
ANSWER_SERVERS = (
    ANSWER_POEM_SERVERS
    + [
        "solutions/part-12/transformedpoetry-more.py",
        "solutions/part-12/transformedpoetry-two-protocols.py",
        "solutions/part-12/transformedpoetry-async.py",
    ]
    + ANSWER_PROXIES
)
ANSWER_CLIENTS = [
    "solutions/part-12/netstring-poetry-client.py",
    "solutions/part-13/get-poetry-xform.py",
    "solutions/part-13/get-poetry-optional-xform.py",
    "solutions/part-13/get-poetry-you-fire-it.py",
]
COPIES += [
    (SERVERS[:1] + ANSWER_SERVERS, ["GuardedConnection", "ServerGuard"]),
    (SERVERS[:1] + ANSWER_POEM_SERVERS, ["MAX_POEM_SIZE", "read_poem"]),
    (
        CLIENTS[:1] + ANSWER_CLIENTS + ANSWER_PROXIES,
        ["DownloadFailed", "GuardedDownload", "parse_address"],
    ),
    (CLIENTS[:1] + ANSWER_CLIENTS, ["DownloadGuard"]),
    # Part 12, exercise 5: a new client, without Twisted, reads addresses as
    # the clients do.
    (CLIENTS[:1] + ["solutions/part-12/sync-transform-client.py"], ["parse_address"]),
    (SERVERS[5:6] + ANSWER_PROXIES, ["DownloadGuard"]),
    # The transformation client of client 6 in the transformation proxy, and
    # the protocol of the asynchronous transformation server behind it.
    (
        [
            "twisted-client-6/get-poetry.py",
            "solutions/part-14/poetry-transform-proxy.py",
        ],
        ["TransformClientProtocol", "TransformClientFactory", "TransformProxy"],
    ),
    (
        [
            "solutions/part-12/transformedpoetry-async.py",
            "solutions/part-14/poetry-transform-proxy.py",
        ],
        ["TransformProtocol"],
    ),
]

# Exercise answers, Parts 15-18 (copies): each with the stage it was copied
# from, so that a copy is checked against the original.
PART_16_POEM_SERVERS = [
    "solutions/part-16/fastpoetry-two-poems.py",
    "solutions/part-16/twisted/plugins/fastpoetry2_plugin.py",
]
PART_16_PROXIES = [
    "solutions/part-16/poetry-proxy.py",
    "twisted/plugins/poetryproxy_plugin.py",
]
PARTS_17_18_CLIENTS = [
    "solutions/part-17/got-poem-inside.py",
    "solutions/part-17/poem-done-inside.py",
    "solutions/part-18/print-when-all-done.py",
]
COPIES += [
    (
        SERVERS[:1] + PART_16_POEM_SERVERS + PART_16_PROXIES,
        ["GuardedConnection", "ServerGuard"],
    ),
    (POEM_SERVERS[:1] + PART_16_POEM_SERVERS, ["MAX_POEM_SIZE", "read_poem"]),
    (SERVERS[3:4] + PART_16_POEM_SERVERS, ["check_settings"]),
    (
        SERVERS[3:4] + PART_16_POEM_SERVERS + PART_16_PROXIES,
        ["check_can_listen", "CutOnStop"],
    ),
    (
        SERVERS[6:7] + PART_16_PROXIES,
        ["DownloadFailed", "GuardedDownload", "DownloadGuard"],
    ),
    (
        CLIENTS[:1] + PARTS_17_18_CLIENTS,
        ["DownloadFailed", "GuardedDownload", "DownloadGuard"],
    ),
    (CLIENTS[:1] + PARTS_17_18_CLIENTS + PART_16_PROXIES[1:], ["parse_address"]),
    # Part 17, exercise 7: the poem ticker downloads with client 7's code.
    (
        CLIENTS[2:3] + ["solutions/part-17/poem-ticker.py"],
        [
            "PoetryProtocol",
            "PoetryClientFactory",
            "DownloadFailed",
            "GuardedDownload",
            "DownloadGuard",
            "parse_address",
        ],
    ),
]

# The modern edition (modern/ and its plugin): its own guard and download
# code, copied the same way.
MODERN_SERVERS = [
    "modern/fastpoetry.py",
    "modern/transformedpoetry.py",
    "modern/poetry-proxy.py",
]
MODERN_PLUGIN = "twisted/plugins/modern_fastpoetry_plugin.py"
COPIES += [
    (
        MODERN_SERVERS + [MODERN_PLUGIN],
        ["TIMEOUT", "GuardedProtocol", "GuardedFactory", "host_port"],
    ),
    (MODERN_SERVERS[:1] + [MODERN_PLUGIN], ["MAX_POEM_SIZE", "read_poem"]),
    (
        ["modern/get-poetry.py", "modern/poetry-proxy.py"],
        [
            "Limits",
            "parse_address",
            "DownloadFailed",
            "server_name",
            "Download",
            "timed_out",
            "connect",
            "PoetryProtocol",
            "get_poetry",
        ],
    ),
]


class CopyTests(SynchronousTestCase):
    """Code that several scripts carry is the same in each of them."""

    def test_copiesIdentical(self):
        """Each shared definition reads the same in every script that has it."""
        for paths, names in COPIES:
            found = {path: definitions(path) for path in paths}
            for name in names:
                with self.subTest(name=name):
                    sources = {path: found[path][name][0] for path in paths}
                    self.assertEqual(
                        len(set(sources.values())), 1, f"{name} differs: {paths}"
                    )
