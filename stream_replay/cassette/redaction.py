"""Redaction: what never reaches a file, and what a user chooses to keep out of it.

One home for every rule that keeps secrets out of what stream_replay writes (a
cassette, a converted or exported vcrpy cassette, the vcrpy serializer's output):

- **headers**: an allow-list, then a deny-list as a second guard (``keep_headers``,
  ``is_secret_name``): never ``Authorization``, never a header whose name mentions a
  key, token, secret, cookie, session, password, credential or auth;
- **URLs**: no userinfo, no credential query parameters (``scrub_url``);
- **the key search**: the text about to be written is searched for every secret in
  play (``CO_API_KEY``/``COHERE_API_KEY``, the bearer token of every request; see
  ``env_secrets``, ``header_secrets``); a hit refuses the write (``refuse_secrets``);
- **a user's redaction** (``Redaction``): request body fields by path, regular
  expressions over every text written, and a ``before_record`` hook, applied to an
  ``Interaction`` before it is written. A redacted value becomes ``"<redacted>"``.

Patterns inside JSON (request and response bodies, every event's payload) are
matched against each JSON string's value and only that string is rewritten, in the
style of the text around it (Go's escaping for v1 payloads), so every other byte is
kept and the payload stays valid JSON. A match that reaches outside a string (across
a quote, into a number) is replaced in the text only when the result still parses;
otherwise the interaction is refused (``UnsafeCassetteError``), never written with the
match in it, never written as broken JSON.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import bisect
import copy
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import UnsafeCassetteError
from ..wire import StreamFormat, WireEvent
from ..wire.jsontext import BODY_STYLES, dumps_v1, dumps_v2
from .model import Body, Interaction, Request, Response, Stream, StreamError

REQUEST_HEADERS = frozenset(
    {"content-type", "accept", "x-client-name", "x-fern-sdk-name", "x-fern-sdk-version", "x-fern-language"}
)
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "retry-after",
        "retry-after-ms",
        "x-api-warning",
        "x-debug-trace-id",
        "x-trial-endpoint-call-limit",
        "x-trial-endpoint-call-remaining",
        "x-endpoint-monthly-call-limit",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
)
_SECRET_NAME = re.compile(r"auth|key|token|secret|cookie|session|password|credential", re.I)

#: What a redacted value or a redacted match becomes.
PLACEHOLDER = "<redacted>"
#: A secret shorter than this is not searched for: a test's dummy key ("x") would be
#: found in any cassette and refuse every write; real Cohere keys are 40 characters.
MIN_SECRET_LENGTH = 8
#: The environment variables a cohere client takes its key from.
KEY_VARIABLES = ("CO_API_KEY", "COHERE_API_KEY")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def keep_headers(pairs: Iterable[tuple[str, str]], allowed: frozenset[str]) -> dict[str, str]:
    """The allowed, non-secret headers, names lower-cased, repeated values joined."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in allowed and not is_secret_name(key):
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def scrub_url(url: str) -> str:
    """The URL without userinfo and without query parameters that look like credentials."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_secret_name(k)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# ------------------------------------------------------------------ the key search


def env_secrets() -> list[str]:
    """The keys a cohere client would take from the environment (``CO_API_KEY``,
    ``COHERE_API_KEY``), where set."""
    return [value for value in (os.environ.get(name) for name in KEY_VARIABLES) if value]


def header_secrets(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The credentials carried by headers named like one: the token of ``Authorization:
    Bearer <token>`` (any scheme), the value of ``X-Api-Key`` and the like."""
    found = []
    for name, value in pairs:
        if not is_secret_name(name) or not value:
            continue
        _, space, token = value.strip().partition(" ")
        found.append(token.strip() if space and name.lower() == "authorization" else value.strip())
    return found


def searched(secrets: Iterable[str]) -> set[str]:
    """The secrets worth searching for (long enough not to be found by chance)."""
    return {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}


def secret_line(text: str, secrets: Iterable[str]) -> int | None:
    """The 1-based line of the first secret found in ``text``; None when none is there."""
    first: int | None = None
    for secret in searched(secrets):
        at = text.find(secret)
        if at >= 0 and (first is None or at < first):
            first = at
    return None if first is None else text.count("\n", 0, first) + 1


#: How to get a key out of what is written, said with every refusal.
REDACT_FIX = (
    "remove the key from what is recorded: redact_patterns=[r'...'] (a regular expression matching it) or "
    "redact_fields=['messages[*].content'] (record_client, the plugin's options, stream-replay record "
    "--redact-pattern/--redact-field), or a before_record hook"
)


def refuse_secrets(
    text: str, secrets: Iterable[str], *, path: str | os.PathLike[str] | None, what: str, fix: str = REDACT_FIX
) -> None:
    """Raise ``UnsafeCassetteError`` naming ``path`` and the line when ``text`` holds one of
    ``secrets`` (the secret itself is never shown)."""
    line = secret_line(text, secrets)
    if line is not None:
        raise UnsafeCassetteError(
            f"{what} would contain the API key in use; nothing was written",
            path=Path(path) if path is not None else None,
            line=line,
            fix=fix,
        )


# ------------------------------------------------------------------ user redaction

Hook = Callable[[Interaction], "Interaction | None"]

# A JSON string literal (valid JSON text: no raw quote or control character inside).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
# The placeholder as written in JSON text (either escaping style) and in a URL; masked
# (same length, a private-use character) before patterns are matched, never matched again.
_URL_PLACEHOLDER = "%3Credacted%3E"
_WRITTEN = re.compile(
    "|".join(re.escape(form) for form in (PLACEHOLDER, dumps_v1(PLACEHOLDER)[1:-1], _URL_PLACEHOLDER))
)
_MASK = "\ue000"
# JSON's literal names: a match inside one holds nothing of the user's and is left alone.
_KEYWORD = re.compile(r"true|false|null")


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        compiled = pattern
    elif isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"redact_patterns: {pattern!r} is not a regular expression ({exc})") from None
    else:
        raise ValueError(f"redact_patterns: expected regular expressions (str), got {pattern!r}")
    if compiled.search("") is not None:
        raise ValueError(
            f"redact_patterns: {compiled.pattern!r} matches the empty string, so it would redact everywhere; "
            "make it match at least one character"
        )
    return compiled


def _parse_fields(fields: Sequence[str]) -> tuple[tuple[str | int, ...], ...]:
    from ..analysis.jsondiff import parse_path

    parsed = []
    for path in fields:
        if not isinstance(path, str):
            raise ValueError(f"redact_fields: expected field paths (str), got {path!r}")
        try:
            parsed.append(tuple(parse_path(path)))
        except ValueError as exc:
            raise ValueError(f"redact_fields: {exc}") from None
    return tuple(parsed)


def _set_path(value: Any, tokens: Sequence[str | int]) -> None:
    """Replace the field(s) at ``tokens`` inside ``value`` with the placeholder, where present."""
    from ..analysis.jsondiff import children

    parents = [value]
    for token in tokens[:-1]:
        parents = [child for parent in parents for child in children(parent, token)]
    last = tokens[-1]
    for parent in parents:
        if isinstance(parent, dict):
            names = list(parent) if last == "*" else [last] if isinstance(last, str) and last in parent else []
            for name in names:
                parent[name] = PLACEHOLDER
        elif isinstance(parent, list):
            if last == "[*]":
                indexes: Iterable[int] = range(len(parent))
            else:
                indexes = [last] if isinstance(last, int) and -len(parent) <= last < len(parent) else []
            for index in indexes:
                parent[index] = PLACEHOLDER


@dataclass(frozen=True)
class Redaction:
    """What a user keeps out of a recording, applied to each ``Interaction`` before it is
    written (``apply``), in this order:

    - ``fields``: request body fields by path (``documents[*].data.ssn``,
      ``messages[*].content``; the paths of ``ignore_fields``, with ``[*]`` and ``*``
      wildcards); each value found becomes the string ``"<redacted>"``;
    - ``patterns``: regular expressions; every match in the URL, the header values, the
      request and response bodies, every event's payload and a failed stream's error
      message becomes ``<redacted>`` (inside JSON: inside its strings, which stay valid);
    - ``before_record``: ``hook(interaction) -> Interaction | None``, called last, with
      the redacted interaction; None leaves the interaction out of the cassette.

    Invalid paths and patterns (and a pattern matching the empty string) are a
    ``ValueError`` when the value is made, before anything is recorded.
    """

    fields: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    before_record: Hook | None = None
    _paths: tuple[tuple[str | int, ...], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.fields, str) or isinstance(self.patterns, (str, re.Pattern)):
            raise ValueError("redact_fields and redact_patterns take a list, e.g. redact_patterns=[r'sk-\\w{20,}']")
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "patterns", tuple(_compile(p) for p in self.patterns))
        object.__setattr__(self, "_paths", _parse_fields(self.fields))
        if self.before_record is not None and not callable(self.before_record):
            raise ValueError(
                f"before_record: expected a callable (interaction) -> Interaction | None, got {self.before_record!r}"
            )

    @classmethod
    def of(
        cls,
        redact_fields: Sequence[str] | None = (),
        redact_patterns: Sequence[str | re.Pattern[str]] | None = (),
        before_record: Hook | None = None,
    ) -> Redaction:
        """The ``Redaction`` of the options as users give them (``redact_fields=``, ...)."""
        if isinstance(redact_fields, str) or isinstance(redact_patterns, (str, re.Pattern)):
            raise ValueError("redact_fields and redact_patterns take a list, e.g. redact_patterns=[r'sk-\\w{20,}']")
        return cls(tuple(redact_fields or ()), tuple(redact_patterns or ()), before_record)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return bool(self.fields or self.patterns or self.before_record is not None)

    # ------------------------------------------------------------ interactions

    def apply(self, interaction: Interaction) -> Interaction | None:
        """``interaction`` redacted, then given to ``before_record``; None: not to be written.
        ``UnsafeCassetteError`` (with its place) when a pattern cannot be applied without
        breaking an event's JSON."""
        if self.fields or self.patterns:
            interaction = Interaction(self.request(interaction.request), self.response(interaction.response))
        if self.before_record is None:
            return interaction
        result = self.before_record(interaction)
        if result is not None and not isinstance(result, Interaction):
            raise TypeError(
                f"before_record must return a stream_replay Interaction or None, got {type(result).__name__}"
            )
        return result

    def request(self, request: Request) -> Request:
        if not self:
            return request
        return replace(
            request,
            url=self.url(request.url),
            headers={name: self.text(value) for name, value in request.headers.items()},
            body=self.body(request.body, fields=True, place="request.body"),
        )

    def response(self, response: Response) -> Response:
        if not self.patterns:
            return response
        headers = {name: self.text(value) for name, value in response.headers.items()}
        if response.stream is None:
            return replace(response, headers=headers, body=self.body(response.body, place="response.body"))
        stream = response.stream
        error = stream.error
        if error is not None:
            error = StreamError(error.type, self.text(error.message))
        events = tuple(self.events(stream.events, stream.format, place="response.stream"))
        return replace(response, headers=headers, stream=Stream(stream.format, events, stream.outcome, error))

    # ------------------------------------------------------------ bodies and events

    def body(self, body: Body, *, fields: bool = False, place: str = "body") -> Body:
        """``body`` with the fields (when ``fields``: request bodies) and the patterns redacted,
        written back in its own style."""
        if body.is_empty or not (self.patterns or (fields and self._paths)):
            return body
        dumps: Callable[[Any], str] = BODY_STYLES[body.style] if body.style is not None else dumps_v2
        if body.style is not None:
            original = body.to_bytes().decode("utf-8", "surrogateescape")
            parsed: Any = body.json
        else:
            original = body.text or ""
            parsed = body.parsed()
        text = original
        if fields and self._paths and isinstance(parsed, (dict, list)):
            redacted = copy.deepcopy(parsed)
            for path in self._paths:
                _set_path(redacted, path)
            if redacted != parsed:
                text = dumps(redacted)
        if self.patterns:
            text = self.json_text(text, dumps, place=place)
        return body if text == original else Body.of_text(text)

    def events(self, events: Iterable[WireEvent], fmt: StreamFormat, *, place: str = "stream") -> list[WireEvent]:
        """Each event with the patterns redacted in its payload (or its raw bytes)."""
        return [self.event(event, fmt, place=f"{place}.events[{index}]") for index, event in enumerate(events)]

    def event(self, event: WireEvent, fmt: StreamFormat, *, place: str = "event") -> WireEvent:
        if not self.patterns:
            return event
        if event.raw is not None:
            raw = self.text(event.raw.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
            data = self.text(event.data) if event.data is not None else None
            return event._replace(raw=raw, data=data)
        if event.data is None:
            return event
        dumps = dumps_v2 if fmt == "sse" else dumps_v1
        return event._replace(data=self.json_text(event.data, dumps, place=place))

    # ------------------------------------------------------------ text

    def url(self, url: str) -> str:
        """``url`` with the patterns redacted in its path, query and fragment (as written,
        percent-encoded), the placeholder percent-encoded; the scheme and host are kept."""
        if not self.patterns:
            return url
        parts = urlsplit(url)
        rest = [self.text(part).replace(PLACEHOLDER, _URL_PLACEHOLDER) for part in parts[2:]]
        return urlunsplit((parts.scheme, parts.netloc, *rest))

    def text(self, value: str) -> str:
        """``value`` with every match of every pattern replaced by the placeholder (the
        matches of all patterns merged, so one never matches inside another's placeholder)."""
        if not self.patterns:
            return value
        spans = self._spans(value)
        if not spans:
            return value
        return _replaced(value, spans)

    def json_text(self, text: str, dumps: Callable[[Any], str] = dumps_v2, *, place: str = "body") -> str:
        """``text`` redacted; when it is JSON, inside its strings only, each rewritten with
        ``dumps`` (the style of the text around it), so it stays valid JSON."""
        if not self.patterns:
            return text
        try:
            json.loads(text)
        except ValueError:
            return self.text(text)

        def literal(match: re.Match[str]) -> str:
            written = match.group(0)
            value = json.loads(written)
            redacted = self.text(value)
            return written if redacted == value else dumps(redacted)

        redacted = _STRING.sub(literal, text)
        return self._leftovers(redacted, place)

    def _spans(self, value: str) -> list[tuple[int, int]]:
        """Where the patterns match ``value``, merged. Placeholders already in it are masked
        first (same length, a private-use character), so a pattern never matches inside one,
        and text beside one is still found."""
        masked = _WRITTEN.sub(lambda m: _MASK * len(m.group()), value) if "redacted" in value else value
        spans = sorted((m.start(), m.end()) for p in self.patterns for m in p.finditer(masked) if m.end() > m.start())
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def _leftovers(self, text: str, place: str) -> str:
        """A match still in the JSON ``text`` once its strings are redacted, and not inside
        one string (there, the string's value is what a pattern is matched against) nor
        inside ``true``/``false``/``null``, reaches across the JSON syntax (a quote, a
        number): replaced when the result still parses, else refused."""
        strings = [(m.start() + 1, m.end() - 1) for m in _STRING.finditer(text)]  # their contents
        words = [(m.start(), m.end()) for m in _KEYWORD.finditer(text)]
        left = [span for span in self._spans(text) if not (_within(span, strings) or _within(span, words))]
        if not left:
            return text
        redacted = _replaced(text, left)
        try:
            json.loads(redacted)
        except ValueError:
            raise UnsafeCassetteError(
                f"redact_patterns: a match in {place} reaches outside a JSON string (across a quote, into a "
                "number), and replacing it would break the JSON; nothing was written",
                place=place,
                fix="write the pattern to match text inside a JSON string value, or redact the field by path "
                "(redact_fields)",
            ) from None
        return redacted


def _within(span: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    """Whether ``span`` lies inside one of ``spans`` (sorted, not overlapping)."""
    at = bisect.bisect_right(spans, span[0], key=lambda s: s[0]) - 1
    return at >= 0 and spans[at][0] <= span[0] and span[1] <= spans[at][1]


def _replaced(value: str, spans: Sequence[tuple[int, int]]) -> str:
    parts = []
    at = 0
    for start, end in spans:
        parts.append(value[at:start])
        parts.append(PLACEHOLDER)
        at = end
    parts.append(value[at:])
    return "".join(parts)


#: No redaction: what every writer applies when the user asked for none.
NO_REDACTION = Redaction()
