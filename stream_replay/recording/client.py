"""``record_client``: a genuine cohere client that talks to the real API (or
``base_url=``) and writes each interaction to a cassette as it completes.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import httpx

from ..cassette.model import Interaction
from ..cassette.redaction import Hook, Redaction
from ..sdk import SDK_TIMEOUT, env_api_key, needs_key, sdk_base_url
from .policy import RecordErrors, check_policy
from .recorder import Recorder

C = TypeVar("C")

def placeholder_key() -> str:
    """The key sent to a server that checks none when no key is set (replay's placeholder)."""
    from ..replay.client import PLACEHOLDER_KEY

    return PLACEHOLDER_KEY


class RecordingSession(Generic[C]):
    """What ``record_client`` returns: use it with ``with`` (or ``async with``).

    Inside, ``session`` gives the client. On exit, a stream still open (abandoned by
    its consumer) is saved as ``stopped``, and an interaction that could not be saved
    (a secret found in it, an unreadable cassette) raises.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        cls: type[C],
        client_kwargs: dict[str, Any],
        record_errors: RecordErrors = "deterministic",
        redaction: Redaction | None = None,
    ) -> None:
        key = client_kwargs.get("api_key")
        if key is None:
            key = env_api_key()
        #: True when no key was set and the target is not Cohere's API: a placeholder is sent.
        self.placeholder = key is None and not needs_key(sdk_base_url(client_kwargs, cls))
        if self.placeholder:
            client_kwargs = {**client_kwargs, "api_key": placeholder_key()}
        from ..sdk import is_async_client

        timeout = client_kwargs.get("timeout") or SDK_TIMEOUT
        # The real transport (and its TLS context, ~20-100 ms) is built now, as a plain
        # cohere client builds it: not inside the first request, ahead of its first event.
        self.http: httpx.Client | httpx.AsyncClient
        secrets = [key] if isinstance(key, str) else []
        if is_async_client(cls):
            self.recorder = Recorder(
                path, secrets, async_=httpx.AsyncHTTPTransport(), record_errors=record_errors, redaction=redaction
            )
            self.http = httpx.AsyncClient(transport=self.recorder.transport, timeout=timeout)
        else:
            self.recorder = Recorder(
                path, secrets, sync=httpx.HTTPTransport(), record_errors=record_errors, redaction=redaction
            )
            self.http = httpx.Client(transport=self.recorder.transport, timeout=timeout)
        self.client: C = cls(httpx_client=self.http, **client_kwargs)  # type: ignore[call-arg]

    @property
    def recorded(self) -> list[Interaction]:
        return self.recorder.recorded

    @property
    def errors(self) -> list[BaseException]:
        return self.recorder.errors

    def close(self) -> None:
        self.recorder.close()

    # ---------------------------------------------------------------- protocols

    def __enter__(self) -> C:
        return self.client

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.close()
        finally:
            if isinstance(self.http, httpx.Client):
                self.http.close()

    async def __aenter__(self) -> C:
        return self.client

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.close()
        finally:
            if isinstance(self.http, httpx.AsyncClient):
                await self.http.aclose()
            else:
                self.http.close()


def record_client(
    path: str | os.PathLike[str],
    client: type[C] | None = None,
    *,
    record_errors: RecordErrors = "deterministic",
    redact_fields: Sequence[str] = (),
    redact_patterns: Sequence[str | re.Pattern[str]] = (),
    before_record: Hook | None = None,
    **client_kwargs: Any,
) -> RecordingSession[C]:
    """Record what a genuine ``client`` (default ``cohere.ClientV2``) does into ``path``.

    ``with record_client("cassettes/chat.yaml") as co: ...`` (``async with`` for the
    async clients). The client talks to the real API, or to ``base_url=``; each
    request and response is appended to the cassette the moment it completes, event by
    event with the time each event arrived, while the consumer receives every chunk as
    soon as it arrives. Streams that fail, end without their terminator or are
    abandoned are recorded as such. Credential headers are never stored, and a save
    that would contain the API key in use is refused. ``record_errors``: error answers
    kept, per ``stream_replay.recording.policy`` (default ``"deterministic"``: 400, 404,
    422... are kept; 401, 403, 408, 429, 5xx and serve's own 404 are not, each with a
    warning; ``"all"``, ``"none"``). The key is ``api_key=``, else ``CO_API_KEY``; with
    neither, a server other than Cohere's API (``needs_key``) is sent a placeholder.

    What the cassette keeps of each interaction (``stream_replay.cassette.redaction``):
    ``redact_fields`` (request body field paths such as ``"documents[*].data.ssn"``:
    each value becomes ``"<redacted>"``), ``redact_patterns`` (regular expressions:
    every match in the URL, header values, bodies and every event's payload becomes
    ``<redacted>``, inside JSON strings so that events stay valid JSON) and
    ``before_record`` (``hook(interaction) -> Interaction | None``, called last; None
    leaves the interaction out). A bad path or pattern is a ``ValueError`` at once,
    before anything is sent.
    """
    from ..sdk import client_class

    redaction = Redaction.of(redact_fields, redact_patterns, before_record)
    cls: type[Any] = client_class(client)
    if "httpx_client" in client_kwargs:
        raise TypeError("record_client builds its own httpx client; do not pass httpx_client")
    return RecordingSession(path, cast("type[C]", cls), client_kwargs, check_policy(record_errors), redaction)
