"""Generated streams catch every kind of consumer mistake (issue 16): fourteen buggy
consumers (tests/support/buggy_consumers.py), each caught by ``cassettes(api=...)``
within 300 generated streams, replayed through the real SDK; the correct consumers
they are bugs of (the ``truth`` of each stream's answer) pass all of them. The
corpus share is in bench/bench_strategies.py."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from stream_replay import replay_client
from stream_replay.cassette import Cassette
from stream_replay.strategies import cassettes, expected
from tests.support.buggy_consumers import CONSUMERS, Buggy, caught
from tests.support.generated import CLIENTS, V1_ARGS, V2_ARGS

pytestmark = pytest.mark.slow

EXAMPLES = 300


def _events(cassette: Cassette, api: str) -> list[Any]:
    client = replay_client(cassette, CLIENTS[api, False])
    return list(client.chat_stream(**(V2_ARGS if api == "v2" else V1_ARGS)))


@pytest.mark.parametrize("consumer", CONSUMERS, ids=[c.name for c in CONSUMERS])
def test_the_strategies_catch_the_mistake(consumer: Buggy) -> None:
    @settings(
        max_examples=EXAMPLES,
        phases=[Phase.generate],
        database=None,
        derandomize=True,  # the same 300 streams every run: a bound that holds in CI
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cassettes(api=consumer.api))
    def check(cassette: Cassette) -> None:
        assert not caught(consumer, _events(cassette, consumer.api), expected(cassette))

    with pytest.raises(AssertionError):
        check()
