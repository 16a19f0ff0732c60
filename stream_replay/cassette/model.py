"""The cassette as values: what a cassette file holds, independent of YAML. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..wire import StreamFormat, WireEvent, encode
from ..wire.jsontext import BODY_STYLES, body_style

#: How a recorded stream ended.
#: ``completed``: the terminator arrived (v2 ``[DONE]``, v1 ``stream-end``);
#: ``truncated``: the body ended without it;
#: ``failed``: the connection failed mid-stream (``StreamError`` says how);
#: ``stopped``: the consumer stopped reading before the end.
Outcome = Literal["completed", "truncated", "failed", "stopped"]
OUTCOMES: tuple[str, ...] = ("completed", "truncated", "failed", "stopped")

#: Seconds between events when a stream without timing is replayed at ``speed=1.0``:
#: the first event 20 ms after the request, then one every 20 ms.
DEFAULT_EVENT_GAP = 0.020


@dataclass(frozen=True, slots=True)
class Body:
    """A request or non-streamed response body.

    ``json`` is the parsed JSON (when the body is JSON) and ``style`` names how its
    exact bytes are written back (see ``wire.jsontext.BODY_STYLES``); ``text`` is the
    body itself when it is not JSON or no style reproduces it.
    """

    json: Any = None
    style: str | None = None
    text: str | None = None

    @classmethod
    def of_text(cls, text: str) -> Body:
        """A body as recorded: parsed JSON with the style that rewrites it exactly, else text."""
        if not text:
            return cls()
        styled = body_style(text)
        if styled is not None:
            return cls(json=styled[0], style=styled[1])
        return cls(text=text)

    @property
    def is_empty(self) -> bool:
        return self.style is None and not self.text

    def to_bytes(self) -> bytes:
        if self.style is not None:
            return BODY_STYLES[self.style](self.json).encode()
        return (self.text or "").encode("utf-8", "surrogateescape")

    def parsed(self) -> Any:
        """The JSON value, parsing ``text`` when it is JSON kept as text; else None."""
        if self.style is not None:
            return self.json
        if self.text:
            try:
                return json.loads(self.text)
            except ValueError:
                return None
        return None


@dataclass(frozen=True, slots=True)
class Request:
    """A recorded request: its method, full URL, headers and body."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = field(default_factory=Body)


@dataclass(frozen=True, slots=True)
class StreamError:
    """The exception a consumer saw when a recorded stream failed (``failed``)."""

    type: str
    message: str


@dataclass(frozen=True, slots=True)
class Stream:
    """A streamed response body, event by event."""

    format: StreamFormat
    #: A tuple, or for a stream loaded from a file an ``EventBlock`` (a sequence
    #: built on first use).
    events: Sequence[WireEvent]
    outcome: Outcome = "completed"
    error: StreamError | None = None

    @property
    def timed(self) -> bool:
        return bool(self.events) and all(e.offset is not None for e in self.events)

    def body(self) -> bytes:
        return encode(self.events, self.format)


@dataclass(frozen=True, slots=True)
class Response:
    """A recorded response: its status, headers, and its body or, for a
    streamed one, its stream."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = field(default_factory=Body)
    stream: Stream | None = None

    def body_bytes(self) -> bytes:
        return self.stream.body() if self.stream is not None else self.body.to_bytes()


@dataclass(frozen=True, slots=True)
class Interaction:
    """One request and the response it got."""

    request: Request
    response: Response


@dataclass(frozen=True, slots=True)
class Meta:
    """Who made the cassette, when, with what. ``source`` carries attribution."""

    recorded_at: str | None = None
    cohere_version: str | None = None
    stream_replay_version: str | None = None
    source: dict[str, Any] | None = None


#: How many events of each stream ``repr(cassette)`` shows.
REPR_EVENTS = 60


@dataclass(frozen=True, slots=True, repr=False)
class Cassette:
    """Recorded interactions, in the order they happened, with who made them and when
    (``path``: the file it was loaded from, for messages)."""

    interactions: tuple[Interaction, ...]
    meta: Meta = field(default_factory=Meta)
    path: Path | None = None

    def __repr__(self) -> str:
        """The requests and their streams' events in the cassette's own line format (a
        failing hypothesis example prints so): short enough to read, exact enough to act on."""
        from .lines import format_line

        source = self.meta.source or {}
        origin = f" ({source['generated_by']})" if isinstance(source.get("generated_by"), str) else ""
        count = len(self.interactions)
        lines = [f"<Cassette {self.label}{origin}: {count} interaction{'s' if count != 1 else ''}"]
        for number, interaction in enumerate(self.interactions):
            request, response = interaction.request, interaction.response
            stream = response.stream
            shown = f"{len(stream.events)} events" if stream is not None else "no stream"
            lines.append(f"  [{number}] {request.method} {request.url} -> {response.status}, {shown}")
            if stream is None:
                continue
            for event in list(stream.events[:REPR_EVENTS]):
                lines.append("      " + format_line(event, ndjson=stream.format == "ndjson"))
            if len(stream.events) > REPR_EVENTS:
                lines.append(f"      ... {len(stream.events) - REPR_EVENTS} more events")
        if origin:
            lines.append("  (to keep it as a regression test: stream_replay.save_cassette(cassette, path))")
        return "\n".join(lines) + "\n>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """The same, for pretty printers (hypothesis, IPython) that lay dataclasses out field by field."""
        printer.text(repr(self))

    def with_path(self, path: Path | None) -> Cassette:
        return Cassette(self.interactions, self.meta, path)  # dataclasses.replace, without its generic steps

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else "<in-memory cassette>"
