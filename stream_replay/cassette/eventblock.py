"""A stream's events as read from a cassette: checked at load, built on first use.

Loading a cassette checks each events block's line shapes and count in one pass
(so a cut or mangled block fails at load), but builds the event objects and checks
each payload's JSON only when the stream is first used: a 10,000-event cassette
loads at about the cost of vcrpy's loader, and a replay still refuses a broken
payload, with the file, line and place, before any event reaches the consumer.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from ..errors import CassetteError
from ..wire import WireEvent
from .lines import LineError, read_block


class EventBlock(Sequence[WireEvent]):
    __slots__ = ("_block", "_count", "_events", "_ndjson", "_on_error", "_typed")

    def __init__(self, block: str, *, ndjson: bool, count: int, on_error: Callable[[LineError], CassetteError]) -> None:
        self._block = block
        self._ndjson = ndjson
        self._count = count
        self._on_error = on_error
        self._events: tuple[WireEvent, ...] | None = None
        self._typed = False

    def materialize(self) -> tuple[WireEvent, ...]:
        """The events; raises ``CassetteError`` for a line that cannot be used."""
        if self._events is None:
            self._build(None)
        assert self._events is not None
        return self._events

    def materialize_each(self, each: Callable[[str | None, Any], None]) -> bool:
        """The block's check, calling ``each`` with each event's JSON text and its parse as
        the check parses it (None, None for ``[DONE]``), in order, so that a first use that
        needs them (the fast path's first replay) parses nothing twice and keeps only
        what it builds. True when ``each`` was given every payload: the events themselves
        are then not made (a later use makes them, checking again); False (ignore what it
        was given) when the events were made before, or a line needed a closer look (the
        events are then made, or the block's error raised)."""
        if self._events is not None:
            return False
        return self._build(each)

    def _build(self, each: Callable[[str | None, Any], None] | None) -> bool:
        try:
            events, typed, complete = read_block(self._block, ndjson=self._ndjson, each=each)
        except LineError as exc:
            raise self._on_error(exc) from None
        if events is not None:
            self._events, self._typed = tuple(events), typed
        return complete

    @property
    def typed(self) -> bool:
        """Whether every event's JSON payload is an object whose type field (v2's
        ``type``, v1's ``event_type``) is the event's name, as checked when the block
        was built (``materialize``): then an event's name says which class the SDK
        builds for it."""
        self.materialize()
        return self._typed

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> WireEvent: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[WireEvent, ...]: ...
    def __getitem__(self, index: int | slice) -> WireEvent | tuple[WireEvent, ...]:
        return self.materialize()[index]

    def __iter__(self) -> Iterator[WireEvent]:
        return iter(self.materialize())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (EventBlock, tuple, list)):
            return self.materialize() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.materialize())

    def __repr__(self) -> str:
        state = "built" if self._events is not None else "not yet built"
        return f"EventBlock({self._count} events, {state})"


__all__ = ["EventBlock"]
