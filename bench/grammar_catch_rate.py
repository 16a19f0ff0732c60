"""How many single mutations of real streams ``validate_stream`` catches.

Every real stream (the shared corpus when present, else the bundled cassettes) is
mutated at every position in each of six ways: drop the event, duplicate it, swap it
with the next one, cut the stream before it, shift its index by one, and (tool-call
arguments) append a stray ``}`` to its fragment. A mutation that leaves the events
exactly as they were (swapping two identical events) is not counted. Prints the
catch rate per mutation and overall.

    python bench/grammar_catch_rate.py
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator

from _common import CASSETTES, CORPUS

from stream_replay import load_cassette
from stream_replay.analysis.grammar import validate_stream
from stream_replay.wire import WireEvent, decode


def _streams() -> tuple[str, list[list[WireEvent]]]:
    index = CORPUS / "streams" / "INDEX.tsv"
    if index.exists():
        rows = list(csv.DictReader(index.open(), delimiter="\t"))
        streams = [
            list(decode((CORPUS / "streams" / r["file"]).read_bytes(), "sse" if r["api"] == "v2" else "ndjson"))
            for r in rows
            if r["http_status"] == "200"
        ]
        return f"{len(streams)} corpus streams", streams
    streams = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in load_cassette(path).interactions:
            if interaction.response.stream is not None and interaction.response.status == 200:
                streams.append(list(interaction.response.stream.events))
    return f"{len(streams)} bundled streams (corpus absent)", streams


def _mutations(events: list[WireEvent]) -> Iterator[tuple[str, list[WireEvent]]]:
    for position, event in enumerate(events):
        yield "drop", [*events[:position], *events[position + 1 :]]
        yield "duplicate", [*events[: position + 1], *events[position:]]
        if position + 1 < len(events):
            yield "swap", [*events[:position], events[position + 1], event, *events[position + 2 :]]
        if position > 0:
            yield "cut", events[:position]
        data = json.loads(event.data) if event.data and event.raw is None else None
        if isinstance(data, dict) and isinstance(data.get("index"), int):
            data["index"] += 1
            yield "reindex", [*events[:position], event._replace(data=json.dumps(data)), *events[position + 1 :]]
        if event.name == "tool-call-delta" and isinstance(data, dict):
            data = json.loads(event.data or "")
            data["delta"]["message"]["tool_calls"]["function"]["arguments"] += "}"
            changed = event._replace(data=json.dumps(data))
            yield "corrupt-args", [*events[:position], changed, *events[position + 1 :]]


def main() -> None:
    label, streams = _streams()
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    for events in streams:
        for kind, mutated in _mutations(events):
            if mutated == events:
                continue
            total[kind] += 1
            caught[kind] += bool(validate_stream(mutated))
    print(f"single mutations of {label}")
    for kind in ("drop", "duplicate", "swap", "cut", "reindex", "corrupt-args"):
        if total[kind]:
            print(f"  {kind:12s} {caught[kind]:7d} / {total[kind]:7d} caught ({caught[kind] / total[kind]:.1%})")
    all_caught, all_total = sum(caught.values()), sum(total.values())
    print(f"  {'all':12s} {all_caught:7d} / {all_total:7d} caught ({all_caught / all_total:.1%})")


if __name__ == "__main__":
    main()
