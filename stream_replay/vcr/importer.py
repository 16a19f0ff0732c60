"""Import vcrpy / pytest-recording cassettes holding Cohere streams.

The file is read with vcrpy's own loader, so whatever vcrpy accepts converts.
Streams (``text/event-stream`` from ``/v2/chat``, ``application/stream+json`` from
``/v1/chat``) become event-by-event streams that encode back to the recorded body
byte for byte; other interactions keep their bodies. A compressed response body
(``content-encoding: gzip``, ``deflate``, ``br`` where vcrpy can decode it, stored by
vcrpy as ``!!binary``) is decoded with vcrpy's own ``decode_response``, as vcrpy does
for ``decode_compressed_response``: the bytes kept are the ones the SDK read after
httpx decoded them, so a replay gives the consumer exactly what it got. Credential
headers and credential query parameters are dropped. vcrpy keeps no per-event timing,
so the imported streams say ``timing: none``.

A ``Redaction`` (``--redact-field``, ``--redact-pattern``) is applied to each
interaction. ``convert_vcr`` writes the conversion, refusing it (the file and the line)
when it would hold the key in ``CO_API_KEY``/``COHERE_API_KEY`` or the token of any
``Authorization`` header (or other credential header) the vcrpy cassette recorded: a
header is dropped, but the same key inside a body would not be.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import email.utils
import os
from pathlib import Path
from typing import Any

import yaml

from .._version import __version__
from ..cassette.model import Body, Cassette, Interaction, Meta, Request, Response, Stream
from ..cassette.redaction import (
    NO_REDACTION,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    Redaction,
    env_secrets,
    header_secrets,
    keep_headers,
    scrub_url,
)
from ..errors import CassetteError, UnsafeCassetteError
from ..wire import decode, format_of, is_terminated


def read_vcr(path: str | Path, *, source: dict[str, Any] | None = None, redaction: Redaction | None = None) -> Cassette:
    """Convert the vcrpy cassette at ``path``; ``source`` is added as attribution;
    ``redaction`` is applied to each interaction (one its hook drops is left out)."""
    return _convert(Path(path), source, redaction or NO_REDACTION)[0]


#: How to get a key out of a conversion, said with a refusal.
FIX = (
    "the key is inside the vcrpy cassette (a body, a prompt, an event), not only in a header: convert with "
    "--redact-pattern REGEX (a regular expression matching it) or --redact-field PATH"
)


def convert_vcr(
    src: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    source: dict[str, Any] | None = None,
    redaction: Redaction | None = None,
) -> Cassette:
    """Convert the vcrpy cassette ``src`` (``read_vcr``) and save it at ``target``; the save
    is refused (``UnsafeCassetteError``: the target and the line; nothing written) when
    the text would hold the key of the environment or a credential the vcrpy cassette's
    requests carried. Returns the cassette written."""
    from ..cassette import save_cassette

    cassette, secrets = _convert(Path(src), source, redaction or NO_REDACTION)
    try:
        save_cassette(cassette, target, overwrite=overwrite, secrets=[*env_secrets(), *secrets])
    except UnsafeCassetteError as exc:
        raise UnsafeCassetteError(exc.problem, path=exc.path, line=exc.line, fix=FIX) from None
    return cassette


def _convert(target: Path, source: dict[str, Any] | None, redaction: Redaction) -> tuple[Cassette, list[str]]:
    """The converted cassette, and the credentials its requests' headers carried."""
    from vcr.persisters.filesystem import CassetteDecodeError, CassetteNotFoundError, FilesystemPersister
    from vcr.serializers import yamlserializer

    try:
        loaded = FilesystemPersister.load_cassette(target, serializer=yamlserializer)
    except CassetteNotFoundError:
        raise CassetteError("no such vcrpy cassette", path=target, fix="check the path") from None
    except (CassetteDecodeError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or exc
        raise CassetteError(
            f"vcrpy could not read this cassette ({type(exc).__name__}: {problem})",
            path=target,
            line=mark.line + 1 if mark is not None else None,
            fix="check that it is a vcrpy YAML cassette (restore it from version control if it was cut)",
        ) from None
    requests, responses = loaded[0], loaded[1]
    interactions = []
    secrets: list[str] = []
    for index, (req, res) in enumerate(zip(requests, responses, strict=True)):
        secrets.extend(header_secrets(_headers(req.headers)))
        redacted = _redacted(redaction, _interaction(target, index, req, res), target, index)
        if redacted is not None:
            interactions.append(redacted)
    meta = Meta(
        recorded_at=_recorded_at(responses),
        cohere_version=_sdk_version(requests),
        stream_replay_version=__version__,
        source={"converted_from": f"vcrpy cassette {target.name}", **(source or {})},
    )
    return Cassette(tuple(interactions), meta), secrets


def _redacted(redaction: Redaction, interaction: Interaction, path: Path, index: int) -> Interaction | None:
    if not redaction:
        return interaction
    try:
        return redaction.apply(interaction)
    except UnsafeCassetteError as exc:
        raise UnsafeCassetteError(
            exc.problem, path=path, place=f"interactions[{index}].{exc.place}", fix=exc.fix
        ) from None


def _headers(raw: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in dict(raw or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), value.decode() if isinstance(value, bytes) else str(value)))
    return pairs


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if hasattr(value, "read"):
        return _text(value.read())
    return str(value)


def _interaction(path: Path, index: int, req: Any, res: dict[str, Any]) -> Interaction:
    place = f"interactions[{index}]"
    request = Request(
        method=str(req.method).upper(),
        url=scrub_url(str(req.uri)),
        headers=keep_headers(_headers(req.headers), REQUEST_HEADERS),
        body=Body.of_text(_utf8(req.body, path, f"{place}.request.body")),
    )
    res = _decoded(res, path, place)
    headers = _headers(res.get("headers"))
    status = int(res["status"]["code"])
    body = res.get("body", {}).get("string", b"")
    raw = body if isinstance(body, bytes) else _text(body).encode("utf-8", "surrogateescape")
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    fmt = format_of(status, content_type)
    kept = keep_headers(headers, RESPONSE_HEADERS)
    if fmt is not None:
        events = tuple(decode(raw, fmt))
        stream = Stream(fmt, events, "completed" if is_terminated(events, fmt) else "truncated")
        return Interaction(request, Response(status=status, headers=kept, stream=stream))
    return Interaction(request, Response(status=status, headers=kept, body=Body.of_text(_utf8(raw, path, place))))


def _decoded(res: dict[str, Any], path: Path, place: str) -> dict[str, Any]:
    """``res`` with a compressed body decoded as vcrpy decodes it; ``CassetteError``
    naming the encoding when vcrpy cannot."""
    from vcr.filters import decode_response

    encodings = [v for k, v in _headers(res.get("headers")) if k.lower() == "content-encoding"]
    if not encodings or encodings == ["identity"]:
        return res
    try:
        decoded: dict[str, Any] = decode_response(res)
    except Exception as exc:  # zlib.error, brotli's errors: the body does not decode
        raise CassetteError(
            f"{place}: the response body is {', '.join(encodings)}-encoded and does not decode ({exc})",
            path=path,
            fix="restore the cassette from version control, or record it again",
        ) from None
    before = res.get("body", {}).get("string", b"")
    after = decoded.get("body", {}).get("string", b"")
    if isinstance(after, bytes) and after == before and not _is_utf8(after):
        # vcrpy hands back a body it cannot decompress as it was ("already decompressed")
        raise CassetteError(
            f"{place}: the response body is {', '.join(encodings)}-encoded and does not decode",
            path=path,
            fix="restore the cassette from version control, or record it again",
        )
    left = [v for k, v in _headers(decoded.get("headers")) if k.lower() == "content-encoding"]
    if left:
        raise CassetteError(
            f"{place}: the response body is {', '.join(left)}-encoded, which vcrpy cannot decode here",
            path=path,
            fix="install the decoder vcrpy uses for it (brotli for br), or record the cassette again",
        )
    return decoded


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8(value: Any, path: Path, place: str) -> str:
    """The body as text; ``CassetteError`` for bytes that are not UTF-8 (a cassette holds text)."""
    text = _text(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CassetteError(
            f"{place}: the body is binary (byte {exc.start} is not UTF-8), and stream_replay cassettes hold text",
            path=path,
            fix="leave this cassette to vcrpy, or record the interaction again through stream_replay",
        ) from None
    return text


def _recorded_at(responses: list[dict[str, Any]]) -> str | None:
    for res in responses:
        for name, value in _headers(res.get("headers")):
            if name.lower() == "date":
                try:
                    return email.utils.parsedate_to_datetime(value).isoformat()
                except (TypeError, ValueError):
                    return None
    return None


def _sdk_version(requests: list[Any]) -> str | None:
    for req in requests:
        for name, value in _headers(req.headers):
            if name.lower() == "x-fern-sdk-version":
                return value
    return None
