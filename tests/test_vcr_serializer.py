"""The vcrpy serializer: Cohere streams one event per line, everything else as vcrpy
writes it, and vcrpy gets the exact bytes back."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import cohere
import pytest
import vcr
import yaml

from stream_replay import load_cassette, vcr_serializer
from stream_replay.vcr.exporter import vcr_text
from tests.support.corpus import CASSETTES, VCRPY_DIR, chat_kwargs, needs_corpus
from tests.support.plugin_project import answer_of
from tests.support.wire_server import Reply, WireServer


def _round_trip(data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    text = vcr_serializer.serialize(copy.deepcopy(data))
    return vcr_serializer.deserialize(text), text


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_cassette_round_trips_and_reads_one_event_per_line(path: Path) -> None:
    # (the bundled cassettes hold no credential headers: nothing is left out)
    from vcr.serializers import yamlserializer

    data = yamlserializer.deserialize(vcr_text(load_cassette(path)))
    again, text = _round_trip(data)
    assert again == data
    streams = [i for i in load_cassette(path).interactions if i.response.stream is not None]
    for interaction in streams:
        stream = interaction.response.stream
        assert stream is not None
        first = next(e for e in stream.events if e.data is not None)
        assert f"- {first.name} {first.data}\n" in text  # one event per line, as in our cassettes


@needs_corpus
def test_every_corpus_cassette_round_trips() -> None:
    from vcr.serializers import yamlserializer

    files = sorted(VCRPY_DIR.rglob("*.yaml"))
    for path in files:
        data = yamlserializer.deserialize(path.read_text())
        again, _ = _round_trip(data)
        assert again == data, path.name
    assert len(files) == 63


def test_vcrpy_records_and_replays_through_it(tmp_path: Path) -> None:
    source = load_cassette(CASSETTES / "v2_text.yaml")
    stream = source.interactions[0].response.stream
    assert stream is not None
    kwargs = chat_kwargs(source)
    my_vcr = vcr.VCR(serializer="stream_replay", cassette_library_dir=str(tmp_path))
    my_vcr.register_serializer("stream_replay", vcr_serializer)
    with WireServer() as server:
        server.queue(Reply.stream(stream.body(), "sse"))
        with my_vcr.use_cassette("chat.yaml", record_mode="once"):
            live = [e.model_dump() for e in cohere.ClientV2(api_key="x", base_url=server.url).chat_stream(**kwargs)]
        base_url = server.url
    text = (tmp_path / "chat.yaml").read_text()
    assert "stream_replay:" in text and "content-delta {" in text
    with my_vcr.use_cassette("chat.yaml", record_mode="none"):
        replayed = [e.model_dump() for e in cohere.ClientV2(api_key="x", base_url=base_url).chat_stream(**kwargs)]
    assert replayed == live
    assert "".join(
        e["delta"]["message"]["content"]["text"] for e in replayed if e["type"] == "content-delta"
    ) == answer_of(source, 0)


def test_pytest_recording_users_need_one_line_of_vcr_config(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pytest_recording", reason="pytest-recording is in the test extras: pip install '.[test]'")
    source = load_cassette(CASSETTES / "v2_text.yaml")
    stream = source.interactions[0].response.stream
    assert stream is not None
    request = chat_kwargs(source)
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="module")
def vcr_config():
    return {"serializer": "stream_replay"}
"""
    )
    pytester.makepyfile(
        test_chat=f"""
import json, os
import cohere
import pytest

@pytest.mark.vcr
def test_chat():
    co = cohere.ClientV2(api_key="x", base_url=os.environ["UPSTREAM"])
    events = list(co.chat_stream(**json.loads({json.dumps(request)!r})))
    print("EVENTS", len(events), events[-1].type)
"""
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    with WireServer() as server:
        server.queue(Reply.stream(stream.body(), "sse"))
        monkeypatch.setenv("UPSTREAM", server.url)
        first = pytester.runpytest("-s", "--record-mode=once")
        first.assert_outcomes(passed=1)
    # pytest-recording names the file after the serializer
    written = pytester.path / "cassettes" / "test_chat" / "test_chat.stream_replay"
    assert "content-delta {" in written.read_text()
    assert "Bearer" not in written.read_text() and "authorization" not in written.read_text().lower()
    offline = pytester.runpytest("-s", "--record-mode=none")
    offline.assert_outcomes(passed=1)
    counted = [line for line in offline.stdout.lines if "EVENTS" in line]
    assert counted and counted[0].split("EVENTS")[1].strip() == f"{sum(1 for e in stream.events if e.data)} message-end"
    assert yaml.safe_load(written.read_text())["version"] == 1


def test_a_mangled_event_line_names_its_place_and_the_way_out() -> None:
    from vcr.serializers import yamlserializer

    from stream_replay.errors import CassetteError

    data = yamlserializer.deserialize(vcr_text(load_cassette(CASSETTES / "v2_text.yaml")))
    text = vcr_serializer.serialize(data)
    broken = text.replace("content-delta {", "content-delta {oops", 1)
    with pytest.raises(CassetteError) as caught:
        vcr_serializer.deserialize(broken)
    assert caught.value.place is not None
    assert caught.value.place.startswith("interactions[0].response.body.stream_replay.events[")
    assert caught.value.fix
