"""The core promise, over every real stream of the corpus: a replay gives the consumer
exactly what the SDK gives when it reads the original bytes from a real server.

Ground truth: the real cohere SDK against a real HTTP server on 127.0.0.1 sending the
recorded bytes one event per chunk. Replay: the vcrpy cassette imported with
``read_vcr``, replayed with ``replay_client`` through each of the four client classes,
on the SDK path and on the fast path. Same event classes, same ``model_dump()``.

The corpus holds no ``/v1/generate`` stream: ``generate_stream`` is held to the same
promise over the bundled ``v1_generate.yaml`` (built from the SDK's models, see
``tests/support/generate.py``), on the four classes, both paths.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import cohere
import pytest

from stream_replay import Cassette, load_cassette, replay_client
from stream_replay.replay.transport import ReplayTransport
from stream_replay.vcr.importer import read_vcr
from tests.support.corpus import CASSETTES, STREAMS_DIR, VCRPY_DIR, needs_corpus, stream_rows
from tests.support.wire_server import Reply, WireServer

Dump = list[tuple[type, dict[str, Any]]]


def _kwargs(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in json.loads(json.dumps(body)).items() if k != "stream"}


def _classes(use_async: bool) -> dict[str, type]:
    if use_async:
        return {"v2": cohere.AsyncClientV2, "v1": cohere.AsyncClient}
    return {"v2": cohere.ClientV2, "v1": cohere.Client}


def _consume(client: Any, kwargs: dict[str, Any], use_async: bool, method: str = "chat_stream") -> Dump:
    if use_async:

        async def run() -> Dump:
            return [(type(e), e.model_dump()) async for e in getattr(client, method)(**kwargs)]

        return asyncio.run(run())
    return [(type(e), e.model_dump()) for e in getattr(client, method)(**kwargs)]


def _rows_by_cassette() -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in stream_rows():
        name = Path(row["file"]).stem.removeprefix("langchain-cohere__")
        grouped[re.sub(r"__i\d+$", "", name)].append(row)
    return grouped


def _ground_truth(server: WireServer, row: dict[str, str], use_async: bool) -> Dump:
    path = STREAMS_DIR / row["file"]
    request = json.loads(path.with_suffix(".request.json").read_text())
    fmt = "sse" if row["api"] == "v2" else "ndjson"
    server.queue(Reply.stream(path.read_bytes(), fmt))
    client = _classes(use_async)[row["api"]](api_key="corpus-test", base_url=server.url)
    return _consume(client, _kwargs(request), use_async)


def _replayed(cassette_path: Path, use_async: bool, fast: bool) -> dict[int, Dump]:
    """Every 2xx chat stream of the cassette, replayed in recorded order."""
    cassette = read_vcr(cassette_path)
    transport = ReplayTransport(cassette)
    clients = {
        api: replay_client(cassette, cls, transport=transport, fast=fast) for api, cls in _classes(use_async).items()
    }
    out: dict[int, Dump] = {}
    for index, interaction in enumerate(cassette.interactions):
        stream = interaction.response.stream
        if stream is None or interaction.response.status >= 300:
            transport.player.mark(index)
            continue
        api = "v2" if stream.format == "sse" else "v1"
        out[index] = _consume(clients[api], _kwargs(interaction.request.body.json), use_async)
    assert transport.unplayed() == []
    return out


@pytest.mark.slow
@needs_corpus
@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_every_corpus_stream_replays_as_the_sdk_parses_it(wire_server: WireServer, use_async: bool, fast: bool) -> None:
    compared = 0
    differing: list[str] = []
    for stem, rows in sorted(_rows_by_cassette().items()):
        replayed = _replayed(VCRPY_DIR / f"{stem}.yaml", use_async, fast)
        for row in rows:
            expected = _ground_truth(wire_server, row, use_async)
            got = replayed.get(int(row["interaction_idx"]))
            compared += 1
            if got != expected:
                differing.append(f"{row['file']}: {len(got or [])} events replayed, {len(expected)} from the wire")
            assert len(expected) >= int(row["n_events"]) - 1  # all but [DONE] reach the consumer
    assert differing == []
    assert compared == len(stream_rows()) == 133


@pytest.mark.parametrize("cls", [cohere.Client, cohere.ClientV2, cohere.AsyncClient, cohere.AsyncClientV2])
def test_every_bundled_generate_stream_replays_as_the_sdk_parses_it(wire_server: WireServer, cls: type) -> None:
    cassette = load_cassette(CASSETTES / "v1_generate.yaml")
    use_async = issubclass(cls, cohere.AsyncClient)
    for index, interaction in enumerate(cassette.interactions):
        stream = interaction.response.stream
        assert stream is not None
        wire_server.queue(Reply.stream(stream.body(), "ndjson"))
        kwargs = _kwargs(interaction.request.body.json)
        live = cls(api_key="corpus-test", base_url=wire_server.url)
        expected = _consume(live, kwargs, use_async, "generate_stream")
        assert wire_server.requests[-1][1] == "/v1/generate"
        assert json.loads(wire_server.requests[-1][2]) == interaction.request.body.json
        assert len(expected) == len(stream.events)
        for fast in (False, True):
            client = replay_client(Cassette((interaction,)), cls, fast=fast)
            assert _consume(client, kwargs, use_async, "generate_stream") == expected, (index, fast)
