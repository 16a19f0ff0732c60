"""export-vcr: back to a plain vcrpy cassette that vcrpy replays through the SDK with the
same events; a round trip with import-vcr keeps everything vcrpy can hold."""

from __future__ import annotations

import json
from pathlib import Path

import cohere
import pytest
import vcr

from stream_replay import Cassette, load_cassette, read_vcr, replay_client
from stream_replay.cli import main
from stream_replay.errors import CassetteError
from stream_replay.vcr.exporter import export_vcr
from tests.support.corpus import CASSETTES, VCRPY_DIR, chat_kwargs, needs_corpus

BUNDLED = sorted(CASSETTES.glob("*.yaml"))


def _same(original: Cassette, again: Cassette) -> None:
    assert len(again.interactions) == len(original.interactions)
    for a, b in zip(original.interactions, again.interactions, strict=True):
        assert (a.request.method, a.request.url, a.request.body.parsed()) == (
            b.request.method,
            b.request.url,
            b.request.body.parsed(),
        )
        assert a.response.status == b.response.status
        if a.response.stream is None:
            assert b.response.stream is None and a.response.body.to_bytes() == b.response.body.to_bytes()
        else:
            assert b.response.stream is not None
            assert [e.with_offset(None) for e in a.response.stream.events] == list(b.response.stream.events)
            assert a.response.stream.outcome == b.response.stream.outcome


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_a_round_trip_through_vcrpy_keeps_every_request_and_event(path: Path, tmp_path: Path) -> None:
    original = load_cassette(path)
    _same(original, read_vcr(export_vcr(original, tmp_path / "exported.yaml")))


@pytest.mark.parametrize("name", ["v2_text", "v2_tool_calls", "v1_text", "v1_citations"])
def test_vcrpy_replays_the_export_through_the_sdk_with_the_same_events(name: str, tmp_path: Path) -> None:
    original = load_cassette(CASSETTES / f"{name}.yaml")
    for index, interaction in enumerate(original.interactions):
        stream = interaction.response.stream
        if stream is None or interaction.response.status != 200:
            continue
        cls = cohere.ClientV2 if stream.format == "sse" else cohere.Client
        only = Cassette((interaction,), original.meta)
        # one interaction per file: vcrpy matches on method and URI, not on the body
        exported = export_vcr(only, tmp_path / f"{name}-{index}.yaml")
        ours = [e.model_dump() for e in replay_client(only, cls).chat_stream(**chat_kwargs(original, index))]
        with vcr.use_cassette(str(exported), record_mode="none", allow_playback_repeats=True):
            theirs = [e.model_dump() for e in cls(api_key="x").chat_stream(**chat_kwargs(original, index))]
        assert theirs == ours


@needs_corpus
def test_every_corpus_cassette_survives_import_then_export_then_import(tmp_path: Path) -> None:
    files = sorted(VCRPY_DIR.rglob("*.yaml"))
    for source in files:
        first = read_vcr(source)
        _same(first, read_vcr(export_vcr(first, tmp_path / source.name)))
    assert len(files) == 63


def test_the_command_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.yaml"
    assert main(["export-vcr", str(CASSETTES / "v2_text.yaml"), "-o", str(target)]) == 0
    first = target.read_text()
    assert json.dumps(first)  # written
    assert main(["export-vcr", str(CASSETTES / "v1_text.yaml"), "-o", str(target)]) == 2
    assert "the file exists" in capsys.readouterr().err
    assert target.read_text() == first
    assert main(["export-vcr", str(CASSETTES / "v1_text.yaml"), "-o", str(target), "--force"]) == 0
    assert target.read_text() != first
    with pytest.raises(CassetteError):
        export_vcr(CASSETTES / "v2_text.yaml", target)
