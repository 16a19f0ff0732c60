"""Files on disk, done one way everywhere: atomic replacement and exclusive locks.

- ``write_atomic``: a reader sees the old file or the new one, never a part. The new
  bytes go to a temporary file created exclusively (``mkstemp``) in the target's
  folder, are flushed and fsynced, then replace the target in one ``os.replace``;
  the temporary file is removed on any failure.
- ``locked``: an exclusive ``flock`` on a file or folder, held for a block. On a
  system without ``fcntl`` it is a no-op (one process at a time).
- ``remove_stale_temporaries``: what a save killed before its ``os.replace`` left.
- ``read_regular``: the bytes of a regular file, bounded by what is actually read (a
  device reports size 0; a FIFO never ends): anything else is refused, never waited on.

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

from ..errors import CassetteError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process at a time
    fcntl = None  # type: ignore[assignment]

#: A temporary file older than this was left by a save that was killed.
STALE_TEMPORARY_SECONDS = 60.0


def folder_of(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
}


def read_regular(path: Path, limit: int, *, what: str = "cassette") -> bytes:
    """The bytes of the regular file at ``path``: ``CassetteError`` if it is anything else
    (a folder, a device, a FIFO: opened without blocking, never read), or holds more
    than ``limit`` bytes (counted as read, not taken from ``stat``)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CassetteError(
            f"no such {what} file",
            path=path,
            fix="check the path, or record it first (see README, 'Recording')",
        ) from None
    except IsADirectoryError:
        raise CassetteError(f"this is a folder, not a {what} file", path=path, fix="name a file") from None
    except PermissionError:
        raise CassetteError(
            f"the {what} file cannot be read (permission denied)", path=path, fix="check its permissions"
        ) from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise CassetteError(
                f"this is {kind}, not a {what} file: it is not read",
                path=path,
                fix=f"name a regular {what} file (a symbolic link to one is fine)",
            )
        if info.st_size > limit:  # refused before any byte is read
            raise _too_big(path, f"the file is {info.st_size:,} bytes", limit, what)
        chunks = []
        size = 0
        while size <= limit:  # and bounded by what is read: a file may grow, a size may lie
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise _too_big(path, "the file holds more bytes than it said when opened", limit, what)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_big(path: Path, found: str, limit: int, what: str) -> CassetteError:
    return CassetteError(
        f"{found}, over the {limit:,}-byte limit for a {what}",
        path=path,
        fix="check that this is the right file; to allow larger cassettes set "
        "STREAM_REPLAY_MAX_CASSETTE_BYTES or pass max_bytes=",
    )


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
