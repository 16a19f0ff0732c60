"""Replay cost through the cohere SDK: stream_replay (SDK path, fast path) against vcrpy.

(a) Per event: one stream consumed with ``chat_stream`` by an already-built client
    (building it, and entering vcrpy's cassette, stay outside the timing). Real
    streams (``cassettes/v2_text.yaml``, ``v1_text.yaml``) and the same streams
    stretched to 2,000 events by cycling their real text events.
(b) Per replay, as a test pays it: create the client (from the cassette file) and
    consume one real short stream; then the construction alone, ``replay_client``
    against the SDK's own constructor.

Every path is first checked to yield the same events (``model_dump()``).
Run: ``python bench/bench_replay.py``
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cohere
import vcr
from _common import CASSETTES, Case, Timing, measure, print_table, ratio, stream_cassette, stretch, timed, write_vcr

from stream_replay import replay_client
from stream_replay.cassette import Cassette, Stream, load_cassette, save_cassette

LONG = 2_000
PATHS = ("ours: SDK path", "ours: fast=True", "vcrpy")


@dataclass(frozen=True)
class Subject:
    """One stream to replay, as our cassette (in memory and on disk) and as vcrpy's."""

    api: str
    client: type[Any]
    cassette: Cassette
    ours_path: Path
    vcr_path: Path

    @property
    def events(self) -> int:
        stream = self.cassette.interactions[0].response.stream
        assert stream is not None
        return len(stream.events)

    @property
    def kwargs(self) -> dict[str, Any]:
        body = self.cassette.interactions[0].request.body.json
        return {k: v for k, v in body.items() if k != "stream"}


def subjects(folder: Path) -> list[Subject]:
    """The real v2 and v1 streams, and each stretched to ``LONG`` events."""
    found: list[Subject] = []
    for api, client, name, repeat in (
        ("v2", cohere.ClientV2, "v2_text.yaml", "content-delta"),
        ("v1", cohere.Client, "v1_text.yaml", "text-generation"),
    ):
        real = load_cassette(CASSETTES / name)
        source = real.interactions[0].response.stream
        assert source is not None
        stretched = Stream(source.format, stretch(source.events, LONG, repeat))
        long = stream_cassette(real.interactions[0].request, stretched)
        for label, cassette in ((name.removesuffix(".yaml"), real), (f"{api}_{LONG}", long)):
            ours = CASSETTES / name if cassette is real else folder / f"{label}.yaml"
            if cassette is not real:
                save_cassette(cassette, ours, overwrite=True)
            found.append(Subject(api, client, cassette, ours, write_vcr(folder / f"{label}.vcr.yaml", cassette)))
    return found


def drain(events: Iterator[Any]) -> None:
    collections.deque(events, maxlen=0)


def stream_cases(s: Subject) -> dict[str, Case]:
    """(a): only the consumption of the stream is timed."""

    def ours(fast: bool) -> Case:
        def case() -> float:
            client = replay_client(s.cassette, s.client, fast=fast)
            return timed(lambda: drain(client.chat_stream(**s.kwargs)))()

        return case

    def vcrpy() -> float:
        with vcr.use_cassette(str(s.vcr_path), record_mode="none"):
            client = s.client(api_key="x")
            return timed(lambda: drain(client.chat_stream(**s.kwargs)))()

    return {PATHS[0]: ours(False), PATHS[1]: ours(True), PATHS[2]: vcrpy}


def replay_cases(s: Subject) -> dict[str, Case]:
    """(b): client creation (from the file) and consumption, timed together."""

    def ours(source: Cassette | Path, fast: bool) -> Callable[[], None]:
        return lambda: drain(replay_client(source, s.client, fast=fast).chat_stream(**s.kwargs))

    def vcrpy() -> None:
        with vcr.use_cassette(str(s.vcr_path), record_mode="none"):
            drain(s.client(api_key="x").chat_stream(**s.kwargs))

    return {
        "ours: SDK path, from the file": timed(ours(s.ours_path, False)),
        "ours: fast=True, from the file": timed(ours(s.ours_path, True)),
        "ours: SDK path, loaded cassette": timed(ours(s.cassette, False)),
        "vcrpy: use_cassette + client": timed(vcrpy),
    }


def construct_cases(s: Subject) -> dict[str, Case]:
    name = s.client.__name__
    return {
        "replay_client(cassette)": timed(lambda: replay_client(s.cassette, s.client)),
        "replay_client(cassette, fast=True)": timed(lambda: replay_client(s.cassette, s.client, fast=True)),
        "replay_client(path)": timed(lambda: replay_client(s.ours_path, s.client)),
        f"cohere.{name}(api_key='x')": timed(lambda: s.client(api_key="x")),
    }


def check_same_events(s: Subject) -> int:
    """Every path yields the same events; returns how many."""
    dumps = []
    for fast in (False, True):
        dumps.append([e.model_dump() for e in replay_client(s.cassette, s.client, fast=fast).chat_stream(**s.kwargs)])
    with vcr.use_cassette(str(s.vcr_path), record_mode="none"):
        dumps.append([e.model_dump() for e in s.client(api_key="x").chat_stream(**s.kwargs)])
    assert dumps[0] == dumps[1] == dumps[2], f"{s.ours_path.name}: the paths yield different events"
    return len(dumps[0])


def ms(t: Timing) -> list[str]:
    return [f"{t.median * 1e3:,.2f}", f"{t.minimum * 1e3:,.2f}"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_replay_") as tmp:
        every = subjects(Path(tmp))
        yielded = {s.ours_path.name: check_same_events(s) for s in every}
        per_stream: dict[tuple[str, int], dict[str, Timing]] = {}
        rows: list[list[object]] = []
        for s in every:
            is_short = s.events < 500
            result = measure(stream_cases(s), repeats=31 if is_short else 7, warmup=2 if is_short else 1)
            per_stream[(s.api, s.events)] = result
            peer = result["vcrpy"].median
            for path in PATHS:
                t = result[path]
                per_event = f"{t.median / s.events * 1e6:,.1f}"
                label = f"{s.api} {s.events:,} ({yielded[s.ours_path.name]:,} yielded)"
                rows.append([label, path, *ms(t), per_event, ratio(t.median, peer)])
        print_table(
            "(a) Consume one stream with an already-built client",
            ["api, wire events", "path", "median ms", "min ms", "µs/event", "vs vcrpy"],
            rows,
        )
        rows = []
        for api in ("v2", "v1"):
            (short, a), (long, b) = sorted(((n, r) for (k, n), r in per_stream.items() if k == api), key=lambda x: x[0])
            slope = {p: (b[p].median - a[p].median) / (long - short) for p in PATHS}
            for p in PATHS:
                rows.append([f"{api} {short}..{long:,}", p, f"{slope[p] * 1e6:,.1f}", ratio(slope[p], slope["vcrpy"])])
        print_table(
            "(a') Marginal cost of one more event (slope between the two sizes)",
            ["api, events", "path", "µs/event", "vs vcrpy"],
            rows,
        )

        real = [s for s in every if s.events < 500]
        rows = []
        for s in real:
            result = measure(replay_cases(s), repeats=31)
            peer = result["vcrpy: use_cassette + client"].median
            for name, t in result.items():
                rows.append([f"{s.api} {s.ours_path.stem}", name, *ms(t), ratio(t.median, peer)])
        print_table(
            "(b) One replay as a test pays it: create the client, consume one real stream",
            ["api, cassette", "path", "median ms", "min ms", "vs vcrpy"],
            rows,
        )
        rows = []
        for s in real:
            result = measure(construct_cases(s), repeats=31)
            peer = result[f"cohere.{s.client.__name__}(api_key='x')"].median
            for name, t in result.items():
                rows.append(
                    [
                        f"{s.api} {s.client.__name__}",
                        name,
                        f"{t.median * 1e3:,.3f}",
                        f"{t.minimum * 1e3:,.3f}",
                        ratio(t.median, peer),
                    ]
                )
        print_table(
            "(b') Client construction alone",
            ["api, class", "constructor", "median ms", "min ms", "vs cohere's own"],
            rows,
        )
    print(f"\ncohere {cohere.__version__}, vcrpy {vcr.__version__}")


if __name__ == "__main__":
    main()
