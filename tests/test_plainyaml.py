"""``read_plain`` reads what PyYAML reads, or steps aside.

The reader of the YAML a cassette is written in (``stream_replay.cassette.plainyaml``)
must give exactly what PyYAML's safe loader gives, with the same types, for every text
it accepts, and accept what ``save_cassette`` writes. Checked against PyYAML itself on
the bundled cassettes, the corpus's 63 cassettes as ``import-vcr`` converts them,
cassettes the strategies draw, hand-picked YAML corners, and mutations of real cassette
text; and its copy of PyYAML's implicit resolvers against the installed PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
import yaml.resolver

from stream_replay.cassette import dumps_cassette, load_cassette
from stream_replay.cassette.plainyaml import RESOLVERS, read_plain
from tests.support.corpus import CASSETTES, needs_corpus, vcrpy_cassettes

hypothesis = pytest.importorskip("hypothesis", reason="the strategies extra (hypothesis) is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BUNDLED = sorted(CASSETTES.glob("*.yaml"))


def typed(value: Any) -> Any:
    """The value with every scalar's type beside it (True == 1 in Python; not here)."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    return (type(value).__name__, value)


def pyyaml(text: str) -> Any:
    """What PyYAML's safe loader gives, or the error it raises."""
    try:
        return typed(yaml.load(text, Loader=_LOADER))
    except yaml.YAMLError as exc:
        return ("refused", type(exc).__name__)


def agrees(text: str) -> bool:
    """``read_plain`` steps aside, or gives exactly PyYAML's document."""
    mine = read_plain(text)
    if mine is None:
        return True
    return typed(mine) == pyyaml(text)


def test_its_resolvers_are_pyyamls() -> None:
    mine: dict[str, list[tuple[str, str, int]]] = {}
    for tag, pattern, firsts in RESOLVERS:
        for first in firsts:
            mine.setdefault(first, []).append((f"tag:yaml.org,2002:{tag}", pattern.pattern, pattern.flags))
    theirs = {
        first: [(tag, pattern.pattern, pattern.flags) for tag, pattern in found]
        for first, found in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }
    assert mine == theirs


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_cassette_is_read_as_pyyaml_reads_it(path: Path) -> None:
    text = path.read_text()
    mine = read_plain(text)
    assert mine is not None, "a cassette save_cassette wrote fell back to PyYAML"
    assert typed(mine) == pyyaml(text)
    written = dumps_cassette(load_cassette(path))
    assert read_plain(written) is not None and typed(read_plain(written)) == pyyaml(written)


@needs_corpus
def test_every_corpus_cassette_converted_is_read_as_pyyaml_reads_it() -> None:
    from stream_replay.vcr.importer import read_vcr

    paths = vcrpy_cassettes()
    assert len(paths) == 63
    for path in paths:
        text = dumps_cassette(read_vcr(path))
        mine = read_plain(text)
        assert mine is not None, path.name
        assert typed(mine) == pyyaml(text), path.name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_drawn_cassettes_are_read_as_pyyaml_reads_them(data: st.DataObject) -> None:
    from stream_replay.strategies import cassettes

    # Drawn text is often odd enough (control and private-use characters) for PyYAML's
    # writer to double-quote it; those files are PyYAML's to read. The rest must agree.
    assert agrees(dumps_cassette(data.draw(cassettes())))


CORNERS = [
    # plain scalars PyYAML takes for something other than a string
    "a: yes\n",
    "a: No\n",
    "a: on\n",
    "a: OFF\n",
    "a: ~\n",
    "a: null\n",
    "a: Null\n",
    "a: 012\n",
    "a: 0x1F\n",
    "a: 1_000\n",
    "a: 1:30\n",
    "a: 1.5\n",
    "a: .inf\n",
    "a: .NaN\n",
    "a: 2024-11-29\n",
    "a: 2024-11-29T14:50:43Z\n",
    "a: <<\n",
    "a: =\n",
    "a: -1\n",
    "a: +1\n",
    "a: -0\n",
    "a: 0.0\n",
    "a: -2.5\n",
    "a: 1.0e+17\n",
    "a: 1e5\n",
    "a: 1.5E+3\n",
    "a: 1.\n",
    "a: .5\n",
    "a: 0.1_0\n",
    "a: -.inf\n",
    "a: -x\n",
    "a: -\n",
    "a: 5.11.4\n",
    "a: 671df5ddbee1f29c66549c6e5f9ba154\n",
    "yes: 1\n",
    "1: a\n",
    "null: a\n",
    "a: 'yes'\n",
    "a: ''\n",
    "a: 'it''s'\n",
    "a: '''\n",
    # structure
    "a:\n  b: 1\n  c: 2\n",
    "a:\n- 1\n- 2\n",
    "a:\n  - 1\n  - 2\n",
    "a:\n- b: 1\n  c: 2\n- d: 3\n",
    "a: 1\na: 2\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: [1, 2]\n",
    "a: {b: 1}\n",
    "a: []\n",
    "a: {}\n",
    "- []\n",
    "a:\n- {}\n",
    "a: [ ]\n",
    'a: "x"\n',
    "a:\n",
    "a:\nb: 1\n",
    "- a\n",
    "a: 1\n- b\n",
    "a: 1\n  b: 2\n",
    "  a: 1\nb: 2\n",
    "---\na: 1\n",
    "a: 1\n...\n",
    "a:\n-   b: 1\n    c: 2\n",
    "a:\n- - b\n",
    "a:\n-\n  b: 1\n",
    "a: x # comment\n",
    "# only a comment\n",
    "",
    "a: b: c\n",
    "a:b\n",
    "a :b\n",
    "a: 'x' y\n",
    # literal blocks
    "a: |\n  x\n  y\nb: 1\n",
    "a: |-\n  x\n",
    "a: |+\n  x\n\n",
    "a: |\n  x\n\n  y\n",
    "a: |\n  x\n\nb: 1\n",
    "a: |\n    x\n  y\n",
    "a: |\nb: 1\n",
    "a: |2\n   x\n",
    "a: |\n  x \n",
    "a: |\n  # not a comment\n",
    "a: >\n  x\n  y\n",
    "a: |\n  x\n   y\n",
    # wrapped scalars
    "a: 'x\n  y'\n",
    "a: x\n  y\n",
    "a: x\n\n  y\n",
    "a: x\n  # c\n",
    "a: x\n  - y\n",
    "a: 'x\ny'\n",
    "a:\n- 'x\n  y'\n- b\n",
    "a: Yes\n  no\n",
    "a: 'x \n   y  '\n",
    # characters
    "a: x\tb\n",
    "a: x\r\nb: 1\n",
    "a: x\u2028y\n",
    "a: x\x85y\n",
    "\ufeffa: 1\n",
    "a: \x00\n",
    "a: caf\u00e9\n",
    "a: \U0001f600\n",
    "a: \u00a0x\n",
]


@pytest.mark.parametrize("text", CORNERS)
def test_yaml_corners_are_read_as_pyyaml_reads_them_or_left_to_it(text: str) -> None:
    assert agrees(text)


def test_it_reads_the_corners_a_cassette_has() -> None:
    for text in ("a: 5.11.4\n", "a: 'yes'\n", "a:\n- b: 1\n  c: 2\n", "a: 'x\n  y'\n", "a: |\n  x\n  y\nb: 1\n"):
        assert read_plain(text) is not None, text


_SNIPPETS = [
    ":",
    ": ",
    " ",
    "  ",
    "-",
    "- ",
    "#",
    " #",
    "'",
    "''",
    '"',
    "|",
    ">",
    "&a",
    "*a",
    "!",
    "{",
    "}",
    "[",
    "]",
    ",",
    "?",
    "\n",
    "\n\n",
    "\n  ",
    "\t",
    "~",
    "yes",
    "1.5",
    "0x",
    "2024-01-01",
    "\\",
    "%",
    "@",
]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_cassettes_are_read_as_pyyaml_reads_them_or_left_to_it(data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(BUNDLED[:4]))
    text = path.read_text()
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["insert", "delete", "dedent", "indent", "duplicate"]))
        line_start = text.rfind("\n", 0, at) + 1
        line_end = text.find("\n", at)
        line_end = len(text) if line_end < 0 else line_end + 1
        if action == "insert":
            text = text[:at] + data.draw(st.sampled_from(_SNIPPETS)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 4)) :]
        elif action == "dedent" and text.startswith(" ", line_start):
            text = text[:line_start] + text[line_start + 1 :]
        elif action == "indent":
            text = text[:line_start] + " " + text[line_start:]
        elif action == "duplicate":
            text = text[:line_end] + text[line_start:line_end] + text[line_end:]
    assert agrees(text), text
