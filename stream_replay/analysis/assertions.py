"""Assertions on a stream's final response, with a readable field-level diff.

``assert_final_response(result, text=..., tool_calls=..., ...)`` checks the fields
given and nothing else; ``assert_matches_cassette(result, cassette)`` checks every
field of the final response against what the recording says (assembled from its wire
JSON, not through the SDK). ``ignore=["usage", "tool_calls[0].id"]`` leaves fields out.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from ..cassette import Cassette, as_cassette
from .assemble import Collector, StreamResult
from .jsondiff import drop_path, field_diff

_UNSET: Any = object()
class FinalResponseMismatch(AssertionError):
    """The final response differs; ``differences`` holds one line per field."""

    def __init__(self, title: str, differences: list[str]) -> None:
        self.differences = differences
        super().__init__(title + "\n" + "\n".join(f"  {line}" for line in differences))


def _plain(value: Any) -> Any:
    """SDK objects and dataclasses as plain JSON-like data, for comparing and printing
    (an SDK object without the fields the wire left out, which the SDK sets to None)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _plain(dump(exclude_none=True))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def final_response(result: StreamResult) -> dict[str, Any]:
    """The final response of ``result`` as plain data: what the assertions compare."""
    return {
        "text": result.text,
        "thinking": result.thinking,
        "tool_plan": result.tool_plan,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in result.tool_calls],
        "citations": [
            {"start": c.start, "end": c.end, "text": c.text, "sources": _plain(list(c.sources))}
            for c in result.citations
        ],
        "finish_reason": result.finish_reason,
        "usage": _plain(result.usage),
    }


def whole_response(result: StreamResult) -> dict[str, Any]:
    """Everything ``result`` says about the response, as plain data: ``final_response``
    plus the API and endpoint, the generation id, the error, each tool call's index, id
    and exact argument text, each citation's type and content block, v1's search
    queries, search results and documents, and generate's generations. (Not the
    ``debug`` events and ``logprobs``: per-event data, not the response.)"""
    whole = final_response(result)
    whole["api"] = result.api
    whole["endpoint"] = result.endpoint
    whole["generation_id"] = result.generation_id
    whole["error"] = _plain(result.error)
    whole["search_queries"] = _plain(list(result.search_queries))
    whole["search_results"] = _plain(list(result.search_results))
    whole["documents"] = _plain(list(result.documents))
    whole["generations"] = list(result.generations)
    whole["tool_calls"] = [
        {"index": c.index, "id": c.id, "name": c.name, "arguments_text": c.arguments_text, "arguments": c.arguments}
        for c in result.tool_calls
    ]
    for citation, given in zip(whole["citations"], result.citations, strict=True):
        citation.update(type=given.type, content_index=given.content_index)
    return whole


def _compare(expected: dict[str, Any], actual: dict[str, Any], ignore: Sequence[str], title: str) -> None:
    expected = json.loads(json.dumps(expected, default=str))
    actual = json.loads(json.dumps(actual, default=str))
    for path in ignore:
        drop_path(expected, path)
        drop_path(actual, path)
    if expected == actual:
        return
    lines = field_diff(expected, actual, limit=40, added="(not expected)", removed="(missing)")
    raise FinalResponseMismatch(f"{title} (expected -> actual):", lines)


def _expected_calls(calls: Sequence[Any], actual: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
    """Tool calls given as dicts compare only the keys given (``name``, ``arguments``)."""
    wanted = [dict(c) if isinstance(c, dict) else {"name": c} for c in calls]
    trimmed = [{k: v for k, v in got.items() if k in want} for want, got in zip(wanted, actual, strict=False)]
    return wanted, trimmed + actual[len(wanted) :]


def assert_final_response(
    result: StreamResult,
    *,
    text: Any = _UNSET,
    thinking: Any = _UNSET,
    tool_plan: Any = _UNSET,
    tool_calls: Any = _UNSET,
    citations: Any = _UNSET,
    finish_reason: Any = _UNSET,
    usage: Any = _UNSET,
    ignore: Sequence[str] = (),
) -> None:
    """Check the given fields of ``result``'s final response.

    ``tool_calls``: a list of ``{"name": ..., "arguments": {...}}`` (either key may be
    left out) or of names. ``citations``: a list of cited texts, or of dicts with any of
    ``start``, ``end``, ``text``, ``sources``. ``usage``: a dict, compared with the SDK's
    usage as plain data.
    """
    actual_all = final_response(result)
    given = {
        "text": text,
        "thinking": thinking,
        "tool_plan": tool_plan,
        "tool_calls": tool_calls,
        "citations": citations,
        "finish_reason": finish_reason,
        "usage": usage,
    }
    expected: dict[str, Any] = {}
    actual: dict[str, Any] = {}
    for name, value in given.items():
        if value is _UNSET:
            continue
        got = actual_all[name]
        if name == "tool_calls":
            value, got = _expected_calls(value, got)
        elif name == "citations":
            if all(isinstance(c, str) for c in value):
                got = [c["text"] for c in got]
            else:
                keys = [set(c) for c in value]
                got = [{k: v for k, v in g.items() if k in want} for want, g in zip(keys, got, strict=False)] + got[
                    len(keys) :
                ]
            value = list(value)
        expected[name] = _plain(value)
        actual[name] = got
    _compare(expected, actual, ignore, "the final response differs")


def recorded_response(cassette: Cassette | str | os.PathLike[str], index: int | None = None) -> StreamResult:
    """The final response a cassette's stream holds, assembled from its wire JSON."""
    from .answers import stream_index

    loaded = as_cassette(cassette)
    stream = loaded.interactions[stream_index(loaded, index)].response.stream
    assert stream is not None  # stream_index checked it
    collector = Collector()
    for event in stream.events:
        if event.data is not None and event.raw is None:
            collector.feed(json.loads(event.data))
    return collector.result()


def assert_matches_cassette(
    result: StreamResult,
    cassette: Cassette | str | os.PathLike[str],
    *,
    index: int | None = None,
    ignore: Sequence[str] = (),
) -> None:
    """Check that ``result`` is the final response the cassette's stream holds (for a
    generated cassette, the answer it was generated with): everything
    ``whole_response`` compares, usage included (as numbers: the SDK turns the wire's
    integer token counts into floats). ``ignore``: paths to leave out, such as ``usage``."""
    from .answers import expected

    loaded = as_cassette(cassette)
    recorded = whole_response(expected(loaded, index))
    actual = whole_response(result)
    label = loaded.label
    _compare(recorded, actual, ignore, f"the final response differs from {label}")


__all__ = [
    "FinalResponseMismatch",
    "assert_final_response",
    "assert_matches_cassette",
    "final_response",
    "recorded_response",
    "whole_response",
]
