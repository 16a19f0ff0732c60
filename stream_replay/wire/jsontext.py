"""JSON text written the way Cohere's servers write it.

- v2 (SSE): compact separators, non-ASCII raw, keys in the given order.
- v1 (NDJSON): the same, plus Go's ``encoding/json`` HTML escaping of ``<``, ``>``,
  ``&`` and of U+2028/U+2029 (measured: 74 of 74 real v1 bodies reproduce only
  with these escapes).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_GO_TABLE = str.maketrans(_GO_ESCAPES)


def dumps_v2(obj: Any) -> str:
    """A v2 event payload as the server writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def dumps_v1(obj: Any) -> str:
    """A v1 event payload as the server writes it (Go's escaping)."""
    # Every '<', '>', '&' and U+2028/9 in json.dumps output sits inside a string
    # literal, where the escape means the same character.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).translate(_GO_TABLE)


#: The scanner ``json.loads`` parses with (``JSONDecoder`` sets it; typeshed does not say so).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads(text: str) -> Any:
    """``json.loads(text)``, through the same C scanner without its Python wrapper, whose
    two whitespace checks and three calls cost twice the parse of a typical event
    (74 real v2 payloads: 58 us against 126 us). Text the scanner does not take whole
    from its first character (leading or trailing whitespace, an error) goes to
    ``json.loads``, so the values and the errors are its own."""
    try:
        value, end = _SCAN(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


#: How a JSON body's bytes are rebuilt from its parsed form, by style name.
BODY_STYLES = {
    # httpx < 0.28 (json.dumps defaults): the request bodies of most recorded cassettes
    "json": lambda obj: json.dumps(obj),
    # httpx >= 0.28 request bodies, and Cohere's v2 responses
    "compact": dumps_v2,
    # Cohere's v1 responses
    "go": dumps_v1,
}


def body_style(text: str) -> tuple[Any, str] | None:
    """Parse ``text`` as JSON and name a style that writes it back byte for byte.

    Returns ``(parsed, style)``, or ``None`` when the text is not JSON or no known
    style reproduces it (the caller then keeps the text itself).
    """
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    for name, dump in BODY_STYLES.items():
        if dump(obj) == text:
            return obj, name
    return None
