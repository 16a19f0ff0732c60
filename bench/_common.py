"""Shared helpers for the benchmarks: timing, tables, synthetic streams, vcrpy cassettes.

Not a benchmark itself; ``bench_*.py`` import it (their own folder is on ``sys.path``
when they are run as ``python bench/<name>.py``).
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stream_replay.cassette import Cassette, Interaction, Request, Response, Stream
from stream_replay.wire import WireEvent

REPO = Path(__file__).resolve().parent.parent
CASSETTES = REPO / "cassettes"
#: The shared corpus of real streams; optional (``STREAM_REPLAY_CORPUS`` overrides).
CORPUS = Path(os.environ.get("STREAM_REPLAY_CORPUS", REPO.parent / "shared" / "corpus"))

#: A case is run once per sample and returns the seconds it measured itself, so it
#: can keep setup (building a client, entering a vcrpy context) out of the timing.
Case = Callable[[], float]


def timed(fn: Callable[[], object]) -> Case:
    """A case timing the whole call of ``fn``."""

    def case() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return case


@dataclass(frozen=True)
class Timing:
    median: float
    minimum: float
    samples: int


def measure(cases: dict[str, Case], repeats: int, warmup: int = 2) -> dict[str, Timing]:
    """Median and minimum seconds of each case.

    The cases take turns (round robin), so on a noisy machine a burst of load hits
    every contender alike and the ratios measured in the same run stay fair. A
    garbage collection runs before each sample, outside the timing.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(warmup + repeats):
        for name, case in cases.items():
            gc.collect()
            elapsed = case()
            if round_ >= warmup:
                samples[name].append(elapsed)
    return {name: Timing(statistics.median(s), min(s), len(s)) for name, s in samples.items()}


def ratio(value: float, peer: float) -> str:
    return f"{value / peer:.2f}x" if peer > 0 else "n/a"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]], left: int = 2) -> None:
    """A plain text table: the first ``left`` columns left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in pairs).rstrip()

    print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def stretch(events: Sequence[WireEvent], count: int, repeat: str) -> tuple[WireEvent, ...]:
    """A stream of ``count`` events made from a real one, still a valid stream.

    The real events named ``repeat`` (``content-delta``, ``text-generation``) are
    cycled between the events before the first of them and those after the last.
    """
    positions = [i for i, e in enumerate(events) if e.name == repeat]
    head = list(events[: positions[0]])
    tail = list(events[positions[-1] + 1 :])
    middle = [events[i] for i in positions]
    fill = count - len(head) - len(tail)
    if fill < 1:
        raise ValueError(f"cannot stretch to {count} events: {len(head) + len(tail)} are fixed")
    return (*head, *(middle[i % len(middle)] for i in range(fill)), *tail)


def stream_cassette(request: Request, stream: Stream) -> Cassette:
    content_type = "text/event-stream" if stream.format == "sse" else "application/stream+json"
    response = Response(200, {"content-type": content_type}, stream=stream)
    return Cassette((Interaction(request, response),))


def write_vcr(path: Path, cassette: Cassette) -> Path:
    """A vcrpy cassette holding the same first interaction (the stream's exact body),
    written by ``stream-replay export-vcr``'s exporter (vcrpy's own serializer)."""
    from stream_replay.vcr.exporter import vcr_text

    path.write_text(vcr_text(Cassette(cassette.interactions[:1], cassette.meta)))
    return path
