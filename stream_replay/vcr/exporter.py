"""Export a stream_replay cassette as a plain vcrpy cassette.

Each stream becomes its exact recorded body (the events encoded back, byte for byte),
written by vcrpy's own serializer, so vcrpy replays it through the SDK with the same
events. What vcrpy cannot hold is said, not hidden: per-event timing is dropped, and a
stream that failed or was stopped when recorded is exported as the bytes that arrived
(vcrpy replays them as a complete body), with a warning naming the interaction.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..cassette import as_cassette
from ..cassette.files import write_atomic
from ..cassette.model import Cassette
from ..errors import CassetteError, StreamReplayWarning
from ..wire import CONTENT_TYPES

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 422: "Unprocessable Entity", 429: "Too Many Requests"}


def vcr_text(cassette: Cassette) -> str:
    """The vcrpy YAML for ``cassette``."""
    import vcr.request
    import vcr.serialize
    from vcr.serializers import yamlserializer

    requests: list[Any] = []
    responses: list[dict[str, Any]] = []
    for index, interaction in enumerate(cassette.interactions):
        request = interaction.request
        requests.append(
            vcr.request.Request(request.method, request.url, request.body.to_bytes(), dict(request.headers))
        )
        response = interaction.response
        headers = dict(response.headers)
        if response.stream is not None:
            stream = response.stream
            if stream.outcome in ("failed", "stopped"):
                warnings.warn(
                    StreamReplayWarning(
                        f"{cassette.label}: interactions[{index}] was {stream.outcome} when recorded; vcrpy can only "
                        "hold the bytes that arrived, and will replay them as a complete body"
                    ),
                    stacklevel=3,
                )
            headers.setdefault("content-type", CONTENT_TYPES[stream.format])
        responses.append(
            {
                "status": {"code": response.status, "message": _REASONS.get(response.status, "")},
                "headers": {name: [value] for name, value in headers.items()},
                "body": {"string": response.body_bytes()},
            }
        )
    text: str = vcr.serialize.serialize({"requests": requests, "responses": responses}, yamlserializer)
    return text


def export_vcr(
    cassette: Cassette | str | os.PathLike[str], target: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``cassette`` as a vcrpy cassette at ``target`` (never over an existing file
    unless ``overwrite``); the write is atomic."""
    loaded = as_cassette(cassette)
    path = Path(target)
    if path.exists() and not overwrite:
        raise CassetteError("the file exists", path=path, fix="choose another path, or pass --force to replace it")
    write_atomic(path, vcr_text(loaded).encode())
    return path
