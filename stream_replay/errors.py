"""The one error hierarchy of stream_replay.

Every error names what it is about (a file, a place inside it), says what is wrong,
and says how to get out of it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from pathlib import Path


class StreamReplayError(Exception):
    """Base class of every error stream_replay raises on purpose."""


class CassetteError(StreamReplayError, ValueError):
    """A cassette file that cannot be used as it is.

    Fields: ``path`` (the file, or None for an in-memory cassette), ``line`` (1-based,
    where the YAML parser or the event block gives one), ``place`` (where inside the
    cassette, e.g. ``interactions[2].response.stream.events[14]``), ``problem`` (what is
    wrong) and ``fix`` (the way out).
    """

    def __init__(
        self,
        problem: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        place: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.place = place
        self.problem = problem
        self.fix = fix
        super().__init__(self._render())

    def _render(self) -> str:
        where = str(self.path) if self.path is not None else "<cassette>"
        if self.line is not None:
            where += f":{self.line}"
        head = f"{where}: "
        if self.place:
            head += f"{self.place}: "
        text = head + self.problem
        if self.fix:
            text += f"\n  How to fix: {self.fix}"
        return text


class VcrpyCassetteError(CassetteError):
    """The file is a vcrpy cassette, not a stream_replay one (``read_vcr`` reads it)."""


class NoMatchError(StreamReplayError):
    """A request for which the cassette holds no (unplayed) recorded interaction."""

    def __init__(self, message: str, *, cassette: Path | None) -> None:
        self.cassette = cassette
        super().__init__(message)


class MissingCassetteError(NoMatchError):
    """A request to replay with no cassette to replay it from (pytest plugin, mode ``none``)."""


class RecordingEndedError(StreamReplayError):
    """The consumer read past the point where the recorded stream was stopped."""


class UnsafeCassetteError(CassetteError):
    """A cassette that would write or carry a secret (an API key, a credential header)."""


class StreamReplayWarning(UserWarning):
    """Something a user should know about a recording, that does not stop it."""


class DriftWarning(StreamReplayWarning):
    """A request was answered by a recording whose body differs (``drift="accept"``);
    the message lists the fields that drifted."""


class TruncatedStreamWarning(StreamReplayWarning):
    """A recorded stream ended without its terminator (v2 ``[DONE]``, v1 ``stream-end``)."""
