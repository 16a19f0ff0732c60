"""Writing recorded interactions into a cassette, safely, from any number of processes.

Each append takes an exclusive lock (``flock`` on the cassette's folder, so no lock
file is left behind), re-reads the cassette as it is on disk, adds the interaction,
and replaces the file atomically (``save_cassette``): pytest-xdist workers recording
into one cassette lose nothing, and a crash at any moment leaves the old file or the
new one. A cassette that exists but cannot be read is never overwritten.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .._version import __version__
from ..cassette import Cassette, Interaction, Meta, load_cassette, save_cassette
from ..errors import CassetteError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one process at a time
    fcntl = None  # type: ignore[assignment]


MIN_SECRET_LENGTH = 8
STALE_TEMPORARY_SECONDS = 60.0


class CassetteWriter:
    def __init__(self, path: str | os.PathLike[str], secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self.secrets: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)
        if self.path.parent.is_dir():
            with self._locked():
                self._read()  # refuse at once, before anything is recorded

    def add_secret(self, secret: str) -> None:
        # A key of a few characters (a test's dummy "x") would be found in any cassette
        # and refuse every save; real Cohere keys are 40 characters.
        if len(secret) >= MIN_SECRET_LENGTH:
            self.secrets.add(secret)

    def append(self, interaction: Interaction) -> int:
        """Add ``interaction`` at the end of the cassette; returns its index there."""
        with self._locked():
            existing = self._read()
            meta = existing.meta if existing is not None else new_meta()
            interactions = (*existing.interactions, interaction) if existing is not None else (interaction,)
            save_cassette(Cassette(interactions, meta), self.path, overwrite=True, secrets=self.secrets)
            self._remove_stale_temporaries()
            return len(interactions) - 1

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of saves killed before their ``os.replace`` (full copies, never
        used): removed once old enough that no save can still be writing them."""
        cutoff = time.time() - STALE_TEMPORARY_SECONDS
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()

    def _read(self) -> Cassette | None:
        if not self.path.exists():
            return None
        try:
            return load_cassette(self.path)
        except CassetteError as exc:
            raise CassetteError(
                f"the cassette cannot be read, so nothing is recorded into it: {exc.problem}",
                path=exc.path,
                line=exc.line,
                place=exc.place,
                fix=f"{exc.fix or 'repair it'}; or move it away to record a new one",
            ) from None

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return folder_lock(self.path)


@contextlib.contextmanager
def folder_lock(path: Path) -> Iterator[None]:
    """The exclusive lock every writer of cassette ``path`` holds while it changes it."""
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def new_meta() -> Meta:
    from ..replay.sdk import sdk_version

    return Meta(
        recorded_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        cohere_version=sdk_version(),
        stream_replay_version=__version__,
    )
