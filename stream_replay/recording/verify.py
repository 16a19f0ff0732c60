"""``stream-replay verify``: send each recorded request again and report structural drift.

Each recorded chat request is re-sent as it was recorded; what is compared is the
shape of the answer (``stream_replay.analysis.drift``), not what naturally varies.

Where each request goes, decided (and said, first) before anything is sent:

- ``base_url``: that server, with the recorded path;
- a request recorded from a local server (a loopback host: ``127.0.0.1``, ``localhost``,
  ``::1``; a cassette recorded through ``CO_API_URL`` pointing at ``stream-replay serve``):
  Cohere's API, with the recorded API route, unless ``to_recorded_host``; re-sending to
  the recording's own source would compare the recording with itself;
- any other request: its recorded URL.

Cohere's API needs a key: without one (``api_key``, else ``CO_API_KEY``) nothing is sent
and a ``StreamReplayError`` says so. Another server is sent the placeholder key when no
key is set. An answer of 401 or 403 is a key problem, raised as such, never drift.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from ..analysis.drift import drift, shape
from ..cassette import Interaction, load_cassette
from ..errors import StreamReplayError
from ..sdk import COHERE_API_URL, env_api_key, needs_key
from ..wire import WireEvent, decode, format_of
from .client import placeholder_key

#: Where requests recorded from a local server are re-sent by default.
LIVE_API = COHERE_API_URL


@dataclass(frozen=True)
class _Send:
    """One recorded chat request and where it is re-sent."""

    path: Path
    index: int
    interaction: Interaction
    url: str
    local: str | None  # the recorded loopback origin it was moved away from


def is_loopback(url: str) -> bool:
    """True for a URL whose host is this machine (``localhost``, ``127.x``, ``::1``, ``0.0.0.0``)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _target(interaction: Interaction, base_url: str | None, to_recorded_host: bool) -> tuple[str, str | None]:
    """The URL to re-send to, and the recorded local origin when it was moved to the live API."""
    from ..replay.matching import recorded_view

    recorded = interaction.request.url
    parts = urlsplit(recorded)
    query = f"?{parts.query}" if parts.query else ""
    if base_url:
        return base_url.rstrip("/") + parts.path + query, None
    if is_loopback(recorded) and not to_recorded_host:
        return LIVE_API.rstrip("/") + recorded_view(interaction.request).route + query, origin(recorded)
    return recorded, None


def _send(http: Any, send: _Send, key: str) -> tuple[int, list[WireEvent]]:
    import httpx

    request = send.interaction.request
    headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
    headers["authorization"] = f"Bearer {key}"
    try:
        response = http.request(request.method, send.url, content=request.body.to_bytes(), headers=headers)
    except httpx.HTTPError as exc:
        raise StreamReplayError(
            f"cannot send {request.method} {send.url}: {type(exc).__name__}: {exc}\n"
            "  How to fix: check the network and the URL (--base-url), or that the server is running."
        ) from None
    fmt = format_of(response.status_code, response.headers.get("content-type", ""))
    return response.status_code, list(decode(response.content, fmt)) if fmt else []


def plan(
    paths: Sequence[str | os.PathLike[str]], *, base_url: str | None = None, to_recorded_host: bool = False
) -> list[tuple[Path, list[_Send]]]:
    """Each cassette of ``paths``, loaded, with its recorded chat requests (streams and
    recorded errors) and where each goes."""
    planned = []
    for path in paths:
        sends = []
        for index, interaction in enumerate(load_cassette(path).interactions):
            if interaction.response.stream is None and interaction.response.status < 400:
                continue  # only chat calls: streams and recorded errors
            url, local = _target(interaction, base_url, to_recorded_host)
            sends.append(_Send(Path(path), index, interaction, url, local))
        planned.append((Path(path), sends))
    return planned


def _key_for(sends: list[_Send], api_key: str | None) -> str:
    key = api_key if api_key is not None else env_api_key()
    if key:
        return key
    cohere = sorted({origin(s.url) for s in sends if needs_key(s.url)})
    if cohere:
        raise StreamReplayError(
            f"CO_API_KEY is not set: verify re-sends each recorded request to {', '.join(cohere)}, which needs "
            "your Cohere API key; export CO_API_KEY, or give --base-url URL for a server that checks none "
            "(nothing was sent)"
        )
    return placeholder_key()


def _key_problem(send: _Send, status: int, key: str) -> StreamReplayError:
    where = f"{send.path}: interactions[{send.index}]: {origin(send.url)} answered HTTP {status}"
    if key == placeholder_key():
        why = "the server wants an API key, and CO_API_KEY is not set"
    else:
        why = "the API key was refused (expired, wrong, or without access): check CO_API_KEY"
    return StreamReplayError(f"{where}: {why}; this is a key problem, not drift, and nothing more was sent")


def verify(
    paths: Sequence[str | os.PathLike[str]],
    out: TextIO,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    to_recorded_host: bool = False,
) -> int:
    """Re-send every recorded chat request; 1 if anything drifted, else 0. One HTTP client
    (one connection pool, one TLS setup) serves every request. Raises ``StreamReplayError``
    before sending anything when Cohere's API is a target and no key is set, and on an
    unreachable server or a 401/403 answer (a key problem, not drift)."""
    import httpx

    planned = plan(paths, base_url=base_url, to_recorded_host=to_recorded_host)
    sends = [send for _, group in planned for send in group]
    key = _key_for(sends, api_key)
    targets = ", ".join(dict.fromkeys(origin(s.url) for s in sends)) or "nowhere (no chat request recorded)"
    print(f"stream-replay: re-sending {len(sends)} request(s) of {len(paths)} cassette(s) to {targets}", file=out)
    moved = sorted({s.local for s in sends if s.local})
    if moved:
        count = sum(1 for s in sends if s.local)
        print(
            f"stream-replay: {count} request(s) were recorded from a local server ({', '.join(moved)}): re-sent "
            f"to {LIVE_API} with the recorded API route instead (--to-recorded-host to send them there, "
            "--base-url URL for another server)",
            file=out,
        )
    drifted = 0
    with httpx.Client(timeout=300) as http:
        for path, group in planned:
            lines = [line for send in group for line in _compare(http, send, key)]
            if lines:
                drifted += 1
                for line in lines:
                    print(line, file=out)
            else:
                print(f"{path}: no drift", file=out)
    print(f"{len(sends)} request(s) in {len(paths)} cassette(s): {drifted} cassette(s) drifted", file=out)
    return 1 if drifted else 0


def _compare(http: Any, send: _Send, key: str) -> list[str]:
    """Re-send one request; its drift lines."""
    try:
        status, events = _send(http, send, key)
    except StreamReplayError as exc:
        raise StreamReplayError(f"{send.path}: interactions[{send.index}]: {exc}") from None
    recorded_status = send.interaction.response.status
    if status in (401, 403) and recorded_status != status:
        raise _key_problem(send, status, key)
    stream = send.interaction.response.stream
    recorded = shape(recorded_status, list(stream.events) if stream else [])
    return [f"{send.path}: interactions[{send.index}]: {line}" for line in drift(recorded, shape(status, events))]
