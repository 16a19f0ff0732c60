"""v1 chat streams: ``application/stream+json`` bytes to events and back.

Cohere writes one compact JSON object per line, each ending ``\\n``, with
``event_type`` naming the event. Such lines become plain events; any other line
(empty, CRLF, not JSON, a cut last line, bytes that are not UTF-8) is kept byte for
byte in ``WireEvent.raw``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from .events import WireEvent, fits_one_line, plain_payload

_TOKEN = re.compile(r"[^\s\"]\S*")


def decode_line(line: str) -> WireEvent:
    """One line (with its ``\\n`` when it has one) as an event."""
    content = line[:-1] if line.endswith("\n") else None
    name = _event_type(content if content is not None else line)
    if content is not None and name is not None and plain_payload(content):
        return WireEvent(name, content)
    return WireEvent(name or "?", None, line.encode("utf-8", "surrogateescape"))


def decode_ndjson(body: bytes) -> list[WireEvent]:
    """All events of a v1 body, in order; ``encode_ndjson`` of the result is ``body``."""
    pieces = body.decode("utf-8", "surrogateescape").split("\n")
    events = [decode_line(p + "\n") for p in pieces[:-1]]
    if pieces[-1]:
        events.append(decode_line(pieces[-1]))
    return events


def encode_ndjson(events: Iterable[WireEvent]) -> bytes:
    """The exact body bytes of v1 ``events``."""
    return b"".join(e.raw if e.raw is not None else (str(e.data) + "\n").encode() for e in events)


def _event_type(text: str) -> str | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if isinstance(obj, dict):
        kind = obj.get("event_type")
        if isinstance(kind, str) and _TOKEN.fullmatch(kind) and fits_one_line(kind):
            return kind
    return None
