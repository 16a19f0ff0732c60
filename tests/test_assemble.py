"""``collect``, ``acollect`` and ``tee`` over real streams: the final response assembled
from the SDK's events equals what the recorded wire JSON says, read here directly from
the recorded bytes (not through the SDK or stream_replay's replay)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import cohere
import pytest

from stream_replay import replay_client
from stream_replay.analysis.assemble import StreamResult, acollect, collect, tee
from stream_replay.cassette import Body, Cassette, Interaction, Request, Response, Stream
from stream_replay.wire import decode, encode_event
from tests.support.corpus import CASSETTES, STREAMING, STREAMS_DIR, chat_kwargs, needs_corpus, stream_rows


def _payloads(stream: Stream) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in stream.events if e.data is not None and e.raw is None]


def expected_v2(stream: Stream) -> dict[str, Any]:
    """The final response, read from the wire JSON of a v2 stream."""
    blocks: dict[int, str] = {}
    text, thinking, plan = [], [], []
    calls: dict[int, dict[str, Any]] = {}
    citations = []
    finish = None
    for data in _payloads(stream):
        kind, message = data.get("type"), data.get("delta", {}).get("message", {})
        if kind == "content-start":
            blocks[data["index"]] = message["content"].get("type", "text")
        elif kind == "content-delta":
            content = message["content"]
            if blocks.get(data["index"], "text") == "thinking":
                thinking.append(content.get("thinking", content.get("text", "")))
            else:
                text.append(content["text"])
        elif kind == "tool-plan-delta":
            plan.append(message["tool_plan"])
        elif kind == "tool-call-start":
            call = message["tool_calls"]
            calls[data["index"]] = {
                "name": call["function"]["name"],
                "id": call["id"],
                "args": [call["function"]["arguments"]],
            }
        elif kind == "tool-call-delta":
            calls[data["index"]]["args"].append(message["tool_calls"]["function"]["arguments"])
        elif kind == "citation-start":
            citations.append(message["citations"]["text"])
        elif kind == "message-end":
            finish = data["delta"].get("finish_reason")
    return {
        "text": "".join(text),
        "thinking": "".join(thinking),
        "tool_plan": "".join(plan),
        "tool_calls": [(c["id"], c["name"], json.loads("".join(c["args"]) or "{}")) for _, c in sorted(calls.items())],
        "citations": citations,
        "finish_reason": finish,
    }


def expected_v1(stream: Stream) -> dict[str, Any]:
    payloads = _payloads(stream)
    text = "".join(p.get("text", "") for p in payloads if p.get("event_type") == "text-generation")
    end = next((p for p in payloads if p.get("event_type") == "stream-end"), {})
    citations = [c["text"] for p in payloads if p.get("event_type") == "citation-generation" for c in p["citations"]]
    generated = next((p for p in payloads if p.get("event_type") == "tool-calls-generation"), None)
    calls = [(None, c["name"], c["parameters"]) for c in generated["tool_calls"]] if generated else []
    return {"text": text, "citations": citations, "tool_calls": calls, "finish_reason": end.get("finish_reason")}


def observed(result: StreamResult, api: str) -> dict[str, Any]:
    common = {
        "text": result.text,
        "citations": [c.text for c in result.citations],
        "tool_calls": [(c.id, c.name, c.arguments) for c in result.tool_calls],
        "finish_reason": result.finish_reason,
    }
    if api == "v2":
        common.update(thinking=result.thinking, tool_plan=result.tool_plan)
    return common


def check(cassette: Cassette, index: int) -> StreamResult:
    interaction = cassette.interactions[index]
    stream = interaction.response.stream
    assert stream is not None
    api = "v2" if stream.format == "sse" else "v1"
    only = Cassette((interaction,), cassette.meta)
    client = replay_client(only, cohere.ClientV2 if api == "v2" else cohere.Client)
    result = collect(client.chat_stream(**chat_kwargs(only)))
    wanted = expected_v2(stream) if api == "v2" else expected_v1(stream)
    assert observed(result, api) == wanted
    assert result.api == api
    assert result.timing.first_event is not None and result.timing.total >= result.timing.first_event
    return result


@pytest.mark.parametrize("name", STREAMING)
def test_the_final_response_of_every_bundled_stream(name: str) -> None:
    from stream_replay import load_cassette

    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    checked = 0
    for index, interaction in enumerate(cassette.interactions):
        if interaction.response.stream is not None and interaction.response.status == 200:
            check(cassette, index)
            checked += 1
    assert checked >= 1


def test_v1_text_equals_the_response_on_stream_end() -> None:
    from stream_replay import load_cassette

    cassette = load_cassette(CASSETTES / "v1_text.yaml")
    result = check(cassette, 0)
    end = result.events[-1]
    assert end.event_type == "stream-end"
    assert result.text == end.response.text
    assert result.usage == end.response.meta


def test_tee_lets_the_loop_see_every_event_and_assembles_the_same_result() -> None:
    from stream_replay import load_cassette

    cassette = load_cassette(CASSETTES / "v2_tool_calls.yaml")
    kwargs = chat_kwargs(cassette)
    seen = []
    tap = tee(replay_client(cassette, cohere.ClientV2).chat_stream(**kwargs))
    for event in tap:
        seen.append(event.model_dump())
    assert seen == [e.model_dump() for e in tap.result.events]
    again = collect(replay_client(cassette, cohere.ClientV2).chat_stream(**kwargs))
    assert (tap.result.tool_calls, tap.result.tool_plan) == (again.tool_calls, again.tool_plan)
    assert tap.result.tool_calls and tap.result.tool_calls[0].arguments == json.loads(
        tap.result.tool_calls[0].arguments_text
    )


def test_acollect_on_the_async_client() -> None:
    from stream_replay import load_cassette

    cassette = load_cassette(CASSETTES / "v2_citations.yaml")
    index = next(
        i
        for i, interaction in enumerate(cassette.interactions)
        if interaction.response.stream is not None
        and any(e.name == "citation-start" for e in interaction.response.stream.events)
    )
    only = Cassette(cassette.interactions[index : index + 1], cassette.meta)
    stream = cassette.interactions[index].response.stream
    assert stream is not None

    async def run() -> StreamResult:
        client = replay_client(only, cohere.AsyncClientV2)
        return await acollect(client.chat_stream(**chat_kwargs(cassette, index)))

    result = asyncio.run(run())
    assert observed(result, "v2") == expected_v2(stream)
    assert result.citations and all(c.text for c in result.citations)


def test_nothing_is_added_to_the_sdk_events() -> None:
    from stream_replay import load_cassette

    cassette = load_cassette(CASSETTES / "v2_text.yaml")
    result = collect(replay_client(cassette, cohere.ClientV2).chat_stream(**chat_kwargs(cassette)))
    end = result.events[-1]
    assert end.type == "message-end"
    assert not hasattr(end, "response")


@needs_corpus
def test_every_real_stream_of_the_corpus_assembles_to_its_wire_json() -> None:
    checked = {"v1": 0, "v2": 0}
    for row in stream_rows():
        if row["http_status"] != "200":
            continue
        path = STREAMS_DIR / row["file"]
        fmt = "sse" if row["api"] == "v2" else "ndjson"
        events = decode(path.read_bytes(), fmt)
        assert b"".join(encode_event(e, fmt) for e in events) == path.read_bytes()
        body = json.loads(Path(str(path).rsplit(".", 1)[0] + ".request.json").read_text())
        request = Request(
            "POST", row["request_uri"], {"content-type": "application/json"}, Body(json=body, style="json")
        )
        content_type = "text/event-stream" if fmt == "sse" else "application/stream+json"
        response = Response(200, {"content-type": content_type}, stream=Stream(fmt, tuple(events)))
        check(Cassette((Interaction(request, response),)), 0)
        checked[row["api"]] += 1
    assert checked["v1"] >= 60 and checked["v2"] >= 60, checked


def test_atee_passes_every_async_event_through() -> None:
    from stream_replay import load_cassette
    from stream_replay.analysis.assemble import atee

    cassette = load_cassette(CASSETTES / "v2_text.yaml")
    kwargs = chat_kwargs(cassette)
    stream = cassette.interactions[0].response.stream
    assert stream is not None

    async def run() -> tuple[list[str], StreamResult]:
        tap = atee(replay_client(cassette, cohere.AsyncClientV2).chat_stream(**kwargs))
        seen = [event.type async for event in tap]
        return seen, tap.result

    seen, result = asyncio.run(run())
    assert seen == [e.type for e in result.events]
    assert observed(result, "v2") == expected_v2(stream)
