"""A vcrpy serializer that stores Cohere streams one event per line.

Register it with vcrpy (``my_vcr.register_serializer("stream_replay",
stream_replay.vcr_serializer)``); under pytest-recording the plugin registers it, so one
line of ``vcr_config`` is enough: ``{"serializer": "stream_replay"}``.

A cassette written with it is vcrpy's own cassette, with one difference: a Cohere stream
(``/v2/chat`` SSE, ``/v1/chat`` NDJSON) is stored as ``body: {stream_replay: {format,
events}}``, its events one per line as in stream_replay's cassettes, instead of one long
string. Every other interaction is exactly what vcrpy writes. Loading gives vcrpy the
exact bytes back. A body that does not encode back byte for byte stays a string. Like
every cassette stream_replay writes, it never holds a credential: request headers named
like one (``Authorization``, ``X-Api-Key``, ...) and credential query parameters are
left out (vcrpy does not match on them).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import warnings
from typing import Any

import yaml

from ..cassette.lines import LineError, format_block, parse_block
from ..cassette.redaction import is_secret_name, scrub_url
from ..errors import CassetteError, StreamReplayWarning
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


def serialize(cassette_dict: dict[str, Any]) -> str:
    """vcrpy's cassette data as YAML, Cohere streams one event per line, credentials out.
    ``stream-replay serve``'s own "no recorded interaction" answers are left out: they
    are not the API's (a ``StreamReplayWarning`` says so)."""
    kept = []
    for interaction in cassette_dict.get("interactions", []):
        headers = dict((interaction.get("response") or {}).get("headers") or {})
        marks = {str(name).lower(): value for name, value in headers.items()}
        mark = marks.get(MARK_HEADER)
        if (mark[0] if isinstance(mark, list) and mark else mark) == NO_MATCH:
            request = interaction.get("request") or {}
            warnings.warn(
                StreamReplayWarning(
                    f"not recorded: {request.get('method')} {request.get('uri')} -> stream-replay serve's own "
                    "'no recorded interaction' answer, not the API's"
                ),
                stacklevel=2,
            )
            continue
        kept.append(interaction)
    cassette_dict = {**cassette_dict, "interactions": kept}
    for interaction in kept:
        request = interaction.get("request") or {}
        if isinstance(request.get("headers"), dict):
            request["headers"] = {k: v for k, v in request["headers"].items() if not is_secret_name(str(k))}
        if isinstance(request.get("uri"), str):
            request["uri"] = scrub_url(request["uri"])
        response = interaction.get("response") or {}
        body = response.get("body") or {}
        string = body.get("string")
        status = int((response.get("status") or {}).get("code", 0))
        fmt = format_of(status, _content_type(response.get("headers")))
        if fmt is None or not isinstance(string, (str, bytes)):
            continue
        raw = string.encode("utf-8", "surrogateescape") if isinstance(string, str) else string
        events = decode(raw, fmt)
        if encode(events, fmt) != raw:
            continue  # kept as vcrpy keeps it
        response["body"] = {"stream_replay": {"format": fmt, "events": format_block(events, ndjson=fmt == "ndjson")}}
    return yaml.dump(cassette_dict, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


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
