"""The ``stream-replay`` command: a thin shell over the library. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import StreamReplayError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stream-replay",
        description="Record Cohere chat streams once, replay them through the real cohere SDK.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    play = commands.add_parser(
        "play",
        help="replay a cassette through the real cohere SDK and print it as a chat UI would",
        description="Replays every chat call of CASSETTE through a genuine cohere client "
        "(no API key, no network) and prints the stream as it arrives.",
    )
    play.add_argument("cassette", type=Path)
    play.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = recorded pace (default), N = N times faster, 0 = instant",
    )
    play.add_argument("--async", dest="use_async", action="store_true", help="use AsyncClientV2 / AsyncClient")
    play.add_argument("--fast", action="store_true", help="build events directly (the fast path)")

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

    record = commands.add_parser(
        "record",
        help="record one conversation from the command line into a cassette",
        description="Sends one chat request (the key from CO_API_KEY), prints the stream live "
        "as it arrives, and appends the interaction to CASSETTE.",
    )
    from .record_cmd import add_arguments as add_record_arguments

    add_record_arguments(record)

    serve = commands.add_parser(
        "serve",
        help="serve cassettes over HTTP to any Cohere client (CO_API_URL or base_url)",
        description="A Cohere-compatible HTTP server on 127.0.0.1 replaying each CASSETTE "
        "(a file, or a folder: every *.yaml in it). Prints its URL; Ctrl-C stops it.",
    )
    serve.add_argument("paths", nargs="+", type=Path, metavar="CASSETTE_OR_DIR")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    serve.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = recorded pace (default), N = N times faster, 0 = instant",
    )
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault into every response (repeatable): disconnect:after=3, http_error:429, "
        "stall:after=5,seconds=2, malformed:at=4, unknown_event:at=2, drop:1, duplicate:1, swap:1, "
        "split:7, slow_first_event:0.5, delay:per_event=0.05",
    )

    verify = commands.add_parser(
        "verify",
        help="send each recorded request again and report structural drift",
        description="Re-sends every recorded chat request (to the live API with CO_API_KEY, or to "
        "--base-url) and compares the shape of the answer: status, event types, fields, grammar, "
        "finish reason, tool names and argument keys, citations. Text, ids and token counts are "
        "ignored. Exit status 1 if anything drifted.",
    )
    verify.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")
    verify.add_argument("--base-url", default=None, help="send to this server instead of the recorded host")

    show = commands.add_parser(
        "show",
        help="a cassette's streams: timeline and final response",
        description="For each interaction of CASSETTE: the events by type, the time to the first "
        "event, to the first content and to the last event, and the final response.",
    )
    show.add_argument("cassette", type=Path)

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

    args = parser.parse_args(argv)
    try:
        if args.command == "record":
            from .record_cmd import run as record_run

            return record_run(args)
        if args.command == "play":
            from .play import play_cassette

            return play_cassette(args.cassette, speed=args.speed, use_async=args.use_async, fast=args.fast)
        if args.command == "verify":
            from .verify import verify as verify_cassettes

            return verify_cassettes(args.cassettes, sys.stdout, base_url=args.base_url)
        if args.command == "export-vcr":
            from .exporters.vcr import export_vcr

            written = export_vcr(args.cassette, args.output, overwrite=args.force)
            print(f"{args.cassette} -> {written}")
            return 0
        if args.command in ("show", "validate", "diff"):
            from . import inspect_cmd

            if args.command == "show":
                return inspect_cmd.show(args.cassette, sys.stdout)
            if args.command == "validate":
                return inspect_cmd.validate(args.cassettes, sys.stdout)
            return inspect_cmd.diff(args.a, args.b, sys.stdout, args.index_a, args.index_b)
        if args.command == "serve":
            from .serve import serve as serve_cassettes

            return serve_cassettes(args.paths, host=args.host, port=args.port, speed=args.speed, faults=args.fault)
        return _import_vcr(args.sources, args.output, force=args.force, source=args.source)
    except (StreamReplayError, ValueError) as exc:
        print(f"stream-replay: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _import_vcr(sources: list[Path], output: Path, *, force: bool, source: list[str]) -> int:
    from .cassette import save_cassette
    from .importers.vcr import read_vcr

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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
