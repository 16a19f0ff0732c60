"""Where a test's cassette lives, and the command that records it. Pure. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shlex
from collections.abc import Collection, Sequence
from pathlib import Path

#: Longest cassette file name (without ``.yaml``) kept as is; longer ones are cut and
#: end with a hash of the whole name, so they stay unique and under every file system's
#: 255-byte limit.
MAX_NAME = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+-]")


def _digest(text: str, length: int) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def cassette_name(node_name: str, class_name: str | None = None) -> str:
    """The file name (without ``.yaml``) for a test: ``test_hello``, ``TestChat.test_hello``,
    ``test_hello[v2-short]``.

    A parametrize id keeps its brackets; characters other than ASCII letters, digits
    and ``_.,=+-`` become ``_``, and then a short hash of the original id is added so
    that ``[a b]`` and ``[a_b]`` never share a cassette.
    """
    base, bracket, rest = node_name.partition("[")
    name = _UNSAFE.sub("_", base)  # a Python name already, unless pytest_collect made it
    if bracket:
        ident = rest[:-1] if rest.endswith("]") else rest
        safe = _UNSAFE.sub("_", ident)
        if safe != ident:
            safe += "-" + _digest(ident, 8)
        name += f"[{safe}]"
    if class_name:
        name = f"{_UNSAFE.sub('_', class_name)}.{name}"
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 13] + "-" + _digest(name, 12)
    return name


def name_without_ids(name: str, original: str, ids: Sequence[str], positions: Collection[int]) -> str:
    """``name`` (``test_x[v2-fast]``, ``original`` with ``ids`` in brackets) without the ids
    at ``positions``: ``test_x[v2]``, or ``test_x`` when none is left. ``name`` itself when
    it is not made of ``original`` and ``ids`` (something renamed the test)."""
    if name != f"{original}[{'-'.join(ids)}]":
        return name
    kept = [ident for position, ident in enumerate(ids) if position not in positions]
    return f"{original}[{'-'.join(kept)}]" if kept else original


def _fitting(part: str) -> str:
    """``part`` as one path component most file systems take (255 bytes)."""
    if len(part.encode()) <= MAX_NAME + 5:
        return part
    stem, dot, suffix = part.rpartition(".") if part.endswith(".yaml") else (part, "", "")
    return stem[: MAX_NAME - 13] + "-" + _digest(part, 12) + dot + suffix


def cassette_path(
    *,
    test_file: Path,
    rootdir: Path,
    node_name: str,
    class_name: str | None,
    directory: str | os.PathLike[str] | None,
    cassette: str | os.PathLike[str] | None,
) -> Path:
    """The test's cassette.

    Default: ``<test file's folder>/cassettes/<test module>/<test name>.yaml``. With a
    cassette directory configured (``directory``, relative to ``rootdir``):
    ``<directory>/<test file's path under rootdir, without .py>/<test name>.yaml``, so two
    ``test_chat.py`` in different folders never share one. ``cassette`` (from the
    marker) replaces the default: absolute, or relative to the cassette directory
    (``.yaml`` added when it has no suffix).
    """
    base, folder = _folders(test_file, rootdir, None if directory is None else os.fspath(directory))
    if cassette is not None:
        chosen = Path(cassette)
        if not chosen.suffix:
            chosen = chosen.with_suffix(".yaml")
        if chosen.is_absolute():
            return chosen
        # every part a file system takes (long names shortened with a hash, as test names are)
        return base.joinpath(*(_fitting(part) for part in chosen.parts))
    return folder / f"{cassette_name(node_name, class_name)}.yaml"


@functools.lru_cache(maxsize=256)
def _folders(test_file: Path, rootdir: Path, directory: str | None) -> tuple[Path, Path]:
    """The cassette directory, and the test module's folder in it (``cassette_path``):
    the same for every test of a file, so made once."""
    if directory is None:
        base = test_file.parent / "cassettes"
        module_part = Path(test_file.stem)
    else:
        base = rootdir / directory
        try:
            module_part = test_file.relative_to(rootdir).with_suffix("")
        except ValueError:
            module_part = Path(test_file.stem)
    return base, base / module_part


def record_command(
    *,
    nodeid: str,
    test_file: Path,
    invocation_dir: Path,
    mode: str,
    directory_option: str | None = None,
) -> str:
    """The exact command that runs this one test in ``mode``, from where pytest was run."""
    _, sep, rest = nodeid.partition("::")
    try:
        where = os.path.relpath(test_file, invocation_dir)
    except ValueError:  # pragma: no cover - another drive on Windows
        where = str(test_file)
    target = where + (sep + rest if sep else "")
    parts = ["pytest", shlex.quote(target), f"--stream-replay-mode={mode}"]
    if directory_option is not None:
        parts.append(f"--stream-replay-dir={shlex.quote(directory_option)}")
    return " ".join(parts)
