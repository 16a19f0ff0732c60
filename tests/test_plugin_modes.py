"""The pytest plugin's record modes and where cassettes go: ``none`` replays offline;
``once``, ``new_episodes``, ``all`` and ``rewrite`` record through a real local server
(``stream-replay serve``'s ``ReplayServer``, streaming recorded bytes with real delays)
standing in for the API; a cassette shared by tests; ``--stream-replay-dir`` placing
cassettes by test path; parametrize ids made into safe, distinct cassette names.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import re

import pytest

from tests.support.plugin_project import (
    KEY,
    PICKLE,
    Upstream,
    cassette,
    lines,
    place,
    requests_in,
    write_project,
)

pytestmark = pytest.mark.usefixtures("offline")


def test_none_replays_a_recorded_cassette_offline(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_once_records_a_missing_cassette_then_replays_it_without_the_api(
    pytester: pytest.Pytester, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(pytester, PICKLE)
    first = pytester.runpytest("--stream-replay-mode=once")
    first.assert_outcomes(passed=1)
    assert "stream-replay: 0 cassettes replayed, 1 recorded (1 interaction), 0 unplayed interactions" in lines(first)
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
    assert "stream-replay: 1 cassette replayed, 1 recorded (1 interaction), 0 unplayed interactions" in lines(result)
    assert upstream.hits == 1
    assert requests_in(cassette(pytester)) == ["pickle", "citations"]


def test_all_records_every_request_again_and_replays_nothing(pytester: pytest.Pytester, upstream: Upstream) -> None:
    place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--stream-replay-mode=all")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 0 cassettes replayed, 1 recorded (1 interaction), 0 unplayed interactions" in lines(result)
    assert upstream.hits == 1
    assert requests_in(cassette(pytester)) == ["pickle", "pickle"]


def test_rewrite_deletes_the_cassette_then_records_it(pytester: pytest.Pytester, upstream: Upstream) -> None:
    place(cassette(pytester), "citations2", "citations")  # stale: the code asks something else now
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--stream-replay-mode=rewrite")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 0 cassettes replayed, 1 recorded (1 interaction), 0 unplayed interactions" in lines(result)
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
    assert "stream-replay: 1 cassette replayed, 1 recorded (2 interactions), 0 unplayed interactions" in lines(result)


def test_the_cassette_dir_option_places_cassettes_by_test_path(pytester: pytest.Pytester, upstream: Upstream) -> None:
    write_project(pytester, PICKLE)
    pytester.runpytest("--stream-replay-mode=once", "--stream-replay-dir=recorded").assert_outcomes(passed=1)
    assert requests_in(pytester.path / "recorded" / "tests" / "test_chat" / "test_pickle.yaml") == ["pickle"]
    assert not cassette(pytester).exists()


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


BOTH_PATHS = """
@pytest.fixture(params=["sdk", "fast"])
def stream_replay_config(request):
    return {"fast": request.param == "fast"}
"""


def test_a_test_run_once_per_set_of_options_records_one_cassette_and_replays_it_on_each(
    pytester: pytest.Pytester, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ids a parametrized stream_replay_config gives (sdk, fast) are not in the default
    # cassette name; a user's own parameters still are.
    write_project(
        pytester,
        BOTH_PATHS
        + PICKLE
        + """

@pytest.mark.stream_replay
@pytest.mark.parametrize("which", ["pickle", "citations"])
def test_each(which):
    assert answer(REQUESTS[which]) == ANSWERS[which]
""",
    )
    first = pytester.runpytest("--stream-replay-mode=once", "-p", "no:randomly")
    first.assert_outcomes(passed=6)
    folder = cassette(pytester).parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "test_each[citations].yaml",
        "test_each[pickle].yaml",
        "test_pickle.yaml",
    ]
    assert upstream.hits == 3  # each request sent once; its other run replayed the recording
    assert requests_in(folder / "test_each[citations].yaml") == ["citations"]

    monkeypatch.delenv("UPSTREAM")
    monkeypatch.delenv("CO_API_KEY")
    again = pytester.runpytest("-v")
    again.assert_outcomes(passed=6)
    assert "stream-replay: 3 cassettes replayed, 0 recorded, 0 unplayed interactions" in lines(again)
    assert any("::test_each[fast-citations] PASSED" in line for line in lines(again))


def test_each_set_of_faults_replays_the_test_s_one_cassette(pytester: pytest.Pytester) -> None:
    place(cassette(pytester, "test_cut"), "pickle")
    write_project(
        pytester,
        """
from stream_replay import faults


@faults.parametrize([faults.disconnect(after=3)], [])
def test_cut(stream_replay):
    shown = answer_or_apologise(REQUESTS["pickle"])
    expected = "Sorry, something went wrong." if stream_replay.settings["faults"] else ANSWERS["pickle"]
    assert shown == expected
""",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    assert any("::test_cut[disconnect@3] PASSED" in line for line in lines(result))


def test_a_cassette_named_with_the_plugins_ids_before_still_serves_its_test(pytester: pytest.Pytester) -> None:
    # Cassettes recorded when the default name kept every id: the old file serves its test
    # while no file has the new name. A parametrization that also names a user's argument
    # keeps its id.
    place(cassette(pytester, "test_pickle[sdk]"), "pickle")
    write_project(
        pytester,
        BOTH_PATHS
        + PICKLE
        + """

@pytest.mark.stream_replay
@pytest.mark.parametrize("stream_replay_config, which", [({}, "pickle")], indirect=["stream_replay_config"])
def test_mixed(which):
    answer(REQUESTS[which])
""",
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    assert any("::test_pickle[sdk] PASSED" in line for line in lines(result))
    missing = set(re.findall(r"no cassette at (\S+\.yaml)", result.stdout.str()))
    assert missing == {
        "tests/cassettes/test_chat/test_pickle.yaml",
        "tests/cassettes/test_chat/test_mixed[stream_replay_config0-pickle].yaml",
    }
    # The run says once which file serves under its old name, and what to rename it to.
    notes = [line for line in lines(result) if "under the name it had before" in line]
    assert len(notes) == 1
    assert notes[0].startswith("stream-replay: tests/cassettes/test_chat/test_pickle[sdk].yaml serves its test")
    assert "rename it to tests/cassettes/test_chat/test_pickle.yaml so that every run" in notes[0]


def test_a_cassette_under_its_old_name_is_said_to_be_unread_once_the_new_name_serves(
    pytester: pytest.Pytester,
) -> None:
    # After one of test_pickle[sdk].yaml and test_pickle[fast].yaml was renamed to
    # test_pickle.yaml, the other is read by no run: the run says so, and leaves it be.
    place(cassette(pytester, "test_pickle"), "pickle")
    stale = place(cassette(pytester, "test_pickle[fast]"), "citations")  # would miss, were it read
    write_project(pytester, BOTH_PATHS + PICKLE)
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)
    notes = [line for line in lines(result) if "is no longer read" in line]
    assert notes == [
        "stream-replay: tests/cassettes/test_chat/test_pickle[fast].yaml is no longer read: "
        "tests/cassettes/test_chat/test_pickle.yaml serves every run of its test, since the ids of a "
        "parametrized stream_replay_config or faults.parametrize left default cassette names; delete "
        "tests/cassettes/test_chat/test_pickle[fast].yaml once tests/cassettes/test_chat/test_pickle.yaml "
        "holds what the test needs"
    ]
    assert stale.exists()
    assert not any("under the name it had before" in line for line in lines(result))
