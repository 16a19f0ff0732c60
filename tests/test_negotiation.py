"""Content negotiation on /v2/chat streams: SSE for whoever accepts it, the same events as
JSON lines for a client that asks for JSON only (litellm's Cohere provider), in process
and through ``serve``; the recorded bytes unchanged whenever SSE is acceptable."""

from __future__ import annotations

import json

import httpx
import pytest

from stream_replay import load_cassette
from stream_replay.replay.negotiation import wants_json_lines
from stream_replay.replay.transport import ReplayTransport
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES

V2 = ["v2_text", "v2_tool_calls", "v2_citations"]


@pytest.mark.parametrize(
    ("accept", "json_lines"),
    [
        (None, False),
        ("*/*", False),
        ("text/event-stream", False),
        ("application/json", True),
        ("application/stream+json", True),
        ("application/json, text/event-stream", False),
        ("application/json;q=0.9, */*;q=0.1", False),
        ("application/json, text/event-stream;q=0", True),
    ],
)
def test_which_accept_headers_ask_for_json_lines(accept: str | None, json_lines: bool) -> None:
    assert wants_json_lines(accept) is json_lines


def _post(send: httpx.Client, url: str, body: bytes, accept: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if accept is not None:
        headers["accept"] = accept
    return send.post(url, content=body, headers=headers)


@pytest.mark.parametrize("name", V2)
@pytest.mark.parametrize("over", ["in-process", "serve"])
def test_a_json_only_client_gets_each_recorded_event_as_one_json_line(name: str, over: str) -> None:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    interaction = next(i for i in cassette.interactions if i.response.stream is not None)
    stream = interaction.response.stream
    assert stream is not None and stream.format == "sse"
    body = interaction.request.body.to_bytes()
    recorded = [e.data for e in stream.events if e.data is not None]

    def fetch(accept: str | None) -> httpx.Response:
        if over == "in-process":
            with httpx.Client(transport=ReplayTransport(cassette, allow_repeats=True)) as http:
                return _post(http, "https://api.cohere.com/v2/chat", body, accept)
        with ReplayServer([cassette], speed=0) as server, httpx.Client(trust_env=False, timeout=30) as http:
            return _post(http, server.url + "/v2/chat", body, accept)

    answer = fetch("application/json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/stream+json"
    lines = answer.text.split("\n")
    assert lines[-1] == ""  # every line ends with \n
    assert lines[:-1] == recorded  # each event's JSON exactly as recorded; no [DONE]
    assert all(isinstance(json.loads(line), dict) for line in lines[:-1])
    for accept in (None, "*/*", "text/event-stream"):
        unchanged = fetch(accept)
        assert unchanged.headers["content-type"] == "text/event-stream"
        assert unchanged.content == stream.body()


def test_v1_streams_are_json_lines_whatever_is_asked() -> None:
    cassette = load_cassette(CASSETTES / "v1_text.yaml")
    interaction = cassette.interactions[0]
    with httpx.Client(transport=ReplayTransport(cassette, allow_repeats=True)) as http:
        for accept in ("application/json", "text/event-stream", None):
            answer = _post(http, "https://api.cohere.com/v1/chat", interaction.request.body.to_bytes(), accept)
            assert answer.content == interaction.response.body_bytes()
