"""The pure codecs, on every real stream and on every awkward framing we can think of."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_replay.cassette import (
    Cassette,
    Interaction,
    Request,
    Response,
    Stream,
    dumps_cassette,
    load_cassette,
    loads_cassette,
)
from stream_replay.cassette.lines import format_block, parse_block
from stream_replay.wire import DONE, WireEvent, decode, encode, encode_event
from stream_replay.wire.jsontext import dumps_v1, dumps_v2
from stream_replay.wire.jsontext import loads as loads_json
from tests.support.corpus import CASSETTES, STREAMS_DIR, needs_corpus


def corpus_bodies() -> list[tuple[Path, str]]:
    found = [(p, "sse") for p in sorted(STREAMS_DIR.glob("v2/*.sse"))]
    return found + [(p, "ndjson") for p in sorted(STREAMS_DIR.glob("v1/*.ndjson"))]


@needs_corpus
def test_every_corpus_body_decodes_and_encodes_back_byte_for_byte() -> None:
    bodies = corpus_bodies()
    exact = [p.name for p, fmt in bodies if encode(decode(p.read_bytes(), fmt), fmt) == p.read_bytes()]  # type: ignore[arg-type]
    assert len(bodies) == 133
    assert len(exact) == 133


@needs_corpus
def test_every_corpus_event_is_plain_and_rebuilt_from_its_parsed_form() -> None:
    """No real event needs the raw path, and the server's JSON style is reproduced from the
    parsed object: compact for v2, compact plus Go's escapes for v1."""
    rebuilt = 0
    for path, fmt in corpus_bodies():
        events = decode(path.read_bytes(), fmt)  # type: ignore[arg-type]
        assert all(e.raw is None for e in events), path.name
        dump = dumps_v2 if fmt == "sse" else dumps_v1
        rebuilt_events = [e if e.data is None else WireEvent(e.name, dump(json.loads(e.data))) for e in events]
        assert encode(rebuilt_events, fmt) == path.read_bytes(), path.name  # type: ignore[arg-type]
        rebuilt += 1
    assert rebuilt == 133


@needs_corpus
def test_go_escaping_is_needed_for_v1_bodies() -> None:
    """Without the escapes a plain re-serialization misses some real v1 bodies."""
    plain = 0
    bodies = [p for p, fmt in corpus_bodies() if fmt == "ndjson"]
    for path in bodies:
        events = decode(path.read_bytes(), "ndjson")
        if all(dumps_v2(json.loads(str(e.data))) == e.data for e in events):
            plain += 1
    assert 0 < plain < len(bodies) == 64


@needs_corpus
def test_every_v2_body_ends_with_done_and_every_event_name_equals_its_type() -> None:
    for path, fmt in corpus_bodies():
        if fmt != "sse":
            continue
        events = decode(path.read_bytes(), "sse")
        assert events[-1].name == DONE and events[-1].data is None
        assert encode_event(events[-1], "sse") == b"data: [DONE]\n\n"
        for event in events[:-1]:
            assert json.loads(str(event.data))["type"] == event.name


def test_bundled_streams_reencode_to_the_recorded_bytes() -> None:
    """Always runs: the bundled cassettes' streams decode and encode back unchanged."""
    streams = 0
    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in load_cassette(path).interactions:
            stream = interaction.response.stream
            if stream is None:
                continue
            body = stream.body()
            assert encode(decode(body, stream.format), stream.format) == body
            streams += 1
    assert streams >= 9


def test_go_escapes_match_go_encoding_json() -> None:
    # Go's json.Marshal writes '<' '>' '&' U+2028 U+2029 as \u003c \u003e \u0026 \u2028 \u2029
    assert dumps_v1({"text": "a<b>&c\u2028d"}) == '{"text":"a\\u003cb\\u003e\\u0026c\\u2028d"}'
    assert dumps_v2({"text": "a<b>&c é"}) == '{"text":"a<b>&c é"}'
    assert json.loads(dumps_v1({"text": "<&>\u2029"})) == {"text": "<&>\u2029"}


SSE_ODDITIES = {
    "crlf": b'event: content-delta\r\ndata: {"type":"content-delta"}\r\n\r\n',
    "comment": b': keep-alive\n\nevent: a\ndata: {"type":"a"}\n\n',
    "id-and-retry": b'id: 7\nretry: 100\nevent: a\ndata: {"type":"a"}\n\n',
    "two-data-lines": b'event: a\ndata: {"type":\ndata: "a"}\n\n',
    "cut-last-block": b'event: a\ndata: {"type":"a"}\n\nevent: b\ndata: {"ty',
    "no-final-blank-line": b'event: a\ndata: {"type":"a"}\n',
    "invalid-utf8": b'event: a\ndata: {"type":"a","t":"\xff\xfe"}\n\n',
    "extra-blank-lines": b'event: a\ndata: {"type":"a"}\n\n\n\ndata: [DONE]\n\n',
    "not-json": b"event: a\ndata: hello\n\n",
    "bare-cr": b'event: a\rdata: {"type":"a"}\r\r',
    "empty": b"",
}


@pytest.mark.parametrize("body", SSE_ODDITIES.values(), ids=SSE_ODDITIES.keys())
def test_sse_bodies_that_are_not_canonical_keep_their_exact_bytes(body: bytes) -> None:
    events = decode(body, "sse")
    assert encode(events, "sse") == body
    assert (len(events) == 0) == (body == b"")
    # one chunk per event, and the chunks are the body
    assert b"".join(encode_event(e, "sse") for e in events) == body


def test_canonical_blocks_stay_plain_next_to_raw_ones() -> None:
    body = b'event: a\ndata: {"type":"a"}\n\n: ping\n\ndata: [DONE]\n\n'
    first, ping, done = decode(body, "sse")
    assert (first.name, first.data, first.raw) == ("a", '{"type":"a"}', None)
    assert ping.raw == b": ping\n\n"
    assert done.is_done


NDJSON_ODDITIES = {
    "crlf": b'{"event_type":"text-generation","text":"a"}\r\n',
    "empty-line": b'{"event_type":"stream-start"}\n\n{"event_type":"stream-end"}\n',
    "not-json": b"hello\n",
    "cut-last-line": b'{"event_type":"stream-start"}\n{"event_type":"text-gen',
    "no-event-type": b'{"text":"a"}\n',
    "invalid-utf8": b'{"event_type":"text-generation","text":"\xc3"}\n',
}


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        ('event: a\ndata: {"type":"a","t":"x\u2028y"}\n\n'.encode(), "sse"),
        ('{"event_type":"text-generation","text":"\u2029\x85"}\n'.encode(), "ndjson"),
    ],
    ids=["sse-line-separator", "ndjson-paragraph-separator"],
)
def test_an_event_a_yaml_line_cannot_carry_is_written_raw_and_read_back_as_it_was(body: bytes, fmt: str) -> None:
    # The codec keeps it a plain event (it is canonical on the wire); the cassette's
    # line writer, which knows YAML, writes it as a raw block, and reading the line
    # gives the plain event back.
    events = decode(body, fmt)  # type: ignore[arg-type]
    assert [e.raw for e in events] == [None]
    block = format_block(events, ndjson=fmt == "ndjson")
    assert block.count("\n") == 1 and "\u2028" not in block and "\u2029" not in block
    assert block.split(" ", 2)[2].startswith('"')
    assert parse_block(block, ndjson=fmt == "ndjson") == events


@pytest.mark.parametrize("body", NDJSON_ODDITIES.values(), ids=NDJSON_ODDITIES.keys())
def test_ndjson_bodies_that_are_not_canonical_keep_their_exact_bytes(body: bytes) -> None:
    events = decode(body, "ndjson")
    assert encode(events, "ndjson") == body
    assert any(e.raw is not None for e in events)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["sse", "ndjson"]))
def test_any_bytes_survive_decode_encode(body: bytes, fmt: str) -> None:
    assert encode(decode(body, fmt), fmt) == body  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["sse", "ndjson"]), st.booleans())
def test_any_bytes_survive_the_cassette_line_format(body: bytes, fmt: str, timed: bool) -> None:
    events = decode(body, fmt)  # type: ignore[arg-type]
    if timed:
        events = [e.with_offset(i * 0.0125) for i, e in enumerate(events)]
    block = format_block(events, ndjson=fmt == "ndjson")
    assert all(line and "\r" not in line for line in block.split("\n")[:-1])
    parsed = parse_block(block, ndjson=fmt == "ndjson")
    assert encode(parsed, fmt) == body  # type: ignore[arg-type]
    assert parsed == events  # the same events, not only the same bytes


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.builds(
                lambda t: (json.dumps({"event_type": t}, ensure_ascii=False, separators=(",", ":")) + "\n").encode(),
                st.text(max_size=12),
            ),
            st.builds(
                lambda t, d: f"event: {t}\ndata: {json.dumps({'type': t, 'x': d}, ensure_ascii=False)}\n\n".encode(),
                st.text(max_size=12),
                st.text(max_size=20),
            ),
        ),
        max_size=8,
    ),
    st.sampled_from(["sse", "ndjson"]),
)
def test_any_stream_survives_a_whole_cassette_save_and_load(parts: list[bytes], fmt: str) -> None:
    body = b"".join(parts)
    stream = Stream(fmt, tuple(decode(body, fmt)), "truncated")  # type: ignore[arg-type]
    cassette = Cassette((Interaction(Request("POST", "https://api.cohere.com/v2/chat"), Response(200, stream=stream)),))
    loaded = loads_cassette(dumps_cassette(cassette))
    again = loaded.interactions[0].response.stream
    assert again is not None and again.body() == body


# ------------------------------------------- loads: json.loads, without its wrapper

#: Texts where only json.loads can say what they are: whitespace around, errors, depth.
JSON_CORNERS = [
    ' {"a":1}',
    '{"a":1} ',
    '{"a":1}\n',
    '{"a":1}{"b":2}',
    '{"a":1',
    '{"a":}',
    "",
    "\ufeff{}",
    "[" * 100_000,
    '{"a":NaN,"b":-Infinity,"c":1e400,"d":12345678901234567890}',
    '{"a":1,"a":2}',
    '{"a":"\\ud83d\\ude00","b":"\\u0000"}',
    '"just a string"',
    "nul",
    "[1, 2, 3]",
]


def loads_outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", load(text)
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("text", JSON_CORNERS)
def test_loads_is_json_loads_on_every_corner(text: str) -> None:
    got = loads_outcome(loads_json, text)
    expected = loads_outcome(json.loads, text)
    assert repr(got) == repr(expected)  # repr: NaN equals itself there, and the types show


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
@settings(max_examples=300)
def test_loads_is_json_loads_on_any_json(value: Any) -> None:
    for text in (
        json.dumps(value),
        json.dumps(value, ensure_ascii=False, separators=(",", ":")),
        json.dumps(value, indent=1),
    ):
        assert repr(loads_json(text)) == repr(json.loads(text))


@needs_corpus
def test_loads_is_json_loads_on_every_corpus_event() -> None:
    texts = [e.data for p, fmt in corpus_bodies() for e in decode(p.read_bytes(), fmt) if e.data is not None]  # type: ignore[arg-type]
    assert len(texts) > 5_000
    assert all(loads_json(text) == json.loads(text) for text in texts)
