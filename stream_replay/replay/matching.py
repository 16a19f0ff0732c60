"""Which recorded interaction answers a request: Cohere-aware matching and the diff
shown when nothing matches.

By default a request matches a recorded one when the method, the API route
(``/v2/chat``: the path from its ``/v1/`` or ``/v2/`` on, so a proxy prefix or
another host does not matter), the query and the JSON body (model, messages,
tools, documents, generation parameters...) are equal. ``ignore_fields`` removes
body fields that vary between runs; ``match_on`` picks matchers by name or adds
callables ``(recorded: RequestView, incoming: RequestView) -> bool``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
    "body": lambda a, b: a.body == b.body,
}
DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "route", "query", "body")


class Matching:
    """A configured way to match requests (names and callables, plus ignored body fields)."""

    def __init__(
        self,
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        ignore_fields: Sequence[str] = (),
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

    def prepare(self, request: RequestView) -> RequestView:
        if not self.ignore_fields or not isinstance(request.body, dict):
            return request
        body = json.loads(json.dumps(request.body))
        for path in self.ignore_fields:
            drop_path(body, path)
        return RequestView(request.method, request.host, request.route, request.query, body)

    def matches(self, recorded: RequestView, incoming: RequestView) -> bool:
        """Whether every matcher says yes (``incoming`` already ``prepare``d)."""
        return all(fn(recorded, incoming) for _, fn in self.matchers)

    def failures(self, recorded: RequestView, incoming: RequestView) -> list[str]:
        """The names of the matchers that say no (empty: it matches)."""
        return [name for name, fn in self.matchers if not fn(recorded, incoming)]


def drop_path(body: Any, path: str) -> None:
    """Remove ``path`` (``usage``, ``tool_calls[0].id``) from ``body`` in place, if present."""
    keys = [int(k) if k.isdigit() else k for k in re.split(r"\.|\[|\]\.?", path) if k]
    for key in keys[:-1]:
        try:
            body = body[key]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(body, dict):
        body.pop(keys[-1], None)
    elif isinstance(body, list) and isinstance(keys[-1], int) and keys[-1] < len(body):
        body.pop(keys[-1])


# ------------------------------------------------------------------------ explaining


def field_diff(
    recorded: Any,
    incoming: Any,
    *,
    limit: int = 12,
    added: str = "(not recorded)",
    removed: str = "(not sent)",
) -> list[str]:
    """Field-level differences, recorded -> incoming: ``messages[0].content: 'Hi' -> 'Hello'``.
    ``added``/``removed`` name the side a field is missing from."""
    from deepdiff import DeepDiff

    diff = DeepDiff(recorded, incoming, verbose_level=2)
    lines: list[str] = []
    for kind, items in diff.items():
        for path, value in dict(items).items():
            where = _path(path)
            if kind in ("values_changed", "type_changes"):
                lines.append(f"{where}: {_short(value.get('old_value'))} -> {_short(value.get('new_value'))}")
            elif kind in ("dictionary_item_added", "iterable_item_added", "attribute_added"):
                lines.append(f"{where}: {added} -> {_short(value)}")
            elif kind in ("dictionary_item_removed", "iterable_item_removed", "attribute_removed"):
                lines.append(f"{where}: {_short(value)} -> {removed}")
            else:
                lines.append(f"{where}: {kind}")
    lines.sort()
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more differences"]
    return lines


def distance(recorded: Any, incoming: Any) -> float:
    from deepdiff import DeepDiff

    if recorded == incoming:
        return 0.0
    try:
        return float(DeepDiff(recorded, incoming, get_deep_distance=True).get("deep_distance", 1.0))
    except Exception:  # deepdiff refuses some type pairs; they are simply far apart
        return 1.0


def _path(path: str) -> str:
    text = path[4:] if path.startswith("root") else path
    text = re.sub(r"\['([^']*)'\]", r".\1", text)
    return text.lstrip(".") or "(whole body)"


def _short(value: Any, width: int = 70) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
