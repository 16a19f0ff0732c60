"""Re-chunking a recorded stream: the same final response, other delta boundaries.

A *run* is a sequence of deltas that add up to one string: v2's ``content-delta``
of one block, ``tool-plan-delta``, ``tool-call-delta`` of one call; v1's
``text-generation``, ``tool-calls-chunk`` plan text, a call's ``parameters``. Its
text is cut again wherever ``cut`` says; every new delta is the run's first event
with its fragment replaced. Citations that arrive inside a run (v2's
``citation-start``/``citation-end``, v1's ``citation-generation``) stay at the same
place in the text: the run is always cut there. Everything else (raw blocks,
events of other types) passes through untouched, in order. Timing is spread over
the time the run took.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ..cassette.model import Stream
from ..wire.events import WireEvent
from ..wire.jsontext import dumps_v1, dumps_v2

#: ``cut(text, fixed)``: the positions (0 < p < len(text)) to cut ``text`` at; it must
#: include every position in ``fixed``.
Cutter = Callable[[str, frozenset[int]], Iterable[int]]

# (event type, path to the fragment, what else identifies the run)
_V2_RUNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "content-delta": (("delta", "message", "content", "text"), ("delta", "message", "content", "thinking")),
    "tool-plan-delta": (("delta", "message", "tool_plan"),),
    "tool-call-delta": (("delta", "message", "tool_calls", "function", "arguments"),),
}
_V1_RUNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "text-generation": (("text",),),
    "tool-calls-chunk": (("text",), ("tool_call_delta", "parameters")),
}
#: Events that may sit inside a text run, tied to a place in the text.
_ANCHORS = frozenset({"citation-start", "citation-end", "citation-generation"})


@dataclass
class _Run:
    key: tuple[Any, ...]
    template: dict[str, Any]
    path: tuple[str, ...]
    #: How the run's events are written: as the recording wrote them (escaped to ASCII,
    #: or the server's own way for the format).
    dumps: Callable[[Any], str]
    fragments: list[str] = field(default_factory=list)
    offsets: list[float | None] = field(default_factory=list)
    anchors: list[tuple[int, WireEvent]] = field(default_factory=list)

    @property
    def length(self) -> int:
        return sum(len(f) for f in self.fragments)


def _find(data: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(data, dict) or name not in data:
            return None
        data = data[name]
    return data


def _with(data: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(data))
    inner = copy
    for name in path[:-1]:
        inner = inner[name]
    inner[path[-1]] = value
    return copy  # type: ignore[no-any-return]


def _shape(data: dict[str, Any], path: tuple[str, ...]) -> str:
    """The event without its fragment: deltas of one run share it."""
    return json.dumps(_with(data, path, ""), sort_keys=True)


def _writer(fmt: str, recorded: str) -> Callable[[Any], str]:
    """The JSON writer of a recorded payload: ASCII-escaped if it was, else the server's."""
    if recorded.isascii() and "\\u" in recorded:
        return lambda obj: json.dumps(obj, separators=(",", ":"))
    return dumps_v2 if fmt == "sse" else dumps_v1


def _run_of(event: WireEvent, runs: dict[str, tuple[tuple[str, ...], ...]], fmt: str) -> _Run | None:
    if event.raw is not None or event.data is None or event.name not in runs:
        return None
    try:
        data = json.loads(event.data)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("logprobs") is not None:
        return None  # a delta's log-probabilities belong to its tokens: never cut again
    for path in runs[event.name]:
        fragment = _find(data, path)
        if isinstance(fragment, str):
            key = (event.name, path, _shape(data, path))
            run = _Run(key, data, path, _writer(fmt, event.data))
            run.fragments.append(fragment)
            run.offsets.append(event.offset)
            return run
    return None


def rechunk_stream(stream: Stream, cut: Cutter) -> Stream:
    """``stream`` with every run's text cut again at the positions ``cut`` gives."""
    runs = _V2_RUNS if stream.format == "sse" else _V1_RUNS
    out: list[WireEvent] = []
    current: _Run | None = None
    for event in stream.events:
        started = _run_of(event, runs, stream.format)
        if current is not None and started is not None and started.key == current.key:
            current.fragments.extend(started.fragments)
            current.offsets.extend(started.offsets)
            continue
        if current is not None and event.name in _ANCHORS and event.raw is None:
            current.anchors.append((current.length, event))
            continue
        if current is not None:
            out.extend(_emit(current, cut))
            current = None
        if started is not None:
            current = started
        else:
            out.append(event)
    if current is not None:
        out.extend(_emit(current, cut))
    return replace(stream, events=tuple(_ordered(out)))


def _emit(run: _Run, cut: Cutter) -> list[WireEvent]:
    text = "".join(run.fragments)
    fixed = frozenset(at for at, _ in run.anchors if 0 < at < len(text))
    positions = sorted({p for p in cut(text, fixed) if 0 < p < len(text)} | fixed)
    bounds = [0, *positions, len(text)] if text else [0, 0]
    name = run.key[0]
    times = [o for o in run.offsets if o is not None]
    first, last = (times[0], times[-1]) if len(times) == len(run.offsets) and times else (None, None)
    anchors = sorted(run.anchors, key=lambda pair: pair[0])
    out: list[WireEvent] = []
    for start, end in itertools.pairwise(bounds):
        while anchors and anchors[0][0] <= start and start > 0:
            out.append(anchors.pop(0)[1])
        piece = text[start:end]
        data = run.dumps(_with(run.template, run.path, piece))
        offset = None
        if first is not None and last is not None:
            offset = round(first + (last - first) * (end / len(text) if text else 1.0), 6)
        out.append(WireEvent(name, data, None, offset))
    out.extend(pair[1] for pair in anchors)
    return out


def _ordered(events: list[WireEvent]) -> list[WireEvent]:
    """Offsets never go back in time (an anchor keeps its own unless that would)."""
    if not events or any(e.offset is None for e in events):
        return events
    latest = 0.0
    ordered = []
    for event in events:
        offset = event.offset if event.offset is not None else latest
        latest = max(latest, offset)
        ordered.append(event.with_offset(latest))
    return ordered
