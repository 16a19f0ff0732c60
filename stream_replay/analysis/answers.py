"""The final response a cassette's stream must produce: its *answer*.

A generated cassette (``stream_replay.strategies``) carries one answer per interaction
in ``meta.source["answers"]``, worked out from what was generated, never from its
events; a re-chunked one carries its recording's. They are plain JSON, so a saved
regression cassette still knows its answers. ``expected`` turns one into the
``StreamResult`` that ``collect`` must return; a cassette without answers (a
recording) gets the answer its recording holds (``recorded_response``).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from typing import Any

from ..cassette.model import Cassette
from .assemble import Citation, StreamResult, Timing, ToolCall

#: The key of ``meta.source`` that holds the answers.
ANSWERS = "answers"


def answer_of_result(result: StreamResult) -> dict[str, Any]:
    """A ``StreamResult`` assembled from plain JSON events, as an answer document."""
    return {
        "api": result.api,
        "text": result.text,
        "thinking": result.thinking,
        "tool_plan": result.tool_plan,
        "tool_calls": [
            {"index": c.index, "id": c.id, "name": c.name, "arguments_text": c.arguments_text, "arguments": c.arguments}
            for c in result.tool_calls
        ],
        "citations": [
            {
                "start": c.start,
                "end": c.end,
                "text": c.text,
                "sources": list(c.sources),
                "content_index": c.content_index,
                "type": c.type,
            }
            for c in result.citations
        ],
        "finish_reason": result.finish_reason,
        "usage": result.usage,
        "error": result.error,
        "generation_id": result.generation_id,
        "endpoint": result.endpoint,
        "search_queries": list(result.search_queries),
        "search_results": list(result.search_results),
        "documents": list(result.documents),
        "generations": list(result.generations),
    }


def result_of(answer: dict[str, Any]) -> StreamResult:
    """The ``StreamResult`` an answer document describes (no events, no timing)."""
    return StreamResult(
        api=answer["api"],
        text=answer["text"],
        thinking=answer["thinking"],
        tool_plan=answer["tool_plan"],
        tool_calls=tuple(
            ToolCall(c["index"], c["id"], c["name"], c["arguments_text"], c["arguments"]) for c in answer["tool_calls"]
        ),
        citations=tuple(
            Citation(
                start=c["start"],
                end=c["end"],
                text=c["text"],
                sources=tuple(c["sources"]),
                content_index=c["content_index"],
                type=c["type"],
            )
            for c in answer["citations"]
        ),
        finish_reason=answer["finish_reason"],
        usage=answer["usage"],
        error=answer["error"],
        generation_id=answer["generation_id"],
        events=(),
        timing=Timing(None, None, 0.0),
        search_queries=tuple(answer.get("search_queries", ())),
        search_results=tuple(answer.get("search_results", ())),
        documents=tuple(answer.get("documents", ())),
        generations=tuple(answer.get("generations", ())),
        endpoint=answer.get("endpoint"),
    )


def stored_answers(cassette: Cassette) -> list[dict[str, Any] | None] | None:
    """The answers a generated (or re-chunked) cassette carries, one per interaction."""
    source = cassette.meta.source
    answers = source.get(ANSWERS) if isinstance(source, dict) else None
    if isinstance(answers, list) and len(answers) == len(cassette.interactions):
        return [a if isinstance(a, dict) else None for a in answers]
    return None


def stream_index(cassette: Cassette, index: int | None) -> int:
    """``index``, checked to be a streamed interaction of ``cassette``; when None, the
    cassette's only one (a ``ValueError`` saying which there are otherwise)."""
    streamed = [i for i, x in enumerate(cassette.interactions) if x.response.stream is not None]
    if index is None:
        if len(streamed) != 1:
            raise ValueError(
                f"{cassette.label} holds {len(streamed)} streamed interactions ({streamed}); pass index= to pick one"
            )
        return streamed[0]
    if index not in streamed:
        raise ValueError(f"{cassette.label}: interactions[{index}] is not a stream (streams: {streamed})")
    return index


def expected(cassette: Cassette, index: int | None = None) -> StreamResult:
    """The final response the stream of ``cassette.interactions[index]`` must produce
    (``index`` may be left out when the cassette holds one stream).

    For a generated cassette, the answer drawn with it; for a re-chunked one, the
    answer of the recording it was cut from; for any other cassette, the answer its
    recording holds (``assertions.recorded_response``).
    """
    index = stream_index(cassette, index)
    answers = stored_answers(cassette)
    answer = answers[index] if answers is not None else None
    if answer is not None:
        return result_of(answer)
    from .assertions import recorded_response

    return recorded_response(cassette, index)
