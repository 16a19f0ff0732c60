"""``stream-replay serve`` as the stand-in for the live API: record through the real SDK
against it, and the recording equals its source (events, order, status, timing)."""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import cohere
import pytest

from stream_replay import load_cassette, record_client
from stream_replay.cassette import Cassette
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.wire_server import Reply, WireServer

KEY = "sk-record-against-serve-0001"


def record_all(source: Cassette, url: str, path: Path) -> Cassette:
    """Make every call of ``source`` again through recording clients pointed at ``url``."""
    with (
        record_client(path, cohere.ClientV2, api_key=KEY, base_url=url) as v2,
        record_client(path, cohere.Client, api_key=KEY, base_url=url) as v1,
    ):
        for index, interaction in enumerate(source.interactions):
            stream = interaction.response.stream
            if stream is None:
                continue
            client = v2 if stream.format == "sse" else v1
            list(client.chat_stream(**chat_kwargs(source, index)))
    return load_cassette(path)


@pytest.mark.parametrize("name", ["v2_agent.yaml", "v2_citations.yaml", "v1_citations.yaml", "v1_tool_calls.yaml"])
def test_recording_what_serve_replays_gives_back_the_same_streams(tmp_path: Path, name: str) -> None:
    source = load_cassette(CASSETTES / name)
    with ReplayServer([source], speed=8.0) as server:
        recorded = record_all(source, server.url, tmp_path / "again.yaml")
    streams = [i for i in source.interactions if i.response.stream is not None]
    assert len(recorded.interactions) == len(streams)
    for mine, theirs in zip(recorded.interactions, streams, strict=True):
        assert mine.response.status == theirs.response.status
        assert mine.response.stream is not None and theirs.response.stream is not None
        assert [e.with_offset(None) for e in mine.response.stream.events] == list(theirs.response.stream.events)
        assert mine.response.stream.outcome == "completed"


def test_timing_survives_record_serve_record_within_a_few_ms(tmp_path: Path, wire_server: WireServer) -> None:
    """Record at 15 ms an event from a real server; serve that recording at its recorded
    pace; record again: the offsets agree to within a few ms."""
    source = load_cassette(CASSETTES / "v2_tool_calls.yaml")
    stream = source.interactions[0].response.stream
    assert stream is not None
    wire_server.queue(Reply.stream(stream.body(), "sse", delay=0.015))
    first = record_all(source, wire_server.url, tmp_path / "first.yaml")
    with ReplayServer([tmp_path / "first.yaml"], speed=1.0) as server:
        second = record_all(first, server.url, tmp_path / "second.yaml")
    a = first.interactions[0].response.stream
    b = second.interactions[0].response.stream
    assert a is not None and b is not None
    assert [e.with_offset(None) for e in a.events] == [e.with_offset(None) for e in b.events]
    # The pace is the gaps between events. The absolute offsets also carry the time to the
    # first byte, which on a loaded machine shifts every offset alike (seen: +5.7 ms).
    first_offsets = [float(e.offset or 0) for e in a.events]
    second_offsets = [float(e.offset or 0) for e in b.events]
    gaps_a = [y - x for x, y in itertools.pairwise(first_offsets)]
    gaps_b = [y - x for x, y in itertools.pairwise(second_offsets)]
    drift = [abs(x - y) for x, y in zip(gaps_a, gaps_b, strict=True)]
    assert statistics.median(drift) < 0.005
    assert abs(sum(gaps_a) - sum(gaps_b)) < 0.050  # the whole stream's duration
