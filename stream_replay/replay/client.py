"""``replay_client``: a genuine cohere client whose HTTP goes to a replay transport. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..cassette import Cassette
from ..sdk import client_class, is_async_client
from .matching import DEFAULT_MATCH_ON, Matcher
from .player import Drift
from .transport import ReplayTransport

if TYPE_CHECKING:
    from .faults import Fault

C = TypeVar("C")

_log = logging.getLogger("stream_replay")
_said: set[str] = set()

#: The API key a replay client is given when none is passed. Nothing leaves the
#: process, so it is never checked; it only keeps the SDK from asking for one.
PLACEHOLDER_KEY = "stream-replay-offline"


def replay_client(
    cassette: Cassette | str | os.PathLike[str],
    client: type[C] | None = None,
    *,
    speed: float | None = None,
    fast: bool = False,
    match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
    ignore_fields: Sequence[str] = (),
    ignore_patterns: Sequence[str | re.Pattern[str]] = (),
    allow_repeats: bool = False,
    drift: Drift = "fail",
    faults: Sequence[Fault] = (),
    transport: ReplayTransport | None = None,
    **client_kwargs: Any,
) -> C:
    """A genuine ``client`` (default ``cohere.ClientV2``) that replays ``cassette``.

    ``client`` is any of ``cohere.ClientV2``, ``AsyncClientV2``, ``Client``,
    ``AsyncClient`` (or a subclass). ``chat_stream`` yields the SDK's own event
    objects, ``chat`` returns the SDK's own response, and a recorded HTTP error raises
    the SDK's own exception. ``speed``: None (instant), 1.0 (recorded pace) or N
    (N times faster). ``match_on``, ``ignore_fields``, ``ignore_patterns``, ``allow_repeats``
    and ``drift``: see README, "Matching requests". ``fast=True`` builds stream events directly instead of going
    through HTTP and the SDK's parser (same classes, equal ``model_dump()``); any
    interaction it cannot prove equal (raw blocks, unknown types, failures) still goes
    through the SDK, and anything that wraps the SDK's ``chat_stream`` still sees every
    call (see ``stream_replay.replay.fast``; where the fast path has to step aside for
    a wrapped method, it says why once, as a warning on the ``stream_replay`` logger). Other keyword
    arguments go to the client's constructor.
    """
    import httpx

    cls: type[Any] = client_class(client)
    if transport is not None and faults:
        raise TypeError("pass faults to the ReplayTransport you pass as transport=, not to replay_client")
    if "httpx_client" in client_kwargs:
        raise TypeError("replay_client builds its own httpx client; do not pass httpx_client")
    replay = transport or ReplayTransport(
        cassette,
        speed=speed,
        match_on=match_on,
        ignore_fields=ignore_fields,
        ignore_patterns=ignore_patterns,
        allow_repeats=allow_repeats,
        drift=drift,
        faults=faults,
    )
    # trust_env=False: no proxy transports, so no TLS context is ever built (about 18 ms).
    http: Any
    if is_async_client(cls):
        http = httpx.AsyncClient(transport=replay, trust_env=False)
    else:
        http = httpx.Client(transport=replay, trust_env=False)
    client_kwargs.setdefault("api_key", PLACEHOLDER_KEY)
    instance: Any = cls(httpx_client=http, **client_kwargs)
    if fast:
        from .fast import install_fast_path

        reason = install_fast_path(instance, replay.player, replay.responder)
        if reason is not None and reason not in _said:
            _said.add(reason)  # once per process: the reason is the same for every client of the class
            _log.warning("stream_replay: %s", reason)
    return instance  # type: ignore[no-any-return]
