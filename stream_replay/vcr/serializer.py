"""A vcrpy serializer that stores Cohere streams one event per line, and never a secret.

Register it with vcrpy (``my_vcr.register_serializer("stream_replay",
stream_replay.vcr_serializer)``); under pytest-recording the plugin registers it, so one
line of ``vcr_config`` is enough: ``{"serializer": "stream_replay"}``.

A cassette written with it is vcrpy's own cassette, with one difference: a Cohere stream
(``/v2/chat`` SSE, ``/v1/chat`` NDJSON) is stored as ``body: {stream_replay: {format,
events}}``, its events one per line as in stream_replay's cassettes, instead of one long
string. Every other interaction is what vcrpy writes. Loading gives vcrpy the exact
bytes back. A body that does not encode back byte for byte stays a string.

Like every file stream_replay writes, it never holds a credential: request and response
headers named like one (``Authorization``, ``X-Api-Key``, ``Set-Cookie``, ...) and
credential query parameters are left out (vcrpy does not match on them), and the text
is searched before vcrpy writes it for the key in ``CO_API_KEY``/``COHERE_API_KEY`` and
the bearer token of every recorded request: a hit raises ``UnsafeCassetteError`` (the
file and the line), which vcrpy lets through, and nothing is written.

``vcr_serializer_with(redact_fields=[...], redact_patterns=[...])`` is a serializer that
also redacts, as ``record_client`` does (``stream_replay.cassette.redaction``): register
it under a name of its own and use that name. vcrpy's own hooks
(``before_record_request``, ``before_record_response``) are the place for anything else.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from ..cassette.lines import LineError, format_block, parse_block
from ..cassette.model import Body
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
from ..recording.policy import MARK_HEADER, NO_MATCH
from ..wire import decode, encode, format_of

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _content_type(headers: Any) -> str:
    for name, values in dict(headers or {}).items():
        if str(name).lower() == "content-type":
            value = values[0] if isinstance(values, list) and values else values
            return str(value)
    return ""


#: How to get a key out of what the serializer writes, said with every refusal.
FIX = (
    "redact it before vcrpy saves the cassette: register stream_replay.vcr.serializer.vcr_serializer_with("
    "redact_patterns=[r'...']) (or redact_fields=[...]) as the serializer, or use vcrpy's before_record_request / "
    "before_record_response hooks"
)


class VcrSerializer:
    """A vcrpy serializer (what ``register_serializer`` takes: ``serialize`` and
    ``deserialize``) that applies ``redaction`` to every interaction it writes."""

    def __init__(self, redaction: Redaction | None = None) -> None:
        self.redaction = redaction or NO_REDACTION

    def __repr__(self) -> str:
        return f"VcrSerializer({self.redaction!r})"

    def serialize(self, cassette_dict: dict[str, Any]) -> str:
        """vcrpy's cassette data as YAML, Cohere streams one event per line, credentials out.
        ``stream-replay serve``'s own "no recorded interaction" answers are left out: they
        are not the API's (a ``StreamReplayWarning`` says so). ``UnsafeCassetteError``
        when the text would hold a key, or a pattern would break an event's JSON: vcrpy
        then writes nothing (and its patches are undone first, see ``_release_vcrpy``)."""
        try:
            return self._serialize(cassette_dict)
        except UnsafeCassetteError:
            _release_vcrpy()
            raise

    def _serialize(self, cassette_dict: dict[str, Any]) -> str:
        kept = []
        for interaction in cassette_dict.get("interactions", []):
            if _is_the_apis(interaction):
                kept.append(interaction)
        cassette_dict = {**cassette_dict, "interactions": kept}
        secrets = env_secrets()
        for index, interaction in enumerate(kept):
            request = interaction.get("request") or {}
            secrets.extend(header_secrets(_pairs(request.get("headers"))))
            try:
                self._request(request)
                self._response(interaction.get("response") or {})
            except UnsafeCassetteError as exc:  # a pattern that would break an event's JSON
                raise UnsafeCassetteError(
                    exc.problem, path=_saving_path(), place=f"interactions[{index}].{exc.place}", fix=exc.fix
                ) from None
        text = yaml.dump(cassette_dict, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)
        refuse_secrets(text, secrets, path=_saving_path(), what="the vcrpy cassette", fix=FIX)
        return text

    def deserialize(self, cassette_string: str) -> dict[str, Any]:
        return deserialize(cassette_string)

    def _request(self, request: dict[str, Any]) -> None:
        redaction = self.redaction
        if isinstance(request.get("headers"), dict):
            request["headers"] = _headers(request["headers"], redaction)
        if isinstance(request.get("uri"), str):
            request["uri"] = redaction.url(scrub_url(request["uri"]))
        body = request.get("body")
        if redaction and isinstance(body, str):
            request["body"] = _redacted_text(redaction, body, fields=True, place="request.body")

    def _response(self, response: dict[str, Any]) -> None:
        redaction = self.redaction
        status = int((response.get("status") or {}).get("code", 0))
        fmt = format_of(status, _content_type(response.get("headers")))
        if isinstance(response.get("headers"), dict):
            response["headers"] = _headers(response["headers"], redaction)
        body = response.get("body") or {}
        string = body.get("string")
        if fmt is None or not isinstance(string, (str, bytes)):
            if redaction and isinstance(string, str):
                body["string"] = _redacted_text(redaction, string, fields=False, place="response.body")
            return
        raw = string.encode("utf-8", "surrogateescape") if isinstance(string, str) else string
        events = decode(raw, fmt)
        if redaction:
            events = redaction.events(events, fmt, place="response.stream")
        elif encode(events, fmt) != raw:
            return  # kept as vcrpy keeps it
        response["body"] = {"stream_replay": {"format": fmt, "events": format_block(events, ndjson=fmt == "ndjson")}}


def _pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in dict(headers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)))
    return pairs


def _headers(headers: dict[Any, Any], redaction: Redaction) -> dict[Any, Any]:
    """vcrpy's headers without the credential ones, the user's patterns redacted in the values."""
    kept = {name: values for name, values in headers.items() if not is_secret_name(str(name))}
    if not redaction.patterns:
        return kept
    return {
        name: [redaction.text(v) if isinstance(v, str) else v for v in values]
        if isinstance(values, list)
        else redaction.text(values)
        if isinstance(values, str)
        else values
        for name, values in kept.items()
    }


def _redacted_text(redaction: Redaction, text: str, *, fields: bool, place: str) -> str:
    body = redaction.body(Body.of_text(text), fields=fields, place=place)
    return body.to_bytes().decode("utf-8", "surrogateescape")


def _is_the_apis(interaction: dict[str, Any]) -> bool:
    """False for ``stream-replay serve``'s own "no recorded interaction" answer (said)."""
    headers = dict((interaction.get("response") or {}).get("headers") or {})
    marks = {str(name).lower(): value for name, value in headers.items()}
    mark = marks.get(MARK_HEADER)
    if (mark[0] if isinstance(mark, list) and mark else mark) != NO_MATCH:
        return True
    request = interaction.get("request") or {}
    warnings.warn(
        StreamReplayWarning(
            f"not recorded: {request.get('method')} {request.get('uri')} -> stream-replay serve's own "
            "'no recorded interaction' answer, not the API's"
        ),
        stacklevel=3,
    )
    return False


def _vcrpy_frames() -> Iterator[FrameType]:
    """The frames of whoever called the serializer, closest first (a dozen at most)."""
    frame = inspect.currentframe()
    try:
        for _ in range(16):
            if frame is None:
                return
            yield frame
            frame = frame.f_back
    finally:
        del frame


def _saving_path() -> Path | None:
    """The file vcrpy is saving to, when the caller is vcrpy's ``save_cassette`` (a
    persister's ``save_cassette(cassette_path, cassette_dict, serializer)``): only for
    the error message. None when called otherwise."""
    for frame in _vcrpy_frames():
        if frame.f_code.co_name == "save_cassette" and "cassette_path" in frame.f_locals:
            found = frame.f_locals["cassette_path"]
            return Path(found) if isinstance(found, (str, Path)) else None
    return None


def _release_vcrpy() -> None:
    """Undo vcrpy's patches before a refusal is raised.

    vcrpy's ``CassetteContextDecorator.__exit__`` saves the cassette first and undoes its
    patches of httpx, requests, aiohttp... after (``next(self.__finish)``); an error
    raised by the save skips that, and every HTTP call of the process would stay
    patched, answered from the refused cassette, until garbage collection. Best effort:
    nothing is done when the caller is not vcrpy's ``__exit__``."""
    for frame in _vcrpy_frames():
        owner = frame.f_locals.get("self") if frame.f_code.co_name == "__exit__" else None
        finish = getattr(owner, _FINISH, None)
        if finish is not None and hasattr(finish, "close"):
            setattr(owner, _FINISH, None)
            finish.close()  # the patches' ExitStack unwinds
            return


# vcrpy's private name for the generator holding a cassette's patches.
_FINISH = "_CassetteContextDecorator__finish"


#: The serializer ``stream_replay.vcr_serializer`` stands for: no redaction of the user's.
DEFAULT = VcrSerializer()


def serialize(cassette_dict: dict[str, Any]) -> str:
    """vcrpy's cassette data as YAML, Cohere streams one event per line, credentials out
    (``VcrSerializer.serialize``, without a redaction of the user's)."""
    return DEFAULT.serialize(cassette_dict)


def vcr_serializer_with(
    *, redact_fields: Sequence[str] = (), redact_patterns: Sequence[str | re.Pattern[str]] = ()
) -> VcrSerializer:
    """A vcrpy serializer like ``stream_replay.vcr_serializer`` that also redacts request
    body fields by path and every match of ``redact_patterns`` (bodies, header values,
    the URL, every event's payload, kept valid JSON), as ``record_client`` does:
    ``my_vcr.register_serializer("stream_replay_redacted", vcr_serializer_with(
    redact_patterns=[r"sk-[A-Za-z0-9]{20,}"]))``. ``ValueError`` for a bad path or pattern."""
    return VcrSerializer(Redaction.of(redact_fields, redact_patterns))


def deserialize(cassette_string: str) -> dict[str, Any]:
    """The cassette data vcrpy expects, each stream's exact bytes rebuilt."""
    data: dict[str, Any] = yaml.load(cassette_string, Loader=_Loader)
    for index, interaction in enumerate(data.get("interactions", [])):
        response = interaction.get("response") or {}
        body = response.get("body") or {}
        stored = body.get("stream_replay")
        if isinstance(stored, dict):
            place = f"interactions[{index}].response.body.stream_replay"
            fmt = stored.get("format")
            if fmt not in ("sse", "ndjson") or not isinstance(stored.get("events"), str):
                raise CassetteError(
                    "expected format: sse or ndjson, and events: a block of event lines",
                    place=place,
                    fix="restore the cassette from version control, or delete it and record it again",
                )
            try:
                events = parse_block(stored["events"], ndjson=fmt == "ndjson")
            except LineError as exc:
                raise CassetteError(exc.problem, place=f"{place}.events[{exc.index}]", fix=exc.fix) from None
            raw = encode(events, fmt)
            try:
                response["body"] = {"string": raw.decode("utf-8")}  # as vcrpy stores text
            except UnicodeDecodeError:
                response["body"] = {"string": raw}
    return data
