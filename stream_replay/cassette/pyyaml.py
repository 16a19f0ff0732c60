"""PyYAML: the cassette's reader and writer of record.

Everything here needs PyYAML, and is imported only when it is used: to write a
cassette, to read one ``plainyaml.read_plain`` steps aside from (a hand edit, an
older layout, anything not plainly ours), and to find the line an error names.
Replaying a cassette as ``save_cassette`` wrote it imports no PyYAML at all.

- ``load``: the safe loader (libyaml's when present; no ``!!python/*`` tag is ever
  constructed), stricter: a key given twice, an alias or nesting deeper than
  ``MAX_YAML_DEPTH`` is refused where it stands; every error is a ``CassetteError``
  with its line.
- ``dump``: the writer, with literal blocks for the events and bodies.
- ``line_of``: where a place in the document starts, for error messages.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import CassetteError

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: How deeply a cassette's YAML may nest (a cassette needs 6 levels; attribution a few more).
MAX_YAML_DEPTH = 32


class _Refused(yaml.YAMLError):
    """A YAML construct a cassette must not use; ``mark`` says where."""

    def __init__(self, problem: str, fix: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.problem_mark = mark


class _Loader(_SafeLoader):  # type: ignore[misc]
    """The safe loader, stricter: a key given twice, an alias (``*name``: a billion
    laughs expands from a few of them) or nesting deeper than ``MAX_YAML_DEPTH`` is
    refused where it stands, instead of silently taking the last value or expanding."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _Refused(
                "this part is repeated elsewhere by a YAML alias (&name here, *name there); cassettes use none",
                "write the value out where it is used (a cassette never needs anchors or aliases)",
                node.start_mark,
            )
        return super().construct_object(node, deep)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
                if key in seen:
                    raise _Refused(
                        f"the key {key!r} is given twice in one mapping (first at line {seen[key].line + 1}); "
                        "YAML would silently keep the last one",
                        "remove one of them (restore the file from version control if it was edited by mistake)",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def _depth_refused(node: Any) -> _Refused | None:
    """A ``_Refused`` for nesting deeper than ``MAX_YAML_DEPTH`` (checked without recursion)."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_YAML_DEPTH:
            return _Refused(
                f"the YAML nests deeper than {MAX_YAML_DEPTH} levels; a cassette needs fewer than 10",
                "this is not a cassette written by stream_replay: restore or record it again",
                item.start_mark,
            )
        if isinstance(item, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in item.value)
        elif isinstance(item, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in item.value for child in pair)
    return None


def load(text: str, path: Path | None) -> Any:
    """The document in ``text``; ``CassetteError`` (with the line) for anything a
    cassette must not hold or YAML cannot read."""
    try:
        return _load(text)
    except _Refused as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise CassetteError(exc.problem, path=path, line=line, fix=exc.fix) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    except RecursionError:
        raise CassetteError(
            "the YAML nests too deeply to read",
            path=path,
            fix="this is not a cassette written by stream_replay: restore or record it again",
        ) from None


def _load(text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        refused = _depth_refused(node)
        if refused is not None:
            raise refused
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.YAMLError, path: Path | None) -> CassetteError:
    mark = getattr(exc, "problem_mark", None)
    context = str(getattr(exc, "context", None) or "")
    if context.startswith(("while scanning", "while parsing a flow")) and getattr(exc, "context_mark", None):
        # An unclosed bracket or quote is noticed where the next token (or the end of
        # the file) is; the line the user must fix is where it opened.
        mark = exc.context_mark  # type: ignore[attr-defined]
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in str(problem):
        return CassetteError(
            f"unsafe or unknown YAML tag ({problem}); cassettes are loaded with a safe loader "
            "and never construct Python objects",
            path=path,
            line=line,
            fix="remove the tag: a cassette holds only plain YAML values",
        )
    detail = f"{context}: {problem}" if context else str(problem)
    return CassetteError(
        f"the file is not valid YAML ({detail})",
        path=path,
        line=line,
        fix="repair the YAML at that line, or restore the file from version control",
    )


_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

class Literal(str):
    """A string written as a YAML literal block (``|``)."""


class _Dumper(_BaseDumper):  # type: ignore[misc]
    pass


def _literal(dumper: Any, value: Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class _PureDumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Literal, _literal)
_PureDumper.add_representer(Literal, _literal)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def dump(doc: dict[str, Any]) -> str:
    """``doc`` as YAML, its ``Literal`` strings as literal blocks."""
    # libyaml's writer refuses characters outside the BMP (emoji) in a literal block and
    # would quote the whole events block; PyYAML's own writer keeps it one event a line.
    dumper = _PureDumper if _ASTRAL.search(json.dumps(doc, ensure_ascii=False, default=str)) else _Dumper
    text: str = yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return text


def line_of(text: str, parts: list[str | int]) -> int | None:
    """The 1-based line of the place ``parts`` names (``["interactions", 2, "response"]``) in ``text``.

    Only used to word errors, so it re-reads the YAML as nodes (with positions)
    rather than slowing every load down.
    """
    try:
        node = yaml.compose(text, Loader=_SafeLoader)
    except yaml.YAMLError:
        return None
    best = node.start_mark.line + 1 if node is not None else None
    for part in parts:
        if node is None:
            break
        if isinstance(part, int) and isinstance(node, yaml.SequenceNode):
            if part >= len(node.value):
                break
            node = node.value[part]
        elif isinstance(part, str) and isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    best = key.start_mark.line + 1
                    break
            else:
                break
            continue
        else:
            break
        best = node.start_mark.line + 1
    return best
