"""Export a stream_replay cassette as a plain vcrpy cassette.

Each stream becomes its exact recorded body (the events encoded back, byte for byte),
written by vcrpy's own serializer, so vcrpy replays it through the SDK with the same
events. What vcrpy cannot hold is said, not hidden: per-event timing is dropped, and a
stream that failed or was stopped when recorded is exported as the bytes that arrived
(vcrpy replays them as a complete body), with a warning naming the interaction.

Nothing secret is exported, even from a cassette edited by hand: headers named like a
credential (``Authorization``, ``X-Api-Key``, ``Set-Cookie``, ...) and credential query
parameters are left out, and the text is searched for the key in ``CO_API_KEY`` /
``COHERE_API_KEY`` and for the token of any ``Authorization`` header the cassette holds:
a hit refuses the export (the file and the line), and nothing is written. A
``Redaction`` (``--redact-field``, ``--redact-pattern``) is applied to each interaction
first.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..cassette import as_cassette
from ..cassette.files import write_atomic
from ..cassette.model import Cassette, Interaction
from ..cassette.redaction import (
    NO_REDACTION,
    Redaction,
    env_secrets,
    header_secrets,
    is_secret_name,
    refuse_secrets,
    scrub_url,
)
from ..errors import CassetteError, StreamReplayWarning, UnsafeCassetteError
from ..wire import CONTENT_TYPES

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 422: "Unprocessable Entity", 429: "Too Many Requests"}


def vcr_text(cassette: Cassette, redaction: Redaction | None = None) -> str:
    """The vcrpy YAML for ``cassette`` (redacted by ``redaction``), credential headers and
    credential query parameters left out."""
    import vcr.request
    import vcr.serialize
    from vcr.serializers import yamlserializer

    requests: list[Any] = []
    responses: list[dict[str, Any]] = []
    for index, interaction in _redacted(cassette, redaction or NO_REDACTION):
        request = interaction.request
        requests.append(
            vcr.request.Request(request.method, scrub_url(request.url), request.body.to_bytes(), _safe(request.headers))
        )
        response = interaction.response
        headers = _safe(response.headers)
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


def _safe(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if not is_secret_name(name)}


def _redacted(cassette: Cassette, redaction: Redaction) -> list[tuple[int, Interaction]]:
    """Each interaction (with its index in ``cassette``) as ``redaction`` writes it."""
    kept = []
    for index, interaction in enumerate(cassette.interactions):
        try:
            redacted = redaction.apply(interaction)
        except UnsafeCassetteError as exc:
            raise UnsafeCassetteError(
                exc.problem, path=cassette.path, place=f"interactions[{index}].{exc.place}", fix=exc.fix
            ) from None
        if redacted is not None:
            kept.append((index, redacted))
    return kept


def secrets_of(cassette: Cassette) -> list[str]:
    """What an export of ``cassette`` must not contain: the keys in the environment and
    the credentials of any header the cassette holds (a hand-edited ``Authorization``)."""
    found = env_secrets()
    for interaction in cassette.interactions:
        found.extend(header_secrets(interaction.request.headers.items()))
        found.extend(header_secrets(interaction.response.headers.items()))
    return found


#: How to get a key out of an export, said with a refusal.
FIX = (
    "the key is in the cassette itself (a body, a prompt, an event): export with --redact-pattern REGEX (a regular "
    "expression matching it) or --redact-field PATH"
)


def export_vcr(
    cassette: Cassette | str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    redaction: Redaction | None = None,
) -> Path:
    """Write ``cassette`` as a vcrpy cassette at ``target`` (never over an existing file
    unless ``overwrite``); the write is atomic. A target that cannot be a file (a folder,
    a path below a file) is a ``CassetteError`` saying so; a failed write raises the
    ``OSError`` (``PermissionError``, ...) with ``filename`` the target, not the
    temporary file beside it. Credential headers are left out; a text that would hold a
    key (``secrets_of``) is an ``UnsafeCassetteError`` naming ``target`` and the line,
    and nothing is written. ``redaction`` is applied to each interaction first."""
    loaded = as_cassette(cassette)
    path = Path(target)
    _check_target(path, loaded)
    if path.exists() and not overwrite:
        raise CassetteError("the file exists", path=path, fix="choose another path, or pass --force to replace it")
    written = vcr_text(loaded, redaction)
    refuse_secrets(written, secrets_of(loaded), path=path, what="the vcrpy cassette", fix=FIX)
    text = written.encode()
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
