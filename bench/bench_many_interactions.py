"""A cassette of many small interactions: loading it, against vcrpy's loader on the same
data, and answering an unmatched request against it (issue 14: "loading cost grows
linearly"; a 20,000-interaction cassette took 7-17 s to load and 10 s per unmatched request).

The interactions are the real request of ``cassettes/v2_text.yaml`` with a different
question each, and a small JSON answer. Goals: our load within 3x of vcrpy's; an
unmatched request explained in well under a second.

    python bench/bench_many_interactions.py [--interactions 20000]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

from _common import CASSETTES

from stream_replay import Cassette, load_cassette, save_cassette
from stream_replay.cassette import Body, Interaction, Request, Response
from stream_replay.replay.matching import view
from stream_replay.replay.player import Player
from stream_replay.vcr.exporter import export_vcr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interactions", type=int, default=20_000)
    args = parser.parse_args()
    source = load_cassette(CASSETTES / "v2_text.yaml")
    first = source.interactions[0]
    interactions = []
    for i in range(args.interactions):
        body = copy.deepcopy(first.request.body.json)
        body["messages"][0]["content"] = f"question {i}"
        answer = Body.of_text(json.dumps({"id": str(i), "text": "ok"}))
        request = Request("POST", first.request.url, dict(first.request.headers), Body(body, "json"))
        interactions.append(Interaction(request, Response(200, {"content-type": "application/json"}, answer)))
    cassette = Cassette(tuple(interactions), source.meta)
    from vcr.persisters.filesystem import FilesystemPersister
    from vcr.serializers import yamlserializer

    with tempfile.TemporaryDirectory() as folder:
        ours_path, theirs_path = Path(folder) / "ours.yaml", Path(folder) / "vcr.yaml"
        save_cassette(cassette, ours_path)
        export_vcr(cassette, theirs_path)
        started = time.perf_counter()
        loaded = load_cassette(ours_path)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        FilesystemPersister.load_cassette(theirs_path, serializer=yamlserializer)
        theirs = time.perf_counter() - started
    player = Player(loaded)
    body = copy.deepcopy(first.request.body.json)
    body["messages"][0]["content"] = "never recorded"
    started = time.perf_counter()
    message = player.explain(view("POST", first.request.url, json.dumps(body)))
    explained = time.perf_counter() - started
    body["messages"][0]["content"] = f"question {args.interactions - 1}"
    started = time.perf_counter()
    index = player.play(view("POST", first.request.url, json.dumps(body)))
    matched = time.perf_counter() - started
    assert index == args.interactions - 1 and "Closest recorded" in message
    print(f"{args.interactions} interactions")
    verdict = "met" if ours <= 3 * theirs else "NOT met"
    print(f"load: ours {ours:.2f} s, vcrpy {theirs:.2f} s: {ours / theirs:.2f}x (goal <= 3x: {verdict})")
    print(f"an unmatched request explained in {explained:.3f} s; the last one matched in {matched:.3f} s")


if __name__ == "__main__":
    main()
