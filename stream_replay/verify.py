"""``stream-replay verify``: send each recorded request again and report structural drift.

What naturally varies between two answers to the same request is ignored: the text, ids,
token counts, the number of deltas. What is compared is the shape: the HTTP status, the
event types, the fields each event type carries (key paths, not values), whether the
stream is still grammatical, the finish reason, the tool names and their argument keys,
and whether citations are there.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from .assemble import Collector
from .cassette import Interaction, load_cassette
from .errors import StreamReplayError
from .grammar import validate_stream
from .wire import WireEvent, decode, format_of


@dataclass(frozen=True)
class Shape:
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


def _send(
    http: Any, interaction: Interaction, base_url: str | None, api_key: str | None
) -> tuple[int, list[WireEvent]]:
    import httpx

    request = interaction.request
    parts = urlsplit(request.url)
    url = (base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")) if base_url else request.url
    headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    try:
        response = http.request(request.method, url, content=request.body.to_bytes(), headers=headers)
    except httpx.HTTPError as exc:
        raise StreamReplayError(
            f"cannot send {request.method} {url}: {type(exc).__name__}: {exc}\n"
            "  How to fix: check the network and the URL (--base-url), or that the server is running."
        ) from None
    fmt = format_of(response.status_code, response.headers.get("content-type", ""))
    return response.status_code, list(decode(response.content, fmt)) if fmt else []


def verify(
    paths: Sequence[str | os.PathLike[str]], out: TextIO, *, base_url: str | None = None, api_key: str | None = None
) -> int:
    """Re-send every recorded chat request; 1 if anything drifted, else 0. One HTTP client
    (one connection pool, one TLS setup) serves every request."""
    import httpx

    key = api_key if api_key is not None else os.environ.get("CO_API_KEY")
    drifted = 0
    checked = 0
    with httpx.Client(timeout=300) as http:
        for path in paths:
            cassette = load_cassette(path)
            lines: list[str] = []
            for index, interaction in enumerate(cassette.interactions):
                stream = interaction.response.stream
                if stream is None and interaction.response.status < 400:
                    continue  # only chat calls: streams and recorded errors
                checked += 1
                recorded = shape(interaction.response.status, list(stream.events) if stream else [])
                try:
                    status, events = _send(http, interaction, base_url, key)
                except StreamReplayError as exc:
                    raise StreamReplayError(f"{Path(path)}: interactions[{index}]: {exc}") from None
                for line in drift(recorded, shape(status, events)):
                    lines.append(f"{Path(path)}: interactions[{index}]: {line}")
            if lines:
                drifted += 1
                for line in lines:
                    print(line, file=out)
            else:
                print(f"{Path(path)}: no drift", file=out)
    print(f"{checked} request(s) in {len(paths)} cassette(s): {drifted} cassette(s) drifted", file=out)
    return 1 if drifted else 0
