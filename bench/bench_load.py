"""Cassette load cost: stream_replay's ``load_cassette`` against vcrpy's loader.

The same v2 stream (real, then stretched to 2,000 and 10,000 events by cycling the
real content-delta events) is written three ways into a temporary folder and loaded:

- ours: ``save_cassette`` file, read with ``load_cassette`` (YAML parsed, every event
  line's shape and the counts checked); and, for transparency, the same plus the
  first use of the events (each event built and its JSON checked), which a replay
  pays when it starts;
- vcrpy: vcrpy's own YAML (``body.string`` holds the SSE body), read with
  ``FilesystemPersister.load_cassette(path, serializer=yamlserializer)``;
- reference: one YAML mapping per event (``{event, data}``, data kept as JSON text),
  read with ``yaml.load(..., Loader=yaml.CSafeLoader)``.

With the shared corpus present, the real vcrpy cassettes are also loaded as
committed upstream, against their ``read_vcr`` conversions. Goal: ours/vcrpy <= 1.5x
at 10,000 events.  Run: ``python bench/bench_load.py``
"""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from _common import CASSETTES, CORPUS, Timing, measure, print_table, ratio, stream_cassette, stretch, timed, write_vcr
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from stream_replay.cassette import Stream, load_cassette, save_cassette

SIZES = (0, 2_000, 10_000)  # 0: the real stream as recorded
GOAL = 1.5
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_and_use(path: Path) -> Any:
    """Load, then build every event (the JSON check a replay's first use pays)."""
    cassette = load_cassette(path)
    for interaction in cassette.interactions:
        if interaction.response.stream is not None:
            list(interaction.response.stream.events)
    return cassette


def load_vcr(path: Path) -> Any:
    return FilesystemPersister.load_cassette(path, serializer=yamlserializer)


def load_mappings(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


def repeats_for(events: int) -> int:
    return 41 if events < 500 else 21 if events < 5_000 else 11


def synthetic_rows(folder: Path) -> tuple[list[list[object]], float]:
    real = load_cassette(CASSETTES / "v2_text.yaml")
    request = real.interactions[0].request
    source = real.interactions[0].response.stream
    assert source is not None
    rows: list[list[object]] = []
    worst = 0.0
    for size in SIZES:
        events = source.events if size == 0 else stretch(source.events, size, "content-delta")
        stream = Stream("sse", events)
        ours = save_cassette(stream_cassette(request, stream), folder / f"ours_{len(events)}.yaml", overwrite=True)
        vcr_path = write_vcr(folder / f"vcr_{len(events)}.yaml", stream_cassette(request, stream))
        maps = folder / f"maps_{len(events)}.yaml"
        docs = [{"event": e.name, "data": e.data} for e in events]
        maps.write_text(yaml.dump(docs, Dumper=_DUMPER, sort_keys=False, allow_unicode=True), encoding="utf-8")
        # Each file holds the same stream (checked once, outside the timing).
        loaded = load_cassette(ours).interactions[0].response.stream
        assert loaded is not None and loaded.events == events
        assert load_vcr(vcr_path)[1][0]["body"]["string"] == stream.body()
        assert load_mappings(maps) == docs
        result = measure(
            {
                "ours": timed(partial(load_cassette, ours)),
                "ours+use": timed(partial(load_and_use, ours)),
                "vcrpy": timed(partial(load_vcr, vcr_path)),
                "maps": timed(partial(load_mappings, maps)),
            },
            repeats_for(len(events)),
        )
        peer = result["vcrpy"].median
        label = f"{len(events):,}" + (" (real)" if size == 0 else "")
        names = {
            "ours": "ours: load_cassette",
            "ours+use": "ours: load_cassette + build events",
            "vcrpy": "vcrpy: FilesystemPersister.load_cassette",
            "maps": "ref: YAML mapping per event (CSafeLoader)",
        }
        files = {"ours": ours, "ours+use": ours, "vcrpy": vcr_path, "maps": maps}
        for key, name in names.items():
            t = result[key]
            rows.append([label, name, f"{files[key].stat().st_size / 1024:,.0f}", *_ms(t), ratio(t.median, peer)])
        if size == max(SIZES):
            worst = result["ours"].median / peer
    return rows, worst


def corpus_rows(folder: Path) -> list[list[object]] | None:
    originals = sorted((CORPUS / "vcrpy").glob("*/*.yaml"))
    if not originals:
        return None
    from stream_replay.vcr.importer import read_vcr

    pairs: list[tuple[Path, Path]] = []
    events = 0
    for path in originals:
        try:
            cassette = read_vcr(path)
        except Exception:  # a file read_vcr refuses is left out of both sides
            continue
        ours = save_cassette(cassette, folder / f"corpus_{path.parent.name}_{path.name}", overwrite=True)
        events += sum(len(i.response.stream.events) for i in cassette.interactions if i.response.stream)
        pairs.append((path, ours))

    def all_ours() -> None:
        for _, ours in pairs:
            load_cassette(ours)

    def all_vcr() -> None:
        for original, _ in pairs:
            load_vcr(original)

    result = measure({"ours": timed(all_ours), "vcrpy": timed(all_vcr)}, repeats=7, warmup=1)
    label = f"{len(pairs)} files, {events:,} stream events"
    peer = result["vcrpy"].median
    return [
        [label, "ours: load_cassette (read_vcr conversions)", *_ms(result["ours"]), ratio(result["ours"].median, peer)],
        [label, "vcrpy: the files as committed upstream", *_ms(result["vcrpy"]), ratio(peer, peer)],
    ]


def _ms(t: Timing) -> list[str]:
    return [f"{t.median * 1e3:,.2f}", f"{t.minimum * 1e3:,.2f}"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        folder = Path(tmp)
        rows, worst = synthetic_rows(folder)
        print_table(
            "Load one cassette holding one v2 stream (median of repeats, after warm-up)",
            ["events", "loader", "file KiB", "median ms", "min ms", "vs vcrpy"],
            rows,
        )
        corpus = corpus_rows(folder)
    if corpus is None:
        print(f"\n(no corpus at {CORPUS}: real-file comparison skipped)")
    else:
        print_table(
            f"Load every vcrpy cassette of the corpus ({CORPUS / 'vcrpy'}) once",
            ["set", "loader", "median ms", "min ms", "vs vcrpy"],
            corpus,
        )
    verdict = "met" if worst <= GOAL else "NOT met"
    print(f"\nGoal ours/vcrpy <= {GOAL}x at {max(SIZES):,} events: {worst:.2f}x, {verdict}")


if __name__ == "__main__":
    main()
