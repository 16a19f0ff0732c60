"""``stream-replay show``, ``validate`` and ``diff``: a cassette's requests and streams as
a timeline and a final response, its grammar checked, two recordings compared. All from
the wire JSON the cassette holds; no SDK involved. ``show`` and ``validate`` take files
and folders (every ``*.yaml`` below, as ``serve`` does).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..analysis.assertions import final_response, recorded_response
from ..analysis.grammar import validate_stream
from ..cassette import Cassette, Interaction, load_cassette
from ..cassette.model import Stream
from ..wire.events import event_type
from . import exit_status, output


def add_parsers(commands: Any) -> None:
    show_parser = commands.add_parser(
        "show",
        help="a cassette's streams: requests, timeline and final response",
        description="For each CASSETTE (a file, or a folder: every *.yaml below it): the file, then for "
        "each interaction its request (model, last user message), the events by type, the time to the "
        "first event, to the first content and to the last event, and the final response; for an HTTP "
        "error, its status and body.",
        epilog=exit_status(),
    )
    show_parser.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")

    check = commands.add_parser(
        "validate",
        help="check every stream of the cassettes against Cohere's grammar and invariants",
        description="Checks every stream of each CASSETTE (a file, or a folder: every *.yaml below it). "
        "One line per violation, then a count.",
        epilog=exit_status("a violation was found"),
    )
    check.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")

    compare = commands.add_parser(
        "diff",
        help="compare the final responses and event sequences of two recordings",
        description="Field-level differences of the final responses, then the event sequences "
        "as a unified diff.",
        epilog=exit_status("the recordings differ", zero="the same"),
    )
    compare.add_argument("a", type=Path, metavar="A")
    compare.add_argument("b", type=Path, metavar="B")
    compare.add_argument("--index-a", type=int, default=None, help="interaction of A (when it holds several streams)")
    compare.add_argument("--index-b", type=int, default=None, help="interaction of B (when it holds several streams)")


def run(args: argparse.Namespace) -> int:
    if args.command == "show":
        return show(args.cassettes, sys.stdout)
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
    if stream.error is not None:
        lines.append(f"  {stream.outcome}: {stream.error.type}: {output.shorten(stream.error.message)}")
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


def _request_line(interaction: Interaction) -> str | None:
    """``  model command-r · user: 'Erick, 27 years old'``: what was asked, when the body says."""
    body = interaction.request.body.parsed()
    if not isinstance(body, dict):
        return None
    parts = []
    if body.get("model"):
        parts.append(f"model {body['model']}")
    prompt = output.last_user_text(body)
    if prompt is not None:
        parts.append(f"user: {prompt!r}")
    results = output.tool_results(body)
    if results:
        parts.append(f"{results} tool result{'s' if results != 1 else ''}")
    return f"  {' · '.join(parts)}" if parts else None


def _meta(cassette: Cassette) -> str:
    count = len(cassette.interactions)
    words = f"{count} interaction{'s' if count != 1 else ''}"
    if cassette.meta.recorded_at:
        words += f", recorded {cassette.meta.recorded_at}"
    if cassette.meta.cohere_version:
        words += f" with cohere {cassette.meta.cohere_version}"
    return words


def show(paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], out: TextIO) -> int:
    """Print each cassette ``paths`` stand for (files; folders: every ``*.yaml`` below)."""
    paint = output.painter(out)
    cassettes = output.Cassettes([paths] if isinstance(paths, (str, os.PathLike)) else paths)
    for number, (path, cassette) in enumerate(cassettes):
        if number:
            print(file=out)
        print(paint(f"{path}: {_meta(cassette)}", output.BOLD), file=out)
        for index, interaction in enumerate(cassette.interactions):
            _show_interaction(cassette, index, interaction, out, paint)
    return 2 if cassettes.failed else 0


def _show_interaction(
    cassette: Cassette, index: int, interaction: Interaction, out: TextIO, paint: Callable[[str, str], str]
) -> None:
    request, response = interaction.request, interaction.response
    print(paint(f"interactions[{index}] {request.method} {request.url} -> {response.status}", output.CYAN), file=out)
    asked = _request_line(interaction)
    if asked:
        print(asked, file=out)
    if response.status >= 400:
        body = output.body_excerpt(response.body_bytes())
        print(f"  {paint(f'HTTP {response.status}', output.RED)}: {body[0]}", file=out)
        for line in body[1:]:
            print(f"    {line}", file=out)
    stream = response.stream
    if stream is None:
        return
    for line in _timeline(stream):
        print(line, file=out)
    for line in _response_lines(final_response(recorded_response(cassette, index))):
        print(line, file=out)


def validate(paths: Sequence[str | os.PathLike[str]], out: TextIO) -> int:
    """Check every stream of the cassettes ``paths`` stand for; every file is attempted."""
    paint = output.painter(out)
    cassettes = output.Cassettes(paths)
    streams = 0
    violations = 0
    for path, cassette in cassettes:
        for index in _streamed(cassette):
            stream = cassette.interactions[index].response.stream
            assert stream is not None
            streams += 1
            for violation in validate_stream(stream.events):
                violations += 1
                output.note_failure(1)
                print(f"{path}: interactions[{index}]: {paint(str(violation), output.RED)}", file=out)
    summary = f"{streams} stream(s) in {len(cassettes.files) - cassettes.failed} cassette(s): "
    summary += paint(f"{violations} violation(s)", output.RED) if violations else f"{violations} violation(s)"
    if cassettes.failed:
        summary += f"; {cassettes.failed} cassette(s) could not be read (see above)"
    print(summary, file=out)
    return 2 if cassettes.failed else 1 if violations else 0


def diff(a: Path, b: Path, out: TextIO, index_a: int | None = None, index_b: int | None = None) -> int:
    from ..analysis.jsondiff import field_diff

    paint = output.painter(out)
    left = recorded_response(*_pick(a, index_a, "--index-a"))
    right = recorded_response(*_pick(b, index_b, "--index-b"))
    first, second = final_response(left), final_response(right)
    differences = field_diff(first, second, limit=50, added=f"(not in {a.name})", removed=f"(not in {b.name})")
    events_a = _runs([_event_name(e) for e in left.events])
    events_b = _runs([_event_name(e) for e in right.events])
    lines = list(difflib.unified_diff(events_a, events_b, str(a), str(b), n=1, lineterm=""))
    if differences or lines:
        output.note_failure(1)
    print(paint(f"final response, {a} -> {b}:", output.BOLD), file=out)
    for line in differences or ["(the same)"]:
        print(f"  {line}", file=out)
    print(paint(f"events, {a} -> {b}:", output.BOLD), file=out)
    for line in lines[2:] or ["(the same sequence)"]:
        color = _DIFF_COLORS.get(line[:1])
        print(f"  {paint(line, color) if color else line}", file=out)
    return 1 if differences or lines else 0


_DIFF_COLORS = {"-": output.RED, "+": output.GREEN, "@": output.CYAN}


def _pick(path: Path, index: int | None, option: str) -> tuple[Cassette, int]:
    """The cassette at ``path`` and the interaction to compare: ``index``, checked, or its only
    stream. A folder, an index out of range or not a stream is a ``UsageError`` naming them."""
    if path.is_dir():
        raise output.UsageError(f"{path}: is a folder; diff compares two cassette files (pick one in it)")
    cassette = load_cassette(path)
    streamed = _streamed(cassette)
    total = len(cassette.interactions)
    where = f"streams at {streamed}" if streamed else "no stream"
    if index is None:
        if len(streamed) == 1:
            return cassette, streamed[0]
        if not streamed:
            raise output.UsageError(f"{path} holds no stream ({total} interactions): nothing to compare")
        raise output.UsageError(
            f"{path} holds {len(streamed)} streamed interactions ({streamed}); pass {option} N to pick one"
        )
    if not 0 <= index < total:
        valid = f"0 to {total - 1}" if total else "none: the cassette holds no interactions"
        raise output.UsageError(f"{path}: {option} {index} is out of range (valid: {valid}; {where})")
    if index not in streamed:
        request, status = cassette.interactions[index].request, cassette.interactions[index].response.status
        raise output.UsageError(
            f"{path}: {option} {index}: interactions[{index}] ({request.method} {request.url} -> {status}) is "
            f"not a stream ({where})"
        )
    return cassette, index


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
