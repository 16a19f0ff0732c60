"""A ``Turn`` as the wire events the Cohere API sends for it (v2 SSE, v1 NDJSON),
and as the answer those events must add up to (``answer_of``, worked out from the
turn, not from the events).

The shapes are the real API's, as recorded in the corpus (key order, compact JSON,
v2's ``message-start`` skeleton, v1's ``is_finished`` flags and ``stream-end``
response). Citations are sent right after the delta that completes the text they
cite, inside the open content block, as the API does.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..analysis.answers import answer_of_result
from ..analysis.assemble import Citation, StreamResult, Timing, ToolCall
from ..cassette.model import Stream
from ..wire.events import DONE, WireEvent
from ..wire.jsontext import dumps_v1, dumps_v2
from .answer import Block, Cite, Turn


def stream_of(turn: Turn) -> Stream:
    """The turn's events as a cassette ``Stream`` (timed when the turn has timing)."""
    payloads = list(_v2(turn) if turn.api == "v2" else _v1(turn))
    events = []
    for position, payload in enumerate(payloads):
        if payload is None:
            event = WireEvent(DONE, None)
        else:
            data = dumps_v2(payload) if turn.api == "v2" else dumps_v1(payload)
            event = WireEvent(payload["type" if turn.api == "v2" else "event_type"], data)
        events.append(event.with_offset(_offset(turn, position)))
    return Stream("sse" if turn.api == "v2" else "ndjson", tuple(events))


def _offset(turn: Turn, position: int) -> float | None:
    if turn.first_event is None:
        return None
    gaps = turn.gaps or (0.0,)
    return round(turn.first_event + sum(gaps[i % len(gaps)] for i in range(position)), 3)


def _cited(blocks: tuple[Block, ...], block: Block) -> str:
    """The text a block's citations index into: every block of its kind, concatenated."""
    return "".join(b.text for b in blocks if b.kind == block.kind)


def _before(blocks: tuple[Block, ...], block: Block) -> int:
    """How much text of the block's kind precedes it."""
    length = 0
    for other in blocks:
        if other is block:
            return length
        if other.kind == block.kind:
            length += len(other.text)
    return length


# ----------------------------------------------------------------------------- v2


def _v2(turn: Turn) -> Iterator[dict[str, Any] | None]:
    yield {
        "id": turn.generation_id,
        "type": "message-start",
        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}},
    }
    if turn.debug_prompt is not None:
        yield {"type": "debug", "prompt": turn.debug_prompt}
    citation_index = 0
    for index, block in enumerate(turn.blocks):
        field = block.kind
        yield {"type": "content-start", "index": index, "delta": {"message": {"content": {"type": field, field: ""}}}}
        offset = _before(turn.blocks, block)
        pending = list(block.citations)
        sent = offset
        for position, piece in enumerate(block.pieces):
            delta: dict[str, Any] = {
                "type": "content-delta",
                "index": index,
                "delta": {"message": {"content": {field: piece}}},
            }
            if turn.logprobs and block.kind == "text":
                delta["logprobs"] = {"token_ids": [1000 + position], "text": piece, "logprobs": [-0.25]}
            yield delta
            sent += len(piece)
            while pending and pending[0].end <= sent and not turn.citations_at_end:
                yield from _v2_citation(turn, index, citation_index, pending.pop(0), block)
                citation_index += 1
        for cite in pending:  # spans that end where the block ends (an empty last delta)
            yield from _v2_citation(turn, index, citation_index, cite, block)
            citation_index += 1
        yield {"type": "content-end", "index": index}
    for piece in turn.plan:
        yield {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}}
    for index, call in enumerate(turn.calls):
        yield {
            "type": "tool-call-start",
            "index": index,
            "delta": {
                "message": {
                    "tool_calls": {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
                }
            },
        }
        for piece in call.pieces:
            yield {
                "type": "tool-call-delta",
                "index": index,
                "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}},
            }
        yield {"type": "tool-call-end", "index": index}
    end: dict[str, Any] = {"finish_reason": turn.finish_reason, "usage": turn.usage}
    if turn.error is not None:
        end["error"] = turn.error
        end["error_type"] = "INVALID_TOOL_GENERATION"  # as the corpus's ERROR streams say
    yield {"type": "message-end", "delta": end}
    yield None  # data: [DONE]


def _v2_citation(turn: Turn, content_index: int, index: int, cite: Cite, block: Block) -> Iterator[dict[str, Any]]:
    text = _cited(turn.blocks, block)
    citation: dict[str, Any] = {
        "start": cite.start,
        "end": cite.end,
        "text": text[cite.start : cite.end],
        "sources": list(cite.sources),
    }
    if cite.typed:
        citation["type"] = "THINKING_CONTENT" if block.kind == "thinking" else "TEXT_CONTENT"
        citation["content_index"] = content_index
    yield {"type": "citation-start", "index": index, "delta": {"message": {"citations": citation}}}
    yield {"type": "citation-end", "index": index}


# ----------------------------------------------------------------------------- v1


def _v1(turn: Turn) -> Iterator[dict[str, Any]]:
    yield {"is_finished": False, "event_type": "stream-start", "generation_id": turn.generation_id}
    if turn.debug_prompt is not None:
        yield {"is_finished": False, "event_type": "debug", "prompt": turn.debug_prompt}
    queries = _search_queries(turn)
    if queries:
        yield {"is_finished": False, "event_type": "search-queries-generation", "search_queries": queries}
        yield {
            "is_finished": False,
            "event_type": "search-results",
            "search_results": _search_results(turn),
            "documents": list(turn.documents),
        }
    text = turn.text
    cites = [c for b in turn.blocks for c in b.citations]
    pending: list[Cite] = []
    sent = 0
    group = max(1, turn.citations_per_event)
    for block in turn.blocks:
        for piece in block.pieces:
            yield {"is_finished": False, "event_type": "text-generation", "text": piece}
            sent += len(piece)
            while cites and cites[0].end <= sent and not turn.citations_at_end:
                pending.append(cites.pop(0))
                if len(pending) == group:
                    yield _v1_citations(text, pending)
                    pending = []
    pending.extend(cites)
    if pending:
        yield _v1_citations(text, pending)
    for piece in turn.plan:
        yield {"is_finished": False, "event_type": "tool-calls-chunk", "text": piece}
    for index, call in enumerate(turn.calls):
        which = {"index": index} if turn.indexed_deltas else {}
        yield {"is_finished": False, "event_type": "tool-calls-chunk", "tool_call_delta": {**which, "name": call.name}}
        for piece in call.pieces:
            yield {
                "is_finished": False,
                "event_type": "tool-calls-chunk",
                "tool_call_delta": {**which, "parameters": piece},
            }
    calls = [{"name": call.name, "parameters": call.arguments} for call in turn.calls]
    if calls:
        yield {"is_finished": False, "event_type": "tool-calls-generation", "text": turn.tool_plan, "tool_calls": calls}
    response: dict[str, Any] = {
        "response_id": _response_id(turn.generation_id),
        "text": turn.tool_plan if calls else text,
        "generation_id": turn.generation_id,
        "chat_history": [
            {"role": "USER", "message": "(generated by stream_replay.strategies)"},
            {"role": "CHATBOT", "message": turn.tool_plan if calls else text},
        ],
        "finish_reason": turn.finish_reason,
        "meta": turn.usage,
    }
    if calls:
        response["tool_calls"] = calls
    if queries:
        response["search_queries"] = queries
        response["search_results"] = _search_results(turn)
    all_cites = [c for b in turn.blocks for c in b.citations]
    if all_cites:
        response["citations"] = [_v1_citation(text, c) for c in all_cites]
        response["documents"] = _documents(turn)
    yield {"is_finished": True, "event_type": "stream-end", "response": response, "finish_reason": turn.finish_reason}


def _documents(turn: Turn) -> list[dict[str, str]]:
    """The documents of a v1 answer, as ``stream-end``'s response lists them: those the
    search found, else those its citations cite."""
    if turn.documents:
        return list(turn.documents)
    ids = sorted({str(i) for b in turn.blocks for c in b.citations for i in c.sources})
    return [{"id": i, "snippet": f"document {i}"} for i in ids]


def _search_queries(turn: Turn) -> list[dict[str, str]]:
    return [
        {"text": q, "generation_id": f"{turn.generation_id[:-4]}{i:04d}"} for i, q in enumerate(turn.search_queries)
    ]


def _search_results(turn: Turn) -> list[dict[str, Any]]:
    """One result per query, each finding every document (what a single connector does)."""
    return [
        {"search_query": query, "connector": {"id": "web-search"}, "document_ids": [d["id"] for d in turn.documents]}
        for query in _search_queries(turn)
    ]


def _v1_citation(text: str, cite: Cite) -> dict[str, Any]:
    cited = text[cite.start : cite.end]
    return {"start": cite.start, "end": cite.end, "text": cited, "document_ids": list(cite.sources)}


def _v1_citations(text: str, cites: list[Cite]) -> dict[str, Any]:
    return {
        "is_finished": False,
        "event_type": "citation-generation",
        "citations": [_v1_citation(text, c) for c in cites],
    }


def _response_id(generation_id: str) -> str:
    """A response id that differs from the generation id, as the API's do."""
    return generation_id[::-1]


def answer_of(turn: Turn) -> dict[str, Any]:
    """What ``turn`` adds up to, as the answer document ``analysis.answers`` keeps."""
    if turn.api == "v2":
        calls = [ToolCall(i, c.id, c.name, c.arguments_text, c.arguments) for i, c in enumerate(turn.calls)]
        error = turn.error
    else:
        # v1's final tool calls are tool-calls-generation's parsed parameters; the
        # streamed fragments are only a preview.
        calls = [ToolCall(i, None, c.name, json.dumps(c.arguments), c.arguments) for i, c in enumerate(turn.calls)]
        error = (turn.tool_plan if turn.calls else turn.text) if turn.finish_reason == "ERROR" else None
    citations = []
    for index, block in enumerate(turn.blocks):
        text = _cited(turn.blocks, block)
        for cite in block.citations:
            typed = turn.api == "v2" and cite.typed
            kind = ("THINKING_CONTENT" if block.kind == "thinking" else "TEXT_CONTENT") if typed else None
            cited = text[cite.start : cite.end]
            citations.append(Citation(cite.start, cite.end, cited, cite.sources, index if typed else None, kind))
    result = StreamResult(
        api=turn.api,
        text=turn.text,
        thinking=turn.thinking,
        tool_plan=turn.tool_plan,
        tool_calls=tuple(calls),
        citations=tuple(citations),
        finish_reason=turn.finish_reason,
        usage=turn.usage,
        error=error,
        generation_id=turn.generation_id,
        events=(),
        timing=Timing(None, None, 0.0),
        search_queries=tuple(_search_queries(turn)),
        search_results=tuple(_search_results(turn)),
        documents=tuple(_documents(turn)) if turn.api == "v1" else (),
        endpoint="chat",
    )
    return answer_of_result(result)
