"""Serving the cohere clients that code under test builds itself, for one test.

Two patches, both undone when the test ends:

- the constructors of ``cohere.Client``, ``AsyncClient``, ``ClientV2`` and
  ``AsyncClientV2`` (and so of their subclasses) get the test's httpx client when
  none is passed, so a client built inside the test talks to the cassette and costs
  no TLS context;
- the SDK's own ``HttpClient``/``AsyncHttpClient`` ``request`` and ``stream``, which
  every SDK call goes through, send through the test's httpx client whatever the
  client was built with: one built before the test (at import time, in a
  session-scoped fixture) or given its own ``httpx_client=`` cannot reach the network.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any, Protocol

import httpx


class Owner(Protocol):
    def sync_http(self) -> httpx.Client: ...

    def async_http(self) -> httpx.AsyncClient: ...

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any], asynchronous: bool) -> None: ...

    def adopt(self, client: Any) -> None: ...


_depth = threading.local()
_active: list[SdkPatch] = []


class SdkPatch:
    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def start(self, owner: Owner) -> None:
        """Serve the SDK from ``owner`` (the test) until ``stop``; only the installed
        methods hold it, so nothing of the test outlives the patch."""
        if _active:
            raise RuntimeError("stream_replay: the SDK is already patched for another test in this process")
        import cohere
        from cohere.core import http_client

        from ..sdk import is_async_client

        clients: tuple[type, ...] = (cohere.Client, cohere.AsyncClient, cohere.ClientV2, cohere.AsyncClientV2)
        for client in clients:
            if "__init__" in vars(client):
                self._replace(client, "__init__", _constructor(owner, vars(client)["__init__"], is_async_client))
        http_clients: tuple[tuple[type, bool], ...] = (
            (http_client.HttpClient, False),
            (http_client.AsyncHttpClient, True),
        )
        for http, asynchronous in http_clients:
            for name in ("request", "stream"):
                self._replace(http, name, _routed(owner, vars(http)[name], asynchronous))
        _active.append(self)

    def stop(self) -> None:
        while self._undo:
            self._undo.pop()()
        if self in _active:
            _active.remove(self)

    def _replace(self, cls: type, name: str, value: Any) -> None:
        original = vars(cls)[name]
        setattr(cls, name, value)
        self._undo.append(lambda: setattr(cls, name, original))


def _constructor(owner: Owner, original: Any, is_async: Callable[[type], bool]) -> Any:
    from ..sdk import refuse_other_platform

    @functools.wraps(original)
    def __init__(client: Any, *args: Any, **kwargs: Any) -> None:
        depth = getattr(_depth, "value", 0)
        outermost = depth == 0  # ClientV2.__init__ calls Client.__init__: act once
        _depth.value = depth + 1
        try:
            if outermost:
                refuse_other_platform(type(client))  # Bedrock, SageMaker, OCI: never served by accident
                owner.prepare(args, kwargs, is_async(type(client)))
            original(client, *args, **kwargs)
        finally:
            _depth.value = depth
        if outermost:
            owner.adopt(client)

    return __init__


def _routed(owner: Owner, original: Any, asynchronous: bool) -> Any:
    from ..recording.transport import RecordingTransport
    from ..replay.transport import ReplayTransport
    from ..sdk import refuse_platform_transport

    @functools.wraps(original)
    def method(http: Any, *args: Any, **kwargs: Any) -> Any:
        ours = owner.async_http() if asynchronous else owner.sync_http()
        client = http.httpx_client
        refuse_platform_transport(client)  # Bedrock, SageMaker, OCI: never served by accident
        # A client from replay_client or record_client keeps its own cassette.
        explicit = isinstance(getattr(client, "_transport", None), (ReplayTransport, RecordingTransport))
        if client is not ours and not explicit:
            http = copy.copy(http)  # the client itself is left as it was built
            http.httpx_client = ours
        return original(http, *args, **kwargs)

    return method
