"""The events block of a cassette: one event per line.

Each line is ``<offset> <name> <payload>``:

- ``offset``: seconds from the request to the event (``0.0125``), or ``-`` when the
  recording has no timing (streams imported from vcrpy);
- ``name``: the event type (SSE ``event:`` name on v2, ``event_type`` on v1), or
  ``[DONE]`` for v2's terminator, which has no payload;
- ``payload``: the event's JSON text exactly as sent, starting with ``{``; or, for a
  block that is not framed the canonical way, its exact text as one JSON string
  (starting with ``"``), e.g. ``"event: x\\r\\ndata: {}\\r\\n\\r\\n"``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..wire import WireEvent, encode_event
from ..wire.events import DONE
from ..wire.jsontext import loads as loads_json
from ..wire.ndjson import decode_line
from ..wire.sse import decode_block

_OFFSET_FORMAT = "{:.4f}"

#: The latest an event may arrive, in seconds from the request: a replay at the recorded
#: pace waits that long at the most (a real stream lasts seconds to minutes).
MAX_OFFSET = 3600.0
#: How deeply an event's JSON may nest (real events nest 6 levels or fewer).
MAX_JSON_DEPTH = 64
#: No valid JSON text this long or shorter nests deeper than that: deeper takes one
#: more bracket opened than that, and as many closed. (Only for text that parsed:
#: ``too_deep``'s other callers check text before parsing it, which may not close them.)
_TOO_SHORT_TO_NEST = 2 * MAX_JSON_DEPTH + 1

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')

# What a YAML literal block cannot carry on one line: PyYAML's non-printable set
# (which holds lone surrogates from undecodable bytes), the characters YAML takes
# as line breaks, and the tab and byte-order mark, which its writers refuse in a
# literal block (they would write the whole block as one double-quoted string).
# (Written as the complement of what is allowed: \x20-\x7e, \xa0-\ud7ff, \ue000-\ufefe,
# \uff00-\ufffd and the astral planes. The same set as a negated class takes 3.5 ms to
# compile, at the first import of every test run.)
_NOT_ONE_YAML_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff\u2028\u2029]")


def fits_one_line(text: str) -> bool:
    """Whether ``text`` can stand as-is on one line of a YAML literal block."""
    return not _NOT_ONE_YAML_LINE.search(text)


def format_line(event: WireEvent, *, ndjson: bool) -> str:
    """The event's line. An event whose name or JSON a YAML line cannot carry as-is is
    written as a raw block (its exact bytes as one JSON string); reading it back gives
    the same event."""
    offset = "-" if event.offset is None else _OFFSET_FORMAT.format(event.offset)
    name = event.name if fits_one_line(event.name) else "?"
    if event.raw is not None or not fits_one_line(event.data or ""):
        raw = event.raw if event.raw is not None else encode_event(event, "ndjson" if ndjson else "sse")
        return f"{offset} {name} {json.dumps(raw.decode('utf-8', 'surrogateescape'))}"
    if event.data is None:
        return f"{offset} {DONE}"
    return f"{offset} {event.name} {event.data}"


def format_block(events: Iterable[WireEvent], *, ndjson: bool) -> str:
    return "".join(format_line(e, ndjson=ndjson) + "\n" for e in events)


class LineError(ValueError):
    """A line of an events block that cannot be read; the message says why and how to fix."""

    def __init__(self, index: int, problem: str, fix: str) -> None:
        self.index = index
        self.problem = problem
        self.fix = fix
        super().__init__(problem)


def parse_block(block: str, *, ndjson: bool) -> list[WireEvent]:
    """Parse an events block; raises ``LineError`` naming the first bad line."""
    events = read_block(block, ndjson=ndjson)[0]
    assert events is not None  # made whenever no ``each`` is given
    return events


def read_block(
    block: str, *, ndjson: bool, each: Callable[[str | None, Any], None] | None = None
) -> tuple[list[WireEvent] | None, bool, bool]:
    """``parse_block``; whether every payload is known to be a JSON object whose type
    field (v2's ``type``, v1's ``event_type``) is its line's name: what the fast path
    needs to know of each event without parsing its JSON once more; and whether ``each``
    was given every payload. ``each``, when given, is called with each payload's text
    and its parse as the check parses it, in order (None, None for ``[DONE]``), and keeps
    them no longer than it wants (it must not raise); when a line is not plainly right,
    the calls stop short or go on to the end, and False says to ignore what they gave.
    When ``each`` was given every payload, the block is checked but no event is made
    (None): the caller took what it needed from the calls, and the second value is
    False (only a block whose events are made says whether they are typed)."""
    lines = block.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    fast = _parse_well_formed(lines, ndjson, each)
    if fast is not None:
        return fast[0], fast[1], each is not None
    return _parse_carefully(lines, ndjson), False, False


def _shape(timed: bool, ndjson: bool) -> re.Pattern[str]:
    offset = r"\d+(?:\.\d+)?" if timed else "-"
    line = offset + r" [^\s\"]\S* [{\[\"][^\n]*\n"
    done = "" if ndjson else "|" + offset + r" \[DONE\]\n"
    return re.compile(f"(?:{line}{done})*")


_SHAPES = {(timed, ndjson): _shape(timed, ndjson) for timed in (False, True) for ndjson in (False, True)}


def plainly_shaped(block: str, *, ndjson: bool) -> bool:
    """Whether every line of ``block`` has the shape of an event line (one C-level
    pass, no object built): the check a cassette load can afford on 10,000 lines.
    The JSON inside each line is checked when the events are first used."""
    timed = not block.startswith("-")
    return _SHAPES[timed, ndjson].fullmatch(block) is not None


def _parse_well_formed(
    lines: list[str], ndjson: bool, each: Callable[[str | None, Any], None] | None = None
) -> tuple[list[WireEvent] | None, bool] | None:
    """The common case, in one pass that keeps nothing per line but its strings; None
    when any line is not plainly right.

    Loading is dominated by this (a 10,000-event cassette has 10,000 lines), so it
    leaves every doubt, and every error message, to ``_parse_carefully``. With the
    events: whether each payload's type field is its line's name (see ``read_block``).
    It holds no object per line while it goes (a line's split is let go at once): the
    first replay builds its events as ``each`` is called, and whatever is alive then
    is what the garbage collector's young collections walk and promote.
    """
    if not lines:
        return [], True
    key = "event_type" if ndjson else "type"
    typed = each is None  # told with the events only (see read_block)
    offsets: list[str] = []
    names: list[str] = []
    datas: list[str | None] = []
    dones = 0
    # (Each line's steps are as few as they can be: this runs for every event of every
    # first replay.)
    add_offset = offsets.append
    try:
        for line in lines:
            parts = line.split(" ", 2)
            if len(parts) != 3:
                if ndjson or len(parts) != 2 or parts[1] != DONE:
                    return None
                add_offset(parts[0])
                dones += 1
                if each is None:  # the events are made at the end, from these
                    names.append(DONE)
                    datas.append(None)
                else:
                    each(None, None)
                continue
            offset, name, data = parts
            if data[:1] != "{" or (ndjson and f'"event_type":"{name}"' not in data):
                return None
            payload = loads_json(data)
            if len(data) > _TOO_SHORT_TO_NEST and too_deep(data):  # it parsed; most events are shorter
                return None
            if typed and (type(payload) is not dict or payload.get(key) != name):
                typed = False
            add_offset(offset)
            if each is None:
                names.append(name)
                datas.append(data)
            else:
                each(data, payload)
    except (ValueError, RecursionError):
        return None
    if dones == len(offsets):
        return None  # only [DONE]s: the careful reading says what is wrong
    offset_texts = set(offsets)
    if offset_texts == {"-"}:
        return (None if each is not None else [WireEvent(n, d) for n, d in zip(names, datas, strict=True)]), typed
    if "-" in offset_texts:
        return None
    try:
        values = [float(o) for o in offsets]
    except ValueError:
        return None
    if not all(0.0 <= o <= MAX_OFFSET for o in values) or any(b < a for a, b in itertools.pairwise(values)):
        return None
    if each is not None:
        return None, typed
    return [WireEvent(n, d, None, o) for n, d, o in zip(names, datas, values, strict=True)], typed


def _parse_carefully(lines: list[str], ndjson: bool) -> list[WireEvent]:
    events: list[WireEvent] = []
    timed: bool | None = None
    for index, line in enumerate(lines):
        parts = line.split(" ", 2)
        if len(parts) < 2:
            raise LineError(
                index,
                f"cannot read event line {line!r}",
                "each line is '<offset> <type> <json>', e.g. '0.0120 content-delta {\"type\":\"content-delta\",...}'",
            )
        offset_text, name = parts[0], parts[1]
        offset = _parse_offset(index, offset_text)
        if offset is not None and events and events[-1].offset is not None and offset < events[-1].offset:
            raise LineError(
                index,
                f"time offset {offset_text} is earlier than the event before ({events[-1].offset}): "
                "events arrive in order",
                "put the events in the order they arrived, or fix the offset",
            )
        if timed is None:
            timed = offset is not None
        elif timed != (offset is not None):
            raise LineError(
                index,
                "some events have a time offset and some have '-'",
                "give every event of a stream an offset, or none ('-')",
            )
        if len(parts) == 2:
            if name != DONE or ndjson:
                raise LineError(
                    index,
                    f"event {name!r} has no payload",
                    "put the event's JSON after its type; only v2's [DONE] stands alone",
                )
            events.append(WireEvent(DONE, None, None, offset))
            continue
        payload = parts[2]
        if payload.startswith('"'):
            try:
                text = json.loads(payload)
            except ValueError as exc:
                raise LineError(
                    index,
                    f"the raw block is not a valid JSON string ({exc})",
                    "a payload starting with '\"' must be one JSON string holding the exact bytes of the block",
                ) from None
            if not isinstance(text, str):
                raise LineError(index, "the raw block is not one JSON string", "quote the block as a JSON string")
            # the wire codec says what the block is: a canonical event a YAML line could
            # not carry comes back as that event; anything else stays raw
            decoded = decode_line(text) if ndjson else decode_block(text)
            raw = decoded.raw
            events.append(WireEvent(name if raw is not None else decoded.name, decoded.data, raw, offset))
        elif payload[:1] in ("{", "["):
            if too_deep(payload):
                raise LineError(
                    index,
                    f"the payload of {name!r} nests deeper than {MAX_JSON_DEPTH} levels",
                    "this is not an event Cohere sends: restore the cassette or record it again",
                )
            try:
                json.loads(payload)
            except ValueError as exc:
                raise LineError(
                    index,
                    f"the payload of {name!r} is not valid JSON ({exc})",
                    "repair the JSON; to replay a broken event on purpose, write it as a raw "
                    "block: one JSON string holding its exact bytes",
                ) from None
            if ndjson and f'"event_type":"{name}"' not in payload and _v1_type(payload) != name:
                raise LineError(
                    index,
                    f"the line says {name!r} but its JSON has another event_type",
                    'make the type column equal the payload\'s "event_type"',
                )
            events.append(WireEvent(name, payload, None, offset))
        else:
            raise LineError(
                index,
                f"the payload of {name!r} is neither JSON ('{{...}}') nor a raw block ('\"...\"')",
                "write the event's JSON text after its type",
            )
    return events


def _parse_offset(index: int, text: str) -> float | None:
    if text == "-":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0 or value == float("inf"):
        raise LineError(
            index,
            f"time offset {text!r} is not a number of seconds >= 0",
            "start the line with the event's offset in seconds (e.g. 0.0120) or '-'",
        )
    if value > MAX_OFFSET:
        raise LineError(
            index,
            f"time offset {text} s is beyond the {MAX_OFFSET:.0f} s a stream may last",
            "fix the offset (seconds from the request to the event)",
        )
    return value


def too_deep(payload: str) -> bool:
    """Whether the JSON text nests deeper than ``MAX_JSON_DEPTH`` (brackets inside strings
    do not count). Cheap for real events: only a payload with that many brackets is scanned."""
    if payload.count("{") + payload.count("[") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for char in _STRINGS.sub("", payload):
        if char in "{[":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in "}]":
            depth -= 1
    return False


def _v1_type(payload: str) -> object:
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    return obj.get("event_type") if isinstance(obj, dict) else None
