"""A reasoning stream end to end (issue 15): the bundled cassette built from real
``thinking`` payloads round-trips byte for byte, validates, and replays through the SDK
and the fast path with its thinking kept apart from the text, as its payloads say; a
citation of the thinking is checked against the thinking, and keeps its type."""

from __future__ import annotations

import json
from typing import Any

import cohere
import pytest

from stream_replay import collect, dumps_cassette, load_cassette, replay_client, validate_stream
from stream_replay.sdk import sdk_kwargs
from stream_replay.wire import WireEvent
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.reasoning import PAYLOADS, reasoning_cassette

PATH = CASSETTES / "v2_reasoning.yaml"


def _kwargs(cassette: Any) -> dict[str, Any]:
    """The recorded request as chat_stream's arguments; cohere 5.11 has no thinking= (sent as
    an additional body parameter, the SDK's own way, so the body is the same)."""
    return sdk_kwargs(cohere.ClientV2.chat_stream, chat_kwargs(cassette))


def _from_payloads(field: str) -> str:
    return "".join(
        json.loads(p)["delta"]["message"]["content"].get(field, "")
        for p in PAYLOADS
        if json.loads(p)["type"] == "content-delta"
    )


def test_the_bundled_cassette_is_its_payloads_framed_as_the_live_api_frames_them() -> None:
    assert PATH.read_text() == dumps_cassette(reasoning_cassette())
    stream = load_cassette(PATH).interactions[0].response.stream
    assert stream is not None
    expected = "".join(f"event: {json.loads(p)['type']}\ndata: {p}\n\n" for p in PAYLOADS) + "data: [DONE]\n\n"
    assert stream.body() == expected.encode()
    assert [e.data for e in stream.events][:-1] == PAYLOADS
    assert validate_stream(stream.events) == []


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
def test_thinking_and_text_are_collected_apart_as_the_payloads_say(fast: bool) -> None:
    cassette = load_cassette(PATH)
    result = collect(replay_client(cassette, cohere.ClientV2, fast=fast).chat_stream(**_kwargs(cassette)))
    assert result.thinking == _from_payloads("thinking") and result.thinking.startswith("The user is asking")
    assert result.text == _from_payloads("text") == "The answer to 2 + 2 is 4."
    assert result.finish_reason == "COMPLETE"
    assert validate_stream(result.events) == []


def test_the_fast_path_gives_the_sdk_path_events() -> None:
    cassette = load_cassette(PATH)

    def dump(fast: bool) -> list[tuple[str, dict[str, Any]]]:
        co = replay_client(cassette, cohere.ClientV2, fast=fast)
        return [(type(e).__name__, e.model_dump()) for e in co.chat_stream(**_kwargs(cassette))]

    assert dump(True) == dump(False)


def _with_citation(kind: str, start: int, end: int, text: str) -> list[WireEvent]:
    events = list(load_cassette(PATH).interactions[0].response.stream.events)  # type: ignore[union-attr]
    citation = {
        "type": "citation-start",
        "index": 0,
        "delta": {"message": {"citations": {"start": start, "end": end, "text": text, "sources": [], "type": kind}}},
    }
    at = next(i for i, e in enumerate(events) if e.name == "content-end" and '"index":1' in (e.data or ""))
    added = [
        WireEvent("citation-start", json.dumps(citation, separators=(",", ":"))),
        WireEvent("citation-end", '{"type":"citation-end","index":0}'),
    ]
    return events[:at] + added + events[at:]


def test_a_thinking_citation_is_checked_against_the_thinking_text() -> None:
    thinking = _from_payloads("thinking")
    start = thinking.index("straightforward")
    end = start + len("straightforward")
    assert validate_stream(_with_citation("THINKING_CONTENT", start, end, "straightforward")) == []
    (violation,) = validate_stream(_with_citation("TEXT_CONTENT", start, end, "straightforward"))
    assert "'straightforward' is not the text at" in str(violation)
    (violation,) = validate_stream(_with_citation("THINKING_CONTENT", 0, 3, "Thx"))
    assert "'Thx' is not the thinking at 0:3" in str(violation)


def test_a_collected_citation_keeps_its_type_and_content_index() -> None:
    thinking = _from_payloads("thinking")
    start = thinking.index("arithmetic")
    events = [json.loads(e.data) for e in _with_citation("THINKING_CONTENT", start, start + 10, "arithmetic") if e.data]
    (citation,) = collect(events).citations
    assert (citation.type, citation.text, citation.start) == ("THINKING_CONTENT", "arithmetic", start)


#: What reasoning users send: thinking on, documents to ground the answer, tools to call.
REASONING_REQUEST: dict[str, Any] = {
    "model": "command-a-reasoning-08-2025",
    "messages": [{"role": "user", "content": "How many r's are in strawberry? Check the style guide."}],
    "documents": [{"id": "guide", "data": {"title": "Style guide", "text": "Answer in one sentence."}}],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "count_letters",
                "description": "Counts a letter in a word.",
                "parameters": {
                    "type": "object",
                    "properties": {"word": {"type": "string"}, "letter": {"type": "string"}},
                    "required": ["word", "letter"],
                },
            },
        }
    ],
    "thinking": {"type": "enabled", "token_budget": 2048},
}


@pytest.mark.parametrize("fast", [False, True], ids=["sdk", "fast"])
def test_a_thinking_documents_and_tools_request_records_and_replays_over_loopback(
    wire_server: Any, tmp_path: Any, fast: bool
) -> None:
    """The real SDK over real HTTP to a loopback server sending the reasoning payloads with
    real delays: recorded with the whole request, replayed by it, and a request with other
    documents is not answered from it."""
    from stream_replay import NoMatchError, record_client
    from tests.support.wire_server import Reply

    stream = load_cassette(PATH).interactions[0].response.stream
    assert stream is not None
    wire_server.queue(Reply.stream(stream.body(), "sse", delay=0.002))
    kwargs = sdk_kwargs(cohere.ClientV2.chat_stream, REASONING_REQUEST)
    path = tmp_path / "reasoning.yaml"
    with record_client(path, cohere.ClientV2, base_url=wire_server.url) as co:
        live = collect(co.chat_stream(**kwargs))
    (sent,) = [json.loads(body) for _, _, body in wire_server.requests]
    assert {k: sent[k] for k in REASONING_REQUEST} == REASONING_REQUEST and sent["stream"] is True
    assert (live.thinking, live.text) == (_from_payloads("thinking"), _from_payloads("text"))

    recorded = load_cassette(path)
    body = recorded.interactions[0].request.body.parsed()
    assert {k: body[k] for k in REASONING_REQUEST} == REASONING_REQUEST
    replayed = collect(replay_client(path, fast=fast).chat_stream(**kwargs))
    assert (replayed.thinking, replayed.text, replayed.finish_reason) == (live.thinking, live.text, live.finish_reason)
    other = dict(REASONING_REQUEST, documents=[{"id": "guide", "data": {"text": "Answer at length."}}])
    with pytest.raises(NoMatchError, match="documents"):
        list(replay_client(path, fast=fast).chat_stream(**sdk_kwargs(cohere.ClientV2.chat_stream, other)))
