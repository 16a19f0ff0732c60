"""``stream-replay import-vcr`` and ``export-vcr``: to and from vcrpy cassettes
(``stream_replay.vcr``). (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import exit_status
from .output import note_failure, os_error_lines


def add_parsers(commands: Any) -> None:
    imp = commands.add_parser(
        "import-vcr",
        help="convert vcrpy / pytest-recording cassettes into stream_replay cassettes",
        description="Reads each SRC (a vcrpy cassette, or a folder: every *.yaml/*.yml below it) with "
        "vcrpy's own loader and writes DIR/<name>.yaml, keeping a folder's tree under DIR; credential "
        "headers and query parameters are dropped. Every file is attempted, each failure one line.",
        epilog=exit_status("some file could not be converted (the others were)", zero="every file converted"),
    )
    imp.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="a vcrpy cassette or a folder of them")
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
        epilog=exit_status(),
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
    """Convert every vcrpy cassette ``sources`` stand for (files, or folders: every
    ``*.yaml``/``*.yml`` below, the tree kept under ``output``). Every file is attempted;
    each failure is one line naming the file and why. 0 when all converted, 1 when some
    did not, 2 for a usage error (nothing written)."""
    from ..cassette import save_cassette
    from ..errors import StreamReplayError
    from ..vcr.importer import read_vcr

    extra: dict[str, str] = {}
    for item in source:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"stream-replay: --source {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        extra[key] = value
    try:
        plan = _targets(sources, output)
    except ValueError as exc:
        print(f"stream-replay: {exc}", file=sys.stderr)
        return 2
    converted = failed = 0
    for src, target in plan:
        try:
            cassette = read_vcr(src, source=extra or None)
            save_cassette(cassette, target, overwrite=force)
        except BrokenPipeError:
            raise
        except (StreamReplayError, OSError) as exc:
            failed += 1
            note_failure(1)
            print(f"stream-replay: {src}: not converted: {_reason(exc, src, target)}", file=sys.stderr)
            continue
        converted += 1
        streams = sum(1 for i in cassette.interactions if i.response.stream is not None)
        events = sum(len(i.response.stream.events) for i in cassette.interactions if i.response.stream)
        print(f"{src} -> {target}: {len(cassette.interactions)} interactions, {streams} streams, {events} events")
    print(f"converted {converted} of {len(plan)} cassette(s)" + (f"; {failed} failed (see above)" if failed else ""))
    return 1 if failed else 0


def _reason(exc: Exception, src: Path, target: Path) -> str:
    """Why ``src`` was not converted, naming the file at fault (an ``OSError`` on writing
    names ``target``, not the temporary file beside it), and the fix."""
    if not isinstance(exc, OSError):
        return str(exc)
    reading = exc.filename is not None and Path(exc.filename) == src
    head, fix = os_error_lines(exc, src if reading else target)
    return f"{head}\n{fix}"


def _check_output(output_dir: Path) -> None:
    """``-o`` must be a folder, or a path where one can be made: not a file, nor below one."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"-o {output_dir}: is a file; -o takes a folder (converted cassettes keep their names)")
    blocker = next((p for p in output_dir.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ValueError(f"-o {output_dir}: {blocker} is a file, not a folder; choose another output folder")


def _targets(sources: list[Path], output: Path) -> list[tuple[Path, Path]]:
    """(vcrpy cassette, where its conversion goes) for every file ``sources`` stand for."""
    _check_output(output)
    plan: list[tuple[Path, Path]] = []
    for src in sources:
        if src.is_dir():
            found = sorted(p for p in src.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                raise ValueError(f"{src}: no vcrpy cassettes (*.yaml, *.yml) in this folder")
            plan.extend((path, output / path.relative_to(src).with_suffix(".yaml")) for path in found)
        elif src.is_file():
            plan.append((src, output / (src.stem + ".yaml")))
        elif src.exists():
            raise ValueError(f"{src}: neither a file nor a folder")
        else:
            raise ValueError(f"{src}: no such file or folder")
    seen: dict[Path, Path] = {}
    for src, target in plan:
        if target in seen and seen[target] != src:
            raise ValueError(
                f"{seen[target]} and {src} would both be written to {target}; convert them into different folders"
            )
        seen[target] = src
    return plan
