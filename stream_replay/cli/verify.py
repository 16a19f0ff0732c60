"""``stream-replay verify``: re-send recorded requests and report structural drift
(``stream_replay.recording.verify``). (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import exit_status


def add_parsers(commands: Any) -> None:
    verify = commands.add_parser(
        "verify",
        help="send each recorded request again and report structural drift",
        description="Re-sends every recorded chat request (to the recorded URL, with CO_API_KEY; a request "
        "recorded from a local server such as stream-replay serve goes to https://api.cohere.com instead; "
        "or everything to --base-url) and compares the shape of the answer: status, event types, fields, "
        "grammar, finish reason, tool names and argument keys, citations. Text, ids and token counts are "
        "ignored. It says first where it sends; without CO_API_KEY, nothing is sent to Cohere's API.",
        epilog=exit_status(one="something drifted", zero="no drift")
        + " A missing key, a refused key (HTTP 401/403) or an unreachable server is status 2.",
    )
    verify.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")
    where = verify.add_mutually_exclusive_group()
    where.add_argument(
        "--base-url", default=None, metavar="URL", help="send every request to this server (with its recorded path)"
    )
    where.add_argument(
        "--to-recorded-host",
        action="store_true",
        help="send requests recorded from a local server (127.0.0.1, localhost, ::1) back to it, as recorded, "
        "instead of to https://api.cohere.com",
    )


def run(args: argparse.Namespace) -> int:
    from ..recording.verify import verify

    return verify(args.cassettes, sys.stdout, base_url=args.base_url, to_recorded_host=args.to_recorded_host)
