"""``stream-replay import-vcr`` and ``export-vcr``: to and from vcrpy cassettes
(``stream_replay.vcr``). (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parsers(commands: Any) -> None:
    imp = commands.add_parser(
        "import-vcr",
        help="convert vcrpy / pytest-recording cassettes into stream_replay cassettes",
        description="Reads each SRC with vcrpy's own loader and writes DIR/<name>.yaml; "
        "credential headers and query parameters are dropped.",
    )
    imp.add_argument("sources", nargs="+", type=Path, metavar="SRC")
    imp.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    imp.add_argument("--force", action="store_true", help="overwrite existing files in DIR")
    imp.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="attribution to store in each cassette (repeatable), e.g. license=MIT",
    )

    export = commands.add_parser(
        "export-vcr",
        help="write a cassette back as a plain vcrpy cassette",
        description="Each stream becomes its exact recorded body, written by vcrpy's own serializer; "
        "per-event timing is dropped (vcrpy cannot hold it).",
    )
    export.add_argument("cassette", type=Path)
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")


def run(args: argparse.Namespace) -> int:
    if args.command == "export-vcr":
        from ..vcr.exporter import export_vcr

        written = export_vcr(args.cassette, args.output, overwrite=args.force)
        print(f"{args.cassette} -> {written}")
        return 0
    return import_vcr(args.sources, args.output, force=args.force, source=args.source)


def import_vcr(sources: list[Path], output: Path, *, force: bool, source: list[str]) -> int:
    from ..cassette import save_cassette
    from ..vcr.importer import read_vcr

    extra: dict[str, str] = {}
    for item in source:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"stream-replay: --source {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        extra[key] = value
    converted = []
    for src in sources:
        cassette = read_vcr(src, source=extra or None)
        target = output / (src.stem + ".yaml")
        save_cassette(cassette, target, overwrite=force)
        streams = sum(1 for i in cassette.interactions if i.response.stream is not None)
        events = sum(len(i.response.stream.events) for i in cassette.interactions if i.response.stream)
        converted.append(target)
        print(f"{src} -> {target}: {len(cassette.interactions)} interactions, {streams} streams, {events} events")
    print(f"converted {len(converted)} cassette(s)")
    return 0
