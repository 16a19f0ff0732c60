"""The fast path: stream events built directly, without HTTP and the SDK's parser.

The SDK's own parse of an event costs several times what building the concrete
class for the event's ``type`` costs (bench/bench_replay.py measures both), and the
built object is of the same class with an equal ``model_dump()`` (checked over every
event of the real corpus). Only
interactions where that equality is certain take the fast path: a 2xx stream whose
events are all plain JSON of a type the installed SDK knows, ending with nothing
after v2's ``[DONE]``, that neither failed nor was stopped. Everything else
(HTTP errors, raw blocks, unknown types, recorded failures, non-stream calls) goes
through the SDK and the transport as usual, so its behaviour stays the SDK's.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..cassette.model import Stream
from .matching import view
from .pacing import schedule
from .sdk import Api, event_classes
from .transport import ReplayTransport

_NOT_BODY = frozenset({"self", "request_options", "accepts"})

Plan = list[tuple[type, dict[str, Any]]]


def install_fast_path(client: Any, transport: ReplayTransport, api: Api, asynchronous: bool) -> None:
    """Shadow ``client.chat_stream`` with the fast version (same signature, same events)."""
    original = client.chat_stream
    signature = _signature(type(client))  # type: ignore[arg-type]  # classes are hashable
    route = "/v2/chat" if api == "v2" else "/v1/chat"
    url = _base_url(client) + route
    planner = _Planner(transport, api)

    def request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        bound = signature.bind(*args, **kwargs)  # the SDK's own TypeError for bad arguments
        return view("POST", url, _request_body(bound.arguments, signature))

    if asynchronous:

        async def chat_stream_async(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            plan = planner.claim(request_of(args, kwargs))
            if plan is None:
                async for event in original(*args, **kwargs):
                    yield event
                return
            events, due = plan
            started = time.monotonic()
            for index, (cls, data) in enumerate(events):
                if due is not None:
                    wait = started + due[index] - time.monotonic()
                    if wait > 0:
                        import anyio

                        await anyio.sleep(wait)
                yield _build(cls, data)

        _adopt(chat_stream_async, original)
        client.chat_stream = chat_stream_async
    else:

        def chat_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            plan = planner.claim(request_of(args, kwargs))
            if plan is None:
                yield from original(*args, **kwargs)
                return
            events, due = plan
            started = time.monotonic()
            for index, (cls, data) in enumerate(events):
                if due is not None:
                    wait = started + due[index] - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                yield _build(cls, data)

        _adopt(chat_stream, original)
        client.chat_stream = chat_stream


@functools.lru_cache(maxsize=64)
def _signature(cls: type) -> inspect.Signature:
    """``chat_stream``'s parameters without ``self``. The instance attribute is the SDK's
    own wrapper (``(*args, **kwargs)``); the parameters are on the class's method."""
    method_signature = inspect.signature(cls.chat_stream)  # type: ignore[attr-defined]
    return method_signature.replace(parameters=list(method_signature.parameters.values())[1:])


def _adopt(fn: Callable[..., Any], original: Any) -> None:
    fn.__name__ = "chat_stream"
    fn.__qualname__ = "chat_stream"
    fn.__doc__ = getattr(original, "__doc__", None)


def _build(cls: type, data: dict[str, Any]) -> Any:
    try:
        return cls.model_validate(data)  # type: ignore[attr-defined]
    except ValueError:
        # The SDK builds events without validation (construct_type): a real event that
        # lacks a field its model requires still arrives, unchecked. So do we.
        from cohere.core.unchecked_base_model import construct_type

        return construct_type(type_=cls, object_=data)


class _Planner:
    """Picks the interaction like the transport does, and says if it can go fast."""

    def __init__(self, transport: ReplayTransport, api: Api) -> None:
        self.transport = transport
        self.api = api
        self.plans: dict[int, Plan | None] = {}

    def claim(self, request: Any) -> tuple[Plan, list[float] | None] | None:
        transport = self.transport
        with transport._lock:
            index = transport.find(request)
            plan = self._plan(index)
            if plan is None:
                return None  # the SDK path will claim it through the transport
            transport._plays[index] += 1
        stream = transport.cassette.interactions[index].response.stream
        assert stream is not None
        due = schedule(stream, transport.speed)
        return plan, due[: len(plan)] if due is not None else None

    def _plan(self, index: int) -> Plan | None:
        if index not in self.plans:
            self.plans[index] = self._make_plan(index)
        return self.plans[index]

    def _make_plan(self, index: int) -> Plan | None:
        if self.transport.faults:
            return None  # faults act in the transport: the SDK path sees them
        response = self.transport.cassette.interactions[index].response
        stream = response.stream
        if stream is None or not 200 <= response.status < 300 or stream.outcome in ("failed", "stopped"):
            return None
        if (stream.format == "sse") != (self.api == "v2"):
            return None
        return plan_events(stream, self.api)


def plan_events(stream: Stream, api: Api) -> Plan | None:
    """(class, payload) for each event the SDK would yield, or None if unsure."""
    classes = event_classes(api)
    key = "type" if api == "v2" else "event_type"
    plan: Plan = []
    events = stream.events
    for position, event in enumerate(events):
        if event.raw is not None:
            return None
        if event.data is None:  # v2's [DONE]: the SDK stops here
            if position != len(events) - 1:
                return None
            break
        try:
            data = json.loads(event.data)
        except ValueError:
            return None
        kind = data.get(key) if isinstance(data, dict) else None
        cls = classes.get(kind) if isinstance(kind, str) else None
        if cls is None:
            return None
        plan.append((cls, data))
    return plan


def _base_url(client: Any) -> str:
    wrapper = getattr(client, "_client_wrapper", None)
    getter = getattr(wrapper, "get_base_url", None)
    return str(getter()).rstrip("/") if callable(getter) else "https://api.cohere.com"


def _request_body(arguments: dict[str, Any], signature: inspect.Signature) -> dict[str, Any]:
    """The JSON body the SDK sends for these arguments (unset ones left out)."""
    from cohere.core.jsonable_encoder import jsonable_encoder
    from cohere.core.serialization import convert_and_respect_annotation_metadata

    body: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in _NOT_BODY or value is ...:
            continue
        annotation = signature.parameters[name].annotation
        body[name] = convert_and_respect_annotation_metadata(object_=value, annotation=annotation, direction="write")
    body["stream"] = True
    options = arguments.get("request_options") or {}
    extra = options.get("additional_body_parameters") if isinstance(options, dict) else None
    if extra:
        body.update(extra)
    return jsonable_encoder(body)  # type: ignore[no-any-return]
