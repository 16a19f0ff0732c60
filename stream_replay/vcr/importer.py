"""Import vcrpy / pytest-recording cassettes holding Cohere streams.

The file is read with vcrpy's own loader, so whatever vcrpy accepts converts.
Streams (``text/event-stream`` from ``/v2/chat``, ``application/stream+json`` from
``/v1/chat``) become event-by-event streams that encode back to the recorded body
byte for byte; other interactions keep their bodies. Credential headers and
credential query parameters are dropped. vcrpy keeps no per-event timing, so the
imported streams say ``timing: none``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import email.utils
from pathlib import Path
from typing import Any

import yaml

from .._version import __version__
from ..cassette.model import Body, Cassette, Interaction, Meta, Request, Response, Stream
from ..cassette.redaction import REQUEST_HEADERS, RESPONSE_HEADERS, keep_headers, scrub_url
from ..errors import CassetteError
from ..wire import decode, format_of, is_terminated


def read_vcr(path: str | Path, *, source: dict[str, Any] | None = None) -> Cassette:
    """Convert the vcrpy cassette at ``path``; ``source`` is added as attribution."""
    from vcr.persisters.filesystem import CassetteDecodeError, CassetteNotFoundError, FilesystemPersister
    from vcr.serializers import yamlserializer

    target = Path(path)
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
    interactions = tuple(
        _interaction(target, index, req, res) for index, (req, res) in enumerate(zip(requests, responses, strict=True))
    )
    meta = Meta(
        recorded_at=_recorded_at(responses),
        cohere_version=_sdk_version(requests),
        stream_replay_version=__version__,
        source={"converted_from": f"vcrpy cassette {target.name}", **(source or {})},
    )
    return Cassette(interactions, meta)


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
    request = Request(
        method=str(req.method).upper(),
        url=scrub_url(str(req.uri)),
        headers=keep_headers(_headers(req.headers), REQUEST_HEADERS),
        body=Body.of_text(_text(req.body)),
    )
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
    return Interaction(request, Response(status=status, headers=kept, body=Body.of_text(_text(raw))))


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
