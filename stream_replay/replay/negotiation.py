"""Content negotiation: the framing a replayed v2 stream is sent in, from the request's
``Accept`` header, as the live API chooses it.

``/v2/chat`` answers a streaming request in SSE (``event: <type>`` / ``data: <json>``
blocks, then ``data: [DONE]``), which is what the cohere SDK asks for. A client that
asks for JSON only (``Accept: application/json``, or ``application/stream+json``, and
neither ``text/event-stream`` nor a wildcard) gets the same events as one JSON object
per line, with no ``[DONE]`` line: that is how litellm's Cohere provider (1.110.2,
``litellm/llms/cohere/common_utils.py``, ``CohereV2ModelResponseIterator``) reads
``/v2/chat`` streams from the live API in production, one ``json.loads`` per line.
We hold no recording of such an answer: its framing is derived from the recorded SSE
events, each event's JSON exactly as recorded, and it is sent as
``application/stream+json`` (v1's stream type; the live API's exact header for this
answer is unrecorded). A stream with a block that is not canonical SSE (kept raw) is
sent as recorded, since its events cannot be separated faithfully. A request that
accepts SSE (the SDK, ``*/*``, no header) gets the recorded bytes unchanged.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from ..cassette.model import Stream

_JSON_TYPES = ("application/json", "application/stream+json")
_SSE_TYPES = ("text/event-stream", "text/*", "*/*")


def wants_json_lines(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for JSON and not for SSE."""
    if not accept:
        return False
    kinds = set()
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if "q=0" in params.replace(" ", "") and "q=0." not in params.replace(" ", ""):
            continue  # explicitly refused
        kinds.add(media.strip().lower())
    return any(k in _JSON_TYPES for k in kinds) and not any(k in _SSE_TYPES for k in kinds)


def negotiated(stream: Stream, accept: str | None) -> Stream:
    """``stream`` framed as the request asks: recorded SSE, or its events as JSON lines."""
    if stream.format != "sse" or not wants_json_lines(accept):
        return stream
    if any(event.raw is not None for event in stream.events):
        return stream
    lines = tuple(event for event in stream.events if event.data is not None)
    return Stream("ndjson", lines, outcome=stream.outcome, error=stream.error)
