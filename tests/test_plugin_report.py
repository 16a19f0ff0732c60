"""The pytest plugin's end-of-run reports: unplayed interactions with their test, the
marker's opt-out, a cassette shared by tests, the summary line, an unrelated run
printing nothing but the header, and ``--stream-replay-verify``'s drift report.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import re

import pytest

from stream_replay import load_cassette
from stream_replay.serve import ReplayServer
from tests.support.plugin_project import DEFAULT_HEADER, PICKLE, cassette, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")


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
