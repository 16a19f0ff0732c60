"""A short failure report for requests the cassette cannot answer: where the test
and the code under test made the request, then the message.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import linecache
import os
from pathlib import Path
from typing import Any

_LIBRARIES = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def _is_users(path: Path, rootdir: Path, package: Path) -> bool:
    text = str(path)
    if any(part in text for part in _LIBRARIES) or path.is_relative_to(package):
        return False
    return path.is_relative_to(rootdir)


def short_failure(excinfo: Any, rootdir: Path) -> str:
    package = Path(__file__).resolve().parent.parent
    lines = [f"{type(excinfo.value).__name__}: {excinfo.value}"]
    where = []
    for entry in excinfo.traceback:
        path = Path(str(entry.path))
        if not _is_users(path.resolve(), rootdir.resolve(), package):
            continue
        shown = os.path.relpath(path, rootdir)
        where.append(f"  {shown}:{entry.lineno + 1}: in {entry.name}")
        where.append(f"      {linecache.getline(str(path), entry.lineno + 1).strip()}")
    if where:
        lines.append("The request was made at:")
        lines.extend(where)
    # What others attached on the way up (hypothesis: the failing example, as the drawn cassette)
    lines.extend(str(note) for note in getattr(excinfo.value, "__notes__", ()))
    return "\n".join(lines)
