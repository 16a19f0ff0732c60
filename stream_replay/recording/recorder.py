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
from collections.abc import Callable, Iterable

import httpx

from ..cassette.model import Interaction
from ..cassette.redaction import NO_REDACTION, Redaction, header_secrets
from ..errors import StreamReplayError, StreamReplayWarning, UnsafeCassetteError
from .capture import Capture
from .policy import HOW_TO_KEEP, RecordErrors, check_policy, skip_reason
from .transport import RecordingTransport
from .writer import CassetteWriter


class Recorder:
    """Appends each exchange through ``transport`` to ``path`` the moment it completes.

    ``sync``/``async_``: the real transports underneath (default: httpx's own, built on
    first use). ``secrets``: strings no save may contain; the keys in ``CO_API_KEY`` and
    ``COHERE_API_KEY`` and the bearer token of every request sent are added to them.
    ``record_errors``: which error answers are written (``stream_replay.recording.policy``);
    each one left out is in ``skipped``, and ``on_skip`` (default: a
    ``StreamReplayWarning``) is told why. ``redaction``: what the user keeps out of the
    cassette (``stream_replay.cassette.redaction.Redaction``), applied to each
    interaction before it is written; one its ``before_record`` hook drops is not written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        secrets: Iterable[str] = (),
        *,
        sync: httpx.BaseTransport | None = None,
        async_: httpx.AsyncBaseTransport | None = None,
        record_errors: RecordErrors = "deterministic",
        on_skip: Callable[[str], None] | None = None,
        redaction: Redaction | None = None,
    ) -> None:
        self.writer = CassetteWriter(path, secrets=secrets)
        self.redaction = redaction or NO_REDACTION
        self.policy = check_policy(record_errors)
        self.on_skip = on_skip
        self.errors: list[BaseException] = []
        #: Why each answer left out of the cassette was left out.
        self.skipped: list[str] = []
        self.recorded: list[Interaction] = []
        #: Where each recorded interaction landed in the cassette file.
        self.recorded_indexes: list[int] = []
        self._open: set[Capture] = set()
        self._lock = threading.Lock()
        self.transport = RecordingTransport(self._started, self._finished, sync=sync, async_=async_)

    def _started(self, capture: Capture) -> None:
        for secret in header_secrets(capture.request.headers.multi_items()):
            self.writer.add_secret(secret)
        with self._lock:
            self._open.add(capture)

    def _finished(self, capture: Capture, interaction: Interaction) -> None:
        with self._lock:
            self._open.discard(capture)
        reason = skip_reason(interaction.response.status, capture.marks, self.policy)
        if reason is not None:
            request = interaction.request
            message = f"not recorded: {request.method} {request.url} -> {reason}; {HOW_TO_KEEP}"
            with self._lock:
                self.skipped.append(message)
            if self.on_skip is not None:
                self.on_skip(message)
            else:
                warnings.warn(StreamReplayWarning(message), stacklevel=2)
            return
        try:
            redacted = self._redacted(interaction)
            if redacted is None:
                return  # before_record dropped it
            index = self.writer.append(redacted)
        except StreamReplayError as exc:
            self.errors.append(exc)
            warnings.warn(StreamReplayWarning(f"not recorded: {exc}"), stacklevel=2)
            return
        with self._lock:
            self.recorded.append(redacted)
            self.recorded_indexes.append(index)

    def _redacted(self, interaction: Interaction) -> Interaction | None:
        """``interaction`` as the user's redaction writes it. Its errors name the cassette;
        an exception of the ``before_record`` hook becomes a ``StreamReplayError`` (raised
        when the session ends), never one in the consumer's loop."""
        if not self.redaction:
            return interaction
        try:
            return self.redaction.apply(interaction)
        except UnsafeCassetteError as exc:
            raise UnsafeCassetteError(exc.problem, path=self.writer.path, place=exc.place, fix=exc.fix) from None
        except Exception as exc:
            request = interaction.request
            raise StreamReplayError(
                f"{self.writer.path}: before_record raised {type(exc).__name__}: {exc} for {request.method} "
                f"{request.url}; nothing was written for it"
            ) from exc

    def close(self) -> None:
        """Save what is still open as ``stopped``; raise the first save that failed."""
        with self._lock:
            still_open = list(self._open)
        for capture in still_open:
            capture.stopped()
        self.transport.close()
        if self.errors:
            raise self.errors[0]
