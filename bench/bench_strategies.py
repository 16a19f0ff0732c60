"""Which consumer mistakes real recordings catch, and which generated streams catch.

Fourteen deliberately buggy consumers (tests/support/buggy_consumers.py), each a few lines of
the kind that reaches production. Two ways to find their bugs, measured in one run:

- **the corpus**: every real recorded stream of ../shared/corpus (133: v1 and v2),
  replayed through the real SDK; a mistake is caught when at least one stream makes
  the consumer's output differ from what it should be, or makes it raise;
- **the strategies**: ``stream_replay.strategies.cassettes(api=...)``, at most
  ``--examples`` generated streams per consumer (hypothesis, generation only, no
  shrinking), each replayed through the real SDK; the number of streams until the
  first that catches it is reported.

Both shares are printed, with the time each took.

    python bench/bench_strategies.py [--examples 300] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cohere
from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_replay import replay_client
from stream_replay.analysis.assertions import recorded_response
from stream_replay.cassette import Body, Cassette, Interaction, Request, Response, Stream
from stream_replay.strategies import cassettes, expected
from stream_replay.wire import StreamFormat, decode
from tests.support.buggy_consumers import CONSUMERS, Buggy, caught

ROOT = Path(__file__).resolve().parents[1]
ARGS: dict[str, dict[str, Any]] = {
    "v2": {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hi"}]},
    "v1": {"message": "hi"},
}
CLIENTS = {"v2": cohere.ClientV2, "v1": cohere.Client}


def corpus_cassettes(corpus: Path) -> list[tuple[str, Cassette]]:
    """Every recorded stream of the corpus as a one-interaction cassette."""
    found = []
    for api in ("v2", "v1"):
        for body in sorted((corpus / "streams" / api).glob("*.sse" if api == "v2" else "*.ndjson")):
            request = json.loads(body.with_name(body.name.rsplit(".", 1)[0] + ".request.json").read_text())
            fmt: StreamFormat = "sse" if api == "v2" else "ndjson"
            stream = Stream(fmt, tuple(decode(body.read_bytes(), fmt)))
            interaction = Interaction(
                Request("POST", f"https://api.cohere.com/{api}/chat", {}, Body(json=request, style="json")),
                Response(200, {}, stream=stream),
            )
            found.append((api, Cassette((interaction,))))
    return found


def events_of(cassette: Cassette, api: str) -> list[Any]:
    client = replay_client(cassette, CLIENTS[api], match_on=["method", "route"])
    return list(client.chat_stream(**ARGS[api]))


def by_corpus(recorded: list[tuple[str, list[Any], Any]]) -> dict[str, int]:
    return {
        c.name: sum(1 for api, events, result in recorded if api == c.api and caught(c, events, result))
        for c in CONSUMERS
    }


class _Caught(Exception):
    pass


def by_strategies(consumer: Buggy, examples: int, runs: int) -> list[int | None]:
    """For each of ``runs`` searches, how many generated streams until one catches the mistake."""
    return [_search(consumer, examples) for _ in range(runs)]


def _search(consumer: Buggy, examples: int) -> int | None:
    """How many generated streams until one catches the mistake (None: none of ``examples``)."""
    count = 0

    @settings(
        max_examples=examples,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cassettes(api=consumer.api))
    def search(cassette: Cassette) -> None:
        nonlocal count
        count += 1
        if caught(consumer, events_of(cassette, consumer.api), expected(cassette)):
            raise _Caught

    try:
        search()
    except _Caught:
        return count
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="generated streams per consumer, at most")
    parser.add_argument("--runs", type=int, default=5, help="searches per consumer (each with its own random seed)")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    if not (args.corpus / "streams").is_dir():
        print(f"no corpus at {args.corpus}: pass --corpus (the shared corpus is not in a clone)", file=sys.stderr)
        return 2

    started = time.perf_counter()
    recorded = [
        (api, events_of(cassette, api), recorded_response(cassette)) for api, cassette in corpus_cassettes(args.corpus)
    ]
    corpus = by_corpus(recorded)
    corpus_seconds = time.perf_counter() - started

    heading = f"{'consumer mistake':<28} {'corpus streams catching it':>27}"
    print(f"{heading} {'streams to catch: median, worst':>33} {'s':>6}")
    found: dict[str, list[int | None]] = {}
    seconds: dict[str, float] = {}
    for consumer in CONSUMERS:
        began = time.perf_counter()
        found[consumer.name] = by_strategies(consumer, args.examples, args.runs)
        seconds[consumer.name] = time.perf_counter() - began
        total = sum(1 for api, _, _ in recorded if api == consumer.api)
        counts = found[consumer.name]
        if None in counts:
            shown = f"missed in {counts.count(None)} of {args.runs} runs"
        else:
            numbers = [n for n in counts if n is not None]
            shown = f"{statistics.median(numbers):g}, {max(numbers)}"
        took = seconds[consumer.name]
        hits = corpus[consumer.name]
        print(f"{consumer.name:<28} {hits:>12} of {total:<3} ({consumer.api}) {shown:>33} {took:>6.1f}")
    kinds = len(CONSUMERS)
    by_recordings = sum(1 for c in CONSUMERS if corpus[c.name])
    generated = sum(1 for c in CONSUMERS if None not in found[c.name])
    worst = max((n for counts in found.values() for n in counts if n is not None), default=0)
    print()
    share = by_recordings / kinds
    print(f"corpus ({len(recorded)} real streams): {by_recordings} of {kinds} caught ({share:.0%}), ", end="")
    print(f"{corpus_seconds:.1f} s")
    print(
        f"strategies (at most {args.examples} streams a search, {args.runs} searches each): {generated} of {kinds} "
        f"caught in every search ({generated / kinds:.0%}), {sum(seconds.values()) / args.runs:.1f} s a search of all "
        f"{kinds}; the slowest catch took {worst} streams"
    )
    return 0 if generated == kinds else 1


if __name__ == "__main__":
    raise SystemExit(main())
