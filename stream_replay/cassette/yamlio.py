"""Cassette files: YAML version 1, written diff-friendly, read safely, saved atomically.

The layout (see README, "Cassette format")::

    format: stream-replay-cassette
    version: 1
    recorded_at: ...            # metadata
    interactions:
    - request: {method, url, headers, body_style, body}
      response:
        status: 200
        headers: {content-type: text/event-stream}
        stream:
          format: sse           # sse (v2) or ndjson (v1)
          outcome: completed    # completed | truncated | failed | stopped
          event_count: 74
          events: |             # one event per line, see cassette.lines
            0.0000 message-start {...}
    end_of_cassette: true       # a file cut anywhere lacks this last line

A file as ``save_cassette`` writes it is read by ``plainyaml``; anything else, and
writing, by PyYAML's safe loader and writer (``pyyaml``): no ``!!python/*`` tag is ever
constructed.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import CassetteError, UnsafeCassetteError, VcrpyCassetteError
from ..wire import WireEvent
from .eventblock import EventBlock
from .files import read_regular, write_atomic
from .lines import MAX_JSON_DEPTH, LineError, fits_one_line, format_block, parse_block, plainly_shaped, too_deep
from .model import (
    OUTCOMES,
    Body,
    Cassette,
    Interaction,
    Meta,
    Request,
    Response,
    Stream,
    StreamError,
)
from .plainyaml import read_plain

FORMAT_NAME = "stream-replay-cassette"
FORMAT_VERSION = 1
#: Files larger than this are refused before they are read (override with the
#: ``STREAM_REPLAY_MAX_CASSETTE_BYTES`` environment variable or ``max_bytes=``).
MAX_CASSETTE_BYTES = 64 * 1024 * 1024
END_KEY = "end_of_cassette"

# --------------------------------------------------------------------------- writing


_HEADER = (
    "# stream_replay cassette: real Cohere chat streams, one event per line\n"
    "# (<seconds> <type> <json>). Format: README.md, 'Cassette format'.\n"
)


def dumps_cassette(cassette: Cassette) -> str:
    """The cassette as YAML text (deterministic: the same cassette gives the same text)."""
    doc: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
    meta = cassette.meta
    for key in ("recorded_at", "cohere_version", "stream_replay_version", "source"):
        value = getattr(meta, key)
        if value is not None:
            doc[key] = value
    doc["interactions"] = [_interaction_doc(i) for i in cassette.interactions]
    doc[END_KEY] = True
    from . import pyyaml

    return _HEADER + pyyaml.dump(doc)


def _body_doc(body: Body, into: dict[str, Any]) -> None:
    if body.style is not None:
        into["body_style"] = body.style
        pretty = json.dumps(body.json, indent=2, ensure_ascii=False)
        if not all(_fits(line) for line in pretty.split("\n")):
            pretty = json.dumps(body.json, indent=2)
        from .pyyaml import Literal

        into["body"] = Literal(pretty + "\n")
    elif body.text:
        into["body_text"] = body.text


def _fits(line: str) -> bool:
    return fits_one_line(line) and not line.endswith(" ")


def _interaction_doc(interaction: Interaction) -> dict[str, Any]:
    req = interaction.request
    request: dict[str, Any] = {"method": req.method, "url": req.url}
    if req.headers:
        request["headers"] = dict(req.headers)
    _body_doc(req.body, request)
    res = interaction.response
    response: dict[str, Any] = {"status": res.status}
    if res.headers:
        response["headers"] = dict(res.headers)
    if res.stream is not None:
        stream = res.stream
        sdoc: dict[str, Any] = {
            "format": stream.format,
            "outcome": stream.outcome,
        }
        if stream.error is not None:
            sdoc["error"] = {"type": stream.error.type, "message": stream.error.message}
        sdoc["timing"] = "recorded" if stream.timed else "none"
        sdoc["event_count"] = len(stream.events)
        from .pyyaml import Literal

        sdoc["events"] = Literal(format_block(stream.events, ndjson=stream.format == "ndjson"))
        response["stream"] = sdoc
    else:
        _body_doc(res.body, response)
    return {"request": request, "response": response}


def save_cassette(
    cassette: Cassette,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    secrets: Iterable[str] = (),
) -> Path:
    """Write ``cassette`` to ``path`` atomically; returns the path.

    The text goes to a temporary file in the same folder, is flushed and fsynced,
    then replaces ``path`` in one ``os.replace``: a reader sees the old file or the
    new one, never a part. An existing file is kept unless ``overwrite=True``.
    Before anything is written, the text is searched for each of ``secrets``
    (the API key in use): a hit refuses the save.
    """
    target = Path(path)
    text = dumps_cassette(cassette)
    for secret in secrets:
        if secret and secret in text:
            line = text.count("\n", 0, text.index(secret)) + 1
            raise UnsafeCassetteError(
                "the cassette would contain the API key in use; nothing was written",
                path=target,
                line=line,
                fix="remove the key from what is recorded (headers are filtered; a key "
                "inside a request body or a message must be scrubbed before recording)",
            )
    if target.exists() and not overwrite:
        raise CassetteError(
            "the file exists and was not overwritten",
            path=target,
            fix="choose another path, delete the file, or pass overwrite=True (--force)",
        )
    write_atomic(target, text.encode())
    return target


def as_cassette(cassette: Cassette | str | os.PathLike[str]) -> Cassette:
    """``cassette`` itself, or the cassette file it names, loaded."""
    return cassette if isinstance(cassette, Cassette) else load_cassette(cassette)


def load_cassette(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> Cassette:
    """Read and check a cassette file; raises ``CassetteError`` for anything unusable."""
    target = Path(path)
    limit = max_bytes if max_bytes is not None else _size_limit()
    return loads_cassette(read_regular(target, limit), path=target)


def _size_limit() -> int:
    value = os.environ.get("STREAM_REPLAY_MAX_CASSETTE_BYTES")
    if not value:
        return MAX_CASSETTE_BYTES
    try:
        return int(value)
    except ValueError:
        raise CassetteError(
            f"STREAM_REPLAY_MAX_CASSETTE_BYTES={value!r} is not a whole number of bytes",
            fix="set it to a number such as 134217728 (128 MiB), or unset it for the 64 MiB default",
        ) from None


def loads_cassette(data: bytes | str, *, path: Path | None = None) -> Cassette:
    """Parse and check cassette text (``path`` is only used in error messages)."""
    text = _text_of(data, path)
    doc = read_plain(text)  # a cassette as save_cassette writes it, without PyYAML
    if doc is None:
        from . import pyyaml

        doc = pyyaml.load(text, path)
    return _Reader(text, path).cassette(doc)


def _text_of(data: bytes | str, path: Path | None) -> str:
    if isinstance(data, str):
        text = data
    else:
        nul = data.find(b"\x00")
        if nul >= 0:
            raise CassetteError(
                f"the file is binary (a NUL byte at offset {nul}), not a YAML cassette",
                path=path,
                line=data.count(b"\n", 0, nul) + 1,
                fix="point at the .yaml cassette, or record it again",
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CassetteError(
                f"the file is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})",
                path=path,
                line=data.count(b"\n", 0, exc.start) + 1,
                fix="cassettes are UTF-8 YAML; point at the right file or record it again",
            ) from None
    if not text.strip():
        raise CassetteError(
            "the file is empty: an empty file is not a cassette with no interactions",
            path=path,
            fix="delete it and record again (stream_replay never treats it as 'no cassette')",
        )
    return text





class _Reader:
    """Checks a parsed document and builds the model; errors carry place and line."""

    def __init__(self, text: str, path: Path | None) -> None:
        self.text = text
        self.path = path

    def fail(self, place: str, problem: str, fix: str, line: int | None = None) -> CassetteError:
        if line is None:
            line = _line_of(self.text, place)
        return CassetteError(problem, path=self.path, line=line, place=place, fix=fix)

    def cassette(self, doc: Any) -> Cassette:
        if doc is None:
            raise self.fail(
                "(top level)",
                "the file holds only comments or blank lines, not a cassette (it may have been cut)",
                "restore the file from version control or record it again",
                line=1,
            )
        if not isinstance(doc, dict):
            raise self.fail(
                "(top level)",
                f"expected a mapping with 'format: {FORMAT_NAME}', found {_kind(doc)}",
                "point at a stream_replay cassette",
                line=1,
            )
        if doc.get("format") != FORMAT_NAME:
            if "format" not in doc and _looks_like_vcrpy(doc):
                raise VcrpyCassetteError(
                    "this is a vcrpy cassette, not a stream_replay cassette",
                    path=self.path,
                    line=1,
                    place="(top level)",
                    fix=f"convert it: stream-replay import-vcr {self.path or 'FILE'} -o DIR",
                )
            raise self.fail(
                "format",
                f"the file has no 'format' key; a cassette starts 'format: {FORMAT_NAME}'"
                if "format" not in doc
                else f"'format' must be {FORMAT_NAME!r}, found {doc.get('format')!r}",
                "point at a stream_replay cassette",
                line=_line_of(self.text, "format") or 1,
            )
        version = doc.get("version")
        if version != FORMAT_VERSION or isinstance(version, bool):
            found = "no version" if "version" not in doc else f"version {version!r}"
            raise self.fail(
                "version",
                f"cassette format version {FORMAT_VERSION} is the one this stream_replay reads; "
                f"the file has {found} (never guessed)",
                "upgrade stream_replay if the file is newer; otherwise record it again",
                line=_line_of(self.text, "version") or 1,
            )
        if doc.get(END_KEY) is not True:
            raise self.fail(
                END_KEY,
                f"the file ends before its last line '{END_KEY}: true': it was cut "
                "(an interrupted copy or write), so it is not replayed as a shorter stream",
                "restore the file from version control or record it again",
                line=self.text.count("\n") + 1,
            )
        interactions = doc.get("interactions")
        if not isinstance(interactions, list):
            raise self.fail("interactions", "'interactions' must be a list", "add 'interactions: []' or record")
        meta = Meta(
            recorded_at=_opt_str(doc.get("recorded_at")),
            cohere_version=_opt_str(doc.get("cohere_version")),
            stream_replay_version=_opt_str(doc.get("stream_replay_version")),
            source=doc.get("source") if isinstance(doc.get("source"), dict) else None,
        )
        return Cassette(
            tuple(self.interaction(f"interactions[{i}]", item) for i, item in enumerate(interactions)),
            meta,
            self.path,
        )

    def mapping(self, place: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(place, f"expected a mapping, found {_kind(value)}", "see README, 'Cassette format'")
        return value

    def require(self, place: str, doc: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in doc:
            raise self.fail(place, f"missing key {key!r}", f"add '{key}' (see README, 'Cassette format')")
        value = doc[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{place}.{key}", f"expected {want}, found {_kind(value)}", "fix the value")
        return value

    def headers(self, place: str, doc: dict[str, Any]) -> dict[str, str]:
        value = doc.get("headers") or {}
        value = self.mapping(f"{place}.headers", value)
        out = {}
        for key, item in value.items():
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                raise self.fail(f"{place}.headers.{key}", "a header value must be text", "quote the value")
            if not _HEADER_NAME.fullmatch(str(key)):
                raise self.fail(
                    f"{place}.headers", f"{str(key)!r} is not an HTTP header name", "remove it or fix its name"
                )
            if _HEADER_VALUE_FORBIDDEN.search(str(item)):
                raise self.fail(
                    f"{place}.headers.{key}",
                    "the header value holds a line break or another control character, which could inject headers",
                    "remove the control characters from the value",
                )
            out[str(key).lower()] = str(item)
        return out

    def body(self, place: str, doc: dict[str, Any]) -> Body:
        if "body_text" in doc:
            text = doc["body_text"]
            if not isinstance(text, str):
                raise self.fail(f"{place}.body_text", "expected text", "quote the body")
            return Body(text=text)
        if "body" not in doc:
            return Body()
        style = self.require(place, doc, "body_style", str)
        from ..wire.jsontext import BODY_STYLES

        if style not in BODY_STYLES:
            raise self.fail(
                f"{place}.body_style",
                f"unknown body_style {style!r}",
                f"use one of {', '.join(BODY_STYLES)}",
            )
        raw = doc["body"]
        if isinstance(raw, str) and too_deep(raw):
            raise self.fail(
                f"{place}.body",
                f"the body nests deeper than {MAX_JSON_DEPTH} levels",
                "this is not a body the cohere SDK sends or receives: restore the cassette or record it again",
            )
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except (ValueError, RecursionError) as exc:
            raise self.fail(f"{place}.body", f"the body is not valid JSON ({exc})", "repair the JSON") from None
        return Body(json=value, style=style)

    def interaction(self, place: str, item: Any) -> Interaction:
        item = self.mapping(place, item)
        req = self.mapping(f"{place}.request", self.require(place, item, "request", dict))
        rplace = f"{place}.request"
        url = self.require(rplace, req, "url", str)
        if not _url_ok(url):
            raise self.fail(
                f"{rplace}.url",
                f"{url!r} is not an http(s) URL with a host",
                "write the full URL the request went to, e.g. https://api.cohere.com/v2/chat",
            )
        request = Request(
            method=self.require(rplace, req, "method", str).upper(),
            url=url,
            headers=self.headers(rplace, req),
            body=self.body(rplace, req),
        )
        res = self.require(place, item, "response", dict)
        splace = f"{place}.response"
        status = self.require(splace, res, "status", int)
        if not 100 <= status <= 599:
            raise self.fail(f"{splace}.status", f"HTTP status {status} is not in 100..599", "fix the status")
        stream = None
        if "stream" in res:
            stream = self.stream(f"{splace}.stream", self.require(splace, res, "stream", dict))
        return Interaction(
            request,
            Response(status=status, headers=self.headers(splace, res), body=self.body(splace, res), stream=stream),
        )

    def stream(self, place: str, doc: dict[str, Any]) -> Stream:
        fmt = self.require(place, doc, "format", str)
        if fmt not in ("sse", "ndjson"):
            raise self.fail(f"{place}.format", f"unknown stream format {fmt!r}", "use 'sse' (v2) or 'ndjson' (v1)")
        outcome = self.require(place, doc, "outcome", str)
        if outcome not in OUTCOMES:
            raise self.fail(f"{place}.outcome", f"unknown outcome {outcome!r}", f"use one of {', '.join(OUTCOMES)}")
        error = None
        if doc.get("error") is not None:
            err = self.mapping(f"{place}.error", doc["error"])
            error = StreamError(
                type=self.require(f"{place}.error", err, "type", str),
                message=str(err.get("message", "")),
            )
        if outcome == "failed" and error is None:
            raise self.fail(place, "a failed stream must say how it failed", "add error: {type: ..., message: ...}")
        count = self.require(place, doc, "event_count", int)
        block = self.require(place, doc, "events", str)
        ndjson = fmt == "ndjson"

        def line_error(exc: LineError) -> CassetteError:
            start = _line_of(self.text, f"{place}.events")
            line = start + 1 + exc.index if start is not None else None
            return self.fail(f"{place}.events[{exc.index}]", exc.problem, exc.fix, line=line)

        events: Sequence[WireEvent]
        if plainly_shaped(block, ndjson=ndjson):
            events = EventBlock(block, ndjson=ndjson, count=block.count("\n"), on_error=line_error)
            timed = bool(block) and not block.startswith("-")
        else:
            try:
                events = parse_block(block, ndjson=ndjson)
            except LineError as exc:
                raise line_error(exc) from None
            timed = bool(events) and events[0].offset is not None
        if len(events) != count:
            raise self.fail(
                f"{place}.events",
                f"the block holds {len(events)} events but event_count says {count}: the file was cut or edited",
                "restore the file; if you removed or added events on purpose, set event_count to match",
            )
        timing = doc.get("timing")
        if timing not in (None, "recorded", "none") or ((timing == "recorded") != timed and events):
            raise self.fail(
                f"{place}.timing",
                f"timing says {timing!r} but the events {'have' if timed else 'have no'} offsets",
                "use 'recorded' when the lines start with seconds, 'none' when they start with '-'",
            )
        return Stream(format=fmt, events=events, outcome=outcome, error=error)


#: An HTTP header name (RFC 9110 token) and what a header value must never hold.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HOST = re.compile(r"[A-Za-z0-9._~%:\[\]-]+")


def _url_ok(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and bool(_HOST.fullmatch(host)) and not _HEADER_VALUE_FORBIDDEN.search(url)


def _looks_like_vcrpy(doc: dict[str, Any]) -> bool:
    items = doc.get("interactions")
    return isinstance(items, list) and any(
        isinstance(i, dict) and isinstance(i.get("request"), dict) and "uri" in i["request"] for i in items
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    names = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}
    return names.get(type(value), type(value).__name__)


def _line_of(text: str, place: str) -> int | None:
    """The 1-based line of ``place`` (``interactions[2].response.status``) in ``text``
    (only to word errors)."""
    from .pyyaml import line_of

    return line_of(text, _split_place(place))


def _split_place(place: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in place.replace("]", "").split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indexes if i.isdigit())
    return parts
