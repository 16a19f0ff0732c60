"""The replay transport: an httpx transport (sync and async) that answers requests
from a cassette, one event per chunk, at the chosen pace.

The cohere SDK talks to it through an ``httpx.Client``/``httpx.AsyncClient``, so
everything above the socket (status handling, the SDK's SSE and NDJSON parsing, its
exceptions) is the SDK's own. Which interaction answers is the ``Player``'s answer;
the response is the ``Responder``'s. Where httpx's own ``HTTPTransport`` request handler
is wrapped (a tracer's), the response is handed over through it (``handover``).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

from ..cassette import Cassette, as_cassette
from ..errors import NoMatchError
from .handover import ahanded_over, handed_over
from .matching import DEFAULT_MATCH_ON, Matcher, view
from .player import Drift, Player
from .responses import Responder

if TYPE_CHECKING:
    from .faults import Fault


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers each request with the first unplayed recorded interaction that matches.

    Interactions are played in recorded order; each is played once unless
    ``allow_repeats=True``. ``faults`` (``stream_replay.faults``) act on the responses.
    Thread-safe. ``player`` and ``responder`` are the parts it is made of, for the
    fast path and other front ends that share its state.
    """

    def __init__(
        self,
        cassette: Cassette | str | os.PathLike[str],
        *,
        speed: float | None = None,
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        ignore_fields: Sequence[str] = (),
        ignore_patterns: Sequence[str | re.Pattern[str]] = (),
        allow_repeats: bool = False,
        drift: Drift = "fail",
        faults: Sequence[Fault] = (),
    ) -> None:
        self.player = Player(
            as_cassette(cassette),
            match_on=match_on,
            ignore_fields=ignore_fields,
            ignore_patterns=ignore_patterns,
            allow_repeats=allow_repeats,
            drift=drift,
        )
        self.responder = Responder(speed, faults)

    @property
    def cassette(self) -> Cassette:
        return self.player.cassette

    @property
    def play_counts(self) -> list[int]:
        """How many times each recorded interaction was played."""
        return self.player.play_counts

    def unplayed(self) -> list[int]:
        """Indexes of the recorded interactions no request has used."""
        return self.player.unplayed()

    @property
    def mismatches(self) -> list[NoMatchError]:
        """Every ``NoMatchError`` raised, even those the code under test caught."""
        return self.player.mismatches

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        index = self.player.play(view(request.method, str(request.url), request.read()))
        return handed_over(
            request, self.responder.answer(self.player, index, request, asynchronous=False, started=started)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        index = self.player.play(view(request.method, str(request.url), await request.aread()))
        answer = self.responder.answer(self.player, index, request, asynchronous=True, started=started)
        return await ahanded_over(request, answer)


__all__ = ["ReplayTransport"]
