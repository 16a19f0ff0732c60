"""When each replayed event is due.

``speed=None`` (or 0) replays instantly; ``speed=1.0`` at the recorded pace;
``speed=N`` N times faster. A stream recorded without timing (imported from vcrpy)
is paced at ``DEFAULT_EVENT_GAP`` per event.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from ..cassette.model import DEFAULT_EVENT_GAP, Stream


def schedule(stream: Stream, speed: float | None) -> list[float] | None:
    """Seconds after the request at which each event is due, or None for instant."""
    if not speed:
        return None
    if speed < 0:
        raise ValueError(f"speed must be >= 0 (0 or None: instant), got {speed}")
    if stream.timed:
        return [float(e.offset or 0.0) / speed for e in stream.events]
    return [(i + 1) * DEFAULT_EVENT_GAP / speed for i in range(len(stream.events))]
