"""``stream-replay show``, ``validate`` and ``diff``: a cassette's streams as a timeline
and a final response, its grammar checked, two recordings compared. All from the wire
JSON the cassette holds; no SDK involved.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from ..analysis.assertions import final_response, recorded_response
from ..analysis.grammar import validate_stream
from ..cassette import Cassette, load_cassette
from ..cassette.model import Stream
from ..wire.events import event_type


def add_parsers(commands: Any) -> None:
    show_parser = commands.add_parser(
        "show",
        help="a cassette's streams: timeline and final response",
        description="For each interaction of CASSETTE: the events by type, the time to the first "
        "event, to the first content and to the last event, and the final response.",
    )
    show_parser.add_argument("cassette", type=Path)

    check = commands.add_parser(
        "validate",
        help="check every stream of the cassettes against Cohere's grammar and invariants",
        description="One line per violation; exit status 1 if there is any.",
    )
    check.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")

    compare = commands.add_parser(
        "diff",
        help="compare the final responses and event sequences of two recordings",
        description="Field-level differences of the final responses, then the event sequences "
        "as a unified diff. Exit status 1 if they differ.",
    )
    compare.add_argument("a", type=Path, metavar="A")
    compare.add_argument("b", type=Path, metavar="B")
    compare.add_argument("--index-a", type=int, default=None, help="interaction of A (when it holds several streams)")
    compare.add_argument("--index-b", type=int, default=None, help="interaction of B (when it holds several streams)")


def run(args: argparse.Namespace) -> int:
    if args.command == "show":
        return show(args.cassette, sys.stdout)
    if args.command == "validate":
        return validate(args.cassettes, sys.stdout)
    return diff(args.a, args.b, sys.stdout, args.index_a, args.index_b)


def _streamed(cassette: Cassette) -> list[int]:
    return [i for i, x in enumerate(cassette.interactions) if x.response.stream is not None]


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def _timeline(stream: Stream) -> list[str]:
    counts = Counter(e.name for e in stream.events)
    offsets = [e.offset for e in stream.events]
    timed = all(o is not None for o in offsets) and bool(offsets)
    content = ("content-delta", "text-generation", "tool-plan-delta", "tool-call-delta", "tool-calls-chunk")
    first_content = next((e.offset for e in stream.events if e.name in content), None)
    lines = [
        f"  {len(stream.events)} events ({stream.format}, {stream.outcome}): "
        + ", ".join(f"{name} {count}" for name, count in counts.items())
    ]
    if timed:
        lines.append(
            f"  first event {_ms(float(offsets[0] or 0))}, first content "
            f"{_ms(float(first_content) if first_content is not None else None)}, "
            f"last event {_ms(float(offsets[-1] or 0))}"
        )
    else:
        lines.append("  no timing recorded (imported from vcrpy: replayed at 20 ms per event)")
    return lines


def _response_lines(response: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("text", "thinking", "tool_plan"):
        if response[name]:
            lines.append(f"  {name}: {response[name]!r}")
    for index, call in enumerate(response["tool_calls"]):
        lines.append(f"  tool_calls[{index}]: {call['name']}({call['arguments']!r})")
    for index, citation in enumerate(response["citations"]):
        lines.append(
            f"  citations[{index}]: {citation['start']}:{citation['end']} {citation['text']!r} "
            f"({len(citation['sources'])} sources)"
        )
    lines.append(f"  finish_reason: {response['finish_reason']}")
    if response["usage"] is not None:
        lines.append(f"  usage: {response['usage']}")
    return lines


def show(path: str | os.PathLike[str], out: TextIO) -> int:
    cassette = load_cassette(path)
    for index, interaction in enumerate(cassette.interactions):
        request = interaction.request
        print(f"interactions[{index}] {request.method} {request.url} -> {interaction.response.status}", file=out)
        stream = interaction.response.stream
        if stream is None:
            continue
        for line in _timeline(stream):
            print(line, file=out)
        for line in _response_lines(final_response(recorded_response(cassette, index))):
            print(line, file=out)
    return 0


def validate(paths: list[Path], out: TextIO) -> int:
    streams = 0
    violations = 0
    for path in paths:
        cassette = load_cassette(path)
        for index in _streamed(cassette):
            stream = cassette.interactions[index].response.stream
            assert stream is not None
            streams += 1
            for violation in validate_stream(stream.events):
                violations += 1
                print(f"{path}: interactions[{index}]: {violation}", file=out)
    print(f"{streams} stream(s) in {len(paths)} cassette(s): {violations} violation(s)", file=out)
    return 1 if violations else 0


def diff(a: Path, b: Path, out: TextIO, index_a: int | None = None, index_b: int | None = None) -> int:
    from ..analysis.jsondiff import field_diff

    try:
        left = recorded_response(a, index_a)
        right = recorded_response(b, index_b)
    except ValueError as exc:
        raise ValueError(f"{exc} (on the command line: --index-a / --index-b)") from None
    first, second = final_response(left), final_response(right)
    differences = field_diff(first, second, limit=50, added=f"(not in {a.name})", removed=f"(not in {b.name})")
    print(f"final response, {a} -> {b}:", file=out)
    for line in differences or ["(the same)"]:
        print(f"  {line}", file=out)
    events_a = _runs([_event_name(e) for e in left.events])
    events_b = _runs([_event_name(e) for e in right.events])
    print(f"events, {a} -> {b}:", file=out)
    lines = list(difflib.unified_diff(events_a, events_b, str(a), str(b), n=1, lineterm=""))
    for line in lines[2:] or ["(the same sequence)"]:
        print(f"  {line}", file=out)
    return 1 if differences or lines else 0


def _runs(names: list[str]) -> list[str]:
    """``content-delta[0] x45`` for 45 in a row: the shape of a stream, readable in a diff."""
    runs: list[str] = []
    for name, group in itertools.groupby(names):
        count = sum(1 for _ in group)
        runs.append(f"{name} x{count}" if count > 1 else name)
    return runs


def _event_name(event: Any) -> str:
    kind = event_type(event)
    index = event.get("index") if isinstance(event, dict) else None
    return f"{kind}[{index}]" if isinstance(index, int) else str(kind)
