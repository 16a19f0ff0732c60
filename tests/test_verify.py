"""stream-replay verify against a real server (ReplayServer on 127.0.0.1) serving the
recording unchanged, and serving purpose-made variants of it: each kind of drift is
reported, and nothing is reported for what naturally varies."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stream_replay import Cassette, load_cassette, save_cassette
from stream_replay.cassette import Interaction, Response, Stream
from stream_replay.cli import main
from stream_replay.recording.verify import verify
from stream_replay.serve import ReplayServer
from stream_replay.wire import WireEvent
from tests.support.corpus import CASSETTES

Edit = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def _variant(cassette: Cassette, edit: Edit) -> Cassette:
    """The same cassette, its first stream's events edited as JSON."""
    interaction = cassette.interactions[0]
    stream = interaction.response.stream
    assert stream is not None
    payloads = [json.loads(e.data) for e in stream.events if e.data is not None]
    done = [e for e in stream.events if e.data is None]
    edited = [
        WireEvent(p.get("type") or p.get("event_type"), json.dumps(p, separators=(",", ":")), None, None)
        for p in edit(payloads)
    ]
    changed = Stream(stream.format, (*edited, *done), stream.outcome)
    response = Response(interaction.response.status, interaction.response.headers, stream=changed)
    return Cassette((Interaction(interaction.request, response), *cassette.interactions[1:]), cassette.meta)


def _run(original: Cassette, served: Cassette, tmp_path: Path) -> tuple[int, list[str]]:
    path = tmp_path / "recorded.yaml"
    save_cassette(original, path, overwrite=True)
    out = io.StringIO()
    with ReplayServer([served], speed=None) as server:
        code = verify([path], out, base_url=server.url, api_key="verify-test-key")
    return code, out.getvalue().splitlines()


def _first(name: str) -> Cassette:
    loaded = load_cassette(CASSETTES / f"{name}.yaml")
    return Cassette(loaded.interactions[:1], loaded.meta)


def _rewrite_text(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for p in payloads:
        if p["type"] == "content-delta":
            p["delta"]["message"]["content"]["text"] = p["delta"]["message"]["content"]["text"].upper()
        if p["type"] == "message-start":
            p["id"] = "another-generation-id"
        if p["type"] == "message-end":
            p["delta"]["usage"]["tokens"]["output_tokens"] += 7
    return [p for i, p in enumerate(payloads) if not (p["type"] == "content-delta" and i % 5 == 0)]


def test_an_unchanged_stream_and_what_naturally_varies_are_no_drift(tmp_path: Path) -> None:
    original = _first("v2_text")
    code, out = _run(original, original, tmp_path)
    assert out[0].startswith("stream-replay: re-sending 1 request(s) of 1 cassette(s) to http://127.0.0.1:")
    assert (code, out[1]) == (0, f"{tmp_path / 'recorded.yaml'}: no drift")
    code, out = _run(original, _variant(original, _rewrite_text), tmp_path)
    assert (code, out[-1]) == (0, "1 request(s) in 1 cassette(s): 0 cassette(s) drifted")


def _add_field(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for p in payloads:
        if p["type"] == "message-end":
            p["delta"]["safety"] = {"flagged": False}
    return payloads


def _drop_field(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for p in payloads:
        if p["type"] == "message-end":
            del p["delta"]["usage"]["billed_units"]
    return payloads


def _new_type(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [payloads[0], {"type": "x-progress", "index": 0}, *payloads[1:]]


def _finish(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    payloads[-1]["delta"]["finish_reason"] = "MAX_TOKENS"
    return payloads


def _no_end(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return payloads[:-1]


def _tool_renamed(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for p in payloads:
        if p["type"] == "tool-call-start":
            p["delta"]["message"]["tool_calls"]["function"]["name"] = "Human"
    return payloads


def _no_citations(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in payloads if p["type"] not in ("citation-start", "citation-end")]


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [
        ("v2_text", _add_field, "message-end: fields added: delta.safety, delta.safety.flagged"),
        ("v2_text", _drop_field, "message-end: fields gone: delta.usage.billed_units, "),
        ("v2_text", _new_type, "event types added: x-progress"),
        ("v2_text", _finish, "finish reason COMPLETE -> MAX_TOKENS"),
        ("v2_text", _no_end, "event types gone: message-end"),
        ("v2_tool_calls", _tool_renamed, "tool calls [Person(age, name)] -> [Human(age, name)]"),
    ],
    ids=["field-added", "field-gone", "new-type", "finish-reason", "cut", "tool-renamed"],
)
def test_each_kind_of_drift_is_reported(name: str, edit: Edit, expected: str, tmp_path: Path) -> None:
    original = _first(name)
    code, out = _run(original, _variant(original, edit), tmp_path)
    assert code == 1
    prefix = f"{tmp_path / 'recorded.yaml'}: interactions[0]: "
    assert any(line.startswith(prefix + expected) for line in out), out
    assert out[-1] == "1 request(s) in 1 cassette(s): 1 cassette(s) drifted"


def test_citations_gone_and_a_status_change_are_reported(tmp_path: Path) -> None:
    loaded = load_cassette(CASSETTES / "v2_citations.yaml")
    second = Cassette(loaded.interactions[1:2], loaded.meta)
    code, out = _run(second, _variant(second, _no_citations), tmp_path)
    assert code == 1 and any(line.endswith("citations gone") for line in out)
    errors = load_cassette(CASSETTES / "v2_http_422.yaml")
    recorded_ok = Cassette((errors.interactions[1],), errors.meta)
    error_response = errors.interactions[1].response
    assert error_response.status == 422
    served = Cassette(
        (
            Interaction(
                errors.interactions[1].request,
                Response(200, {}, stream=_first("v2_text").interactions[0].response.stream),
            ),
        ),
        errors.meta,
    )
    code, out = _run(recorded_ok, served, tmp_path)
    assert code == 1 and any("status 422 -> 200" in line for line in out)


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = _first("v2_text")
    path = tmp_path / "recorded.yaml"
    save_cassette(original, path)
    with ReplayServer([original], speed=None) as server:
        assert main(["verify", str(path), "--base-url", server.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"stream-replay: re-sending 1 request(s) of 1 cassette(s) to {server.url}",
        f"{path}: no drift",
        "1 request(s) in 1 cassette(s): 0 cassette(s) drifted",
    ]


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "recorded.yaml"
    save_cassette(_first("v2_text"), path)
    assert main(["verify", str(path), "--base-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"stream-replay: {path}: interactions[0]: cannot send POST http://127.0.0.1:9/v2/chat: ConnectError"
    )
    assert "How to fix: check the network and the URL (--base-url)" in err
