"""``Recorder``: one cassette being recorded, whatever clients send through it.

It owns the cassette writer, the exchanges still open and the errors of saves that
failed. ``record_client`` uses one per client; the pytest plugin one per test, shared
by every client the test builds, sync or async.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable

import httpx

from ..cassette.model import Interaction
from ..errors import StreamReplayError, StreamReplayWarning
from .capture import Capture
from .transport import RecordingTransport
from .writer import CassetteWriter


class Recorder:
    """Appends each exchange through ``transport`` to ``path`` the moment it completes.

    ``sync``/``async_``: the real transports underneath (default: httpx's own, built on
    first use). ``secrets``: strings no save may contain; the bearer token of every
    request sent is added to them.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        secrets: Iterable[str] = (),
        *,
        sync: httpx.BaseTransport | None = None,
        async_: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.writer = CassetteWriter(path, secrets=secrets)
        self.errors: list[BaseException] = []
        self.recorded: list[Interaction] = []
        #: Where each recorded interaction landed in the cassette file.
        self.recorded_indexes: list[int] = []
        self._open: set[Capture] = set()
        self._lock = threading.Lock()
        self.transport = RecordingTransport(self._started, self._finished, sync=sync, async_=async_)

    def _started(self, capture: Capture) -> None:
        auth = capture.request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        self.writer.add_secret(token if scheme.lower() == "bearer" else auth)
        with self._lock:
            self._open.add(capture)

    def _finished(self, capture: Capture, interaction: Interaction) -> None:
        with self._lock:
            self._open.discard(capture)
        try:
            index = self.writer.append(interaction)
        except StreamReplayError as exc:
            self.errors.append(exc)
            warnings.warn(StreamReplayWarning(f"not recorded: {exc}"), stacklevel=2)
            return
        with self._lock:
            self.recorded.append(interaction)
            self.recorded_indexes.append(index)

    def close(self) -> None:
        """Save what is still open as ``stopped``; raise the first save that failed."""
        with self._lock:
            still_open = list(self._open)
        for capture in still_open:
            capture.stopped()
        self.transport.close()
        if self.errors:
            raise self.errors[0]
