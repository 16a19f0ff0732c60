"""Replayed pace against recorded pace: at ``speed=1.0``, how far each gap between two
events, as the consumer receives them through the real SDK, is from the recorded gap.

Every streamed interaction of the bundled real cassettes is replayed through
``ClientV2``/``Client`` (their streams were imported without timing, so they are paced
at 20 ms per event), plus one stream recorded here with real, irregular gaps: a real
HTTP server on 127.0.0.1 sends the v2 tool-call stream with gaps drawn between 2 and
60 ms, ``record_client`` records it, and that recording is replayed. Prints the
median, 95th percentile and maximum of |replayed gap - recorded gap|.

    python bench/bench_timing.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cohere
from _common import CASSETTES, REPO

from stream_replay import Cassette, load_cassette, record_client, replay_client
from stream_replay.replay.pacing import schedule

sys.path.insert(0, str(REPO))
from tests.support.corpus import chat_kwargs
from tests.support.wire_server import Reply, WireServer


def _drift(cassette: Cassette, index: int) -> list[float]:
    interaction = cassette.interactions[index]
    stream = interaction.response.stream
    assert stream is not None
    due = schedule(stream, 1.0)
    assert due is not None
    client_cls = cohere.ClientV2 if stream.format == "sse" else cohere.Client
    only = Cassette((interaction,), cassette.meta)
    client = replay_client(only, client_cls, speed=1.0)
    arrivals = []
    for _ in client.chat_stream(**chat_kwargs(cassette, index)):
        arrivals.append(time.monotonic())
    # the SDK yields one object per event except v2's [DONE]
    expected = [at for at, event in zip(due, stream.events, strict=True) if event.data is not None]
    count = min(len(arrivals), len(expected))
    gaps = [arrivals[i + 1] - arrivals[i] for i in range(count - 1)]
    recorded = [expected[i + 1] - expected[i] for i in range(count - 1)]
    return [abs(a - b) for a, b in zip(gaps, recorded, strict=True)]


def _recorded_with_real_gaps(folder: Path) -> Cassette:
    source = load_cassette(CASSETTES / "v2_tool_calls.yaml")
    stream = source.interactions[0].response.stream
    assert stream is not None
    chance = random.Random(11)
    reply = Reply.stream(stream.body(), "sse")
    reply.delays = [chance.uniform(0.002, 0.060) for _ in reply.chunks]
    with WireServer() as server:
        server.queue(reply)
        with record_client(folder / "timed.yaml", cohere.ClientV2, api_key="bench-key", base_url=server.url) as co:
            list(co.chat_stream(**chat_kwargs(source, 0)))
    return load_cassette(folder / "timed.yaml")


def main() -> None:
    drifts: list[float] = []
    streams = 0
    for path in sorted(CASSETTES.glob("*.yaml")):
        cassette = load_cassette(path)
        for index, interaction in enumerate(cassette.interactions):
            if interaction.response.stream is not None and interaction.response.status == 200:
                drifts.extend(_drift(cassette, index))
                streams += 1
    with tempfile.TemporaryDirectory() as tmp:
        timed = _recorded_with_real_gaps(Path(tmp))
        real = _drift(timed, 0)
    for label, values in (
        (f"{streams} bundled streams (20 ms per event)", drifts),
        ("a stream recorded with gaps of 2-60 ms", real),
    ):
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(
            f"{label}: {len(values)} gaps; |replayed - recorded| median {statistics.median(values) * 1000:.2f} ms, "
            f"p95 {p95 * 1000:.2f} ms, max {max(values) * 1000:.2f} ms"
        )
    worst = max(statistics.median(drifts), statistics.median(real))
    print(
        f"goal: replayed gaps within 5 ms of the recorded ones (median): {worst * 1000:.2f} ms, "
        f"{'met' if worst <= 0.005 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
