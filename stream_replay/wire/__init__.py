"""Pure codecs between Cohere's stream bytes and events: no I/O, no SDK.

- :mod:`.sse` is v2's ``text/event-stream`` (``event: <type>`` / ``data: <json>`` blocks,
  ending ``data: [DONE]``);
- :mod:`.ndjson` is v1's ``application/stream+json`` (one JSON object per line);
- :mod:`.jsontext` writes a payload the way each API's server writes it.

Decoding keeps each event's JSON text exactly as it came over the wire, and keeps
the exact bytes of any block that is not framed the canonical way, so
``encode(decode(body)) == body`` for every body.

PYTEST_DONT_REWRITE
"""

from collections.abc import Iterable, Sequence

from .events import DONE, StreamFormat, WireEvent
from .ndjson import decode_ndjson
from .sse import decode_sse

__all__ = [
    "CONTENT_TYPES",
    "DONE",
    "StreamFormat",
    "WireEvent",
    "decode_ndjson",
    "decode_sse",
    "decode",
    "encode",
    "encode_event",
    "format_of",
    "is_terminated",
]

#: The content types of Cohere's streamed chat responses.
STREAM_TYPES: dict[str, StreamFormat] = {
    "text/event-stream": "sse",
    "application/stream+json": "ndjson",
}
#: The content type each stream format is sent with.
CONTENT_TYPES: dict[StreamFormat, str] = {fmt: content_type for content_type, fmt in STREAM_TYPES.items()}


def format_of(status: int, content_type: str) -> StreamFormat | None:
    """The stream format of a response, or None when it is not a 2xx stream."""
    if not 200 <= status < 300:
        return None
    return STREAM_TYPES.get(content_type.partition(";")[0].strip().lower())


#: The events that end an NDJSON stream: v1 chat's and generate's ``stream-end``, and
#: generate's ``stream-error`` (``is_finished: true``: the server ends the stream there).
NDJSON_TERMINATORS = frozenset({"stream-end", "stream-error"})


def is_terminated(events: Sequence[WireEvent], fmt: StreamFormat) -> bool:
    """Whether a stream ends with its terminator: v2's ``[DONE]``, v1's ``stream-end``
    (or, on ``/v1/generate``, ``stream-error``)."""
    if not events or events[-1].raw is not None:
        return False
    last = events[-1]
    return last.is_done if fmt == "sse" else last.name in NDJSON_TERMINATORS


def decode(body: bytes, fmt: StreamFormat) -> list[WireEvent]:
    """Split a whole stream body into events (``fmt`` is ``"sse"`` or ``"ndjson"``)."""
    return decode_sse(body) if fmt == "sse" else decode_ndjson(body)


def encode(events: Iterable[WireEvent], fmt: StreamFormat) -> bytes:
    """The exact body bytes of ``events``."""
    return b"".join(encode_event(e, fmt) for e in events)


def encode_event(event: WireEvent, fmt: StreamFormat) -> bytes:
    """The exact bytes of one event, as one chunk on the wire."""
    if event.raw is not None:
        return event.raw
    if fmt == "sse":
        if event.data is None:
            return b"data: [DONE]\n\n"
        return f"event: {event.name}\ndata: {event.data}\n\n".encode()
    assert event.data is not None
    return (event.data + "\n").encode()
