"""Generated streams catch every kind of consumer mistake (issue 16): fourteen buggy
consumers (tests/support/buggy_consumers.py), each caught by ``cassettes(api=...)``
replayed through the real SDK. The bound here is loose (2,000 streams): hypothesis's
derandomized sequence differs between environments (it draws constants from the
code it finds local), so a tight bound would test the environment. How soon each is
caught, and the corpus share, are measured by bench/bench_strategies.py."""

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

EXAMPLES = 2000


def _events(cassette: Cassette, api: str) -> list[Any]:
    client = replay_client(cassette, CLIENTS[api, False])
    return list(client.chat_stream(**(V2_ARGS if api == "v2" else V1_ARGS)))


@pytest.mark.parametrize("consumer", CONSUMERS, ids=[c.name for c in CONSUMERS])
def test_the_strategies_catch_the_mistake(consumer: Buggy) -> None:
    @settings(
        max_examples=EXAMPLES,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cassettes(api=consumer.api))
    def check(cassette: Cassette) -> None:
        assert not caught(consumer, _events(cassette, consumer.api), expected(cassette))

    with pytest.raises(AssertionError):
        check()
