"""``stream-replay serve``: cassettes served over HTTP (``stream_replay.replay.server``).
(PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import add_speed, exit_status


def add_parsers(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve cassettes over HTTP to any Cohere client (CO_API_URL or base_url)",
        description="A Cohere-compatible HTTP server on 127.0.0.1 replaying each CASSETTE "
        "(a file, or a folder: every *.yaml in it). Prints its URL; Ctrl-C or SIGTERM stops it.",
        epilog=exit_status(zero="stopped with Ctrl-C or SIGTERM"),
    )
    serve.add_argument("paths", nargs="+", type=Path, metavar="CASSETTE_OR_DIR")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    add_speed(serve)
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault into every response (repeatable): disconnect:after=3, http_error:429, "
        "stall:after=5,seconds=2, malformed:at=4, unknown_event:at=2, drop:1, duplicate:1, swap:1, "
        "split:7, slow_first_event:0.5, delay:per_event=0.05",
    )
    serve.add_argument(
        "--match-on",
        action="append",
        default=None,
        metavar="MATCHER",
        choices=["method", "host", "route", "query", "body"],
        help="compare only these (repeatable; default: method, route, query, body)",
    )
    serve.add_argument(
        "--ignore-field",
        action="append",
        default=[],
        metavar="PATH",
        help="leave this body field out of matching (repeatable), e.g. temperature, messages[0].content, "
        "tools[*].parameter_definitions.*.type",
    )
    serve.add_argument(
        "--ignore-pattern",
        action="append",
        default=[],
        metavar="REGEX",
        help="blank what this regular expression matches in any string of the body before matching "
        "(repeatable), e.g. a date in a prompt: '\\d{4}-\\d{2}-\\d{2}'",
    )
    serve.add_argument(
        "--drift",
        choices=["fail", "accept"],
        default="fail",
        help="a request whose body matches no recording: fail with 404 (default), or accept: answer from "
        "the recording that matches but for the body, and log the drifted fields",
    )


    serve.add_argument(
        "--max-body-mb",
        type=float,
        default=16,
        metavar="MB",
        help="largest request body accepted, in MiB (default 16); a larger one gets 413",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=10,
        metavar="SECONDS",
        help="close a connection whose request line and headers take longer (default 10)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=30,
        metavar="SECONDS",
        help="close a kept-alive connection idle this long (default 30)",
    )


def run(args: argparse.Namespace) -> int:
    from ..replay.matching import DEFAULT_MATCH_ON
    from ..replay.server import serve

    return serve(
        args.paths,
        host=args.host,
        port=args.port,
        speed=args.speed,
        faults=args.fault,
        match_on=args.match_on or DEFAULT_MATCH_ON,
        ignore_fields=args.ignore_field,
        ignore_patterns=args.ignore_pattern,
        drift=args.drift,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        header_timeout=args.header_timeout,
        idle_timeout=args.idle_timeout,
    )
