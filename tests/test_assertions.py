"""assert_final_response and assert_matches_cassette on real replays: they pass when the
final response is what was recorded, and fail naming each differing field."""

from __future__ import annotations

import json
from typing import Any

import cohere
import pytest

from stream_replay import collect, load_cassette, replay_client
from stream_replay.analysis.assertions import FinalResponseMismatch, assert_final_response, assert_matches_cassette
from stream_replay.cassette import Cassette
from tests.support.corpus import CASSETTES, chat_kwargs


def _replay(name: str, index: int = 0) -> Any:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    interaction = cassette.interactions[index]
    stream = interaction.response.stream
    assert stream is not None
    client = cohere.ClientV2 if stream.format == "sse" else cohere.Client
    only = Cassette((interaction,), cassette.meta)
    return collect(replay_client(only, client).chat_stream(**chat_kwargs(only)))


def _wire_tool_call(name: str) -> tuple[str, dict[str, Any]]:
    """The first tool call's name and arguments, read from the recorded wire JSON."""
    stream = load_cassette(CASSETTES / f"{name}.yaml").interactions[0].response.stream
    assert stream is not None
    payloads = [json.loads(e.data) for e in stream.events if e.data]
    start = next(p for p in payloads if p["type"] == "tool-call-start")
    fragments = [
        p["delta"]["message"]["tool_calls"]["function"]["arguments"] for p in payloads if p["type"] == "tool-call-delta"
    ]
    return start["delta"]["message"]["tool_calls"]["function"]["name"], json.loads("".join(fragments))


def test_the_given_fields_pass_and_a_wrong_one_is_named() -> None:
    result = _replay("v2_tool_calls")
    name, arguments = _wire_tool_call("v2_tool_calls")
    assert_final_response(result, finish_reason="TOOL_CALL", tool_calls=[{"name": name, "arguments": arguments}])
    assert_final_response(result, tool_calls=[name])

    wrong = dict(arguments)
    key = next(iter(wrong))
    wrong[key] = "something else"
    with pytest.raises(FinalResponseMismatch) as caught:
        assert_final_response(
            result, text="", finish_reason="COMPLETE", tool_calls=[{"name": name, "arguments": wrong}]
        )
    lines = caught.value.differences
    assert "finish_reason: 'COMPLETE' -> 'TOOL_CALL'" in lines
    assert f"tool_calls[0].arguments.{key}: 'something else' -> {arguments[key]!r}" in lines
    assert str(caught.value).startswith("the final response differs (expected -> actual):\n  ")


def test_ignore_leaves_fields_out() -> None:
    result = _replay("v2_tool_calls")
    name, arguments = _wire_tool_call("v2_tool_calls")
    key = next(iter(arguments))
    wrong = {**arguments, key: "varies between runs"}
    assert_final_response(
        result, tool_calls=[{"name": name, "arguments": wrong}], ignore=[f"tool_calls[0].arguments.{key}"]
    )


@pytest.mark.parametrize("name", ["v2_text", "v2_tool_calls", "v2_error_finish", "v1_text", "v1_tool_calls"])
def test_a_replay_matches_its_cassette(name: str) -> None:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    only = Cassette(cassette.interactions[:1], cassette.meta)
    assert_matches_cassette(_replay(name), only)


def test_a_different_recording_is_a_readable_mismatch() -> None:
    other = load_cassette(CASSETTES / "v2_citations.yaml")
    with pytest.raises(FinalResponseMismatch) as caught:
        assert_matches_cassette(_replay("v2_text"), other, index=1)
    assert str(caught.value).startswith("the final response differs from ")
    # two long texts: the excerpt where they part, on both sides
    assert any(line.startswith("text, from character 0: ") for line in caught.value.differences)


def test_a_cassette_with_several_streams_asks_which() -> None:
    with pytest.raises(ValueError, match=r"holds 2 streamed interactions \(\[0, 1\]\); pass index= to pick one"):
        assert_matches_cassette(_replay("v2_text"), CASSETTES / "v2_citations.yaml")
