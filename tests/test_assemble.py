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
    sources: list[list[Any]] = []
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
            sources.append([(s["type"], s.get("id")) for s in message["citations"].get("sources") or []])
        elif kind == "message-end":
            finish = data["delta"].get("finish_reason")
    return {
        "text": "".join(text),
        "thinking": "".join(thinking),
        "tool_plan": "".join(plan),
        "tool_calls": [(c["id"], c["name"], json.loads("".join(c["args"]) or "{}")) for _, c in sorted(calls.items())],
        "citations": citations,
        "citation_sources": sources,
        "finish_reason": finish,
    }


def expected_v1(stream: Stream) -> dict[str, Any]:
    payloads = _payloads(stream)
    text = "".join(p.get("text", "") for p in payloads if p.get("event_type") == "text-generation")
    end = next((p for p in payloads if p.get("event_type") == "stream-end"), {})
    citations = [c["text"] for p in payloads if p.get("event_type") == "citation-generation" for c in p["citations"]]
    generated = next((p for p in payloads if p.get("event_type") == "tool-calls-generation"), None)
    calls = [(None, c["name"], c["parameters"]) for c in generated["tool_calls"]] if generated else []
    cited = [p for p in payloads if p.get("event_type") == "citation-generation"]
    sources = [c["document_ids"] for p in cited for c in p["citations"]]
    streamed = [d for p in payloads if p.get("event_type") == "search-results" for d in p.get("documents") or []]
    return {
        "text": text,
        "citations": citations,
        "citation_sources": sources,
        "documents": streamed or end.get("response", {}).get("documents") or [],
        "tool_calls": calls,
        "finish_reason": end.get("finish_reason"),
    }


def _source(source: Any) -> Any:
    """A citation source as the wire names it: v1 a document id; v2 (type, id)."""
    if isinstance(source, str):
        return source
    if isinstance(source, dict):
        return source.get("type"), source.get("id")
    return source.type, source.id


def observed(result: StreamResult, api: str) -> dict[str, Any]:
    common = {
        "text": result.text,
        "citations": [c.text for c in result.citations],
        "citation_sources": [[_source(s) for s in c.sources] for c in result.citations],
        "tool_calls": [(c.id, c.name, c.arguments) for c in result.tool_calls],
        "finish_reason": result.finish_reason,
    }
    if api == "v2":
        common.update(thinking=result.thinking, tool_plan=result.tool_plan)
    else:
        common.update(documents=[dict(d) for d in result.documents])
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


# ------------------------------------------- search results, documents, debug, logprobs


def _replayed(sample: Any) -> StreamResult:
    from tests.support.union_samples import arguments, cassette

    cls: Any = cohere.ClientV2 if sample.kind == "v2" else cohere.Client
    return collect(replay_client(cassette(sample), cls).chat_stream(**arguments(sample)))


def test_v1_document_citations_of_a_real_stream_name_the_documents_it_streamed() -> None:
    """v1_citations' last stream (recorded live): search-results carries the tool result as a
    document; each citation's document_ids name it. The documents are the SDK's own values."""
    from stream_replay import load_cassette

    cassette = load_cassette(CASSETTES / "v1_citations.yaml")
    index = 2
    stream = cassette.interactions[index].response.stream
    assert stream is not None
    wire = [d for p in _payloads(stream) if p["event_type"] == "search-results" for d in p["documents"]]
    generated = [p for p in _payloads(stream) if p["event_type"] == "citation-generation"]
    cited = [c["document_ids"] for p in generated for c in p["citations"]]
    only = Cassette(cassette.interactions[index : index + 1], cassette.meta)
    result = collect(replay_client(only, cohere.Client).chat_stream(**chat_kwargs(only)))

    assert [dict(d) for d in result.documents] == wire and wire
    streamed = next(e for e in result.events if e.event_type == "search-results")
    assert all(got is sent for got, sent in zip(result.documents, streamed.documents, strict=True))
    assert [list(c.sources) for c in result.citations] == cited and cited
    assert {i for c in result.citations for i in c.sources} <= {d["id"] for d in result.documents}
    assert (result.search_results, result.search_queries) == ((), ())  # neither is on this wire


@needs_corpus
def test_in_every_real_v1_stream_cited_documents_are_streamed_documents() -> None:
    streams = 0
    for row in stream_rows():
        if row["api"] != "v1" or "citation-generation" not in row["event_types"]:
            continue
        result = collect(json.loads(e.data or "") for e in decode((STREAMS_DIR / row["file"]).read_bytes(), "ndjson"))
        ids = {d["id"] for d in result.documents}
        assert result.citations and all(set(c.sources) <= ids for c in result.citations), row["file"]
        streams += 1
    assert streams == 10


def test_search_queries_results_documents_and_debug_are_the_sdks_objects_in_stream_order() -> None:
    from tests.support.union_samples import Sample, v1_search

    result = _replayed(Sample("v1", "search", v1_search()))
    queries = next(e for e in result.events if e.event_type == "search-queries-generation")
    results = next(e for e in result.events if e.event_type == "search-results")
    debug = [e for e in result.events if e.event_type == "debug"]
    assert result.search_queries == tuple(queries.search_queries)
    assert result.search_queries[0] is queries.search_queries[0]
    assert result.search_results[0] is results.search_results[0]
    assert result.search_results[0].connector.id == "web-search"  # the SDK's model, not a dict
    assert result.documents == tuple(results.documents)
    assert result.debug == tuple(debug) and len(debug) == 1 and result.debug[0].prompt == "the prompt the model saw"
    assert result.text == result.events[-1].response.text  # the search events change nothing else


def test_the_final_responses_search_fields_when_the_stream_sent_none() -> None:
    from tests.support.union_samples import Sample, v1_final_search_only

    payloads = v1_final_search_only()
    result = _replayed(Sample("v1", "final only", payloads))
    response = result.events[-1].response
    assert result.documents == tuple(response.documents) and result.documents
    assert result.search_queries == tuple(response.search_queries) and result.search_queries[0].text == "pickle rick"
    assert result.search_results == tuple(response.search_results)


def test_v2_logprobs_in_order() -> None:
    from tests.support.union_samples import Sample, v2_logprobs

    result = _replayed(Sample("v2", "logprobs", v2_logprobs()))
    deltas = [e for e in result.events if e.type == "content-delta"]
    assert result.logprobs == tuple(e.logprobs for e in deltas) and result.logprobs[0] is deltas[0].logprobs
    assert "".join(lp.text for lp in result.logprobs) == result.text
    assert [lp.token_ids for lp in result.logprobs] == [[n] for n in range(len(deltas))]


def test_v2_debug_events() -> None:
    from stream_replay.sdk import event_classes
    from tests.support.union_samples import Sample, real

    if "debug" not in event_classes("v2"):
        pytest.skip("the installed cohere's v2 stream union has no debug event (5.x)")
    payloads = [*real("v2_text")[:1], {"type": "debug", "prompt": "p"}, *real("v2_text")[1:]]
    result = _replayed(Sample("v2", "debug", payloads))
    assert [e.prompt for e in result.debug] == ["p"] and result.debug[0] is result.events[1]
    assert result.text == collect(e for e in result.events if e.type != "debug").text
