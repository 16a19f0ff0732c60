"""Importing vcrpy / pytest-recording cassettes: every real one converts, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stream_replay.cassette import dumps_cassette, load_cassette
from stream_replay.cli import main
from stream_replay.errors import CassetteError
from stream_replay.vcr.importer import read_vcr
from tests.support.corpus import CASSETTES, CURATED, needs_corpus, vcrpy_cassettes
from tests.support.curate import curated_cassette


def _original(path: Path) -> list[dict[str, object]]:
    with open(path) as handle:
        return list(yaml.safe_load(handle)["interactions"])


@needs_corpus
def test_all_63_corpus_cassettes_convert_and_every_body_encodes_back_exactly(tmp_path: Path) -> None:
    sources = vcrpy_cassettes()
    assert len(sources) == 63
    assert main(["import-vcr", *map(str, sources), "-o", str(tmp_path)]) == 0
    streams = interactions = 0
    for source in sources:
        converted = load_cassette(tmp_path / f"{source.stem}.yaml")
        original = _original(source)
        assert len(converted.interactions) == len(original)
        for mine, theirs in zip(converted.interactions, original, strict=True):
            response: dict = theirs["response"]  # type: ignore[type-arg,assignment]
            request: dict = theirs["request"]  # type: ignore[type-arg,assignment]
            assert mine.response.status == response["status"]["code"]
            assert mine.response.body_bytes() == response["body"]["string"].encode()
            assert mine.request.body.to_bytes() == request["body"].encode()
            assert mine.request.method == request["method"]
            interactions += 1
            if mine.response.stream is not None:
                streams += 1
                assert mine.response.stream.outcome == "completed"
                assert not mine.response.stream.timed
    assert interactions == 161
    assert streams == 141  # every 2xx chat stream, the corpus's 133 plus its duplicates


@needs_corpus
@pytest.mark.parametrize("name", CURATED)
def test_bundled_cassettes_equal_a_fresh_conversion(name: str) -> None:
    fresh = dumps_cassette(curated_cassette(name))
    assert (CASSETTES / f"{name}.yaml").read_text() == fresh


def _vcr_file(tmp_path: Path, *, headers: dict[str, list[str]], uri: str) -> Path:
    body = (
        'event: message-start\ndata: {"id":"x","type":"message-start","delta":{"message":{"role":"assistant"}}}\n\n'
        "data: [DONE]\n\n"
    )
    doc = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "body": '{"model": "command-r", "messages": [], "stream": true}',
                    "headers": headers,
                    "method": "POST",
                    "uri": uri,
                },
                "response": {
                    "body": {"string": body},
                    "headers": {"content-type": ["text/event-stream"], "set-cookie": ["session=sk-canary-cookie"]},
                    "status": {"code": 200, "message": "OK"},
                },
            }
        ],
    }
    path = tmp_path / "with_secrets.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_import_drops_every_credential(tmp_path: Path) -> None:
    canary = "sk-canary-0123456789abcdef"
    source = _vcr_file(
        tmp_path,
        headers={
            "authorization": [f"Bearer {canary}"],
            "x-api-key": [canary],
            "cookie": [f"token={canary}"],
            "content-type": ["application/json"],
        },
        uri=f"https://user:{canary}@api.cohere.com/v2/chat?api_key={canary}&x=1",
    )
    assert canary in source.read_text()
    out = tmp_path / "out"
    assert main(["import-vcr", str(source), "-o", str(out)]) == 0
    text = (out / "with_secrets.yaml").read_text()
    assert canary not in text and "sk-canary-cookie" not in text
    cassette = load_cassette(out / "with_secrets.yaml")
    assert cassette.interactions[0].request.url == "https://api.cohere.com/v2/chat?x=1"
    assert cassette.interactions[0].request.headers == {"content-type": "application/json"}


def test_import_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _vcr_file(tmp_path, headers={}, uri="https://api.cohere.com/v2/chat")
    out = tmp_path / "out"
    assert main(["import-vcr", str(source), "-o", str(out)]) == 0
    target = out / "with_secrets.yaml"
    target.write_text(target.read_text() + "# my notes\n")
    edited = target.read_text()
    assert main(["import-vcr", str(source), "-o", str(out)]) == 2
    assert "the file exists and was not overwritten" in capsys.readouterr().err
    assert target.read_text() == edited
    assert main(["import-vcr", str(source), "-o", str(out), "--force"]) == 0
    assert "# my notes" not in target.read_text()


def test_a_stream_cut_short_in_vcrpy_is_imported_as_truncated(tmp_path: Path) -> None:
    path = _vcr_file(tmp_path, headers={}, uri="https://api.cohere.com/v2/chat")
    text = path.read_text().replace("data: [DONE]", "")
    path.write_text(text)
    stream = read_vcr(path).interactions[0].response.stream
    assert stream is not None and stream.outcome == "truncated"


def test_a_broken_vcrpy_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("interactions: [\n")
    with pytest.raises(CassetteError, match="vcrpy could not read") as caught:
        read_vcr(path)
    assert caught.value.path == path
    with pytest.raises(CassetteError, match="no such vcrpy cassette"):
        read_vcr(tmp_path / "missing.yaml")


def test_loading_a_vcrpy_cassette_as_ours_points_to_import(tmp_path: Path) -> None:
    source = _vcr_file(tmp_path, headers={}, uri="https://api.cohere.com/v2/chat")
    with pytest.raises(CassetteError, match="stream-replay import-vcr"):
        load_cassette(source)
