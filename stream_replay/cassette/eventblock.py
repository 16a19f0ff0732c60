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
from typing import overload

from ..errors import CassetteError
from ..wire import WireEvent
from .lines import LineError, parse_block


class EventBlock(Sequence[WireEvent]):
    __slots__ = ("_block", "_count", "_events", "_ndjson", "_on_error")

    def __init__(self, block: str, *, ndjson: bool, count: int, on_error: Callable[[LineError], CassetteError]) -> None:
        self._block = block
        self._ndjson = ndjson
        self._count = count
        self._on_error = on_error
        self._events: tuple[WireEvent, ...] | None = None

    def materialize(self) -> tuple[WireEvent, ...]:
        """The events; raises ``CassetteError`` for a line that cannot be used."""
        if self._events is None:
            try:
                self._events = tuple(parse_block(self._block, ndjson=self._ndjson))
            except LineError as exc:
                raise self._on_error(exc) from None
        return self._events

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
