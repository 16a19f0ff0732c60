"""When each replayed event is due, and the one way of waiting for it.

``speed=None`` (or 0) replays instantly; ``speed=1.0`` at the recorded pace;
``speed=N`` N times faster. A stream recorded without timing (imported from vcrpy)
is paced at ``DEFAULT_EVENT_GAP`` per event.

``paced``/``apaced`` are the sync and async twins every replayed stream goes
through (the transport's chunks, the fast path's events, faulty pieces): each item
is handed over once it is due, measured from the moment the request was made.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import TypeVar

from ..cassette.model import DEFAULT_EVENT_GAP, Stream

T = TypeVar("T")

#: Per item: seconds after the start at which it is due (None: at once); or None for all at once.
Due = Sequence[float | None] | None


def check_speed(speed: float | None) -> None:
    if speed is not None and not speed >= 0:
        raise ValueError(f"speed must be >= 0 (0 or None: instant), got {speed}")


def schedule(stream: Stream, speed: float | None) -> list[float] | None:
    """Seconds after the request at which each event is due, or None for instant."""
    check_speed(speed)
    if not speed:
        return None
    if stream.timed:
        return [float(e.offset or 0.0) / speed for e in stream.events]
    return [(i + 1) * DEFAULT_EVENT_GAP / speed for i in range(len(stream.events))]


def _wait(started: float, at: float | None) -> float:
    return 0.0 if at is None else started + at - time.monotonic()


def paced(items: Iterable[T], due: Due, started: float) -> Iterator[T]:
    """Each of ``items`` once it is due (``started``: a ``time.monotonic()``); with
    nothing due (None), the items' own iterator, with no generator step in between."""
    if due is None:
        return iter(items)
    return _paced(items, due, started)


def _paced(items: Iterable[T], due: Sequence[float | None], started: float) -> Iterator[T]:
    for item, at in zip(items, due, strict=True):
        wait = _wait(started, at)
        if wait > 0:
            time.sleep(wait)
        yield item


async def apaced(items: Iterable[T], due: Due, started: float) -> AsyncIterator[T]:
    """``paced`` for async consumers: the wait is ``anyio.sleep`` (asyncio or trio)."""
    if due is None:
        for item in items:
            yield item
        return
    import anyio

    for item, at in zip(items, due, strict=True):
        wait = _wait(started, at)
        if wait > 0:
            await anyio.sleep(wait)
        yield item
