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
from collections.abc import Iterable
from pathlib import Path

from .._version import __version__
from ..cassette import Cassette, Interaction, Meta, load_cassette, save_cassette
from ..cassette.files import folder_lock, remove_stale_temporaries
from ..cassette.redaction import MIN_SECRET_LENGTH, REDACT_FIX, env_secrets
from ..errors import CassetteError, UnsafeCassetteError


class CassetteWriter:
    """Appends interactions to one cassette. Every save is searched for ``secrets`` and
    for the keys in ``CO_API_KEY``/``COHERE_API_KEY``: a hit refuses it."""

    def __init__(self, path: str | os.PathLike[str], secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self.secrets: set[str] = set()
        for secret in (*secrets, *env_secrets()):
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
            try:
                save_cassette(Cassette(interactions, meta), self.path, overwrite=True, secrets=self.secrets)
            except UnsafeCassetteError as exc:
                raise UnsafeCassetteError(exc.problem, path=exc.path, line=exc.line, fix=REDACT_FIX) from None
            remove_stale_temporaries(self.path)
            return len(interactions) - 1

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


def new_meta() -> Meta:
    from ..sdk import sdk_version

    return Meta(
        recorded_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        cohere_version=sdk_version(),
        stream_replay_version=__version__,
    )
