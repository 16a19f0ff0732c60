"""Serving the cohere clients that code under test builds itself, for one test.

Two patches, both undone when the test ends:

- the constructors of ``cohere.Client``, ``AsyncClient``, ``ClientV2`` and
  ``AsyncClientV2`` (and so of their subclasses) get the test's httpx client when
  none is passed, so a client built inside the test talks to the cassette and costs
  no TLS context;
- the SDK's own ``HttpClient``/``AsyncHttpClient`` ``request`` and ``stream``, which
  every SDK call goes through, send through the test's transport whatever the client
  was built with: one built before the test (at import time, in a session-scoped
  fixture) or given its own ``httpx_client=`` keeps that httpx client's event hooks,
  auth, headers and ``send``, as in production, but not its transport
  (``StreamReplay.route``), so it cannot reach the network.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any, Protocol


class Owner(Protocol):
    def route(self, client: Any, asynchronous: bool) -> Any: ...

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any], asynchronous: bool) -> None: ...

    def adopt(self, client: Any) -> None: ...


_depth = threading.local()
#: The test the SDK is patched for: one at a time in a process.
_owner: Owner | None = None
#: (class, method name) -> (what the class had, our wrapper of it). A wrapper is made
#: once and installed for each test (a test costs eight ``setattr``, not eight new
#: closures); it asks ``_owner`` which test it serves, so it holds none.
_made: dict[tuple[type, str], tuple[Any, Any]] = {}


class SdkPatch:
    def __init__(self) -> None:
        self._undo: list[tuple[type, str, Any]] = []
        self._serving = False

    def start(self, owner: Owner) -> None:
        """Serve the SDK from ``owner`` (the test) until ``stop``."""
        global _owner
        if _owner is not None:
            raise RuntimeError("stream_replay: the SDK is already patched for another test in this process")
        for cls, name, make in _targets():
            original = vars(cls)[name]
            made = _made.get((cls, name))
            if made is None or made[0] is not original:  # first use, or wrapped anew since
                made = (original, make(original))
                _made[cls, name] = made
            setattr(cls, name, made[1])
            self._undo.append((cls, name, original))
        _owner = owner
        self._serving = True

    def stop(self) -> None:
        global _owner
        while self._undo:
            cls, name, original = self._undo.pop()
            setattr(cls, name, original)
        if self._serving:
            _owner = None
            self._serving = False


@functools.cache
def _targets() -> list[tuple[type, str, Callable[[Any], Any]]]:
    """What is patched: the four clients' constructors (those that define one) and the
    SDK's HTTP clients' ``request`` and ``stream``, each with the maker of its wrapper
    (found once: two thirds of what installing the patch cost a test)."""
    from cohere.core import http_client

    from ..sdk import is_async_client, sdk_client

    targets: list[tuple[type, str, Callable[[Any], Any]]] = []
    for name in ("Client", "AsyncClient", "ClientV2", "AsyncClientV2"):  # the SDK's own, whatever cohere.X is now
        client = sdk_client(name)
        if "__init__" in vars(client):
            targets.append((client, "__init__", lambda original: _constructor(original, is_async_client)))
    for http, asynchronous in ((http_client.HttpClient, False), (http_client.AsyncHttpClient, True)):
        for name in ("request", "stream"):
            targets.append((http, name, functools.partial(_routed, asynchronous=asynchronous)))
    return targets


def _constructor(original: Any, is_async: Callable[[type], bool]) -> Any:
    from ..sdk import refuse_other_platform

    @functools.wraps(original)
    def __init__(client: Any, *args: Any, **kwargs: Any) -> None:
        owner = _owner
        depth = getattr(_depth, "value", 0)
        outermost = depth == 0 and owner is not None  # ClientV2.__init__ calls Client.__init__: act once
        _depth.value = depth + 1
        try:
            if outermost:
                assert owner is not None
                refuse_other_platform(type(client))  # Bedrock, SageMaker, OCI: never served by accident
                owner.prepare(args, kwargs, is_async(type(client)))
            original(client, *args, **kwargs)
        finally:
            _depth.value = depth
        if outermost:
            assert owner is not None
            owner.adopt(client)

    return __init__


def _routed(original: Any, asynchronous: bool) -> Any:
    from ..sdk import refuse_platform_transport

    @functools.wraps(original)
    def method(http: Any, *args: Any, **kwargs: Any) -> Any:
        owner = _owner
        if owner is None:  # kept and called after its test: the SDK's own
            return original(http, *args, **kwargs)
        client = http.httpx_client
        refuse_platform_transport(client)  # Bedrock, SageMaker, OCI: never served by accident
        routed = owner.route(client, asynchronous)
        if routed is not client:
            http = copy.copy(http)  # the client itself is left as it was built
            http.httpx_client = routed
        return original(http, *args, **kwargs)

    return method
