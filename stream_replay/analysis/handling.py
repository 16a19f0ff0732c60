"""How stream_replay handles every event type of the SDK's stream unions, in one table.

For each stream (v1 chat, v2 chat, v1 generate) and each event type the SDK can yield:
the grammar rule ``validate_stream`` applies to it, and the ``StreamResult`` fields
``collect`` fills from it. The fast path needs no row of its own: it builds each event
as ``sdk.event_classes(kind)[type]`` (the SDK's own class for that type name), which is
why every type here must be a member of the installed SDK's union, and every member a
type here (``tests/test_sdk_unions.py`` holds the table against the installed SDK).

The grammar takes the event types it accepts from this table: a type missing here is
reported as not part of the stream, never passed silently.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..sdk import StreamKind
from ..wire.events import event_type


class Handling(NamedTuple):
    """What validate_stream checks about one event type, and what collect takes from it."""

    grammar: str
    #: The StreamResult fields filled from this event's own payload (``events``, ``timing``,
    #: ``api`` and ``endpoint`` are filled from every event and are not listed).
    fields: tuple[str, ...]


_V2: dict[str, Handling] = {
    "message-start": Handling("first, and only once", ("generation_id",)),
    "content-start": Handling(
        "opens content block <index>: the next content index, no block open; its type (text or "
        "thinking) routes the block's deltas",
        (),
    ),
    "content-delta": Handling("inside the open content block of its index", ("text", "thinking", "logprobs")),
    "content-end": Handling("closes the open content block of its index, no citation open", ()),
    "tool-plan-delta": Handling("before any tool call, outside any block", ("tool_plan",)),
    "tool-call-start": Handling(
        "opens tool call <index>: the next tool-call index, no block open; its arguments begin the JSON",
        ("tool_calls",),
    ),
    "tool-call-delta": Handling("inside the open tool call of its index; the fragments join to JSON", ("tool_calls",)),
    "tool-call-end": Handling("closes the open tool call of its index", ()),
    "citation-start": Handling(
        "inside an open content block, no citation open; its text is the text, thinking or plan at its span",
        ("citations",),
    ),
    "citation-end": Handling("closes the open citation of its index", ()),
    "message-end": Handling(
        "last (then only [DONE] on the wire), nothing open", ("finish_reason", "usage", "error")
    ),
    "debug": Handling("anywhere after message-start", ("debug",)),
}

_V1: dict[str, Handling] = {
    "stream-start": Handling("first, and only once; its generation id is stream-end's", ("generation_id",)),
    "search-queries-generation": Handling(
        "before the answer and the tool calls (any text-generation, citation-generation, tool-calls-chunk, "
        "tool-calls-generation)",
        ("search_queries",),
    ),
    "search-results": Handling(
        "before the answer and the tool calls (any text-generation, citation-generation, tool-calls-chunk, "
        "tool-calls-generation)",
        ("search_results", "documents"),
    ),
    "text-generation": Handling("between stream-start and stream-end; joined, they are stream-end's text", ("text",)),
    "citation-generation": Handling("each citation's text is the text at its span", ("citations",)),
    "tool-calls-chunk": Handling(
        "its text joined is tool-calls-generation's text", ("tool_plan", "tool_calls")
    ),
    "tool-calls-generation": Handling("its text is the tool-calls-chunk text joined", ("tool_plan", "tool_calls")),
    "stream-end": Handling(
        "last, and only once; its response's text is the text-generation text joined",
        ("finish_reason", "usage", "error", "search_queries", "search_results", "documents"),
    ),
    "debug": Handling("between stream-start and stream-end", ("debug",)),
}

_GENERATE: dict[str, Handling] = {
    "text-generation": Handling(
        "before the end, is_finished false; joined per index, they are stream-end's generations' text",
        ("text", "generations"),
    ),
    "stream-end": Handling(
        "last, is_finished true, a finish_reason, a response holding generations",
        ("finish_reason", "usage", "generation_id"),
    ),
    "stream-error": Handling("last, is_finished true: the stream ends with the error", ("finish_reason", "error")),
}

#: Every event type stream_replay handles, per stream.
HANDLING: Mapping[StreamKind, Mapping[str, Handling]] = {"v1": _V1, "v2": _V2, "generate": _GENERATE}


def known(kind: StreamKind) -> frozenset[str]:
    """The event types of ``kind``'s stream that the grammar and collect handle."""
    return frozenset(HANDLING[kind])


_MISSING = object()


def _get(obj: Any, *path: str) -> Any:
    """``obj.a.b`` (or ``obj["a"]["b"]`` for the plain dicts the v1 SDK yields), None if absent."""
    for name in path:
        if obj is None:
            return None
        value = obj.get(name, _MISSING) if isinstance(obj, dict) else getattr(obj, name, _MISSING)
        if value is _MISSING:
            return None
        obj = value
    return obj


#: v1 chat event types no generate stream has, and the reverse.
_CHAT_ONLY = known("v1") - known("generate")
_GENERATE_ONLY = known("generate") - known("v1")


@functools.cache
def _sdk_classes() -> dict[type, StreamKind]:
    from ..sdk import event_classes

    kinds: tuple[StreamKind, ...] = ("v1", "v2", "generate")
    return {cls: kind for kind in kinds for cls in event_classes(kind).values()}


def stream_kind(event: Any) -> StreamKind | None:
    """Which stream ``event`` belongs to, when the event alone tells: by the SDK class that
    parsed it (a cohere object), else by its JSON: v2 by ``type``; v1 chat or generate by
    an event only one of them has, or by ``stream-end``'s response (generate's holds
    ``generations``). None when it does not tell (a ``text-generation`` given as JSON)."""
    if type(event).__module__.startswith("cohere."):
        found = _sdk_classes().get(type(event))
        if found is not None:
            return found
    name = event_type(event)
    if name is None:
        return None
    if _get(event, "event_type") is None:
        return "v2"
    if name in _CHAT_ONLY:
        return "v1"
    if name in _GENERATE_ONLY:
        return "generate"
    if name == "stream-end":
        return "generate" if _get(event, "response", "generations") is not None else "v1"
    return None


__all__ = ["HANDLING", "Handling", "known", "stream_kind"]
