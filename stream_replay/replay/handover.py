"""A replayed answer handed to httpx through its own ``HTTPTransport``, when something
wraps that transport's request handler.

In production every request the SDK sends reaches the network through httpx's
``HTTPTransport.handle_request`` (``AsyncHTTPTransport.handle_async_request``), and
tracers wrap it there: OpenTelemetry's httpx instrumentation (``HTTPXClientInstrumentor
().instrument()``, and so ``opentelemetry-instrument`` and Logfire's ``instrument_httpx``)
records a client span per request and puts a ``traceparent`` header on it. A replay
answers from its own transport, so that handler would never run, and the span would
never be there. While the handler is wrapped on the class, a replayed answer is
handed over through it instead: an ``HTTPTransport`` whose connection pool gives the
replay's answer. The wrapper runs as in production, with the request and with the
answer's status and headers (or the error a fault raises); httpx's own handler turns the
answer into its response, and its errors into httpx's. Nothing reaches the network:
the transport has no other pool, and opens nothing.

That pool is httpx's private ``_pool`` (which httpx 0.28's handlers read), so where the
httpx function found under the wrapper (through ``__wrapped__``) does not read it, the
answer is given as before, without the handler. Where nothing wraps the handler, the
cost is one look at the class.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx

from ..sdk import defined_in

Respond = Callable[[], httpx.Response]

#: The transport class and the name of its request handler, sync and async.
HANDLERS: dict[bool, tuple[type, str]] = {
    False: (httpx.HTTPTransport, "handle_request"),
    True: (httpx.AsyncHTTPTransport, "handle_async_request"),
}


def handler_wrapper(asynchronous: bool) -> Any | None:
    """What wraps or replaces httpx's own request handler of ``HTTPTransport`` (or
    ``AsyncHTTPTransport``) on the class, when a replayed answer is to be handed over
    through it; None when the handler is httpx's own, or when the httpx function under the
    wrapper does not read the pool the handover gives it."""
    cls, name = HANDLERS[asynchronous]
    handler = vars(cls).get(name)
    if handler is None or defined_in("httpx", handler):
        return None
    try:
        own = inspect.unwrap(handler)
    except ValueError:  # a cycle of __wrapped__
        return None
    if defined_in("httpx", own) and "_pool" not in own.__code__.co_names:
        return None
    return handler


def handed_over(request: httpx.Request, respond: Respond) -> httpx.Response:
    """``respond()``'s answer to ``request``, through ``HTTPTransport.handle_request`` where
    it is wrapped (``handler_wrapper``), else as it is."""
    if handler_wrapper(False) is None:
        return respond()
    # Made without __init__: no pool but the answer's, no TLS context.
    transport = httpx.HTTPTransport.__new__(httpx.HTTPTransport)
    transport._pool = _Pool(respond)  # type: ignore[assignment]
    return transport.handle_request(request)


async def ahanded_over(request: httpx.Request, respond: Respond) -> httpx.Response:
    """``respond()``'s answer to ``request``, through ``AsyncHTTPTransport.handle_async_request``
    where it is wrapped, else as it is."""
    if handler_wrapper(True) is None:
        return respond()
    transport = httpx.AsyncHTTPTransport.__new__(httpx.AsyncHTTPTransport)
    transport._pool = _Pool(respond)  # type: ignore[assignment]
    return await transport.handle_async_request(request)


class _Pool:
    """What ``HTTPTransport`` asks for its answer: the replay's, as httpcore's response
    (its status, headers, extensions and the very stream the replay paces)."""

    def __init__(self, respond: Respond) -> None:
        self._respond = respond

    def handle_request(self, request: Any) -> Any:
        return _core_response(self._respond())

    async def handle_async_request(self, request: Any) -> Any:
        return _core_response(self._respond())


def _core_response(response: httpx.Response) -> Any:
    import httpcore

    return httpcore.Response(
        response.status_code,
        headers=response.headers.raw,
        content=response.stream,
        extensions=response.extensions,
    )
