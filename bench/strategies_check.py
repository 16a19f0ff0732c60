"""10,000 generated streams through the real SDK: grammar, parse, answer.

For each stream ``stream_replay.strategies.cassettes(api=None)`` generates (v1 and
v2, hypothesis's generation only): ``validate_stream`` on its wire events, then a
replay through the installed SDK (``ClientV2``/``Client``, HTTP and the SDK's own
parser), ``collect``, and the comparison with the answer the cassette was generated
with (``tests/support/generated.differences``). Prints the counts and the first
failures, exits 1 on any.

    python bench/strategies_check.py [--examples 10000] [--fast] [--asynchronous]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_replay import validate_stream
from stream_replay.cassette import Cassette
from stream_replay.sdk import sdk_version
from stream_replay.strategies import cassettes
from tests.support.generated import api_of, differences, replayed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--fast", action="store_true", help="replay on the fast path")
    parser.add_argument("--asynchronous", action="store_true", help="the async clients")
    args = parser.parse_args()
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    events = 0

    @settings(
        max_examples=args.examples,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cassettes(api=None))
    def check(cassette: Cassette) -> None:
        nonlocal events
        stream = cassette.interactions[0].response.stream
        assert stream is not None
        events += len(stream.events)
        counts[api_of(cassette)] += 1
        violations = validate_stream(stream.events)
        if violations:
            counts["grammar violations"] += 1
            failures.append(f"grammar: {violations[0]}\n{cassette!r}")
            return
        try:
            (result,) = replayed(cassette, fast=args.fast, asynchronous=args.asynchronous)
        except Exception as exc:  # the SDK failed to parse it
            counts["SDK failures"] += 1
            failures.append(f"SDK: {exc!r}\n{cassette!r}")
            return
        different: list[Any] = differences(result, cassette)
        if different:
            counts["collect differs from the answer"] += 1
            failures.append(f"answer: {different}\n{cassette!r}")

    started = time.perf_counter()
    check()
    seconds = time.perf_counter() - started
    total = counts["v1"] + counts["v2"]
    path = "fast path" if args.fast else "SDK path"
    print(
        f"cohere {sdk_version()}, {path}{', async' if args.asynchronous else ''}: {total} generated streams "
        f"(v2 {counts['v2']}, v1 {counts['v1']}; {events} events) in {seconds:.0f} s"
    )
    for what in ("grammar violations", "SDK failures", "collect differs from the answer"):
        print(f"  {what}: {counts[what]}")
    for failure in failures[:3]:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
