"""The pytest plugin (entry point ``pytest11: stream_replay``).

It is loaded by every pytest run in an environment where stream_replay is installed,
so this module imports nothing heavy: cohere, httpx, vcrpy, deepdiff and PyYAML are
imported only when a test uses the ``stream_replay`` marker or fixture.

- marker ``stream_replay(cassette=None, **options)``;
- fixtures ``stream_replay`` (this test's cassette; ``.client(cls)``) and
  ``stream_replay_config`` (override it to return options for a module, a folder or
  the suite);
- options ``--stream-replay-mode``, ``--stream-replay-dir``; ini keys
  ``stream_replay_mode``, ``stream_replay_dir``. Precedence, lowest first: ini,
  config fixture, marker, command line.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import types
from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .plugin.run import MARKER, STATS_KEY, Run
from .plugin.settings import MODES, ConfigError

if TYPE_CHECKING:
    from .plugin.session import StreamReplay

_RUN = pytest.StashKey[Run]()
_RAISED = pytest.StashKey["BaseException | None"]()
_TEST = pytest.StashKey["StreamReplay"]()
#: The collector ``pytest_pycollect_makeitem`` last looked at, and whether it is marked.
_last_collector: tuple[pytest.Collector, bool] | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stream_replay", "stream_replay: replay recorded Cohere streams")
    group.addoption(
        "--stream-replay-mode",
        dest="stream_replay_mode",
        choices=list(MODES),
        default=None,
        help="record mode for stream_replay tests: " + "; ".join(f"{m}: {c}" for m, c in MODES.items()),
    )
    group.addoption(
        "--stream-replay-dir",
        dest="stream_replay_dir",
        default=None,
        metavar="DIR",
        help="folder of stream_replay cassettes (default: cassettes/ beside each test file)",
    )
    group.addoption(
        "--stream-replay-drift",
        dest="stream_replay_drift",
        choices=["fail", "accept"],
        default=None,
        help="a request whose body differs from every recording: fail (default), or accept: answer it "
        "from the recording that matches but for the body, and report the drifted fields per test",
    )
    group.addoption(
        "--stream-replay-verify",
        dest="stream_replay_verify",
        action="store_true",
        default=False,
        help="after the run, send the requests of every cassette the run used again and report "
        "structural drift (the live API with CO_API_KEY, or --stream-replay-verify-url); drift fails the run",
    )
    group.addoption(
        "--stream-replay-verify-url",
        dest="stream_replay_verify_url",
        default=None,
        metavar="URL",
        help="the server --stream-replay-verify sends to (default: the recorded host; one recorded from a "
        "local server goes to https://api.cohere.com)",
    )
    parser.addini("stream_replay_mode", "default record mode of stream_replay tests (none)", default="")
    parser.addini("stream_replay_dir", "folder of stream_replay cassettes, relative to the ini file", default="")
    parser.addini("stream_replay_drift", "fail (default) or accept: see --stream-replay-drift", default="")
    parser.addini(
        "stream_replay_record_errors",
        "error answers recording keeps: deterministic (default: 400, 404, 422...; not 401, 403, 408, 429, "
        "5xx or serve's own 404), all, none",
        default="",
    )
    parser.addini(
        "stream_replay_redact_fields",
        "request body fields recording writes as \"<redacted>\", one path a line (documents[*].data.ssn)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "stream_replay_redact_patterns",
        "regular expressions whose matches recording writes as <redacted> (bodies, headers, every event), one a line",
        type="linelist",
        default=[],
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stream_replay(cassette=None, **options): replay Cohere streams from a stream_replay cassette "
        "(options: mode, dir, speed, fast, match_on, ignore_fields, ignore_patterns, drift, record_errors, "
        "redact_fields, redact_patterns, before_record, allow_repeats, report_unplayed, faults)",
    )
    try:
        config.stash[_RUN] = Run(config)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    global _last_collector
    _last_collector = None  # it would hold the run's whole collection tree
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    run = config.stash.get(_RUN, None)
    return run.header() if run is not None else None


@pytest.fixture
def stream_replay_config() -> dict[str, Any]:
    """Options for the stream_replay tests in scope; override it in a conftest or a module."""
    return {}


@pytest.fixture
def stream_replay_faults(request: pytest.FixtureRequest) -> Any:
    """The set of faults ``stream_replay.faults.parametrize`` gives this run of the test."""
    return getattr(request, "param", None)


@pytest.fixture
def stream_replay(request: pytest.FixtureRequest, stream_replay_config: Any) -> Iterator[StreamReplay]:
    """This test's cassette; ``stream_replay.client(cohere.ClientV2)`` gives a client for it."""
    run = request.config.stash[_RUN]
    test = run.begin(request.node, stream_replay_config)
    stash = request.node.stash
    stash[_TEST] = test
    try:
        yield test
    finally:
        # The item lives until the session ends: what it keeps of this test goes now,
        # or a suite holds every test's cassette (and the frames of every failure).
        del stash[_TEST]
        raised = stash.get(_RAISED, None)
        if _RAISED in stash:
            del stash[_RAISED]
        record, errors = test.finish()
        if record is not None:
            run.stats.add([record])
    if errors:
        raise errors[0]
    _report_swallowed(test, raised)


def _warn_marker_too_late(item: pytest.Item) -> None:
    """The test got the marker while it ran (``request.applymarker`` in its body): its
    fixtures were set up before, so nothing served it, and its requests went wherever
    the SDK sends them (the network, with a key). Said, not silently ignored."""
    from .errors import StreamReplayWarning

    item.warn(
        StreamReplayWarning(
            f"stream_replay: the stream_replay marker was added to {item.nodeid} while the test ran, after "
            "its fixtures were set up, so no cassette served it: its requests went where the SDK sends them.\n"
            "  How to fix: mark the test before it runs: a decorator, a module's pytestmark, a "
            "pytest_collection_modifyitems hook, or request.applymarker in a fixture it uses"
        )
    )


def _report_swallowed(test: StreamReplay, raised: BaseException | None) -> None:
    from .plugin.run import surfaced

    seen = {id(e) for e in surfaced(raised)}
    swallowed = [e for e in test.mismatches if id(e) not in seen]
    if not swallowed:
        return
    more = f"\n(and {len(swallowed) - 1} more)" if len(swallowed) > 1 else ""
    pytest.fail(
        "stream_replay: the code under test caught the error of a request the cassette could not answer, "
        "so this test ran a path that production would not take. The error was:\n"
        f"{swallowed[0]}{more}",
        pytrace=False,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class, name: str, obj: object) -> None:
    """A test function the ``stream_replay`` marker marks (itself, its class or its
    module) uses the ``stream_replay`` fixture from the start, as ``usefixtures`` says:
    the fixtures that one depends on are then in the test's closure when pytest
    parametrizes it, so a parametrized ``stream_replay_config`` (each test once per set
    of options) runs the test once per set, as it does for a test that asks for
    ``stream_replay`` by name. First, so that it is done before pytest makes the test;
    it makes nothing itself. Markers added later are served by the hooks below.
    """
    function = obj.__func__ if isinstance(obj, staticmethod) else obj
    if not isinstance(function, types.FunctionType) or _uses_fixture_when_marked(collector):
        return
    marks = function.__dict__.get("pytestmark")  # (None for most functions: the cheap test first)
    if (
        marks
        and any(mark.name == MARKER for mark in marks)
        and not _asks_for_fixture(marks)
        and collector.istestfunction(obj, name)
    ):
        # The function's own marker goes wherever the function is collected; so does this.
        pytest.mark.usefixtures("stream_replay")(function)


def _uses_fixture_when_marked(collector: pytest.Collector) -> bool:
    """Whether the module or class (or a node above it) carries the marker; if so, the
    collector node itself (never the module or class object, which an unmarked subclass
    or another module may share) gets ``usefixtures``, which its tests inherit. Looked up
    once per collector, not once per function in it (pytest asks about each of a
    collector's names in a row, so the last answer is kept)."""
    global _last_collector
    last = _last_collector
    if last is not None and last[0] is collector:
        return last[1]
    marked = collector.get_closest_marker(MARKER) is not None
    if marked and not _asks_for_fixture(collector.own_markers):
        collector.add_marker(pytest.mark.usefixtures("stream_replay"))
    _last_collector = (collector, marked)
    return marked


def _asks_for_fixture(marks: Iterable[pytest.Mark]) -> bool:
    """Whether these marks already hold ``usefixtures("stream_replay")``."""
    return any(mark.name == "usefixtures" and "stream_replay" in mark.args for mark in marks)


#: The plugin's fixtures a user (or ``faults.parametrize``) parametrizes to run a test once
#: per set of options or faults: their ids do not name the test's default cassette.
_OWN_PARAMETERS = frozenset({"stream_replay_config", "stream_replay_faults"})


@pytest.hookimpl(wrapper=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> Generator[None, Any, Any]:
    """Notes which of a test's ids come from parametrizing only the plugin's own fixtures
    (``stream_replay_config`` with ``params``, ``faults.parametrize``): ``test_x[sdk]`` and
    ``test_x[fast]`` replay one recording, ``test_x.yaml``, as ``test_x[disconnect@3]``
    and ``test_x[no-fault]`` do (``Run.node_name``). Around every implementation of the
    hook, so that pytest's own parametrization of fixtures is seen; for an unrelated test
    function it is a generator started and one look at its fixtures' names."""
    if _OWN_PARAMETERS.isdisjoint(metafunc.fixturenames):
        return (yield)
    parametrize = metafunc.parametrize
    positions: list[int] = []

    def noting(argnames: str | Sequence[str], *args: Any, **kwargs: Any) -> None:
        before = _ids_given(metafunc)
        parametrize(argnames, *args, **kwargs)
        named = [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)
        # Only a parametrization of the plugin's fixtures alone, which gave each test one id
        # (not a hidden one): with a user's argument in it, the id names the user's value too.
        if named and _OWN_PARAMETERS.issuperset(named) and _ids_given(metafunc) == before + 1:
            positions.append(before)

    metafunc.parametrize = noting  # type: ignore[method-assign]
    try:
        results = yield
    finally:
        del metafunc.parametrize
    run = metafunc.config.stash.get(_RUN, None)
    if positions and run is not None:
        run.own_ids[metafunc.definition.nodeid] = tuple(positions)
    return results


def _ids_given(metafunc: pytest.Metafunc) -> int:
    """How many ids each of the test's parametrizations has so far (pytest keeps them in
    private fields; where it does not, -1: nothing is noted, the default name keeps every id)."""
    calls = getattr(metafunc, "_calls", None)
    if not isinstance(calls, list):
        return -1
    if not calls:
        return 0
    ids = getattr(calls[0], "_idlist", None)
    return len(ids) if isinstance(ids, (list, tuple)) else -1


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A marked test gets the ``stream_replay`` fixture first, as if it asked for it
    before any other, so that a client another fixture builds is served too.

    Not an autouse fixture: that would cost every unrelated test a fixture setup (about
    60 us here); this costs a marker lookup per test, once, at collection. Last, so that
    markers other plugins add in this hook are seen; ``pytest_runtest_setup`` catches
    the ones added later.
    """
    for item in items:
        names = getattr(item, "fixturenames", None)
        if not isinstance(names, list) or (names and names[0] == "stream_replay"):
            continue
        if item.get_closest_marker(MARKER) is not None:
            if "stream_replay" in names:
                names.remove("stream_replay")
            names.insert(0, "stream_replay")


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A marker added after collection (a plugin's later hook, a fixture, ``item.add_marker``
    before the test runs) serves the test too: its fixture is set up now, after the
    test's other fixtures, and torn down with them."""
    if "stream_replay" in getattr(item, "funcargs", {}) or item.get_closest_marker("stream_replay") is None:
        return
    request = getattr(item, "_request", None)
    if request is not None:
        request.getfixturevalue("stream_replay")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    try:
        return (yield)
    except BaseException as exc:
        if _TEST in item.stash:  # a stream_replay test: its fixture's teardown reads it
            item.stash[_RAISED] = exc
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    marks = item.own_markers  # (empty for most tests: the cheap test first)
    if marks and call.when == "call" and _TEST not in item.stash and any(m.name == MARKER for m in marks):
        _warn_marker_too_late(item)
    excinfo = call.excinfo
    if excinfo is None or call.when != "call":
        return report
    test = item.stash.get(_TEST, None)
    unwanted = test.replayed_unwanted_errors() if test is not None else []
    if test is not None and unwanted:
        report.sections.append(
            (
                "stream-replay",
                "This test replayed error answers that a recording made now would leave out:\n"
                + "\n".join(f"  {line}" for line in unwanted)
                + "\nIf they were recorded by mistake (an expired key, a rate limit), record the cassette again:\n"
                + f"  {test.command('rewrite')}",
            )
        )
    from .errors import NoMatchError
    from .plugin.report import short_failure

    if isinstance(excinfo.value, NoMatchError):
        # The message says everything; the 40 frames of the SDK and httpx under the
        # test's own line say nothing.
        report.longrepr = short_failure(excinfo, item.config.rootpath)
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(_RUN, None)
    if run is None or hasattr(config, "workerinput"):
        return
    sections = [("verify against the API", run.verify_report), *run.stats.sections()]
    for title, found in sections:
        if found:
            terminalreporter.write_sep("-", f"stream-replay: {title}")
            for line in found:
                terminalreporter.write_line(line)
    for note in run.stats.notes():
        terminalreporter.write_line(f"stream-replay: {note}")
    summary = run.stats.summary()
    if summary is not None:
        terminalreporter.write_line(summary)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    run = config.stash.get(_RUN, None)
    if run is not None and hasattr(config, "workeroutput"):
        config.workeroutput[STATS_KEY] = list(run.stats.records)
        return
    if run is not None and config.getoption("stream_replay_verify"):
        drifted = run.verify(config.getoption("stream_replay_verify_url"))
        if drifted and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording: ``vcr_config`` ``{"serializer": "stream_replay"}`` stores Cohere
    streams one event per line (``stream_replay.vcr_serializer``); ``"match_on": [...,
    "stream_replay_body"]`` compares JSON bodies field by field (``stream_replay.vcr.matcher``)."""
    from . import vcr_serializer
    from .vcr.matcher import NAME, body_matcher

    vcr.register_serializer("stream_replay", vcr_serializer)
    vcr.register_matcher(NAME, body_matcher())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker shares the controller's claims folder."""
    run = node.config.stash.get(_RUN, None)
    if run is not None:
        node.workerinput["stream_replay_claims"] = str(run.claims().folder)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist: a worker's test records come home."""
    run = node.config.stash.get(_RUN, None)
    output = getattr(node, "workeroutput", None)
    if run is not None and output:
        from .plugin.stats import as_records

        run.stats.add(as_records(output.get(STATS_KEY)))
