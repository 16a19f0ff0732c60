"""``stream-replay show``, ``validate`` and ``diff`` on the bundled real cassettes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from stream_replay import Cassette, load_cassette, save_cassette
from stream_replay.cli import main
from tests.support.corpus import CASSETTES


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(list(args))
    return code, capsys.readouterr().out.splitlines()


def test_show_gives_the_timeline_and_the_final_response(capsys: pytest.CaptureFixture[str]) -> None:
    path = CASSETTES / "v2_citations.yaml"
    code, out = _run(capsys, "show", str(path))
    assert code == 0
    stream = load_cassette(path).interactions[0].response.stream
    assert stream is not None
    counts = Counter(e.name for e in stream.events)
    request = load_cassette(path).interactions[0].request.body.parsed()
    assert out[0] == f"{path}: 2 interactions, recorded 2024-11-29T14:51:14+00:00 with cohere 5.11.4"
    assert out[1] == "interactions[0] POST https://api.cohere.com/v2/chat -> 200"
    assert out[2] == f"  model {request['model']} · user: {request['messages'][-1]['content']!r}"
    assert out[3].startswith(f"  {len(stream.events)} events (sse, completed): message-start 1, ")
    assert f"tool-call-delta {counts['tool-call-delta']}" in out[3]
    payloads = [json.loads(e.data) for e in stream.events if e.data]
    start = next(p for p in payloads if p["type"] == "tool-call-start")["delta"]["message"]["tool_calls"]
    arguments = json.loads(
        "".join(
            p["delta"]["message"]["tool_calls"]["function"]["arguments"]
            for p in payloads
            if p["type"] == "tool-call-delta"
        )
    )
    assert f"  tool_calls[0]: {start['function']['name']}({arguments!r})" in out
    assert "  finish_reason: TOOL_CALL" in out


def test_validate_passes_the_bundled_cassettes(capsys: pytest.CaptureFixture[str]) -> None:
    paths = sorted(CASSETTES.glob("*.yaml"))
    streams = sum(1 for p in paths for i in load_cassette(p).interactions if i.response.stream is not None)
    code, out = _run(capsys, "validate", *map(str, paths))
    assert (code, out) == (0, [f"{streams} stream(s) in {len(paths)} cassette(s): 0 violation(s)"])


def test_validate_names_each_violation_and_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = load_cassette(CASSETTES / "v2_text.yaml")
    interaction = source.interactions[0]
    stream = interaction.response.stream
    assert stream is not None
    broken = type(stream)(stream.format, tuple(stream.events)[1:], stream.outcome, stream.error)
    mutated = type(interaction)(
        interaction.request, type(interaction.response)(200, interaction.response.headers, stream=broken)
    )
    target = tmp_path / "broken.yaml"
    save_cassette(Cassette((mutated,), source.meta), target)
    code, out = _run(capsys, "validate", str(target))
    assert code == 1
    assert out == [
        f"{target}: interactions[0]: event 0 (content-start, index 0): the stream does not open with message-start",
        "1 stream(s) in 1 cassette(s): 1 violation(s)",
    ]


def test_diff_of_a_recording_with_itself_and_with_another(capsys: pytest.CaptureFixture[str]) -> None:
    same = str(CASSETTES / "v2_text.yaml")
    code, out = _run(capsys, "diff", same, same)
    assert code == 0
    assert out == [
        f"final response, {same} -> {same}:",
        "  (the same)",
        f"events, {same} -> {same}:",
        "  (the same sequence)",
    ]
    other = str(CASSETTES / "v2_error_finish.yaml")
    code, out = _run(capsys, "diff", same, other, "--index-b", "0")
    assert code == 1
    assert "  finish_reason: 'COMPLETE' -> 'ERROR'" in out
    assert any(line.startswith("  -content-delta[0] x") for line in out)


def test_diff_asks_which_stream_of_a_cassette_with_several(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["diff", str(CASSETTES / "v2_text.yaml"), str(CASSETTES / "v2_citations.yaml")])
    assert code == 2
    assert "v2_citations.yaml holds 2 streamed interactions ([0, 1]); pass --index-b N to pick one" in (
        capsys.readouterr().err
    )
