"""Files on disk, done one way everywhere: atomic replacement and exclusive locks.

- ``write_atomic``: a reader sees the old file or the new one, never a part. The new
  bytes go to a temporary file created exclusively (``mkstemp``) in the target's
  folder, are flushed and fsynced, then replace the target in one ``os.replace``;
  the temporary file is removed on any failure.
- ``locked``: an exclusive ``flock`` on a file or folder, held for a block. On a
  system without ``fcntl`` it is a no-op (one process at a time).
- ``remove_stale_temporaries``: what a save killed before its ``os.replace`` left.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process at a time
    fcntl = None  # type: ignore[assignment]

#: A temporary file older than this was left by a save that was killed.
STALE_TEMPORARY_SECONDS = 60.0


def folder_of(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so that no reader ever sees a partial file."""
    folder = folder_of(target)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file 0600; the new file gets the mode the old one had, or
        # the mode a new file gets under the umask, like any file the user writes.
        os.fchmod(fd, _file_mode(target))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _file_mode(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def remove_stale_temporaries(target: Path) -> None:
    """Temporary files of saves of ``target`` killed before their ``os.replace`` (full
    copies, never used): removed once old enough that no save can still be writing them."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for stale in folder_of(target).glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                stale.unlink()


@contextlib.contextmanager
def locked(path: Path, *, create: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a folder, or a file, created when
    ``create``) for the block; closing the descriptor releases it."""
    flags = os.O_CREAT | os.O_RDWR if create else os.O_RDONLY
    fd = os.open(path, flags, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """The exclusive lock every writer of cassette ``path`` holds while it changes it
    (on the cassette's folder, so no lock file is left behind)."""
    folder = folder_of(path)
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder):
        yield
