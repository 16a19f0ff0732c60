"""Streams that, together, hold every event type of the SDK's stream unions, for
``tests/test_sdk_unions.py``.

Most are real: the payloads of the bundled cassettes, exactly. What no recording here
holds is added to a copy of a real stream, each addition built from the SDK's models of
that event (``cohere/types``) and named for what it adds: v1 ``search-queries-generation``,
``search-results`` carrying ``search_results`` (connectors), ``debug`` (v1 and v2), v2
``content-delta`` ``logprobs``, a v1 ``stream-end`` whose response alone carries the search
fields, a v1 ``ERROR`` end, a generate ``stream-end`` carrying ``meta``. One is a real stream
with events taken out: v1 tool calls without ``tool-calls-chunk`` events, the shape of two
corpus streams (``test_streaming_tool_call``) that no bundled cassette has.
"""

from __future__ import annotations

import copy
import json
from typing import Any, NamedTuple

from stream_replay import Cassette, load_cassette
from stream_replay.cassette import Body, Interaction, Meta, Request, Response, Stream
from stream_replay.sdk import StreamKind
from stream_replay.wire import WireEvent
from stream_replay.wire.jsontext import dumps_v1, dumps_v2
from tests.support.corpus import CASSETTES

Payloads = list[dict[str, Any]]


class Sample(NamedTuple):
    kind: StreamKind
    label: str
    payloads: Payloads


def real(name: str, index: int = 0) -> Payloads:
    """The JSON payloads of a bundled cassette's stream, exactly as recorded."""
    stream = load_cassette(CASSETTES / f"{name}.yaml").interactions[index].response.stream
    assert stream is not None
    return [json.loads(e.data) for e in stream.events if e.data is not None]


def _insert(payloads: Payloads, at: int, *added: dict[str, Any]) -> Payloads:
    return [*payloads[:at], *added, *payloads[at:]]


def v2_logprobs() -> Payloads:
    out = copy.deepcopy(real("v2_text"))
    for position, event in enumerate(e for e in out if e["type"] == "content-delta"):
        text = event["delta"]["message"]["content"]["text"]
        event["logprobs"] = {"text": text, "token_ids": [position], "logprobs": [-0.25 * position]}
    return out


def v1_search() -> Payloads:
    base = real("v1_text")
    generation = base[0]["generation_id"]
    query = {"text": "pickle rick", "generation_id": generation}
    return _insert(
        base,
        1,
        {"is_finished": False, "event_type": "search-queries-generation", "search_queries": [query]},
        {
            "is_finished": False,
            "event_type": "search-results",
            "search_results": [{"search_query": query, "connector": {"id": "web-search"}, "document_ids": ["web_0"]}],
            "documents": [{"id": "web_0", "title": "Pickle Rick", "snippet": "Rick turns himself into a pickle."}],
        },
        {"is_finished": False, "event_type": "debug", "prompt": "the prompt the model saw"},
    )


def v1_final_search_only() -> Payloads:
    out = copy.deepcopy(real("v1_text"))
    response = out[-1]["response"]
    query = {"text": "pickle rick", "generation_id": out[0]["generation_id"]}
    response["search_queries"] = [query]
    response["search_results"] = [{"search_query": query, "connector": {"id": "web-search"}, "document_ids": ["d"]}]
    response["documents"] = [{"id": "d", "snippet": "Rick turns himself into a pickle."}]
    return out


def v1_error_end() -> Payloads:
    out = copy.deepcopy(real("v1_text"))
    out[-1]["finish_reason"] = "ERROR"
    return out


def generate_meta() -> Payloads:
    out = copy.deepcopy(real("v1_generate"))
    out[-1]["response"]["meta"] = {"billed_units": {"input_tokens": 9, "output_tokens": 10}}
    return out


def samples(installed: dict[StreamKind, dict[str, type]]) -> list[Sample]:
    """The sample streams whose every event type the installed SDK's union has."""
    found = [
        Sample("v2", "v2_text", real("v2_text")),
        Sample("v2", "v2_tool_calls", real("v2_tool_calls")),
        Sample("v2", "v2_citations[1]", real("v2_citations", 1)),
        Sample("v2", "v2_reasoning", real("v2_reasoning")),
        Sample("v2", "v2_error_finish", real("v2_error_finish")),
        Sample("v2", "v2_text + logprobs", v2_logprobs()),
        Sample("v2", "v2_text + debug", _insert(real("v2_text"), 1, {"type": "debug", "prompt": "the prompt"})),
        Sample("v1", "v1_text", real("v1_text")),
        Sample("v1", "v1_tool_calls", real("v1_tool_calls")),
        Sample("v1", "v1_citations[2]", real("v1_citations", 2)),
        Sample(
            "v1",
            "v1_tool_calls without tool-calls-chunk",
            [p for p in real("v1_tool_calls") if p["event_type"] != "tool-calls-chunk"],
        ),
        Sample("v1", "v1_text + search queries, search results, debug", v1_search()),
        Sample("v1", "v1_text + search fields on stream-end only", v1_final_search_only()),
        Sample("v1", "v1_text ending ERROR", v1_error_end()),
        Sample("generate", "v1_generate[0]", real("v1_generate")),
        Sample("generate", "v1_generate[1]", real("v1_generate", 1)),
        Sample("generate", "v1_generate[0] + meta", generate_meta()),
    ]
    key = {"v2": "type", "v1": "event_type", "generate": "event_type"}
    return [s for s in found if all(p[key[s.kind]] in installed[s.kind] for p in s.payloads)]


ROUTES: dict[StreamKind, str] = {"v2": "/v2/chat", "v1": "/v1/chat", "generate": "/v1/generate"}


def arguments(sample: Sample) -> dict[str, Any]:
    """The SDK call's arguments that send the sample's request."""
    if sample.kind == "v2":
        return {"model": "m", "messages": [{"role": "user", "content": sample.label}]}
    if sample.kind == "v1":
        return {"message": sample.label, "model": "m"}
    return {"prompt": sample.label}


def cassette(sample: Sample) -> Cassette:
    """The sample as a one-interaction cassette, framed as the live API frames its stream."""
    if sample.kind == "v2":
        events = [WireEvent(p["type"], dumps_v2(p)) for p in sample.payloads] + [WireEvent("[DONE]", None)]
        stream, content_type = Stream("sse", tuple(events)), "text/event-stream"
    else:
        events = [WireEvent(p["event_type"], dumps_v1(p)) for p in sample.payloads]
        stream, content_type = Stream("ndjson", tuple(events)), "application/stream+json"
    body = Body({**arguments(sample), "stream": True}, "json")
    url = f"https://api.cohere.com{ROUTES[sample.kind]}"
    request = Request("POST", url, {"content-type": "application/json"}, body)
    response = Response(200, {"content-type": content_type}, stream=stream)
    meta = Meta(recorded_at=None, cohere_version=None, stream_replay_version=None, source=None)
    return Cassette((Interaction(request, response),), meta)
