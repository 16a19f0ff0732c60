"""``generate_stream`` (``/v1/generate``) end to end (issue 15): the bundled cassette is
built from the SDK's own models and says so; it validates by generate's own grammar;
``collect``, the fast path, ``play`` and the recorder handle it, on ``Client`` and
``ClientV2`` (which inherits ``generate_stream`` in 5.11 and 7.x), sync and async. That
both replay paths give what the SDK parses from the same bytes served over HTTP is in
``tests/test_replay_corpus.py``, with the corpus's streams.

Expected values are read from the cassette's wire JSON here, never from stream_replay's
own assembly. No real ``/v1/generate`` stream exists in the corpus: what is proven is
that a stream of the shape the SDK models is handled as the SDK parses it.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import cohere
import pytest

from stream_replay import (
    acollect,
    collect,
    dumps_cassette,
    load_cassette,
    record_client,
    replay_client,
    validate_stream,
)
from stream_replay.cli.play import play_cassette
from stream_replay.sdk import event_classes
from stream_replay.wire import WireEvent
from tests.support.generate import PATH, REQUESTS, generate_cassette
from tests.support.wire_server import Reply, WireServer

CLASSES = [cohere.Client, cohere.ClientV2, cohere.AsyncClient, cohere.AsyncClientV2]


def payloads(index: int) -> list[dict[str, Any]]:
    stream = load_cassette(PATH).interactions[index].response.stream
    assert stream is not None
    return [json.loads(e.data) for e in stream.events if e.data is not None]


def kwargs(index: int) -> dict[str, Any]:
    return {k: v for k, v in REQUESTS[index].items() if k != "stream"}


def is_async(cls: type) -> bool:
    return issubclass(cls, cohere.AsyncClient)


def events_of(client: Any, index: int) -> list[Any]:
    if is_async(type(client)):

        async def consume() -> list[Any]:
            return [e async for e in client.generate_stream(**kwargs(index))]

        return asyncio.run(consume())
    return list(client.generate_stream(**kwargs(index)))


def dumps(events: list[Any]) -> list[tuple[type, dict[str, Any]]]:
    return [(type(e), e.model_dump()) for e in events]


# ------------------------------------------------------------------ the cassette


def test_the_bundled_cassette_is_built_from_the_sdks_models_and_says_it_is_not_a_recording() -> None:
    assert PATH.read_text() == dumps_cassette(generate_cassette())
    cassette = load_cassette(PATH)
    source = cassette.meta.source or {}
    assert "not a live recording" in source["recorded_from"]
    assert "generate_streamed_response.py" in source["reconstructed"]
    classes = event_classes("generate")
    for index in range(len(cassette.interactions)):
        for data in payloads(index):
            model = classes[data["event_type"]].model_fields  # type: ignore[attr-defined]
            assert list(data) == [name for name in model if name in data]  # the model's fields, in its order
            assert {name for name, f in model.items() if f.is_required()} <= set(data)
        stream = cassette.interactions[index].response.stream
        assert stream is not None and stream.outcome == "completed"
        assert validate_stream(stream.events) == []


# ----------------------------------------------------------------- the grammar


def _wire(events: list[dict[str, Any]]) -> list[WireEvent]:
    return [WireEvent(e["event_type"], json.dumps(e)) for e in events]


def test_generate_streams_are_checked_by_their_own_grammar() -> None:
    good = payloads(0)
    assert validate_stream(_wire(good)) == []  # no stream-start: that is not a v1 chat stream
    # Cut before its end, generate's JSON no longer tells it from v1 chat: caught either way.
    assert "does not close with stream-end" in str(validate_stream(_wire(good[:-1]))[-1])
    sdk_events = list(replay_client(PATH, cohere.Client).generate_stream(**kwargs(0)))  # the SDK's classes tell
    assert [str(v) for v in validate_stream(sdk_events[:-1])] == [
        "stream: the stream does not close with stream-end or stream-error (the last is text-generation)"
    ]
    early = [dict(good[0], is_finished=True), *good[1:]]
    assert "event 0 (text-generation): is_finished is True, not false" in map(str, validate_stream(_wire(early)))
    lost = [*good[:2], *good[3:]]  # a delta dropped: the generation's text no longer adds up
    assert [str(v) for v in validate_stream(_wire(lost))] == [
        f"event {len(lost) - 1} (stream-end): generation 0: its text is not the concatenated text-generation events"
    ]
    end = json.loads(json.dumps(good[-1]))
    end["response"]["generations"] = []
    del end["finish_reason"]
    assert [str(v) for v in validate_stream(_wire([*good[:-1], end]))] == [
        f"event {len(good) - 1} (stream-end): no finish_reason",
        f"event {len(good) - 1} (stream-end): its response holds no generations",
    ]
    chat = {"is_finished": False, "event_type": "citation-generation", "citations": []}
    after = [*good, good[0]]
    assert [str(v) for v in validate_stream(_wire([*good[:1], chat, *good[1:]]))] == [
        "event 1 (citation-generation): not a generate event type"
    ]
    assert "event 11 (text-generation): after the end of the stream" in [str(v) for v in validate_stream(_wire(after))]


def test_several_generations_are_told_apart_by_index() -> None:
    """num_generations=2: deltas carry their generation's index, stream-end both generations."""
    texts = {0: [" Hi", " there"], 1: [" Hello", "!"]}
    deltas = [
        {"event_type": "text-generation", "text": texts[i][n], "index": i, "is_finished": False}
        for n in range(2)
        for i in (0, 1)
    ]
    end = {
        "event_type": "stream-end",
        "is_finished": True,
        "finish_reason": "COMPLETE",
        "response": {
            "id": "r",
            "generations": [
                {"id": f"g{i}", "text": "".join(texts[i]), "index": i, "finish_reason": "COMPLETE"} for i in (0, 1)
            ],
        },
    }
    assert validate_stream(_wire([*deltas, end])) == []
    result = collect([*deltas, end])
    assert result.generations == (" Hi there", " Hello!")
    assert (result.text, result.generation_id, result.endpoint) == (" Hi there", "g0", "generate")
    swapped = [deltas[1], deltas[0], *deltas[2:]]  # order within a generation is kept...
    assert validate_stream(_wire([*swapped, end])) == []
    crossed = [dict(deltas[0], index=1), *deltas[1:]]  # ...but a delta in the wrong generation is not
    assert {str(v).split(": ", 1)[1] for v in validate_stream(_wire([*crossed, end]))} == {
        "generation 0: its text is not the concatenated text-generation events",
        "generation 1: its text is not the concatenated text-generation events",
    }


# --------------------------------------------------------- replay, collect, fast


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_collect_assembles_what_the_wire_json_says(cls: type, fast: bool) -> None:
    client: Any = replay_client(PATH, cls, fast=fast)
    done, failed = (collect(events_of(client, index)) for index in (0, 1))

    wire = payloads(0)
    generation = wire[-1]["response"]["generations"][0]
    assert done.text == "".join(e["text"] for e in wire[:-1]) == generation["text"]
    assert done.generations == (generation["text"],)
    assert (done.finish_reason, done.generation_id, done.error) == (wire[-1]["finish_reason"], generation["id"], None)
    assert (done.api, done.endpoint, done.usage) == ("v1", "generate", None)  # no meta in these payloads

    wire = payloads(1)
    assert failed.text == "".join(e["text"] for e in wire[:-1])
    assert (failed.finish_reason, failed.error) == (wire[-1]["finish_reason"], wire[-1]["err"])
    assert failed.endpoint == "generate" and failed.generation_id is None
    assert validate_stream(done.events) == [] and validate_stream(failed.events) == []


def test_acollect_and_usage_from_a_meta_the_response_carries() -> None:
    client: Any = replay_client(PATH, cohere.AsyncClient)
    result = asyncio.run(acollect(client.generate_stream(**kwargs(0))))
    assert result.text == payloads(0)[-1]["response"]["generations"][0]["text"]
    meta = {"billed_units": {"input_tokens": 9, "output_tokens": 10}}
    end = dict(payloads(0)[-1], response={**payloads(0)[-1]["response"], "meta": meta})
    assert collect([*payloads(0)[:-1], end]).usage == meta


# ------------------------------------------------------------- play and record


@pytest.mark.parametrize(("use_async", "fast"), [(False, False), (True, True)], ids=["sync", "async-fast"])
def test_play_prints_the_generation_and_the_error(use_async: bool, fast: bool) -> None:
    out = io.StringIO()
    play_cassette(PATH, speed=0, use_async=use_async, fast=fast, out=out)
    text = out.getvalue()
    done, failed = payloads(0), payloads(1)
    assert f"prompt: {REQUESTS[0]['prompt']}\ngeneration: {''.join(e['text'] for e in done[:-1])}\n" in text
    assert f"── finish COMPLETE · {len(done)} events" in text
    assert f"generation: {''.join(e['text'] for e in failed[:-1])}\nerror: {failed[-1]['err']}\n" in text
    assert f"── finish ERROR · {len(failed)} events" in text
    assert "not a chat stream" not in text


def test_the_recorder_records_generate_streams_as_they_arrive(wire_server: WireServer, tmp_path: Path) -> None:
    source = load_cassette(PATH)
    for interaction in source.interactions:
        assert interaction.response.stream is not None
        wire_server.queue(Reply.stream(interaction.response.stream.body(), "ndjson"))
    target = tmp_path / "generate.yaml"
    with record_client(target, cohere.Client, base_url=wire_server.url, api_key="k") as co:
        for index in range(len(source.interactions)):
            list(co.generate_stream(**kwargs(index)))
    recorded = load_cassette(target)
    assert len(recorded.interactions) == len(source.interactions)
    for got, want in zip(recorded.interactions, source.interactions, strict=True):
        assert got.request.body.json == want.request.body.json
        assert got.response.stream is not None and want.response.stream is not None
        assert [(e.name, e.data) for e in got.response.stream.events] == [
            (e.name, e.data) for e in want.response.stream.events
        ]
        assert got.response.stream.outcome == "completed"  # stream-error ends a generate stream too
