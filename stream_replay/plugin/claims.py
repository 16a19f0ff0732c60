"""Run-wide claims on cassettes, shared by every pytest-xdist worker of one run.

``once`` and ``rewrite`` decide per cassette and per run, not per test: the first test
of the run to use a cassette decides (``rewrite``: delete it; ``once``: it was missing,
so this run records it), and every later test of the run, in any worker, follows.
A claim is a file created with ``O_EXCL`` in a folder the controller makes and hands
to its workers, so exactly one process wins it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path


class RunClaims:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, kind: str, cassette: Path) -> Path:
        digest = hashlib.sha1(str(cassette.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
        return self.folder / f"{kind}-{digest}"

    def claim(self, kind: str, cassette: Path) -> bool:
        """True for the first caller of the run to claim ``cassette`` for ``kind``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self._file(kind, cassette), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def claimed(self, kind: str, cassette: Path) -> bool:
        return self._file(kind, cassette).exists()

    @contextlib.contextmanager
    def held(self, cassette: Path) -> Iterator[None]:
        """Held by a test while it records into ``cassette``: a test of another worker
        that shares it waits, then replays what this one recorded instead of recording
        the same request twice."""
        from ..cassette.files import locked  # here: the hook module imports this one

        self.folder.mkdir(parents=True, exist_ok=True)
        with locked(self._file("lock", cassette), create=True):
            yield
