"""Which recorded interaction answers a request: Cohere-aware matching and the diff
shown when nothing matches.

By default a request matches a recorded one when the method, the API route
(``/v2/chat``: the path from its ``/v1/`` or ``/v2/`` on, so a proxy prefix or
another host does not matter), the query and the JSON body (model, messages,
tools, documents, generation parameters...) are equal; a recorded request written
without a body matches any body. ``ignore_fields`` removes
body fields that vary between runs (``tools[*].parameter_definitions.*.type``:
wildcards over lists and mappings); ``ignore_patterns`` blanks what a regular
expression matches inside any string of the body (a date in a prompt); ``match_on``
picks matchers by name or adds callables ``(recorded: RequestView, incoming:
RequestView) -> bool``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..analysis.jsondiff import drop_path, parse_path
from ..cassette.model import Request

_ROUTE = re.compile(r"/v\d+/.*$")


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request reduced to what matching looks at."""

    method: str
    host: str
    route: str
    query: tuple[tuple[str, str], ...]
    body: Any

    def describe(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else ""
        return f"{self.method} {self.route}{query}"


def view(method: str, url: str, body: bytes | str | Any) -> RequestView:
    parts = urlsplit(url)
    found = _ROUTE.search(parts.path)
    route = found.group(0) if found else parts.path
    if isinstance(body, (bytes, str)):
        body = _parse_body(body)
    return RequestView(
        method=method.upper(),
        host=parts.hostname or "",
        route=route,
        query=tuple(sorted(parse_qsl(parts.query, keep_blank_values=True))),
        body=body,
    )


def recorded_view(request: Request) -> RequestView:
    return view(request.method, request.url, request.body.parsed() if request.body.style else request.body.text or "")


def _parse_body(raw: bytes | str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except ValueError:
        return text


Matcher = Callable[[RequestView, RequestView], bool]

MATCHERS: dict[str, Matcher] = {
    "method": lambda a, b: a.method == b.method,
    "host": lambda a, b: a.host == b.host,
    "route": lambda a, b: a.route == b.route,
    "query": lambda a, b: a.query == b.query,
    # A recorded request written without a body says nothing about it, so any body
    # matches: generated cassettes are written so, and so is an imported vcrpy cassette
    # whose before_record hook dropped the bodies (vcrpy itself never compares bodies
    # unless asked). A request recorded by stream_replay always has its body.
    "body": lambda a, b: a.body is None or a.body == b.body,
}
DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "route", "query", "body")


class Matching:
    """A configured way to match requests (names and callables, plus ignored body fields)."""

    def __init__(
        self,
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        ignore_fields: Sequence[str] = (),
        ignore_patterns: Sequence[str | re.Pattern[str]] = (),
    ) -> None:
        self.matchers: list[tuple[str, Matcher]] = []
        for item in match_on:
            if isinstance(item, str):
                if item not in MATCHERS:
                    raise ValueError(f"unknown matcher {item!r}; known: {', '.join(MATCHERS)}")
                self.matchers.append((item, MATCHERS[item]))
            else:
                self.matchers.append((getattr(item, "__name__", repr(item)), item))
        self.ignore_fields = tuple(ignore_fields)
        self._paths = [parse_path(path) for path in self.ignore_fields]  # a bad path fails here
        self.ignore_patterns: tuple[re.Pattern[str], ...] = tuple(_pattern(p) for p in ignore_patterns)

    @property
    def on_body(self) -> bool:
        """Whether the body is compared at all."""
        return any(name == "body" for name, _ in self.matchers)

    def without_body(self) -> Matching:
        """The same matching minus the body matcher (what ``drift="accept"`` falls back to)."""
        other = Matching((), self.ignore_fields, self.ignore_patterns)
        other.matchers = [(name, fn) for name, fn in self.matchers if name != "body"]
        return other

    def prepare(self, request: RequestView) -> RequestView:
        """``request`` with the ignored fields removed and the ignored patterns blanked."""
        if not (self._paths or self.ignore_patterns) or not isinstance(request.body, (dict, list, str)):
            return request
        body = copy.deepcopy(request.body)
        for path in self._paths:
            drop_path(body, path)
        if self.ignore_patterns:
            body = _blank(body, self.ignore_patterns)
        return RequestView(request.method, request.host, request.route, request.query, body)

    def matches(self, recorded: RequestView, incoming: RequestView) -> bool:
        """Whether every matcher says yes (``incoming`` already ``prepare``d)."""
        return all(fn(recorded, incoming) for _, fn in self.matchers)

    def failures(self, recorded: RequestView, incoming: RequestView) -> list[str]:
        """The names of the matchers that say no (empty: it matches)."""
        return [name for name, fn in self.matchers if not fn(recorded, incoming)]


#: What an ignored pattern's match becomes, on both sides.
BLANK = "<ignored>"


def _pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"ignore_patterns: {pattern!r} is not a regular expression ({exc})") from None


def _blank(value: Any, patterns: Sequence[re.Pattern[str]]) -> Any:
    """Every string inside ``value`` with each pattern's matches replaced by ``BLANK``."""
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(BLANK, value)
        return value
    if isinstance(value, dict):
        return {key: _blank(inner, patterns) for key, inner in value.items()}
    if isinstance(value, list):
        return [_blank(inner, patterns) for inner in value]
    return value
