"""Structural drift between two answers to the same request: the shape of a stream
(the HTTP status, the event types, the fields each type carries as key paths, whether
it follows the grammar, the finish reason, the tool names and argument keys, whether
citations are there) and what changed between two shapes. What naturally varies (the
text, ids, token counts, the number of deltas) is not part of a shape. Pure.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..wire import WireEvent
from .assemble import Collector
from .grammar import validate_stream


@dataclass(frozen=True)
class Shape:
    """What a stream looks like, ignoring what varies between two answers."""

    status: int
    types: tuple[str, ...]  # distinct event types, in order of first appearance
    fields: dict[str, frozenset[str]]  # event type -> key paths seen
    finish_reason: str | None
    tools: tuple[tuple[str | None, tuple[str, ...]], ...]  # (name, sorted argument keys)
    citations: bool
    grammar: tuple[str, ...]


def _paths(value: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found.add(path)
            found |= _paths(inner, path)
    elif isinstance(value, list):
        for inner in value:
            found |= _paths(inner, prefix + "[]")
    return found


def shape(status: int, events: Sequence[WireEvent]) -> Shape:
    """The shape of an answer: its status and its wire events."""
    types: list[str] = []
    fields: dict[str, set[str]] = {}
    collector = Collector()
    for event in events:
        if event.data is None:
            continue
        try:
            data = json.loads(event.data)
        except ValueError:
            data = None
        if event.name not in types:
            types.append(event.name)
        fields.setdefault(event.name, set()).update(_paths(data))
        if isinstance(data, dict):
            collector.feed(data)
    result = collector.result()
    return Shape(
        status=status,
        types=tuple(types),
        fields={k: frozenset(v) for k, v in fields.items()},
        finish_reason=result.finish_reason,
        tools=tuple(
            (call.name, tuple(sorted(call.arguments)) if isinstance(call.arguments, dict) else ())
            for call in result.tool_calls
        ),
        citations=bool(result.citations),
        grammar=tuple(str(v) for v in validate_stream(events)) if events else (),
    )


def drift(recorded: Shape, live: Shape) -> list[str]:
    """What changed in shape, one line each (empty: no drift)."""
    found: list[str] = []
    if recorded.status != live.status:
        found.append(f"status {recorded.status} -> {live.status}")
    new_types = [t for t in live.types if t not in recorded.types]
    gone_types = [t for t in recorded.types if t not in live.types]
    if new_types:
        found.append(f"event types added: {', '.join(new_types)}")
    if gone_types:
        found.append(f"event types gone: {', '.join(gone_types)}")
    for kind in recorded.types:
        if kind not in live.fields:
            continue
        added = sorted(live.fields[kind] - recorded.fields.get(kind, frozenset()))
        removed = sorted(recorded.fields.get(kind, frozenset()) - live.fields[kind])
        if added:
            found.append(f"{kind}: fields added: {', '.join(added)}")
        if removed:
            found.append(f"{kind}: fields gone: {', '.join(removed)}")
    if recorded.finish_reason != live.finish_reason:
        found.append(f"finish reason {recorded.finish_reason} -> {live.finish_reason}")
    if recorded.tools != live.tools:
        found.append(f"tool calls {_tools(recorded.tools)} -> {_tools(live.tools)}")
    if recorded.citations != live.citations:
        found.append("citations " + ("gone" if recorded.citations else "appeared"))
    for line in live.grammar:
        if line not in recorded.grammar:
            found.append(f"grammar: {line}")
    return found


def _tools(tools: Iterable[tuple[str | None, tuple[str, ...]]]) -> str:
    return "[" + ", ".join(f"{name}({', '.join(keys)})" for name, keys in tools) + "]"
