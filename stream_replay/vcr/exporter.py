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
    unless ``overwrite``); the write is atomic. A target that cannot be a file (a folder,
    a path below a file) is a ``CassetteError`` saying so; a failed write raises the
    ``OSError`` (``PermissionError``, ...) with ``filename`` the target, not the
    temporary file beside it."""
    loaded = as_cassette(cassette)
    path = Path(target)
    _check_target(path, loaded)
    if path.exists() and not overwrite:
        raise CassetteError("the file exists", path=path, fix="choose another path, or pass --force to replace it")
    text = vcr_text(loaded).encode()
    try:
        write_atomic(path, text)
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
    return path


def _check_target(path: Path, cassette: Cassette) -> None:
    if path.is_dir():
        name = cassette.path.stem if cassette.path is not None else "cassette"
        raise CassetteError(
            "this is a folder; the vcrpy cassette is written to a file",
            path=path,
            fix=f"give the path of a file, e.g. {path / (name + '.yaml')}",
        )
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise CassetteError(f"{blocker} is a file, not a folder", path=path, fix="choose another path")
