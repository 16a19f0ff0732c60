"""The ``stream-replay`` command: a thin shell over the library.

Each subcommand is a module of this package with ``add_parser(commands)`` (its
arguments) and ``run(args) -> int`` (its exit code); ``COMMANDS`` is the dispatch
table. A subcommand module is imported only when that subcommand runs.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ..errors import StreamReplayError

#: Subcommand name -> the module (in this package) that implements it.
COMMANDS: dict[str, str] = {
    "play": "play",
    "record": "record",
    "serve": "serve",
    "verify": "verify",
    "show": "inspect",
    "validate": "inspect",
    "diff": "inspect",
    "import-vcr": "vcr",
    "export-vcr": "vcr",
}


def add_speed(parser: argparse.ArgumentParser) -> None:
    """The ``--speed`` option of every command that replays."""
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = recorded pace (default), N = N times faster, 0 = instant",
    )


def _module(name: str) -> object:
    return importlib.import_module(f"{__name__}.{name}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="stream-replay",
        description="Record Cohere chat streams once, replay them through the real cohere SDK.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS.values()):  # each module once, in table order
        _module(module).add_parsers(commands)  # type: ignore[attr-defined]
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = _module(COMMANDS[args.command]).run(args)  # type: ignore[attr-defined]
        return code
    except (StreamReplayError, ValueError) as exc:
        print(f"stream-replay: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
