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
from typing import Any

from . import output

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


def exit_status(one: str | None = None, zero: str = "success") -> str:
    """The ``--help`` epilog every command has: what its exit statuses mean."""
    failed = f"1 {one}; " if one else ""
    return (
        f"Exit status: 0 {zero}; {failed}2 usage or input error (a bad argument; a path that is missing, "
        "not a cassette, or cannot be read or written)."
    )


def version_text() -> str:
    """``stream-replay 0.1.0 (cohere 7.3.1, Python 3.11.9)``, without importing cohere."""
    import platform
    from importlib import metadata

    from .._version import __version__

    try:
        cohere = f"cohere {metadata.version('cohere')}"
    except metadata.PackageNotFoundError:
        cohere = "cohere not installed"
    return f"stream-replay {__version__} ({cohere}, Python {platform.python_version()})"


class _Version(argparse.Action):
    """``--version``: the text is computed only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(version_text())
        parser.exit()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="stream-replay",
        description="Record Cohere chat streams once, replay them through the real cohere SDK.",
        epilog="Exit status: 0 success; 1 the command's check failed (see COMMAND --help); 2 usage or "
        "input error. Colour on a terminal only; NO_COLOR=1 turns it off, FORCE_COLOR=1 on.",
    )
    top.add_argument("--version", action=_Version, help="print the versions of stream-replay, cohere and Python")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in dict.fromkeys(COMMANDS.values()):  # each module once, in table order
        _module(module).add_parsers(commands)  # type: ignore[attr-defined]
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status. A user error (bad input, a file that cannot
    be read or written) is one line and a fix on stderr, status 2, never a traceback; a bug
    still shows its traceback. A closed stdout (``| head``) ends quietly; Ctrl-C is 130."""
    output.prepare_streams()
    output.reset_status()
    try:
        try:
            args = parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error argparse has printed
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        code: int = _module(COMMANDS[args.command]).run(args)  # type: ignore[attr-defined]
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        output.silence_stdout()
        return output.earned_status()
    except KeyboardInterrupt:
        return 130
    except output.USER_ERRORS as exc:
        output.print_error(output.error_lines(exc))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
