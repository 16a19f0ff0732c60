"""v1 chat streams: ``application/stream+json`` bytes to events and back.

Cohere writes one compact JSON object per line, each ending ``\\n``, with
``event_type`` naming the event. Such lines become plain events; any other line
(empty, CRLF, not JSON, a cut last line, bytes that are not UTF-8) is kept byte for
byte in ``WireEvent.raw``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json

from .events import TOKEN, WireEvent, plain_payload


def decode_line(line: str) -> WireEvent:
    """One line (with its ``\\n`` when it has one) as an event."""
    content = line[:-1] if line.endswith("\n") else None
    name = _event_type(content if content is not None else line)
    if content is not None and name is not None and plain_payload(content):
        return WireEvent(name, content)
    return WireEvent(name or "?", None, line.encode("utf-8", "surrogateescape"))


def decode_ndjson(body: bytes) -> list[WireEvent]:
    """All events of a v1 body, in order; ``wire.encode`` of the result is ``body``."""
    pieces = body.decode("utf-8", "surrogateescape").split("\n")
    events = [decode_line(p + "\n") for p in pieces[:-1]]
    if pieces[-1]:
        events.append(decode_line(pieces[-1]))
    return events


def _event_type(text: str) -> str | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, dict):
        kind = obj.get("event_type")
        if isinstance(kind, str) and TOKEN.fullmatch(kind):
            return kind
    return None
