"""``stream-replay import-vcr`` and ``export-vcr``: to and from vcrpy cassettes
(``stream_replay.vcr``). (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import exit_status
from .output import note_failure, os_error_lines


def add_redaction(parser: Any) -> None:
    """``--redact-field PATH`` and ``--redact-pattern REGEX`` (both repeatable)."""
    parser.add_argument(
        "--redact-field",
        dest="redact_fields",
        action="append",
        default=[],
        metavar="PATH",
        help='a request body field to write as "<redacted>" (repeatable), a path with [*] and * wildcards, '
        "e.g. 'documents[*].data.ssn' or 'messages[*].content'",
    )
    parser.add_argument(
        "--redact-pattern",
        dest="redact_patterns",
        action="append",
        default=[],
        metavar="REGEX",
        help="a regular expression whose every match (URL, header values, bodies, each event's JSON strings) is "
        "written as <redacted> (repeatable), e.g. 'sk-[A-Za-z0-9]{20,}'",
    )


def redaction_of(args: argparse.Namespace) -> Any:
    """The ``Redaction`` of the command's ``--redact-*`` flags; ``ValueError`` naming a bad one."""
    from ..cassette.redaction import Redaction

    return Redaction.of(args.redact_fields, args.redact_patterns)


def add_parsers(commands: Any) -> None:
    imp = commands.add_parser(
        "import-vcr",
        help="convert vcrpy / pytest-recording cassettes into stream_replay cassettes",
        description="Reads each SRC (a vcrpy cassette, or a folder: every *.yaml/*.yml below it) with "
        "vcrpy's own loader and writes DIR/<name>.yaml, keeping a folder's tree under DIR; credential "
        "headers and query parameters are dropped, and a conversion that would hold the key (CO_API_KEY, "
        "or the token of a recorded Authorization header) is refused. Every file is attempted, each failure "
        "one line.",
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
    add_redaction(imp)

    export = commands.add_parser(
        "export-vcr",
        help="write a cassette back as a plain vcrpy cassette",
        description="Each stream becomes its exact recorded body, written by vcrpy's own serializer; "
        "per-event timing is dropped (vcrpy cannot hold it). Credential headers are left out, and an export "
        "that would hold the key (CO_API_KEY, or the token of an Authorization header) is refused.",
        epilog=exit_status(),
    )
    export.add_argument("cassette", type=Path)
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    add_redaction(export)


def run(args: argparse.Namespace) -> int:
    try:
        redaction = redaction_of(args)
    except ValueError as exc:
        print(f"stream-replay: {exc}", file=sys.stderr)
        return 2
    if args.command == "export-vcr":
        from ..vcr.exporter import export_vcr

        written = export_vcr(args.cassette, args.output, overwrite=args.force, redaction=redaction)
        print(f"{args.cassette} -> {written}")
        return 0
    return import_vcr(args.sources, args.output, force=args.force, source=args.source, redaction=redaction)


def import_vcr(sources: list[Path], output: Path, *, force: bool, source: list[str], redaction: Any = None) -> int:
    """Convert every vcrpy cassette ``sources`` stand for (files, or folders: every
    ``*.yaml``/``*.yml`` below, the tree kept under ``output``), redacted by ``redaction``.
    Every file is attempted; each failure is one line naming the file and why. 0 when all
    converted, 1 when some did not, 2 for a usage error (nothing written)."""
    from ..errors import StreamReplayError
    from ..vcr.importer import convert_vcr

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
            cassette = convert_vcr(src, target, overwrite=force, source=extra or None, redaction=redaction)
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
