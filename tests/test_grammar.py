"""Cohere's stream grammar: every real stream passes; broken ones are caught with the
place and the reason."""

from __future__ import annotations

import json
from typing import Any

import cohere
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_replay import Cassette, collect, load_cassette, replay_client
from stream_replay.analysis.grammar import StreamGrammarError, assert_valid_stream, validate_stream
from stream_replay.wire import WireEvent, decode
from tests.support.corpus import CASSETTES, STREAMING, STREAMS_DIR, chat_kwargs, needs_corpus, stream_rows


def _streams(name: str) -> list[tuple[Any, list[WireEvent]]]:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    found = []
    for interaction in cassette.interactions:
        stream = interaction.response.stream
        if stream is not None and interaction.response.status == 200:
            found.append((interaction, list(stream.events)))
    return found


def _with(event: WireEvent, data: dict[str, Any]) -> WireEvent:
    return event._replace(data=json.dumps(data, separators=(",", ":")))


def _messages(events: list[Any]) -> list[str]:
    return [str(v) for v in validate_stream(events)]


@pytest.mark.parametrize("name", STREAMING)
def test_every_bundled_stream_is_valid_on_the_wire_and_as_sdk_events(name: str) -> None:
    for interaction, events in _streams(name):
        assert _messages(events) == []
        client = cohere.ClientV2 if interaction.response.stream.format == "sse" else cohere.Client
        only = Cassette((interaction,))
        sdk_events = collect(replay_client(only, client).chat_stream(**chat_kwargs(only))).events
        assert _messages(list(sdk_events)) == []
        assert_valid_stream(sdk_events)


@needs_corpus
def test_every_real_stream_of_the_corpus_is_valid() -> None:
    checked = 0
    for row in stream_rows():
        if row["http_status"] != "200":
            continue
        events = decode((STREAMS_DIR / row["file"]).read_bytes(), "sse" if row["api"] == "v2" else "ndjson")
        assert _messages(events) == [], row["file"]
        checked += 1
    assert checked == 133


def _v2_text() -> list[WireEvent]:
    return _streams("v2_text")[0][1]


def test_a_delta_for_a_block_never_opened_is_named_by_position_type_and_index() -> None:
    events = _v2_text()
    position = next(i for i, e in enumerate(events) if e.name == "content-delta")
    data = json.loads(events[position].data or "")
    data["index"] = 1
    events[position] = _with(events[position], data)
    assert f"event {position} (content-delta, index 1): no content-start for index 1 before it" in _messages(events)


def test_a_cut_stream_and_a_missing_start_are_caught() -> None:
    events = _v2_text()
    assert _messages(events[: len(events) // 2]) == [
        "stream: the stream does not close with message-end (the last event is content-delta)"
    ]
    assert "event 0 (content-start, index 0): the stream does not open with message-start" in _messages(events[1:])


def test_a_corrupt_argument_fragment_and_a_wrong_citation_are_caught() -> None:
    events = _streams("v2_tool_calls")[0][1]
    position = max(i for i, e in enumerate(events) if e.name == "tool-call-delta")  # the closing fragment
    data = json.loads(events[position].data or "")
    data["delta"]["message"]["tool_calls"]["function"]["arguments"] += "}"
    events[position] = _with(events[position], data)
    assert any(m.startswith("stream: tool call 0: the arguments are not JSON: ") for m in _messages(events))

    stream = next(s for _, s in _streams("v2_citations") if any(e.name == "citation-start" for e in s))
    position = next(i for i, e in enumerate(stream) if e.name == "citation-start")
    data = json.loads(stream[position].data or "")
    data["delta"]["message"]["citations"]["text"] = "not what was said"
    stream[position] = _with(stream[position], data)
    assert any(
        m.startswith(f"event {position} (citation-start): 'not what was said' is not the text at ")
        for m in _messages(stream)
    )


def test_v1_final_text_must_be_the_concatenated_deltas() -> None:
    events = _streams("v1_text")[0][1]
    position = next(i for i, e in enumerate(events) if e.name == "text-generation")
    del events[position]
    assert (
        f"event {len(events) - 1} (stream-end): the response text is not the concatenated text-generation events"
        in _messages(events)
    )


def test_v1_search_events_come_before_the_answer_and_the_tool_calls() -> None:
    events = _streams("v1_citations")[1][1]  # recorded live: stream-start, search-results, text...
    assert [e.name for e in events[:3]] == ["stream-start", "search-results", "text-generation"]
    assert _messages(events) == []
    late = [events[0], events[2], events[1], *events[3:]]
    assert _messages(late) == [
        "event 2 (search-results): after text-generation (event 1): search events come before the answer "
        "and tool calls"
    ]
    # Before tool calls, as three corpus streams have it (test_sql_agent); after one, caught.
    calls = _streams("v1_tool_calls")[0][1]
    assert _messages([calls[0], events[1], *calls[1:]]) == []
    chunk = next(i for i, e in enumerate(calls) if e.name == "tool-calls-chunk")
    assert f"event {chunk + 1} (search-results): after tool-calls-chunk (event {chunk})" in _messages(
        [*calls[: chunk + 1], events[1], *calls[chunk + 1 :]]
    )[0]


def test_an_event_type_the_v1_stream_does_not_have_is_named() -> None:
    events = _streams("v1_text")[0][1]
    stray = WireEvent("message-start", json.dumps({"is_finished": False, "event_type": "message-start"}))
    assert _messages([events[0], stray, *events[1:]]) == ["event 1 (message-start): not a v1 chat event type"]


@needs_corpus
def test_the_search_rule_is_the_order_of_every_real_v1_stream_with_search_events() -> None:
    with_search = before_calls = 0
    for row in stream_rows():
        if row["api"] != "v1" or "search-results" not in row["event_types"]:
            continue
        events = decode((STREAMS_DIR / row["file"]).read_bytes(), "ndjson")
        names = [e.name for e in events]
        assert names.index("search-results") == 1, row["file"]  # right after stream-start
        with_search += 1
        before_calls += "tool-calls-chunk" in names
        assert _messages(events) == [], row["file"]
    assert (with_search, before_calls) == (13, 3)


def test_assert_valid_stream_raises_with_every_violation() -> None:
    events = _v2_text()[1:-2]
    with pytest.raises(StreamGrammarError) as caught:
        assert_valid_stream(events)
    assert len(caught.value.violations) >= 2
    assert str(caught.value).startswith("the stream breaks Cohere's grammar in ")


STRUCTURAL = ("message-start", "message-end", "content-start", "content-end", "tool-call-start", "tool-call-end")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_structural_mutations_of_real_streams_are_always_caught(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["v2_text", "v2_tool_calls", "v2_citations", "v2_agent"]))
    streams = _streams(name)
    events = list(data.draw(st.sampled_from(streams))[1])
    anchors = [i for i, e in enumerate(events) if e.name in STRUCTURAL]
    position = data.draw(st.sampled_from(anchors))
    mutation = data.draw(st.sampled_from(["drop", "duplicate", "reindex", "truncate"]))
    if mutation == "drop":
        del events[position]
    elif mutation == "duplicate":
        events.insert(position, events[position])
    elif mutation == "truncate":
        events = events[:position]
    else:
        payload = json.loads(events[position].data or "")
        if "index" not in payload:
            return
        payload["index"] += data.draw(st.integers(min_value=1, max_value=3))
        events[position] = _with(events[position], payload)
    assert validate_stream(events), (name, mutation, position)
