"""The pytest plugin, as users meet it: pytester runs of a user's project whose
application code builds its own ``cohere.ClientV2()``, against bundled real
cassettes, with a real local server (``stream-replay serve``'s ``ReplayServer``,
streaming real recorded bytes with real delays) standing in for the API when a mode
records. Every assertion is on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import cohere
import pytest

from stream_replay import load_cassette
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import place, requests_in, write_project

KEY = "sk-plugin-canary-0123456789abcdef0123456789"
DEFAULT_HEADER = "stream-replay: mode=none (default), dir=cassettes/ beside each test file (default)"

PICKLE = """
@pytest.mark.stream_replay
def test_pickle():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
"""


class Upstream:
    """The stand-in for the API: counts the requests that reach it."""

    def __init__(self, server: ReplayServer, log: io.StringIO) -> None:
        self.server = server
        self.log = log

    @property
    def hits(self) -> int:
        return len([line for line in self.log.getvalue().splitlines() if line.strip()])


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    log = io.StringIO()
    sources = [CASSETTES / "v2_text.yaml", CASSETTES / "v2_citations.yaml"]
    with ReplayServer(sources, speed=20.0, log=log) as server:
        monkeypatch.setenv("UPSTREAM", server.url)
        monkeypatch.setenv("CO_API_KEY", KEY)
        yield Upstream(server, log)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and no upstream unless a test asks for ``upstream``: replay needs neither."""
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("UPSTREAM", raising=False)


def cassette(pytester: pytest.Pytester, name: str = "test_pickle") -> Path:
    return pytester.path / "tests" / "cassettes" / "test_chat" / f"{name}.yaml"


def lines(result: pytest.RunResult) -> list[str]:
    return [line.rstrip() for line in result.stdout.lines]


# --------------------------------------------------------------------- config


def test_the_header_says_the_defaults(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--collect-only")
    assert DEFAULT_HEADER in lines(result)


def test_the_header_names_where_each_setting_came_from(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE, ini="stream_replay_mode = new_episodes\nstream_replay_dir = recorded\n")
    result = pytester.runpytest("--collect-only")
    assert (
        "stream-replay: mode=new_episodes (stream_replay_mode in tox.ini), dir=recorded (stream_replay_dir in tox.ini)"
        in lines(result)
    )
    result = pytester.runpytest("--collect-only", "--stream-replay-mode=once", "--stream-replay-dir=elsewhere")
    assert "stream-replay: mode=once (--stream-replay-mode), dir=elsewhere (--stream-replay-dir)" in lines(result)


@pytest.mark.parametrize(
    ("ini", "fixture", "marker", "cli", "expected"),
    [
        (None, None, None, None, ("none", "default")),
        ("all", None, None, None, ("all", "stream_replay_mode in tox.ini")),
        ("all", "new_episodes", None, None, ("new_episodes", "stream_replay_config fixture")),
        ("all", "new_episodes", "once", None, ("once", "stream_replay marker of tests/test_chat.py::test_mode")),
        ("all", "new_episodes", "once", "rewrite", ("rewrite", "--stream-replay-mode")),
        (None, None, "once", "none", ("none", "--stream-replay-mode")),
    ],
)
def test_precedence_is_ini_then_fixture_then_marker_then_command_line(
    pytester: pytest.Pytester,
    ini: str | None,
    fixture: str | None,
    marker: str | None,
    cli: str | None,
    expected: tuple[str, str],
) -> None:
    marker_args = f"mode={marker!r}" if marker else ""
    fixture_code = (
        f"@pytest.fixture\ndef stream_replay_config():\n    return {{'mode': {fixture!r}, 'speed': 2}}\n"
        if fixture
        else ""
    )
    write_project(
        pytester,
        f"""
{fixture_code}
@pytest.mark.stream_replay({marker_args})
def test_mode(stream_replay):
    assert (stream_replay.mode, stream_replay.settings.source("mode")) == {expected!r}
""",
        ini=f"stream_replay_mode = {ini}\n" if ini else "",
    )
    result = pytester.runpytest(*([f"--stream-replay-mode={cli}"] if cli else []))
    result.assert_outcomes(passed=1)


def test_a_closer_marker_overrides_a_module_marker_key_by_key(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
pytestmark = pytest.mark.stream_replay(mode="once", speed=3)

@pytest.mark.stream_replay(speed=5)
def test_speed(stream_replay):
    assert stream_replay.mode == "once"
    assert stream_replay.settings["speed"] == 5.0
""",
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_bad_ini_mode_is_a_usage_error_naming_the_file(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE, ini="stream_replay_mode = onse\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: stream_replay: stream_replay_mode in tox.ini: mode='onse' is not a record mode. "
        "Use one of: none, once, new_episodes, all, rewrite." in result.stderr.lines
    )


def test_an_unknown_marker_option_is_named_with_the_test(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
@pytest.mark.stream_replay(spead=2)
def test_typo():
    pass
""",
    )
    result = pytester.runpytest()
    assert result.ret != 0
    assert any(
        "stream_replay: stream_replay marker of tests/test_chat.py::test_typo: unknown option 'spead'." in line
        for line in result.stdout.lines + result.stderr.lines
    )


# --------------------------------------------------------------------- mode none


def test_none_replays_a_recorded_cassette_offline(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_none_without_a_cassette_fails_at_once_with_the_record_command(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = lines(result)
    assert (
        "MissingCassetteError: stream_replay: no cassette at tests/cassettes/test_chat/test_pickle.yaml, "
        "and mode 'none' only replays, so POST /v2/chat \"I'm Pickle Rick\" has no recorded answer." in out
    )
    assert "  How to fix: record it (with CO_API_KEY set; CO_API_URL for a local server):" in out
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=once" in out
    # where the request was made, in the user's code; not the SDK's and httpx's frames
    assert "The request was made at:" in out
    source = (pytester.path / "tests" / "test_chat.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "assert answer(" in text)
    assert f"  tests/test_chat.py:{line}: in test_pickle" in out
    assert not any("site-packages" in line for line in out)
    assert not cassette(pytester).exists()


def test_an_unrecorded_request_fails_with_the_field_diff_and_the_commands(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    answer(REQUESTS["citations"])
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = lines(result)
    assert (
        "NoMatchError: stream_replay: no recorded interaction in tests/cassettes/test_chat/test_pickle.yaml "
        "matches POST /v2/chat" in out
    )
    assert "  Closest recorded: interactions[0] POST /v2/chat (differs in: body)" in out
    assert "  body, recorded -> this request:" in out
    assert any(re.fullmatch(r"    messages\[0\]\.content: .*", line) for line in out)
    assert "  To record this request into the cassette, keeping what it holds:" in out
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=new_episodes" in out
    assert "  To record the test's cassette afresh:" in out
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=rewrite" in out


def test_the_record_command_is_relative_to_where_pytest_runs_and_keeps_the_dir(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE)
    (pytester.path / "elsewhere").mkdir()
    result = pytester.runpytest("--stream-replay-dir=elsewhere")
    out = lines(result)
    assert (
        "MissingCassetteError: stream_replay: no cassette at elsewhere/tests/test_chat/test_pickle.yaml, "
        "and mode 'none' only replays, so POST /v2/chat \"I'm Pickle Rick\" has no recorded answer." in out
    )
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=once --stream-replay-dir=elsewhere" in out


def test_a_swallowed_mismatch_is_reported_again_at_teardown(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    assert answer_or_apologise(REQUESTS["citations"]) == "Sorry, something went wrong."
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    out = lines(result)
    assert "ERROR at teardown of test_pickle" in " ".join(out)
    assert (
        "stream_replay: the code under test caught the error of a request the cassette could not answer, so "
        "this test ran a path that production would not take. The error was:" in out
    )
    assert (
        "stream_replay: no recorded interaction in tests/cassettes/test_chat/test_pickle.yaml matches POST /v2/chat"
        in out
    )


def test_a_mismatch_the_test_itself_fails_on_is_not_reported_twice(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    with pytest.raises(Exception) as caught:
        answer(REQUESTS["citations"])
    raise RuntimeError("wrapped") from caught.value
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "ERROR at teardown" not in result.stdout.str()


# --------------------------------------------------------------------- recording modes


def test_once_records_a_missing_cassette_then_replays_it_without_the_api(
    pytester: pytest.Pytester, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(pytester, PICKLE)
    first = pytester.runpytest("--stream-replay-mode=once")
    first.assert_outcomes(passed=1)
    assert "stream-replay: 0 cassettes replayed, 1 recorded, 0 unplayed interactions" in lines(first)
    assert upstream.hits == 1
    assert requests_in(cassette(pytester)) == ["pickle"]
    assert KEY not in cassette(pytester).read_text()

    again = pytester.runpytest("--stream-replay-mode=once")  # exists now: replayed, not sent
    again.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(again)
    assert upstream.hits == 1

    monkeypatch.delenv("UPSTREAM")
    monkeypatch.delenv("CO_API_KEY")
    offline = pytester.runpytest()
    offline.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(offline)
    assert upstream.hits == 1


def test_new_episodes_replays_what_matches_and_records_the_rest(pytester: pytest.Pytester, upstream: Upstream) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert answer(REQUESTS["citations"]) == ANSWERS["citations"]
""",
    )
    result = pytester.runpytest("--stream-replay-mode=new_episodes")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 1 recorded, 0 unplayed interactions" in lines(result)
    assert upstream.hits == 1
    assert requests_in(cassette(pytester)) == ["pickle", "citations"]


def test_all_records_every_request_again_and_replays_nothing(pytester: pytest.Pytester, upstream: Upstream) -> None:
    place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--stream-replay-mode=all")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 0 cassettes replayed, 1 recorded, 0 unplayed interactions" in lines(result)
    assert upstream.hits == 1
    assert requests_in(cassette(pytester)) == ["pickle", "pickle"]


def test_rewrite_deletes_the_cassette_then_records_it(pytester: pytest.Pytester, upstream: Upstream) -> None:
    place(cassette(pytester), "citations2", "citations")  # stale: the code asks something else now
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--stream-replay-mode=rewrite")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 0 cassettes replayed, 1 recorded, 0 unplayed interactions" in lines(result)
    assert requests_in(cassette(pytester)) == ["pickle"]


def test_rewrite_of_a_shared_cassette_keeps_what_every_test_of_the_run_records(
    pytester: pytest.Pytester, upstream: Upstream
) -> None:
    shared = place(pytester.path / "tests" / "cassettes" / "shared.yaml", "citations2")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay("shared")
def test_a():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]

@pytest.mark.stream_replay("shared")
def test_b():
    assert answer(REQUESTS["citations"]) == ANSWERS["citations"]

@pytest.mark.stream_replay("shared")
def test_c():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
""",
    )
    result = pytester.runpytest("--stream-replay-mode=rewrite")
    result.assert_outcomes(passed=3)
    # test_c's request was recorded by test_a in this run: replayed, not recorded twice
    assert requests_in(shared) == ["pickle", "citations"]
    assert upstream.hits == 2
    assert "stream-replay: 1 cassette replayed, 1 recorded, 0 unplayed interactions" in lines(result)


def test_the_cassette_dir_option_places_cassettes_by_test_path(pytester: pytest.Pytester, upstream: Upstream) -> None:
    write_project(pytester, PICKLE)
    pytester.runpytest("--stream-replay-mode=once", "--stream-replay-dir=recorded").assert_outcomes(passed=1)
    assert requests_in(pytester.path / "recorded" / "tests" / "test_chat" / "test_pickle.yaml") == ["pickle"]
    assert not cassette(pytester).exists()


# --------------------------------------------------------------------- reports


def test_unplayed_interactions_are_reported_with_their_test(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle", "citations")
    write_project(pytester, PICKLE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    out = lines(result)
    assert any(re.fullmatch(r"-+ stream-replay: unplayed interactions -+", line) for line in out)
    assert any(
        line.startswith("tests/cassettes/test_chat/test_pickle.yaml: interactions[1] POST /v2/chat ")
        and line.endswith(": never requested by tests/test_chat.py::test_pickle")
        for line in out
    )
    assert "stream-replay: 1 cassette replayed, 0 recorded, 1 unplayed interaction" in out


def test_the_unplayed_report_can_be_turned_off_in_the_marker(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle", "citations")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay(report_unplayed=False)
def test_pickle():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
""",
    )
    result = pytester.runpytest()
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)
    assert "unplayed interactions -" not in result.stdout.str()


def test_a_cassette_shared_by_tests_is_unplayed_only_if_no_test_requested_it(pytester: pytest.Pytester) -> None:
    place(pytester.path / "tests" / "cassettes" / "shared.yaml", "pickle", "citations")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay("shared")
def test_a():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]

@pytest.mark.stream_replay("shared")
def test_b():
    assert answer(REQUESTS["citations"]) == ANSWERS["citations"]
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_an_unrelated_run_prints_nothing_of_stream_replay_but_the_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert [line for line in lines(result) if line.startswith("stream-replay")] == [DEFAULT_HEADER]


# --------------------------------------------------------------------- clients


def test_a_client_built_before_the_test_is_served_too_and_the_patch_is_undone(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
import cohere
import httpx

# Built at import, with a base URL nothing listens on: only the cassette can answer.
PREBUILT = cohere.ClientV2(api_key="prebuilt-key-0123456789", base_url="http://127.0.0.1:9")

@pytest.mark.stream_replay
def test_pickle():
    events = list(PREBUILT.chat_stream(**REQUESTS["pickle"]))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == ANSWERS["pickle"]

def test_after():
    assert not hasattr(cohere.ClientV2.__init__, "__wrapped__")
    with pytest.raises(httpx.ConnectError):
        list(PREBUILT.chat_stream(**REQUESTS["pickle"]))
""",
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("name", ["ClientV2", "AsyncClientV2", "Client", "AsyncClient"])
def test_the_fixture_gives_each_client_class(pytester: pytest.Pytester, name: str) -> None:
    api = "v2" if name.endswith("V2") else "v1"
    source = "v2_text" if api == "v2" else "v1_text"
    target = cassette(pytester, "test_client")
    target.parent.mkdir(parents=True)
    target.write_text((CASSETTES / f"{source}.yaml").read_text())
    from stream_replay import load_cassette

    request = chat_kwargs(load_cassette(target))
    final = "message-end" if api == "v2" else "stream-end"
    kind = "type" if api == "v2" else "event_type"
    consume = (
        "[e async for e in co.chat_stream(**REQUEST)]"
        if name.startswith("Async")
        else "list(co.chat_stream(**REQUEST))"
    )
    write_project(
        pytester,
        f"""
import cohere
REQUEST = {request!r}

@pytest.mark.stream_replay
{"async " if name.startswith("Async") else ""}def test_client(stream_replay):
    co = stream_replay.client(cohere.{name})
    assert type(co) is cohere.{name}
    events = {consume}
    assert events[-1].{kind} == {final!r}
""",
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_fast_path_gives_the_same_answer(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
from app import client

@pytest.fixture
def stream_replay_config():
    return {"fast": True}

@pytest.mark.stream_replay
def test_pickle(monkeypatch):
    import stream_replay.replay.fast as fast

    built = []
    build = fast._build
    monkeypatch.setattr(fast, "_build", lambda cls, data: built.append(cls) or build(cls, data))
    co = client()
    events = list(co.chat_stream(**REQUESTS["pickle"]))
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == ANSWERS["pickle"]
    assert len(built) == len(events) > 0  # every event came from the fast path
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_parametrize_ids_are_sanitized_and_never_collide(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
@pytest.mark.parametrize("who", ["a b", "a_b", "x/y"])
def test_p(who):
    answer(REQUESTS["pickle"])
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=3)
    found = sorted(set(re.findall(r"no cassette at (\S+\.yaml)", result.stdout.str())))
    assert len(found) == 3
    assert "tests/cassettes/test_chat/test_p[a_b].yaml" in found
    assert all(re.fullmatch(r"tests/cassettes/test_chat/test_p\[[A-Za-z0-9_.,=+-]+\]\.yaml", f) for f in found)


# --------------------------------------------------------------------- async


def test_async_tests_under_pytest_asyncio_replay_and_record(pytester: pytest.Pytester, upstream: Upstream) -> None:
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
async def test_pickle():
    assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
""",
    )
    pytester.runpytest("--stream-replay-mode=once").assert_outcomes(passed=1)
    assert upstream.hits == 1
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)
    assert upstream.hits == 1


def test_async_tests_under_anyio_replay(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
@pytest.mark.stream_replay
async def test_pickle():
    assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
""",
    )
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


# --------------------------------------------------------------------- pytest-xdist

XDIST_SUITE = """
@pytest.mark.stream_replay
def test_a():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]

@pytest.mark.stream_replay
def test_b():
    assert answer(REQUESTS["citations"]) == ANSWERS["citations"]

@pytest.mark.stream_replay("shared")
def test_c():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]

@pytest.mark.stream_replay("shared")
def test_d():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
"""


def test_every_mode_works_under_xdist_with_a_shared_cassette(pytester: pytest.Pytester, upstream: Upstream) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extras: pip install '.[test]'")
    write_project(pytester, XDIST_SUITE)
    folder = pytester.path / "tests" / "cassettes"
    shared = folder / "shared.yaml"

    def run(*args: str) -> list[str]:
        result = pytester.runpytest_subprocess("-n", "2", *args)
        result.assert_outcomes(passed=4)
        return lines(result)

    out = run("--stream-replay-mode=once")
    # the shared cassette is recorded once, by whichever of test_c/test_d came first;
    # the other waited and replayed it
    assert "stream-replay: 1 cassette replayed, 3 recorded, 0 unplayed interactions" in out
    assert requests_in(shared) == ["pickle"]
    assert upstream.hits == 3

    out = run()
    assert "stream-replay: 3 cassettes replayed, 0 recorded, 0 unplayed interactions" in out
    out = run("--stream-replay-mode=new_episodes")
    assert "stream-replay: 3 cassettes replayed, 0 recorded, 0 unplayed interactions" in out
    assert upstream.hits == 3

    out = run("--stream-replay-mode=all")
    assert "stream-replay: 0 cassettes replayed, 3 recorded, 0 unplayed interactions" in out
    assert requests_in(shared) == ["pickle", "pickle", "pickle"]
    assert upstream.hits == 7

    out = run("--stream-replay-mode=rewrite")
    assert "stream-replay: 1 cassette replayed, 3 recorded, 0 unplayed interactions" in out
    assert requests_in(shared) == ["pickle"]
    assert requests_in(folder / "test_chat" / "test_a.yaml") == ["pickle"]
    assert upstream.hits == 10


def test_the_sdk_is_left_as_it_was(pytester: pytest.Pytester) -> None:
    before = {cls: cls.__dict__.get("__init__") for cls in (cohere.Client, cohere.ClientV2)}
    place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    pytester.runpytest().assert_outcomes(passed=1)
    assert {cls: cls.__dict__.get("__init__") for cls in (cohere.Client, cohere.ClientV2)} == before


def test_replay_client_inside_a_marked_test_keeps_its_own_cassette(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    other = place(pytester.path / "other.yaml", "citations")
    write_project(
        pytester,
        f"""
import cohere
from stream_replay import replay_client

@pytest.mark.stream_replay
def test_pickle():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]  # from the test's cassette
    co = replay_client({str(other)!r}, cohere.ClientV2)
    events = list(co.chat_stream(**REQUESTS["citations"]))
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == ANSWERS["citations"]
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_faults_in_the_marker_and_parametrized_with_readable_ids(pytester: pytest.Pytester) -> None:
    place(pytester.path / "tests" / "cassettes" / "shared.yaml", "pickle")
    write_project(
        pytester,
        """
import cohere
import httpx
from stream_replay import faults

@faults.parametrize([faults.disconnect(after=3)], faults.http_error(429), [])
def test_faulty(request, faults):
    request.applymarker(pytest.mark.stream_replay("shared", faults=faults))
    request.getfixturevalue("stream_replay")
    if not faults:
        assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    elif faults[0].label == "http_429":
        with pytest.raises(cohere.TooManyRequestsError):
            answer(REQUESTS["pickle"])
    else:
        with pytest.raises(httpx.RemoteProtocolError):
            answer(REQUESTS["pickle"])
""",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    out = lines(result)
    for ident in ("disconnect@3", "http_429", "no-fault"):
        assert any(f"test_faulty[{ident}] PASSED" in line for line in out), ident


def test_verify_after_the_run_reports_drift_and_fails_the_run(pytester: pytest.Pytester) -> None:
    import json as json_module

    from stream_replay.cassette import Interaction, Response, Stream
    from stream_replay.wire import WireEvent

    recorded = place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    original = load_cassette(recorded)
    with ReplayServer([original], speed=None) as server:
        result = pytester.runpytest("--stream-replay-verify", f"--stream-replay-verify-url={server.url}")
    assert result.ret == 0
    assert f"{recorded}: no drift" in lines(result)

    interaction = original.interactions[0]
    stream = interaction.response.stream
    assert stream is not None
    events = []
    for event in stream.events:
        if event.name == "message-end" and event.data:
            data = json_module.loads(event.data)
            data["delta"]["safety"] = "checked"
            event = WireEvent(event.name, json_module.dumps(data), None, None)
        events.append(event)
    changed = Response(200, interaction.response.headers, stream=Stream(stream.format, tuple(events)))
    variant = type(original)((Interaction(interaction.request, changed),), original.meta)
    with ReplayServer([variant], speed=None) as server:
        result = pytester.runpytest("--stream-replay-verify", f"--stream-replay-verify-url={server.url}")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert f"{recorded}: interactions[0]: message-end: fields added: delta.safety" in lines(result)
    assert "1 request(s) in 1 cassette(s): 1 cassette(s) drifted" in lines(result)
