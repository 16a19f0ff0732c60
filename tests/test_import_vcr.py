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
    assert main(["import-vcr", str(source), "-o", str(out)]) == 1  # every file attempted; this one failed
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


def _vcrpy_cassette(path: Path, interactions: list[tuple[dict[str, object], dict[str, object]]]) -> Path:
    """A cassette written by vcrpy's own serializer (bytes become ``!!binary``)."""
    import vcr.serialize
    from vcr.request import Request as VcrRequest
    from vcr.serializers import yamlserializer

    requests = [VcrRequest(r["method"], r["uri"], r["body"], r["headers"]) for r, _ in interactions]
    text = vcr.serialize.serialize(
        {"requests": requests, "responses": [res for _, res in interactions]}, yamlserializer
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_stream_replays_what_the_sdk_read_under_vcrpy(tmp_path: Path, encoding: str) -> None:
    import gzip
    import zlib

    import cohere
    import vcr

    from stream_replay import collect, replay_client

    recorded = load_cassette(CASSETTES / "v2_text.yaml").interactions[0]
    body = recorded.response.body_bytes()
    packed = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    request = {"method": "POST", "uri": "https://api.cohere.com/v2/chat", "body": recorded.request.body.to_bytes()}
    request["headers"] = {"content-type": "application/json"}
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"content-type": ["text/event-stream"], "content-encoding": [encoding]},
        "body": {"string": packed},
    }
    source = _vcrpy_cassette(tmp_path / "vcr" / "test_stream.yaml", [(request, response)])
    assert "!!binary" in source.read_text()
    kwargs = {k: v for k, v in recorded.request.body.json.items() if k != "stream"}
    with vcr.use_cassette(str(source), record_mode="none"):
        under_vcrpy = [e.model_dump() for e in cohere.ClientV2(api_key="k").chat_stream(**kwargs)]
    converted = read_vcr(source)
    stream = converted.interactions[0].response.stream
    assert stream is not None and stream.body() == body
    assert "content-encoding" not in converted.interactions[0].response.headers
    replayed = [e.model_dump() for e in replay_client(converted).chat_stream(**kwargs)]
    assert replayed == under_vcrpy and len(replayed) == 73
    assert collect(replay_client(converted).chat_stream(**kwargs)).text.startswith("Hi there!")


def test_a_body_that_does_not_decode_is_named_with_its_place(tmp_path: Path) -> None:
    request = {"method": "POST", "uri": "https://api.cohere.com/v2/chat", "body": b"{}", "headers": {}}
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"content-type": ["application/json"], "content-encoding": ["gzip"]},
        "body": {"string": b"\x1f\x8b\x08 this is not gzip"},
    }
    source = _vcrpy_cassette(tmp_path / "broken.yaml", [(request, response)])
    with pytest.raises(CassetteError) as caught:
        read_vcr(source)
    assert str(source) in str(caught.value)
    assert "interactions[0]: the response body is gzip-encoded and does not decode" in str(caught.value)


def test_a_tree_converts_file_by_file_keeping_its_layout_and_naming_each_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _vcr_file(tmp_path, headers={}, uri="https://api.cohere.com/v2/chat").read_text()
    tree = tmp_path / "tests" / "cassettes"
    (tree / "test_chat").mkdir(parents=True)
    (tree / "test_chat" / "test_a.yaml").write_text(good)
    (tree / "test_chat" / "test_b.yml").write_text(good)
    (tree / "test_other").mkdir()
    (tree / "test_other" / "test_cut.yaml").write_text(good[: len(good) // 3])  # a cut file, in the middle
    (tree / "test_other" / "test_c.yaml").write_text(good)  # after the broken one: still converted
    out = tmp_path / "converted"
    assert main(["import-vcr", str(tree), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.yaml")) == [
        "test_chat/test_a.yaml",
        "test_chat/test_b.yaml",
        "test_other/test_c.yaml",
    ]
    (failure,) = [line for line in captured.err.splitlines() if "not converted" in line]
    assert failure.startswith(f"stream-replay: {tree / 'test_other' / 'test_cut.yaml'}: not converted: ")
    assert "converted 3 of 4 cassette(s); 1 failed (see above)" in captured.out


def test_two_sources_for_one_target_are_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _vcr_file(tmp_path, headers={}, uri="https://api.cohere.com/v2/chat").read_text()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "test_x.yaml").write_text(good)
    out = tmp_path / "out"
    assert (
        main(
            [
                "import-vcr",
                str(tmp_path / "a" / "test_x.yaml"),
                str(tmp_path / "b" / "test_x.yaml"),
                "-o",
                str(out),
                "--force",
            ]
        )
        == 2
    )
    assert "would both be written to" in capsys.readouterr().err
    assert not out.exists()
