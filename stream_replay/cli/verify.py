"""``stream-replay verify``: re-send recorded requests and report structural drift
(``stream_replay.recording.verify``). (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parsers(commands: Any) -> None:
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


def run(args: argparse.Namespace) -> int:
    from ..recording.verify import verify

    return verify(args.cassettes, sys.stdout, base_url=args.base_url)
