"""What the command prints and how: colour, encodings, closed pipes, file-system errors.

One place decides colour (``color_enabled``), one function paints (``style``); streams
are made safe for any encoding once, at start (``prepare_streams``); a closed stdout
ends the command quietly (``silence_stdout``) with the status of any failure already
seen (``note_failure``); an ``OSError`` becomes one line naming the path, and a fix.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import StreamReplayError

if TYPE_CHECKING:
    from ..cassette import Cassette

BOLD = "1"
RED = "31"
GREEN = "32"
CYAN = "36"


def color_enabled(stream: TextIO) -> bool:
    """Colour on a terminal only. ``NO_COLOR`` (any non-empty value, https://no-color.org)
    turns it off everywhere; ``FORCE_COLOR`` (non-empty, not ``0``) turns it on, even
    when piped; ``TERM=dumb`` turns it off."""
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR")
    if force and force != "0":
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed or not a real stream
        return False


def style(text: str, code: str) -> str:
    """``text`` in the SGR style ``code`` (``BOLD``, ``RED``, ``"1;36"``...)."""
    return f"\033[{code}m{text}\033[0m" if text else text


def painter(stream: TextIO) -> Callable[[str, str], str]:
    """``style`` when ``stream`` gets colour, else a function returning the text as it is."""
    if color_enabled(stream):
        return style
    return _plain


def _plain(text: str, code: str) -> str:
    return text


def prepare_streams() -> None:
    """Let stdout and stderr print any text under any encoding (``PYTHONIOENCODING=ascii``, a C
    locale): a character the encoding cannot hold is written as a backslash escape (``\\u00e9``)
    instead of raising ``UnicodeEncodeError``. A UTF-8 terminal gets the same bytes as before."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or getattr(stream, "errors", "strict") != "strict":
            continue
        with contextlib.suppress(ValueError, OSError):  # a closed or detached stream: nothing to protect
            reconfigure(errors="backslashreplace")


class _Status:
    """The exit status the command has already earned, for an exit cut short by a closed pipe."""

    code = 0


_STATUS = _Status()


def reset_status() -> None:
    _STATUS.code = 0


def note_failure(code: int = 1) -> None:
    """Say that the command will exit with ``code`` (at least), whatever happens to stdout."""
    _STATUS.code = max(_STATUS.code, code)


def earned_status() -> int:
    return _STATUS.code


def silence_stdout() -> None:
    """After ``BrokenPipeError``: point stdout at /dev/null, so the flush at exit cannot fail
    again (as the Python documentation recommends, "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a file descriptor (captured): nothing to do
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


_FIXES = {
    errno.EACCES: "check the permissions of the file and its folder, or choose a path you can write to",
    errno.EPERM: "check the permissions of the file and its folder, or choose a path you can write to",
    errno.EROFS: "the file system is read-only: choose a path on a writable one",
    errno.EISDIR: "this is a folder: give the path of a file",
    errno.ENOTDIR: "a part of this path is a file, not a folder: choose another path",
    errno.EEXIST: "something is already there: choose another path, or remove it",
    errno.ENOSPC: "the disk is full: free some space, or write somewhere else",
    errno.EDQUOT: "the disk quota is exceeded: free some space, or write somewhere else",
    errno.ENOENT: "check the path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def os_error_lines(exc: OSError, path: str | os.PathLike[str] | None = None) -> list[str]:
    """``<path>: <what the system said>`` and a ``How to fix:`` line, for the user."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    head = f"{os.fsdecode(where)}: {reason}" if where is not None else reason
    fix = _FIXES.get(exc.errno or 0, "check the path and try again")
    return [head, f"  How to fix: {fix}"]


def error_lines(exc: Exception) -> list[str]:
    """What to tell the user about a user error: its message (a ``CassetteError`` ends with its
    ``How to fix:`` line), or for an ``OSError`` the path, what the system said, and a fix."""
    if isinstance(exc, OSError):
        return os_error_lines(exc)
    return str(exc).splitlines() or [type(exc).__name__]


def print_error(lines: list[str]) -> None:
    """``stream-replay: <first line>`` and the rest (the fix) on stderr."""
    print(f"stream-replay: {lines[0]}", *lines[1:], sep="\n", file=sys.stderr)
    sys.stderr.flush()


class UsageError(StreamReplayError):
    """A command-line argument that cannot be used; the message says which, and why."""


#: What a command catches around one file and reports before going on with the next.
USER_ERRORS = (StreamReplayError, ValueError, OSError)


class Cassettes:
    """The cassettes ``paths`` stand for, as ``serve`` takes them (files; folders: every
    ``*.yaml`` below, sorted), each loaded in turn. A missing path or a folder without
    cassettes raises ``CassetteError`` at once (before anything is printed); a file that
    cannot be loaded is reported on stderr and skipped, and ``failed`` counts it."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        from ..replay.server import cassette_files

        self.files: list[Path] = cassette_files(paths)
        self.failed = 0

    def __iter__(self) -> Iterator[tuple[Path, Cassette]]:
        from ..cassette import load_cassette

        for path in self.files:
            try:
                cassette = load_cassette(path)
            except USER_ERRORS as exc:
                self.failed += 1
                note_failure(2)
                print_error(error_lines(exc))
                continue
            yield path, cassette


def shorten(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters (``...`` at the end when cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def last_user_text(body: Any) -> str | None:
    """The last user message of a chat request body, shortened: v2's last ``messages`` entry
    with role ``user``; v1's ``message``, or when that is empty (a request carrying tool
    results) the last user turn of ``chat_history``."""
    if not isinstance(body, dict):
        return None
    text: Any = None
    for message in [*(body.get("chat_history") or []), *(body.get("messages") or [])]:
        if isinstance(message, dict) and str(message.get("role", "")).lower() == "user":
            text = message.get("content", message.get("message"))
    if isinstance(body.get("message"), str) and body["message"]:
        text = body["message"]
    if isinstance(text, list):
        text = " ".join(str(part.get("text", "")) for part in text if isinstance(part, dict))
    return shorten(text) if isinstance(text, str) and text else None


def tool_results(body: Any) -> int:
    """How many tool results a chat request sends back (v1 ``tool_results``; v2 the ``tool``
    messages after the last assistant turn)."""
    if not isinstance(body, dict):
        return 0
    if isinstance(body.get("tool_results"), list):
        return len(body["tool_results"])
    count = 0
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        count += 1
    return count


def body_excerpt(data: bytes, *, width: int = 100, lines: int = 4) -> list[str]:
    """A response body as recorded (JSON spread over lines put on one), wrapped at ``width``, at
    most ``lines`` lines (the last saying how many more there were)."""
    import json
    import textwrap

    text = data.decode("utf-8", "replace").strip()
    if "\n" in text:  # pretty-printed JSON: on one line, to say more in a few
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), ensure_ascii=False)
    wrapped = [piece for line in text.splitlines() for piece in textwrap.wrap(line, width) or [""]]
    if len(wrapped) > lines:
        return [*wrapped[: lines - 1], f"... ({len(wrapped) - lines + 1} more lines)"]
    return wrapped or ["(empty body)"]
