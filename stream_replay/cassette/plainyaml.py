"""The YAML a cassette is written in, read without PyYAML when it is plainly ours.

PyYAML is the cassette's reader of record. But a cassette as ``dumps_cassette``
writes it uses a small, fixed part of YAML: block mappings with plain keys,
sequences, plain and single-quoted scalars (on one line, or wrapped as the writer
wraps them at 100 columns), ``[]`` and ``{}``, and literal blocks (``|``) holding
the events, one per line. ``read_plain`` reads exactly that part in one pass over
the lines and gives up (returns None) at anything else: a double-quoted or folded
(``>``) scalar, a flow collection with content, an anchor or alias, a tag, a tab, a
blank line inside a block or a wrapped scalar, a key given twice, a plain scalar
PyYAML would take for a date, a merge key, or a number written other than as
``repr`` writes it. PyYAML then reads the file, and its refusals and error messages
stay the only ones.

What it returns equals what PyYAML's safe loader returns for the same text: plain
scalars are resolved with PyYAML's own implicit resolvers (copied below;
``test_its_resolvers_are_pyyamls`` checks them against the installed PyYAML), and
``tests/test_plainyaml.py`` compares both readers, types included, over every
bundled cassette, the corpus, drawn cassettes, YAML corners and mutations of real
files. It is about 3x faster than libyaml through PyYAML on a real cassette and
builds no node graph (``bench/bench_load.py``).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import re
from itertools import repeat
from typing import Any

from .lines import fits_one_line

# PyYAML's implicit resolvers (yaml/resolver.py, MIT licence, Kirill Simonov): what a
# plain scalar is, by its first character. ``test_its_resolvers_are_pyyamls`` checks them.
_BOOL = re.compile(
    r"""^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$""",
    re.X,
)
_MERGE = re.compile(r"^(?:<<)$")
_NULL = re.compile(
    r"""^(?: ~
                    |null|Null|NULL
                    | )$""",
    re.X,
)
_TIMESTAMP = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
                     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_VALUE = re.compile(r"^(?:=)$")
_YAML = re.compile(r"^(?:!|&|\*)$")

#: (tag, pattern, first characters), in PyYAML's order of registration ("": the empty scalar).
RESOLVERS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    ("bool", _BOOL, tuple("yYnNtTfFoO")),
    ("float", _FLOAT, tuple("-+0123456789.")),
    ("int", _INT, tuple("-+0123456789")),
    ("merge", _MERGE, ("<",)),
    ("null", _NULL, ("~", "n", "N", "")),
    ("timestamp", _TIMESTAMP, tuple("0123456789")),
    ("value", _VALUE, ("=",)),
    ("yaml", _YAML, ("!", "&", "*")),
)
_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _pattern, _firsts in RESOLVERS:
    for _first in _firsts:
        _BY_FIRST.setdefault(_first, []).append((_tag, _pattern))

#: The ints and floats PyYAML writes (``repr``), which its constructor reads as Python does.
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DECIMAL_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:e[-+][0-9]+)?")
_TRUE = {"yes", "true", "on"}

#: A plain scalar or key may not start with these (YAML's indicators).
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
#: Deeper than this, PyYAML's reader decides (it refuses past ``MAX_YAML_DEPTH``).
_MAX_DEPTH = 16
#: A literal block's indicator: ``|`` and its chomping (``|-`` strips the last line break, ``|+`` keeps all).
_LITERAL_STARTS = frozenset({"|", "|-", "|+"})
#: The ASCII part of what ``lines.fits_one_line`` allows, and the line break: checked in
#: one ``bytes.translate`` (a tenth of the regular expression's time on ASCII text).
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"
#: Keys already found to be plain strings (they repeat from file to file); bounded.
_PLAIN_KEYS: set[str] = set()
#: Short scalars already read, with their values (``POST``, ``sse``, a header's value:
#: they repeat from file to file); bounded in number and length. Only immutable values:
#: never ``[]`` or ``{}``.
_SCALARS: dict[str, Any] = {}
_CACHED = 2048
_CACHED_LENGTH = 256


class _GiveUp(Exception):
    pass


def read_plain(text: str) -> Any | None:
    """The document ``text`` holds, as PyYAML's safe loader gives it, when ``text`` is
    written in the part of YAML a cassette uses; None when it is not (PyYAML decides)."""
    lines = text.split("\n")
    # Tabs, other line breaks (\r, U+0085, U+2028, U+2029), the byte-order mark, NUL and
    # other characters PyYAML refuses or reads otherwise: PyYAML reads those files.
    if text.isascii():
        if text.encode("ascii").translate(None, _PRINTABLE_ASCII):
            return None
    elif not all(map(str.isprintable, lines)) and not all(map(fits_one_line, lines)):
        return None  # (Python's printable is stricter than YAML's: only then the exact check)
    try:
        return _document(lines)
    except _GiveUp:
        return None


def _resolved(value: str) -> Any:
    """A plain scalar as PyYAML resolves it: a string, an int or float written as
    ``repr`` writes it, a bool or null; anything else (dates, other numbers, merge
    keys) gives up."""
    for tag, pattern in _BY_FIRST.get(value[:1], ()):
        if pattern.match(value):
            if tag == "int" and _DECIMAL.fullmatch(value):
                return int(value)
            if tag == "float" and _DECIMAL_FLOAT.fullmatch(value):
                return float(value)
            if tag == "bool":
                return value.lower() in _TRUE
            if tag == "null":
                return None
            raise _GiveUp
    return value


def _scalar(text: str) -> Any:
    """A one-line scalar (what follows ``key: `` or ``- ``)."""
    if text in _SCALARS:
        return _SCALARS[text]
    value = _read_scalar(text)
    if len(text) <= _CACHED_LENGTH and len(_SCALARS) < _CACHED and type(value) not in (list, dict):
        _SCALARS[text] = value
    return value


def _read_scalar(text: str) -> Any:
    if text[:1] == "'":
        if len(text) < 2 or text[-1] != "'":
            raise _GiveUp  # wrapped over lines, or text after it
        inner = text[1:-1]
        if "'" in inner.replace("''", ""):
            raise _GiveUp
        return inner.replace("''", "'")
    if text == "[]" or text == "{}":  # the writer's empty sequence and mapping
        return [] if text == "[]" else {}
    if not text or text[-1] in " :" or ": " in text or " #" in text:
        raise _GiveUp
    if text[0] in _INDICATORS and not (text[0] == "-" and text[1:2].isdigit()):
        raise _GiveUp
    return _resolved(text)


def _key(text: str) -> str:
    if text in _PLAIN_KEYS:
        return text
    if not text or text[0] in _INDICATORS or text[-1] == " " or " #" in text or ":" in text:
        raise _GiveUp
    if type(_resolved(text)) is not str:
        raise _GiveUp
    if len(_PLAIN_KEYS) < 1024:
        _PLAIN_KEYS.add(text)
    return text


def _document(lines: list[str]) -> dict[str, Any]:
    """One pass over the lines with a stack of the open collections, each with the
    indentation of its keys or dashes; anything the stack does not expect gives up."""
    root: dict[str, Any] = {}
    # (indentation, the collection, True for a sequence)
    stack: list[tuple[int, Any, bool]] = [(0, root, False)]
    pending: tuple[dict[str, Any], str, int] | None = None  # a key whose value is on the lines below
    count = len(lines)
    at = 0
    while at < count:
        line = lines[at]
        at += 1
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue  # a blank line or a whole-line comment
        indent = len(line) - len(content)
        dash = content[:2] == "- "
        if pending is not None:
            into, name, above = pending
            pending = None
            if indent < above or (indent == above and not dash) or len(stack) > _MAX_DEPTH:
                raise _GiveUp  # an empty value (null), which a cassette never writes
            node: Any = [] if dash else {}
            into[name] = node
            stack.append((indent, node, dash))
        else:
            head = stack[-1]
            while head[0] > indent or (head[2] and head[0] == indent and not dash):
                stack.pop()
                if not stack:
                    raise _GiveUp
                head = stack[-1]
            if head[0] != indent or head[2] != dash:
                raise _GiveUp  # more indented than what is open: a wrapped scalar, or no YAML of ours
        top = stack[-1][1]
        if dash:
            item = content[2:]
            if item[:1] == " " or len(stack) > _MAX_DEPTH:
                raise _GiveUp  # the item's own indentation decides where its keys stand
            if ": " not in item and item[-1:] != ":":  # a scalar item, not a mapping's first key
                if _continues(lines, at, indent):
                    item, at = _folded(lines, at, indent, item)
                top.append(_scalar(item))
                continue
            mapping: dict[str, Any] = {}
            top.append(mapping)
            indent += 2
            stack.append((indent, mapping, False))
            top, content = mapping, item
        colon = content.find(": ")
        if colon < 0:
            if content[-1] != ":":
                raise _GiveUp
            key, value = content[:-1], ""
        else:
            key, value = content[:colon], content[colon + 2 :].lstrip(" ")
        if key not in _PLAIN_KEYS:
            key = _key(key)
        if key in top:
            raise _GiveUp  # PyYAML's reader refuses it, saying where
        if not value:
            pending = (top, key, indent)
        elif value in _LITERAL_STARTS:
            top[key], at = _literal(lines, at, indent, value[1:])
        else:
            if _continues(lines, at, indent):
                value, at = _folded(lines, at, indent, value)
            top[key] = _scalar(value)
    if pending is not None or not root:
        raise _GiveUp  # an empty value; or no document at all (PyYAML gives None)
    return root


def _continues(lines: list[str], at: int, indent: int) -> bool:
    """Whether the line at ``at`` continues a scalar whose key or dash is at ``indent``
    (more indented, not blank): only then is ``_folded`` needed."""
    if at >= len(lines):
        return False
    line = lines[at]
    if not line[: indent + 1].isspace():  # fewer than indent + 1 leading blanks (most lines: a sibling key)
        return False
    content = line.lstrip(" ")
    return bool(content) and len(line) - len(content) > indent


def _folded(lines: list[str], at: int, indent: int, first: str) -> tuple[str, int]:
    """A scalar and the lines that continue it (more indented than its key or dash, as
    the writer wraps long strings at 100 columns), folded as YAML folds a flow scalar:
    each line break, with the spaces around it, becomes one space. A blank line inside
    (a line break kept) or a plain line that starts like YAML syntax gives up."""
    count = len(lines)
    parts = None
    while at < count:
        line = lines[at]
        content = line.lstrip(" ")
        if not content or len(line) - len(content) <= indent:
            break
        if parts is None:
            if first[:1] != "'" and first[:1] in _INDICATORS:
                raise _GiveUp
            parts = [first.rstrip(" ")]
        if first[:1] != "'" and content[0] in _INDICATORS:
            raise _GiveUp  # a comment, a sequence entry, a quote: not a plain continuation
        parts.append(content.rstrip(" "))
        at += 1
    if parts is None:
        return first, at
    if at < count and not lines[at].strip(" ") and at + 1 < count:
        nxt = lines[at + 1]
        if nxt.strip(" ") and len(nxt) - len(nxt.lstrip(" ")) > indent:
            raise _GiveUp  # a blank line folded into a line break
    return " ".join(parts), at


def _literal(lines: list[str], start: int, indent: int, chomping: str) -> tuple[str, int]:
    """A literal block below a key at ``indent``: its text and the line after it."""
    if start == len(lines):
        raise _GiveUp
    first = lines[start]
    block = len(first) - len(first.lstrip(" "))
    if block <= indent:
        raise _GiveUp  # an empty block
    prefix = " " * block
    end = start + 1
    count = len(lines)
    # The first line after it that does not start with its indentation, found a run of
    # lines at a time, each run twice as long (a block is most of a cassette's lines).
    run = 16
    while end < count:
        starts = list(map(str.startswith, lines[end : end + run], repeat(prefix)))
        if False in starts:
            end += starts.index(False)
            break
        end += len(starts)
        run *= 2
    if end < count - 1 and not lines[end].strip(" "):
        raise _GiveUp  # a blank line after the block: chomping decides, so PyYAML does
    text = "\n".join(lines[start:end])
    if " \n" in text or text.endswith(" "):
        raise _GiveUp  # a blank line, or trailing spaces (never written; PyYAML keeps them)
    text = text[block:].replace("\n" + prefix, "\n") + "\n"
    return (text[:-1] if chomping == "-" else text), end


__all__ = ["RESOLVERS", "read_plain"]
