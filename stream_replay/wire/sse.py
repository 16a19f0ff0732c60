"""v2 chat streams: ``text/event-stream`` bytes to events and back.

Cohere frames every event as ``event: <type>\\ndata: <compact JSON>\\n\\n`` and ends
the body with ``data: [DONE]\\n\\n``. Such blocks become plain events; any other
block (CRLF line ends, comments, ``id:`` lines, several data lines, a cut last
block, bytes that are not UTF-8) is kept byte for byte in ``WireEvent.raw``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import re

from .events import DONE, TOKEN, WireEvent, plain_payload

_CANONICAL = re.compile(r"event: ([^\s\"]\S*)\ndata: ([^\n]*)\n\n", re.ASCII)
_DONE_BLOCK = "data: [DONE]\n\n"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_blocks(text: str) -> list[str]:
    """Split a decoded body into event blocks, each ending with its blank line.

    The blocks partition the text: joined, they give it back. A last block with
    no blank line after it (a cut stream) is kept as it is.
    """
    if "\r" not in text:
        pieces = text.split("\n\n")
        blocks = [p + "\n\n" for p in pieces[:-1]]
        if pieces[-1]:
            blocks.append(pieces[-1])
        return blocks
    blocks = []
    current: list[str] = []
    for match in _LINE.finditer(text):
        line = match.group(0)
        current.append(line)
        if line in ("\n", "\r\n", "\r"):
            blocks.append("".join(current))
            current = []
    if current:
        blocks.append("".join(current))
    return blocks


def decode_block(block: str) -> WireEvent:
    """One block as an event: plain when canonical, raw otherwise."""
    if block == _DONE_BLOCK:
        return WireEvent(DONE, None)
    match = _CANONICAL.fullmatch(block)
    if match is not None:
        name, data = match.group(1), match.group(2)
        if plain_payload(data) and _is_json(data):
            return WireEvent(name, data)
    return WireEvent(_guess_name(block), None, block.encode("utf-8", "surrogateescape"))


def decode_sse(body: bytes) -> list[WireEvent]:
    """All events of a v2 body, in order; ``wire.encode`` of the result is ``body``."""
    text = body.decode("utf-8", "surrogateescape")
    return [decode_block(block) for block in split_blocks(text)]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _guess_name(block: str) -> str:
    """A label for a raw block: its ``event:`` name, else its JSON ``type``, else ``?``."""
    name = ""
    for line in block.splitlines():
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
            break
        if field == "data" and not name:
            if value == "[DONE]":
                name = DONE
                continue
            try:
                obj = json.loads(value)
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("type"), str):
                name = obj["type"]
    return name if TOKEN.fullmatch(name) else "?"
