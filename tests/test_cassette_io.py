"""Cassette files on disk: the bundled real cassettes round-trip byte for byte, every
event has its own readable line, awkward stream bytes survive a save and a load,
saving is atomic and never writes a secret.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from stream_replay.cassette import (
    Body,
    Cassette,
    Interaction,
    Meta,
    Request,
    Response,
    Stream,
    dumps_cassette,
    load_cassette,
    loads_cassette,
    save_cassette,
)
from stream_replay.cassette.lines import fits_one_line
from stream_replay.errors import CassetteError, UnsafeCassetteError
from stream_replay.wire import WireEvent, decode, encode_event

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
BUNDLED = sorted(p.name for p in CASSETTES.glob("*.yaml"))
CANARY = "sk-canary-1234567890"
V2_URL = "https://api.cohere.com/v2/chat"
V1_URL = "https://api.cohere.com/v1/chat"


# --------------------------------------------------------------------------- helpers


@dataclasses.dataclass
class Block:
    """One ``stream:`` of a cassette file, read from the text alone (no YAML parser)."""

    format: str
    event_count: int
    lines: list[str]  # the events block, one string per line, indentation removed


def stream_blocks(text: str) -> list[Block]:
    """The stream blocks of a cassette file, in order, found by reading its lines."""
    blocks = []
    lines = text.split("\n")
    fmt = ""
    count = -1
    for i, line in enumerate(lines):
        if line.startswith("      format: "):
            fmt = line.split(": ", 1)[1]
        elif line.startswith("      event_count: "):
            count = int(line.split(": ", 1)[1])
        elif line == "      events: |":
            body = []
            for inner in lines[i + 1 :]:
                if not inner.startswith("        "):
                    break
                body.append(inner[8:])
            blocks.append(Block(fmt, count, body))
    return blocks


def real_events(name: str, limit: int) -> list[tuple[str, str]]:
    """(type, JSON payload) of the first ``limit`` events of a bundled cassette's first stream."""
    pairs = []
    for line in stream_blocks((CASSETTES / name).read_text())[0].lines[:limit]:
        _, kind, payload = line.split(" ", 2)
        pairs.append((kind, payload))
    return pairs


def one_stream_cassette(stream: Stream, url: str = V2_URL) -> Cassette:
    return Cassette(
        (
            Interaction(
                Request("POST", url, {"content-type": "application/json"}, Body({"stream": True}, "compact")),
                Response(200, {"content-type": "text/event-stream"}, stream=stream),
            ),
        ),
        Meta(recorded_at="2024-11-29T14:50:43+00:00"),
    )


def save_and_load(cassette: Cassette, path: Path) -> tuple[Cassette, str]:
    save_cassette(cassette, path)
    return load_cassette(path), path.read_text(encoding="utf-8")


def leftover_temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


# --------------------------------------------------------------------------- bundled files


def test_all_eleven_cassettes_are_bundled() -> None:
    assert BUNDLED == [
        "v1_citations.yaml",
        "v1_generate.yaml",
        "v1_text.yaml",
        "v1_tool_calls.yaml",
        "v2_agent.yaml",
        "v2_citations.yaml",
        "v2_error_finish.yaml",
        "v2_http_422.yaml",
        "v2_reasoning.yaml",
        "v2_text.yaml",
        "v2_tool_calls.yaml",
    ]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_cassette_round_trips(name: str) -> None:
    path = CASSETTES / name
    cassette = load_cassette(path)
    assert cassette.path == path
    assert cassette.interactions

    text = dumps_cassette(cassette)
    again = loads_cassette(text)
    assert again.interactions == cassette.interactions
    assert again.meta == cassette.meta
    assert again.path is None


@pytest.mark.parametrize("name", BUNDLED)
def test_dumping_is_deterministic_and_reproduces_the_file(name: str, tmp_path: Path) -> None:
    original = (CASSETTES / name).read_bytes()
    cassette = load_cassette(CASSETTES / name)
    first = dumps_cassette(cassette)
    assert dumps_cassette(cassette) == first
    assert dumps_cassette(loads_cassette(first)) == first

    resaved = save_cassette(cassette, tmp_path / name)
    assert resaved == tmp_path / name
    assert resaved.read_bytes() == original


@pytest.mark.parametrize("name", BUNDLED)
def test_meta_carries_attribution(name: str) -> None:
    cassette = load_cassette(CASSETTES / name)
    assert cassette.meta.source is not None
    if name == "v2_reasoning.yaml":  # vercel/ai's payloads: what was reconstructed is said
        assert cassette.meta.source["repository"] == "github.com/vercel/ai"
        assert cassette.meta.source["license"] == "Apache-2.0"
        assert "SSE framing" in cassette.meta.source["reconstructed"]
        return
    if name == "v1_generate.yaml":  # no real /v1/generate stream exists here: built from the SDK's models
        assert cassette.meta.source["recorded_from"] == "nothing: reconstructed, not a live recording"
        assert "generate_streamed_response.py" in cassette.meta.source["reconstructed"]
        assert cassette.meta.recorded_at is None
        return
    assert cassette.meta.source["repository"] == "github.com/langchain-ai/langchain-cohere"
    assert cassette.meta.source["license"] == "MIT"
    assert cassette.meta.recorded_at is not None


# --------------------------------------------------------------------------- one event per line


def test_v2_text_has_one_line_per_event() -> None:
    text = (CASSETTES / "v2_text.yaml").read_text()
    (block,) = stream_blocks(text)
    assert block.format == "sse"
    assert block.event_count == 74
    assert len(block.lines) == 74
    assert block.lines[-1] == "- [DONE]"
    stream = load_cassette(CASSETTES / "v2_text.yaml").interactions[0].response.stream
    assert stream is not None
    assert len(stream.events) == 74


@pytest.mark.parametrize("name", BUNDLED)
def test_type_column_equals_payload_type(name: str) -> None:
    text = (CASSETTES / name).read_text()
    blocks = stream_blocks(text)
    streams = [i.response.stream for i in load_cassette(CASSETTES / name).interactions if i.response.stream]
    assert blocks, "every bundled cassette holds at least one stream"
    assert len(blocks) == len(streams)

    for block, stream in zip(blocks, streams, strict=True):
        assert len(block.lines) == block.event_count == len(stream.events)
        type_key = "type" if block.format == "sse" else "event_type"
        for line, event in zip(block.lines, stream.events, strict=True):
            offset, kind, *rest = line.split(" ", 2)
            assert offset == "-"  # the bundled recordings have no timing
            assert kind == event.name
            if kind == "[DONE]":
                assert block.format == "sse"
                assert rest == []
                assert event.data is None
                continue
            (payload,) = rest
            assert json.loads(payload)[type_key] == kind
            assert payload == event.data  # the JSON text exactly as sent


# --------------------------------------------------------------------------- raw blocks


def _v2(limit: int = 3) -> list[tuple[str, str]]:
    return real_events("v2_text.yaml", limit)


def _v1(limit: int = 3) -> list[str]:
    return [payload for _, payload in real_events("v1_text.yaml", limit)]


def _sse(pairs: list[tuple[str, str]], newline: str = "\n") -> str:
    return "".join(f"event: {kind}{newline}data: {data}{newline}{newline}" for kind, data in pairs)


def _with_text(payload: str, text: str) -> str:
    """A real content-delta / text-generation payload with its text replaced."""
    obj = json.loads(payload)
    if "delta" in obj:
        obj["delta"]["message"]["content"]["text"] = text
    else:
        obj["text"] = text
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _awkward_sse() -> dict[str, bytes]:
    pairs = _v2(4)
    start, delta = pairs[0], pairs[2]
    return {
        "crlf-framing": (_sse(pairs[:3], "\r\n") + "data: [DONE]\r\n\r\n").encode(),
        "keepalive-comment": (_sse(pairs[:1]) + ": keepalive\n\n" + _sse(pairs[1:3]) + "data: [DONE]\n\n").encode(),
        "invalid-utf8": _sse([start]).encode()
        + b"event: content-delta\ndata: "
        + _with_text(delta[1], "@@").encode().replace(b"@@", b"\xff\xfe")
        + b"\n\n",
        "u2028-in-json": _sse([start, ("content-delta", _with_text(delta[1], "a\u2028b\u2029c"))]).encode(),
        "cut-last-block": (_sse(pairs[:3]) + f"event: content-delta\ndata: {pairs[3][1][:25]}").encode(),
        "tab-after-colon": (_sse(pairs[:1]) + f"event: content-delta\ndata:\t{delta[1]}\n\n").encode(),
        "id-and-retry-fields": (f"id: 7\nretry: 1000\nevent: {start[0]}\ndata: {start[1]}\n\n").encode(),
        "nul-and-escape": _sse([("content-delta", _with_text(delta[1], "x"))]).encode().replace(b'"x"', b'"\x00\x1b"'),
        "byte-order-mark": "\ufeff".encode() + _sse(pairs[:2]).encode(),
        "lone-cr": _sse(pairs[:2], "\r").encode(),
    }


def _awkward_ndjson() -> dict[str, bytes]:
    lines = _v1(4)
    return {
        "crlf": "".join(f"{line}\r\n" for line in lines[:3]).encode(),
        "empty-line": (f"{lines[0]}\n\n{lines[1]}\n").encode(),
        "invalid-utf8": (lines[0] + "\n").encode()
        + _with_text(lines[1], "@@").encode().replace(b"@@", b"\xff\xfe")
        + b"\n",
        "u2028-unescaped": (lines[0] + "\n" + _with_text(lines[1], "a\u2028b") + "\n").encode(),
        "cut-last-line": (lines[0] + "\n" + lines[1] + "\n" + lines[2][:20]).encode(),
        "tab-in-line": (lines[0] + "\n\t" + lines[1] + "\n").encode(),
        "not-json": (lines[0] + "\n<html>502 Bad Gateway</html>\n").encode(),
    }


AWKWARD = [("sse", k, v) for k, v in _awkward_sse().items()] + [("ndjson", k, v) for k, v in _awkward_ndjson().items()]


@pytest.mark.parametrize(("fmt", "body"), [(f, b) for f, _, b in AWKWARD], ids=[f"{f}-{k}" for f, k, _ in AWKWARD])
def test_raw_blocks_survive_save_and_load(tmp_path: Path, fmt: str, body: bytes) -> None:
    events = decode(body, fmt)  # type: ignore[arg-type]
    # a block the codec keeps raw, or a canonical one no YAML line can carry as it is
    awkward = [e.raw is not None or not fits_one_line(e.data or "") for e in events]
    assert any(awkward), "the case must take the raw-block path"
    stream = Stream(fmt, tuple(events), outcome="truncated")  # type: ignore[arg-type]
    assert stream.body() == body

    loaded, text = save_and_load(one_stream_cassette(stream), tmp_path / "raw.yaml")
    again = loaded.interactions[0].response.stream
    assert again is not None
    assert again.body() == body
    assert again.events == stream.events
    (block,) = stream_blocks(text)
    assert len(block.lines) == block.event_count == len(events), "each event keeps its own line"
    for line, raw in zip(block.lines, awkward, strict=True):
        if raw:
            assert line.split(" ", 2)[2].startswith('"'), "a raw block is written as one JSON string"


@pytest.mark.parametrize(
    "raw",
    [
        b'event: content-delta\r\ndata: {"type":"content-delta"}\r\n\r\n',
        b": keepalive\n\n",
        b'event: content-delta\ndata: {"type":"content-delta","text":"\xff\xfe"}\n\n',
        'event: content-delta\ndata: {"type":"content-delta","text":"\u2028"}\n\n'.encode(),
        b'event: content-delta\ndata: {"type":"content-de',
        b'event:\tcontent-delta\ndata: {"type":"content-delta"}\n\n',
    ],
    ids=["crlf", "keepalive", "invalid-utf8", "u2028", "cut", "tab"],
)
def test_hand_built_raw_event_survives(tmp_path: Path, raw: bytes) -> None:
    events = (
        WireEvent("message-start", '{"type":"message-start"}'),
        WireEvent("content-delta", None, raw=raw),
        WireEvent("[DONE]", None),
    )
    stream = Stream("sse", events)
    loaded, _ = save_and_load(one_stream_cassette(stream), tmp_path / "raw.yaml")
    again = loaded.interactions[0].response.stream
    assert again is not None
    # the same bytes; a block that is canonical on the wire (u2028) comes back plain
    assert encode_event(again.events[1], "sse") == raw
    assert (again.events[1].raw is None) == (decode(raw, "sse")[0].raw is None)
    assert again.body() == b'event: message-start\ndata: {"type":"message-start"}\n\n' + raw + b"data: [DONE]\n\n"


# Payloads that are valid JSON kept as they are (not raw): the line must still be a
# plain line of the literal block, not turn the whole block into one quoted string.
UNUSUAL_TEXT = {
    "cjk": "日本語のテキスト",
    "accents": "café déjà vu",
    "emoji": "Hi there 😀👍",
    "private-use": "\ue000",
    "byte-order-mark-inside": "a\ufeffb",
}


@pytest.mark.parametrize("text", list(UNUSUAL_TEXT.values()), ids=list(UNUSUAL_TEXT))
def test_unusual_characters_keep_one_event_per_line(tmp_path: Path, text: str) -> None:
    pairs = _v2(3)
    delta = _with_text(pairs[2][1], text)
    body = _sse([pairs[0], ("content-delta", delta)]).encode() + b"data: [DONE]\n\n"
    events = decode(body, "sse")
    assert [e.name for e in events] == ["message-start", "content-delta", "[DONE]"]

    loaded, saved = save_and_load(one_stream_cassette(Stream("sse", tuple(events))), tmp_path / "u.yaml")
    stream = loaded.interactions[0].response.stream
    assert stream is not None
    assert stream.body() == body
    blocks = stream_blocks(saved)
    assert len(blocks) == 1, "the events block was not written as a literal block:\n" + saved[saved.index("events:") :]
    assert len(blocks[0].lines) == 3
    # kept as the JSON text itself, or (if the character cannot stand in YAML) as a raw string
    offset, kind, payload = blocks[0].lines[1].split(" ", 2)
    assert (offset, kind) == ("-", "content-delta")
    assert payload == delta or delta in json.loads(payload)


def test_json_whitespace_tab_keeps_one_event_per_line(tmp_path: Path) -> None:
    # A tab between JSON tokens is valid JSON, so the event stays a plain event.
    kind, payload = _v2(1)[0]
    tabbed = payload.replace('"type":', '"type":\t', 1)
    body = f"event: {kind}\ndata: {tabbed}\n\n".encode()
    events = decode(body, "sse")

    loaded, saved = save_and_load(one_stream_cassette(Stream("sse", tuple(events))), tmp_path / "tab.yaml")
    stream = loaded.interactions[0].response.stream
    assert stream is not None
    assert stream.body() == body
    blocks = stream_blocks(saved)
    assert len(blocks) == 1, "the events block was not written as a literal block:\n" + saved[saved.index("events:") :]
    assert len(blocks[0].lines) == 1


@pytest.mark.parametrize("text", ["Pickle Rick", "日本語", "Pickle Rick 😀"], ids=["ascii", "cjk", "emoji"])
def test_request_body_stays_a_readable_block(tmp_path: Path, text: str) -> None:
    body = Body({"model": "command-r", "messages": [{"role": "user", "content": text}], "stream": True}, "json")
    cassette = Cassette((Interaction(Request("POST", V2_URL, body=body), Response(200)),))
    loaded, saved = save_and_load(cassette, tmp_path / "body.yaml")
    assert loaded.interactions[0].request.body.to_bytes() == body.to_bytes()
    assert "    body: |\n" in saved
    assert f'"content": "{text}"' in saved


# --------------------------------------------------------------------------- timing


def test_timed_stream_keeps_offsets_to_a_tenth_of_a_millisecond(tmp_path: Path) -> None:
    stream = load_cassette(CASSETTES / "v2_text.yaml").interactions[0].response.stream
    assert stream is not None and not stream.timed
    # sub-0.1 ms digits on purpose, and one offset over 100 s
    offsets = [0.31415926 + i * 0.01234567 for i in range(len(stream.events) - 1)] + [123.45678912]
    timed = Stream(stream.format, tuple(e.with_offset(o) for e, o in zip(stream.events, offsets, strict=True)))
    assert timed.timed
    assert timed.body() == stream.body()

    loaded, text = save_and_load(one_stream_cassette(timed), tmp_path / "timed.yaml")
    assert "      timing: recorded\n" in text
    (block,) = stream_blocks(text)
    assert all(re.match(r"\d+\.\d{4} ", line) for line in block.lines)
    again = loaded.interactions[0].response.stream
    assert again is not None and again.timed
    for event, offset in zip(again.events, offsets, strict=True):
        assert event.offset is not None
        assert abs(event.offset - offset) <= 0.00005 + 1e-12
    assert again.body() == stream.body()


def test_untimed_stream_says_so(tmp_path: Path) -> None:
    text = (CASSETTES / "v1_text.yaml").read_text()
    assert "      timing: none\n" in text
    stream = load_cassette(CASSETTES / "v1_text.yaml").interactions[0].response.stream
    assert stream is not None
    assert not stream.timed
    assert all(e.offset is None for e in stream.events)


# --------------------------------------------------------------------------- plain bodies


NON_STREAM = [("v1_citations.yaml", 0), *[("v2_http_422.yaml", i) for i in range(1, 6)], ("v2_agent.yaml", 0)]


@pytest.mark.parametrize(("name", "index"), NON_STREAM, ids=[f"{n.split('.')[0]}-{i}" for n, i in NON_STREAM])
def test_non_stream_body_bytes_survive(tmp_path: Path, name: str, index: int) -> None:
    raw_doc = yaml.safe_load((CASSETTES / name).read_text())["interactions"][index]["response"]
    assert "stream" not in raw_doc
    # What Cohere's servers send: compact JSON with non-ASCII as is; the v1 ("go")
    # endpoints also escape <, > and & the way Go's encoding/json does.
    expected_text = json.dumps(json.loads(raw_doc["body"]), separators=(",", ":"), ensure_ascii=False)
    if raw_doc["body_style"] == "go":
        expected_text = expected_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    else:
        assert raw_doc["body_style"] == "compact"
    expected = expected_text.encode()

    original = load_cassette(CASSETTES / name).interactions[index].response
    assert original.stream is None
    assert original.body_bytes() == expected

    loaded, _ = save_and_load(load_cassette(CASSETTES / name), tmp_path / name)
    response = loaded.interactions[index].response
    assert response.status == original.status == raw_doc["status"]
    assert response.body_bytes() == expected
    if response.status == 422:
        assert response.body_bytes().startswith(b'{"message":"unknown field: parameter name is not a valid field.')


def test_text_body_that_is_not_json_survives(tmp_path: Path) -> None:
    html = "<html>\r\n<body>502 Bad Gateway</body>\r\n</html>\r\n"
    cassette = Cassette(
        (Interaction(Request("POST", V2_URL), Response(502, {"content-type": "text/html"}, Body(text=html))),)
    )
    loaded, _ = save_and_load(cassette, tmp_path / "502.yaml")
    assert loaded.interactions[0].response.body_bytes() == html.encode()
    assert loaded.interactions[0].response.headers == {"content-type": "text/html"}


# --------------------------------------------------------------------------- atomic save


@pytest.fixture
def v2_text() -> Cassette:
    return load_cassette(CASSETTES / "v2_text.yaml")


def test_save_refuses_to_overwrite_by_default(tmp_path: Path, v2_text: Cassette) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("keep me\n")
    with pytest.raises(CassetteError) as info:
        save_cassette(v2_text, target)
    err = info.value
    assert err.path == target
    assert str(target) in str(err)
    assert err.fix is not None and "overwrite=True" in err.fix
    assert target.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_save_with_overwrite_replaces(tmp_path: Path, v2_text: Cassette) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("old\n")
    save_cassette(v2_text, target, overwrite=True)
    assert target.read_bytes() == (CASSETTES / "v2_text.yaml").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_save_creates_missing_folders(tmp_path: Path, v2_text: Cassette) -> None:
    target = tmp_path / "a" / "b" / "c.yaml"
    save_cassette(v2_text, target)
    assert load_cassette(target).interactions == v2_text.interactions
    assert leftover_temp_files(target.parent) == []


def test_save_writes_a_synced_temp_file_in_the_same_folder_then_replaces(
    tmp_path: Path, v2_text: Cassette, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ...]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        calls.append(("fsync",))
        real_fsync(fd)

    def spy_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", os.fspath(src), os.fspath(dst)))
        assert Path(src).read_bytes() == (CASSETTES / "v2_text.yaml").read_bytes()
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    target = tmp_path / "c.yaml"
    save_cassette(v2_text, target)

    replaces = [c for c in calls if c[0] == "replace"]
    assert len(replaces) == 1
    _, src, dst = replaces[0]
    assert Path(dst) == target
    assert Path(src).parent == tmp_path
    assert Path(src).name.startswith(".") and src.endswith(".tmp")
    assert calls.index(("fsync",)) < calls.index(replaces[0]), "the data is fsynced before the replace"
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.parametrize("existing", [True, False], ids=["over-existing", "new-file"])
def test_failed_save_leaves_old_file_and_no_temp_file(
    tmp_path: Path, v2_text: Cassette, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    target = tmp_path / "c.yaml"
    if existing:
        target.write_text("the old cassette\n")

    def broken_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        save_cassette(v2_text, target, overwrite=True)

    assert leftover_temp_files(tmp_path) == []
    if existing:
        assert target.read_text() == "the old cassette\n"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
    else:
        assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- secrets


def _with_secret(cassette: Cassette, where: str) -> Cassette:
    interaction = cassette.interactions[0]
    request, response = interaction.request, interaction.response
    if where == "request-body":
        doc = json.loads(request.body.to_bytes())
        doc["messages"][0]["content"] = f"my key is {CANARY}, keep it safe"
        request = dataclasses.replace(request, body=Body(doc, request.body.style))
    elif where == "request-header":
        request = dataclasses.replace(request, headers={**request.headers, "authorization": f"Bearer {CANARY}"})
    elif where == "stream-event":
        assert response.stream is not None
        events = list(response.stream.events)
        events[3] = WireEvent(events[3].name, _with_text(events[3].data or "", CANARY))
        response = dataclasses.replace(response, stream=dataclasses.replace(response.stream, events=tuple(events)))
    return Cassette((Interaction(request, response),), cassette.meta)


@pytest.mark.parametrize("where", ["request-body", "request-header", "stream-event"])
def test_secret_refuses_the_save(tmp_path: Path, v2_text: Cassette, where: str) -> None:
    cassette = _with_secret(v2_text, where)
    reference = tmp_path / "reference" / "unsafe.yaml"  # where to see the line it would be on
    save_cassette(cassette, reference)
    would_be_line = next(i for i, line in enumerate(reference.read_text().split("\n")) if CANARY in line) + 1

    target = tmp_path / "out" / "c.yaml"
    with pytest.raises(UnsafeCassetteError) as info:
        save_cassette(cassette, target, secrets=["some-other-key", CANARY])
    err = info.value
    assert isinstance(err, CassetteError)
    assert err.path == target
    assert err.line == would_be_line
    assert str(err).startswith(f"{target}:{would_be_line}: ")
    assert "nothing was written" in err.problem
    assert err.fix
    assert CANARY not in str(err), "the error message must not repeat the secret"
    assert not target.exists()
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


def test_secret_check_does_not_block_clean_cassettes(tmp_path: Path, v2_text: Cassette) -> None:
    target = tmp_path / "c.yaml"
    save_cassette(v2_text, target, secrets=[CANARY, ""])
    assert target.read_bytes() == (CASSETTES / "v2_text.yaml").read_bytes()


def test_secret_refusal_keeps_an_existing_file(tmp_path: Path, v2_text: Cassette) -> None:
    target = tmp_path / "c.yaml"
    target.write_text("the old cassette\n")
    with pytest.raises(UnsafeCassetteError):
        save_cassette(_with_secret(v2_text, "request-body"), target, overwrite=True, secrets=[CANARY])
    assert target.read_text() == "the old cassette\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


# --------------------------------------------------------------------------- order


def _trace_ids(cassette: Cassette) -> list[str]:
    return [i.response.headers["x-debug-trace-id"] for i in cassette.interactions]


@pytest.mark.parametrize("name", ["v2_http_422.yaml", "v2_agent.yaml", "v1_citations.yaml"])
def test_interactions_keep_the_file_order(name: str) -> None:
    text = (CASSETTES / name).read_text()
    in_file = re.findall(r"^      x-debug-trace-id: (\w+)$", text, flags=re.MULTILINE)
    assert len(in_file) == len(set(in_file)) >= 3
    assert _trace_ids(load_cassette(CASSETTES / name)) == in_file


def test_interactions_keep_a_chosen_order_through_save_and_load(tmp_path: Path) -> None:
    mixed = (
        load_cassette(CASSETTES / "v2_http_422.yaml").interactions
        + load_cassette(CASSETTES / "v1_citations.yaml").interactions
        + load_cassette(CASSETTES / "v2_citations.yaml").interactions
    )
    order = [7, 0, 10, 3, 1, 9, 5, 2, 8, 4, 6]
    assert sorted(order) == list(range(len(mixed)))
    cassette = Cassette(tuple(mixed[i] for i in order))

    loaded, text = save_and_load(cassette, tmp_path / "mixed.yaml")
    assert loaded.interactions == cassette.interactions
    expected_ids = [mixed[i].response.headers["x-debug-trace-id"] for i in order]
    assert _trace_ids(loaded) == expected_ids
    assert re.findall(r"^      x-debug-trace-id: (\w+)$", text, flags=re.MULTILINE) == expected_ids


def test_repr_shows_each_request_and_its_events_as_cassette_lines() -> None:
    from stream_replay.cassette.model import REPR_EVENTS

    cassette = load_cassette(CASSETTES / "v2_text.yaml")
    shown = repr(cassette).splitlines()
    stream = cassette.interactions[0].response.stream
    assert stream is not None and len(stream.events) > REPR_EVENTS
    assert shown[0] == f"<Cassette {CASSETTES / 'v2_text.yaml'}: 1 interaction"
    assert shown[1] == f"  [0] POST https://api.cohere.com/v2/chat -> 200, {len(stream.events)} events"
    assert shown[2].split()[:2] == ["-", "message-start"]  # untimed: the line format's "-"
    assert f"... {len(stream.events) - REPR_EVENTS} more events" in shown[REPR_EVENTS + 2]
