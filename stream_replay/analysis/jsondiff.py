"""Field-level differences between two JSON values, and field paths.

One implementation serves every place that compares or trims JSON: the mismatch
message of a replay (recorded request -> this request), ``ignore_fields``,
``assert_final_response`` (expected -> actual) and ``stream-replay diff``.

Paths read like Python: ``messages[0].content``, ``tools[*].parameter_definitions.*.type``
(``[*]``: every item of a list, ``*``: every value of a mapping). A difference is
reported where the values part (a changed leaf, an added or removed key or item), never
as a whole-body replacement; a long string shows the excerpt around its first
differing character on both sides. Bounded: at most ``limit`` differences are
collected, with an explicit stack (no recursion), so a deep or huge body costs what
it holds, once.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

#: Marks the side a field is missing from.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(missing)"})()

_TOKEN = re.compile(r"\[(\d+|\*)\]|(?:^|\.)([^.\[\]]+)")

# A string longer than this is shown as an excerpt around its first difference.
_WIDTH = 70
_BEFORE = 25


class Difference(NamedTuple):
    """One place where two values differ: its path and the value on each side
    (``MISSING`` where the field is absent)."""

    path: str
    old: Any
    new: Any


# --------------------------------------------------------------------------- paths


def parse_path(path: str) -> list[str | int]:
    """``tools[*].parameter_definitions.*.type`` -> ``["tools", "[*]", "parameter_definitions",
    "*", "type"]`` (list indexes as ints); ``ValueError`` for an empty or malformed path."""
    tokens: list[str | int] = []
    position = 0
    for match in _TOKEN.finditer(path):
        if match.start() != position:
            break
        index, key = match.group(1), match.group(2)
        if index is not None:
            tokens.append("[*]" if index == "*" else int(index))
        else:
            tokens.append(key)
        position = match.end()
    if not tokens or position != len(path):
        raise ValueError(f"cannot read the field path {path!r}: write it like messages[0].content or tools[*].name")
    return tokens


def drop_path(value: Any, path: str | list[str | int]) -> None:
    """Remove the field(s) at ``path`` from ``value`` in place, where present."""
    tokens = parse_path(path) if isinstance(path, str) else path
    parents: list[Any] = [value]
    for token in tokens[:-1]:
        parents = [child for parent in parents for child in children(parent, token)]
        if not parents:
            return
    last = tokens[-1]
    for parent in parents:
        if isinstance(parent, dict):
            if last == "*":
                parent.clear()
            elif isinstance(last, str):
                parent.pop(last, None)
        elif isinstance(parent, list):
            if last == "[*]":
                parent.clear()
            elif isinstance(last, int) and -len(parent) <= last < len(parent):
                parent.pop(last)


def children(value: Any, token: str | int) -> list[Any]:
    """The values ``token`` (a path step of ``parse_path``) selects inside ``value``."""
    if token == "[*]":
        return list(value) if isinstance(value, list) else []
    if token == "*":
        return list(value.values()) if isinstance(value, dict) else []
    if isinstance(token, int):
        return [value[token]] if isinstance(value, list) and -len(value) <= token < len(value) else []
    return [value[token]] if isinstance(value, dict) and token in value else []


# ---------------------------------------------------------------------- differences


def differences(old: Any, new: Any, *, limit: int = 1000) -> list[Difference]:
    """Where ``old`` and ``new`` differ, leaf by leaf, in document order (at most ``limit``)."""
    found: list[Difference] = []
    for item in _walk(old, new, ""):
        found.append(item)
        if len(found) >= limit:
            break
    return found


def _walk(old: Any, new: Any, path: str) -> Iterator[Difference]:
    stack: list[tuple[Any, Any, str]] = [(old, new, path)]
    while stack:
        a, b, where = stack.pop()
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            pending = []
            for key in [*a, *(k for k in b if k not in a)]:
                child = f"{where}.{key}" if where else str(key)
                pending.append((a.get(key, MISSING), b.get(key, MISSING), child))
            stack.extend(reversed(pending))
        elif isinstance(a, list) and isinstance(b, list):
            size = max(len(a), len(b))
            pending = [
                (a[i] if i < len(a) else MISSING, b[i] if i < len(b) else MISSING, f"{where}[{i}]") for i in range(size)
            ]
            stack.extend(reversed(pending))
        else:
            yield Difference(where or "(the body)", a, b)


def describe(
    found: list[Difference],
    *,
    limit: int = 12,
    added: str = "(not recorded)",
    removed: str = "(not sent)",
) -> list[str]:
    """One line per difference, ``path: old -> new``; ``added``/``removed`` name the side a
    field is missing from. A long string is an excerpt around its first difference."""
    lines = []
    for path, old, new in found[:limit]:
        if old is MISSING:
            lines.append(f"{path}: {added} -> {_short(new)}")
        elif new is MISSING:
            lines.append(f"{path}: {_short(old)} -> {removed}")
        elif isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > _WIDTH:
            at = _first_difference(old, new)
            lines.append(f"{path}, from character {at}: {_excerpt(old, at)} -> {_excerpt(new, at)}")
        else:
            lines.append(f"{path}: {_short(old)} -> {_short(new)}")
    if len(found) > limit:
        lines.append(f"... and {len(found) - limit} more differences")
    return lines


def field_diff(
    old: Any, new: Any, *, limit: int = 12, added: str = "(not recorded)", removed: str = "(not sent)"
) -> list[str]:
    """``describe(differences(old, new))``: the lines of a field-level diff."""
    return describe(differences(old, new, limit=limit + 1000), limit=limit, added=added, removed=removed)


def _first_difference(a: str, b: str) -> int:
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def _excerpt(text: str, at: int) -> str:
    start = max(0, at - _BEFORE)
    end = min(len(text), start + _WIDTH)
    piece = repr(text[start:end])
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."
