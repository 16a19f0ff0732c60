"""A recording never poisons a cassette (issue 13): an expired key's 401 is not written
as the answer, the run says what it left out and why; an error answer recorded on
purpose is named with its test; a test that fails on a recorded 401 says how to record
again.

pytester runs of a user's project (``tests/support/plugin_project.py``) against a real
HTTP server on 127.0.0.1 (``tests/support/wire_server.py``) answering as the API would."""

from __future__ import annotations

import pytest

from stream_replay import Cassette, load_cassette, save_cassette
from stream_replay.cassette import Body, Interaction, Request, Response
from tests.support.corpus import CASSETTES
from tests.support.plugin_project import KEY, PICKLE, cassette, lines, write_project
from tests.support.wire_server import Reply, WireServer


@pytest.fixture
def expired_key(monkeypatch: pytest.MonkeyPatch, wire_server: WireServer) -> WireServer:
    """The API, answering 401 as it does to an expired key."""
    monkeypatch.setenv("UPSTREAM", wire_server.url)
    monkeypatch.setenv("CO_API_KEY", KEY)
    return wire_server


def test_an_expired_key_is_not_recorded_as_the_answer(pytester: pytest.Pytester, expired_key: WireServer) -> None:
    expired_key.queue(Reply.json(401, {"message": "invalid api token"}))
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--stream-replay-mode=once")
    result.assert_outcomes(failed=1)
    out = lines(result)
    assert any("UnauthorizedError" in line for line in out)
    assert not cassette(pytester).exists()
    assert any("stream-replay: answers not recorded (record_errors)" in line for line in out)
    assert any(
        line.startswith("tests/test_chat.py::test_pickle: not recorded: POST ")
        and "-> HTTP 401 is a credential failure (an expired or wrong key?)" in line
        and line.endswith("pass record_errors='all'")
        for line in out
    )
    assert "stream-replay: 0 cassettes replayed, 0 recorded, 0 unplayed interactions" in out


def test_a_request_error_is_recorded_and_named_with_its_test(
    pytester: pytest.Pytester, expired_key: WireServer
) -> None:
    expired_key.queue(Reply.json(422, {"message": "invalid request: messages must not be empty"}))
    write_project(
        pytester,
        """
import cohere

@pytest.mark.stream_replay
def test_pickle():
    with pytest.raises(cohere.UnprocessableEntityError):
        answer(REQUESTS["pickle"])
""",
    )
    result = pytester.runpytest("--stream-replay-mode=once")
    result.assert_outcomes(passed=1)
    out = lines(result)
    assert load_cassette(cassette(pytester)).interactions[0].response.status == 422
    assert any("stream-replay: error answers recorded (record_errors)" in line for line in out)
    assert any(
        line.startswith("tests/test_chat.py::test_pickle: ")
        and "tests/cassettes/test_chat/test_pickle.yaml: interactions[0] POST " in line
        and line.endswith(" -> HTTP 422")
        for line in out
    )
    assert "stream-replay: 0 cassettes replayed, 1 recorded (1 interaction), 0 unplayed interactions" in out


def test_record_errors_all_in_the_ini_keeps_the_401(pytester: pytest.Pytester, expired_key: WireServer) -> None:
    expired_key.queue(Reply.json(401, {"message": "invalid api token"}))
    write_project(pytester, PICKLE, ini="stream_replay_record_errors = all\n")
    pytester.runpytest("--stream-replay-mode=once").assert_outcomes(failed=1)
    assert load_cassette(cassette(pytester)).interactions[0].response.status == 401


def test_a_test_failing_on_a_recorded_401_says_how_to_record_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    write_project(pytester, PICKLE)
    recorded = load_cassette(CASSETTES / "v2_text.yaml")  # the request as recorded
    request = recorded.interactions[0].request
    poisoned = Interaction(
        Request(request.method, request.url, dict(request.headers), request.body),
        Response(401, {"content-type": "application/json"}, Body.of_text('{"message":"invalid api token"}')),
    )
    path = cassette(pytester)
    path.parent.mkdir(parents=True)
    save_cassette(Cassette((poisoned,), recorded.meta), path)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = lines(result)
    assert "This test replayed error answers that a recording made now would leave out:" in out
    assert "  tests/cassettes/test_chat/test_pickle.yaml: interactions[0] is a recorded HTTP 401" in out
    assert "  pytest tests/test_chat.py::test_pickle --stream-replay-mode=rewrite" in out
