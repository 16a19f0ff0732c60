"""``stream-replay verify``: send each recorded request again and report structural drift.

Each recorded chat request is re-sent as it was recorded; what is compared is the
shape of the answer (``stream_replay.analysis.drift``), not what naturally varies.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from ..analysis.drift import drift, shape
from ..cassette import Interaction, load_cassette
from ..errors import StreamReplayError
from ..wire import WireEvent, decode, format_of


def _send(
    http: Any, interaction: Interaction, base_url: str | None, api_key: str | None
) -> tuple[int, list[WireEvent]]:
    import httpx

    request = interaction.request
    parts = urlsplit(request.url)
    url = (base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")) if base_url else request.url
    headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    try:
        response = http.request(request.method, url, content=request.body.to_bytes(), headers=headers)
    except httpx.HTTPError as exc:
        raise StreamReplayError(
            f"cannot send {request.method} {url}: {type(exc).__name__}: {exc}\n"
            "  How to fix: check the network and the URL (--base-url), or that the server is running."
        ) from None
    fmt = format_of(response.status_code, response.headers.get("content-type", ""))
    return response.status_code, list(decode(response.content, fmt)) if fmt else []


def verify(
    paths: Sequence[str | os.PathLike[str]], out: TextIO, *, base_url: str | None = None, api_key: str | None = None
) -> int:
    """Re-send every recorded chat request; 1 if anything drifted, else 0. One HTTP client
    (one connection pool, one TLS setup) serves every request."""
    import httpx

    key = api_key if api_key is not None else os.environ.get("CO_API_KEY")
    drifted = 0
    checked = 0
    with httpx.Client(timeout=300) as http:
        for path in paths:
            cassette = load_cassette(path)
            lines: list[str] = []
            for index, interaction in enumerate(cassette.interactions):
                stream = interaction.response.stream
                if stream is None and interaction.response.status < 400:
                    continue  # only chat calls: streams and recorded errors
                checked += 1
                recorded = shape(interaction.response.status, list(stream.events) if stream else [])
                try:
                    status, events = _send(http, interaction, base_url, key)
                except StreamReplayError as exc:
                    raise StreamReplayError(f"{Path(path)}: interactions[{index}]: {exc}") from None
                for line in drift(recorded, shape(status, events)):
                    lines.append(f"{Path(path)}: interactions[{index}]: {line}")
            if lines:
                drifted += 1
                for line in lines:
                    print(line, file=out)
            else:
                print(f"{Path(path)}: no drift", file=out)
    print(f"{checked} request(s) in {len(paths)} cassette(s): {drifted} cassette(s) drifted", file=out)
    return 1 if drifted else 0
