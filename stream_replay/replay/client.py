"""``replay_client``: a genuine cohere client whose HTTP goes to a replay transport. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

from ..cassette import Cassette
from ..faults import Fault
from .matching import DEFAULT_MATCH_ON, Matcher
from .transport import ReplayTransport

C = TypeVar("C")

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
    allow_repeats: bool = False,
    faults: Sequence[Fault] = (),
    transport: ReplayTransport | None = None,
    **client_kwargs: Any,
) -> C:
    """A genuine ``client`` (default ``cohere.ClientV2``) that replays ``cassette``.

    ``client`` is any of ``cohere.ClientV2``, ``AsyncClientV2``, ``Client``,
    ``AsyncClient`` (or a subclass). ``chat_stream`` yields the SDK's own event
    objects, ``chat`` returns the SDK's own response, and a recorded HTTP error raises
    the SDK's own exception. ``speed``: None (instant), 1.0 (recorded pace) or N
    (N times faster). ``fast=True`` builds stream events directly instead of going
    through HTTP and the SDK's parser (same classes, equal ``model_dump()``); any
    interaction it cannot prove equal (raw blocks, unknown types, failures) still goes
    through the SDK. Other keyword arguments go to the client's constructor.
    """
    import cohere
    import httpx

    cls: type[Any] = client if client is not None else cohere.ClientV2
    if not (isinstance(cls, type) and issubclass(cls, (cohere.Client, cohere.AsyncClient))):
        raise TypeError(f"client must be cohere.ClientV2, AsyncClientV2, Client or AsyncClient, got {cls!r}")
    if transport is not None and faults:
        raise TypeError("pass faults to the ReplayTransport you pass as transport=, not to replay_client")
    replay = transport or ReplayTransport(
        cassette,
        speed=speed,
        match_on=match_on,
        ignore_fields=ignore_fields,
        allow_repeats=allow_repeats,
        faults=faults,
    )
    from .sdk import client_api, is_async_client

    asynchronous = is_async_client(cls)
    if "httpx_client" in client_kwargs:
        raise TypeError("replay_client builds its own httpx client; do not pass httpx_client")
    # trust_env=False: no proxy transports, so no TLS context is ever built (about 18 ms).
    http: Any
    if asynchronous:
        http = httpx.AsyncClient(transport=replay, trust_env=False)
    else:
        http = httpx.Client(transport=replay, trust_env=False)
    client_kwargs.setdefault("api_key", PLACEHOLDER_KEY)
    instance: Any = cls(httpx_client=http, **client_kwargs)
    if fast:
        from .fast import install_fast_path

        install_fast_path(instance, replay, client_api(cls), asynchronous)
    return instance  # type: ignore[no-any-return]
