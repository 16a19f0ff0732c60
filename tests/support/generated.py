"""Replaying a cassette's chat streams through the real SDK, and what differs from
what the cassette says they must produce. Shared by tests/test_strategies.py and
bench/strategies_check.py (the 10,000-stream check)."""

from __future__ import annotations

import asyncio
from typing import Any

import cohere

from stream_replay import acollect, collect, replay_client
from stream_replay.analysis.assemble import StreamResult
from stream_replay.analysis.assertions import _plain, whole_response
from stream_replay.cassette import Cassette
from stream_replay.strategies import expected

#: ``chat_stream``'s arguments for a cassette whose requests match any body.
V2_ARGS: dict[str, Any] = {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "hi"}]}
V1_ARGS: dict[str, Any] = {"message": "hi"}

CLIENTS = {
    ("v2", False): cohere.ClientV2,
    ("v2", True): cohere.AsyncClientV2,
    ("v1", False): cohere.Client,
    ("v1", True): cohere.AsyncClient,
}


def api_of(cassette: Cassette, index: int = 0) -> str:
    return "v2" if "/v2/" in cassette.interactions[index].request.url else "v1"


def replayed(
    cassette: Cassette, *, asynchronous: bool = False, fast: bool = False, **options: Any
) -> list[StreamResult]:
    """Every chat stream of ``cassette``, requested in order by one client, as the SDK
    yields it, collected."""
    api = api_of(cassette)
    client = replay_client(cassette, CLIENTS[api, asynchronous], fast=fast, **options)
    args = V2_ARGS if api == "v2" else V1_ARGS
    if asynchronous:
        return asyncio.run(_acollect_all(client, args, len(cassette.interactions)))
    return [collect(client.chat_stream(**args)) for _ in cassette.interactions]


async def _acollect_all(client: Any, args: dict[str, Any], count: int) -> list[StreamResult]:
    return [await acollect(client.chat_stream(**args)) for _ in range(count)]


def comparable(result: StreamResult) -> dict[str, Any]:
    """``whole_response`` with usage as plain numbers (the SDK's floats equal the wire's ints)."""
    whole = whole_response(result)
    whole["usage"] = _plain(result.usage)
    return whole


def differences(result: StreamResult, cassette: Cassette, index: int = 0) -> list[str]:
    """Field by field, where ``result`` is not what ``cassette``'s stream must produce."""
    got, want = comparable(result), comparable(expected(cassette, index))
    return [f"{key}: got {got[key]!r}, expected {want[key]!r}" for key in want if got.get(key) != want[key]]


class _Found(Exception):
    pass


def first(strategy: Any, predicate: Any, max_examples: int = 3000) -> Any:
    """The first value ``strategy`` generates that satisfies ``predicate`` (no shrinking:
    this asks whether a shape is reachable, and how soon); AssertionError if none is
    within ``max_examples``."""
    from hypothesis import HealthCheck, Phase, given, settings

    found: list[Any] = []

    @settings(
        max_examples=max_examples,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def search(value: Any) -> None:
        if predicate(value):
            found.append(value)
            raise _Found

    try:
        search()
    except _Found:
        return found[0]
    raise AssertionError(f"no example in {max_examples} satisfies {predicate!r}")
