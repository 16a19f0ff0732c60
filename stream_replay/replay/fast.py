"""The fast path: stream events built directly, without HTTP and the SDK's parser.

The SDK's own parse of an event costs several times what building the concrete
class for the event's ``type`` costs (bench/bench_replay.py measures both), and the
built object is of the same class with an equal ``model_dump()`` (checked over every
event of the real corpus). Only interactions where that equality is certain take
the fast path: a 2xx stream whose events are all plain JSON of a type the installed
SDK knows, ending with nothing after v2's ``[DONE]``, that neither failed nor was
stopped, and whose every event is built as the SDK builds it. An event the SDK's model
refuses is handled the SDK's own way: cohere 7's v2 parse logs a warning and skips
it, its v1 parse and 5.x build it unchecked. Where the SDK method builds unchecked,
so does the fast path (``_builds_unchecked``); elsewhere such an event is known only
by building it, so the first replay of an interaction builds all its events before
taking it, and leaves an interaction holding one to the SDK path. Everything else
(HTTP errors, raw blocks, unknown types, recorded failures, non-stream calls,
injected faults) goes through the SDK and the transport as usual, so its behaviour
stays the SDK's.

It covers both streaming methods of every client: ``chat_stream`` (v1 or v2 chat) and
``generate_stream`` (``/v1/generate``, on ``Client`` and, by inheritance, ``ClientV2``),
each built from its own union (``sdk.event_classes``), and a v1 client's v2 sub-client's
``chat_stream`` (``cohere.Client(...).v2.chat_stream``, as langchain-cohere streams).

**Nothing that wraps the SDK is bypassed.** The fast path replaces only the method
in which the SDK sends the request and parses the answer, on the client's own
objects, never on a class:

- cohere 7.x: the public ``chat_stream`` (``generate_stream``) hands its arguments to
  its raw client's method of the same name, which sends and parses. The fast path
  takes the raw client's place, so the public method, and whatever wraps it at class
  level (OpenTelemetry and Sentry integrations, ``wrapt``, ``unittest.mock.patch.object``,
  a user's own replacement), runs on every call, and gets the SDK's own ``HttpResponse``,
  holding the recorded response as the SDK path's holds it (``with_raw_response``):
  streamed and not yet read, its body the recorded one, closed when the call ends.
- cohere 5.x: the public method sends and parses itself. The fast path takes its
  place on the client instance only when the method the class gives is the SDK's own
  function; when anything has wrapped or replaced it, the fast path steps aside for
  that method of that client (``install_fast_path`` says why), and the wrapper sees
  every call through the SDK path.

Nor is anything that watches the HTTP layer: the fast path sends no request, so where
httpx's ``send``, the client's event hooks or its transport's handler would see the SDK
path's request (``_http_observed``), it steps aside for that client.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
import json
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import chain, repeat, starmap
from typing import Any, NamedTuple

from ..cassette.eventblock import EventBlock
from ..cassette.model import Cassette, Stream
from ..sdk import STREAM_METHODS, StreamKind, client_api, defined_in, event_classes, is_async_client
from ..wire.events import TYPE_KEYS
from ..wire.jsontext import loads as loads_json
from .handover import HANDLERS, handler_wrapper
from .matching import RequestView, view
from .pacing import apaced, paced, schedule
from .player import Player
from .responses import Responder

_NOT_BODY = frozenset({"self", "request_options", "accepts"})


class Plan(NamedTuple):
    """The events the SDK would yield: each one's class and JSON text, in two columns
    (a plan lives as long as its test, and 2 lists cost the garbage collector what a
    pair per event would not)."""

    classes: list[type]
    texts: list[str]


#: What answers a fast call, asked at each call: the player (None: let the SDK path
#: answer) and the responder.
Source = Callable[[], "tuple[Player | None, Responder]"]


def install_fast_path(client: Any, player: Player, responder: Responder, *, source: Source | None = None) -> str | None:
    """Give ``client`` the fast path for ``chat_stream`` and ``generate_stream``, answered
    by ``player`` (or, when ``source`` is given, by whichever player it names at each call:
    the pytest plugin's ``use_cassette`` changes it between calls of one client).

    Returns None when it is installed (or not wanted: with faults, every call goes
    through the transport, where faults act), or the reason the fast path steps aside:
    for a method of this client, the SDK method it would replace is wrapped or replaced
    (both reasons, joined by "; ", when both methods are); for the whole client, its
    HTTP request is observed (``_http_observed``).
    """
    if responder.faults:
        return None
    observed = _http_observed(client)
    if observed is not None:
        return observed
    answering: Source = source if source is not None else lambda: (player, responder)
    reasons = []
    for target, name, kind in _streaming_methods(client):
        reason = _install(client, target, name, kind, answering)
        if reason is not None:
            reasons.append(reason)
    return "; ".join(reasons) or None


def _streaming_methods(client: Any) -> Iterator[tuple[Any, str, StreamKind]]:
    """(the object whose method it is, the method's name, its API) for each streaming
    method a call on ``client`` can reach: the client's ``chat_stream`` and
    ``generate_stream``, and a v1 client's ``client.v2.chat_stream``, its v2 sub-client's
    (langchain-cohere streams through it). cohere 5.x builds that sub-client in the
    client's constructor; 7.x at its first use, through the ``v2`` property, which is
    asked here, when the client is built (the SDK's own getter: the same object the
    first use would make)."""
    cls = type(client)
    api = client_api(cls)
    methods: tuple[tuple[str, StreamKind], ...] = (("chat_stream", api), ("generate_stream", "generate"))
    for name, kind in methods:
        if hasattr(cls, name):
            yield client, name, kind
    if api != "v1":
        return
    held = vars(client).get("v2")
    if held is None:
        getter = getattr(inspect.getattr_static(client, "v2", None), "fget", None)
        if type(getter) is types.FunctionType and defined_in("cohere", getter):
            try:
                held = getter(client)
            except Exception:  # its first use will fail as the SDK fails; building the client does not
                held = None
    if held is not None and hasattr(type(held), "chat_stream"):
        yield held, "chat_stream", "v2"


def _install(client: Any, target: Any, name: str, kind: StreamKind, source: Source) -> str | None:
    """Give ``target``'s method ``name`` the fast path; ``target`` is ``client`` or one of
    its sub-clients (``_streaming_methods``)."""
    cls = type(client)
    raw = getattr(target, "_raw_client", None)
    if raw is not None and hasattr(raw, name):  # 7.x: the raw client sends and parses
        original = getattr(raw, name)
        own = _sdk_function(original)
        if own is None:
            return _stepped_aside(cls, type(getattr(original, "__self__", raw)), name, original)
        setattr(raw, name, _fast(original, own, client, kind, source, raw=True))
        return None
    # 5.x: the public method sends and parses. The SDK's constructor may have put its own
    # per-instance decorator (experimental-feature warnings) in front of it, holding
    # the bound method: the fast method takes the bound method's seat, and the SDK's
    # decorator stays in front of it.
    held_by = type(target)
    method = getattr(held_by, name)
    original = method.__get__(target, held_by) if hasattr(method, "__get__") else method
    own = _sdk_function(original)
    if own is None:
        return _stepped_aside(cls, _holder(held_by, name), name, original)
    seat = _seat(target, name, original)
    if seat is None:
        return _stepped_aside(cls, held_by, name, vars(target)[name])
    seat(_fast(original, own, client, kind, source, raw=False))
    return None


def _fast(
    original: Any, own: types.FunctionType, client: Any, kind: StreamKind, source: Source, *, raw: bool
) -> Callable[..., Any]:
    """The fast method taking ``original``'s place; ``own`` is the SDK's function under it,
    ``client`` the client it serves (its base URL, sync or async)."""
    planner = _Planner(source, kind, _base_url(client) + STREAM_METHODS[kind][2], _builds_unchecked(own))
    asynchronous = is_async_client(type(client))
    make = _MAKERS[raw, asynchronous]
    fast = make(original, _parameters(original.__func__), planner)
    functools.update_wrapper(fast, original)
    return fast


def _seat(client: Any, name: str, original: Any) -> Callable[[Any], None] | None:
    """Where the public method ``name`` can be replaced on this client alone: the
    instance attribute, or the cell of the SDK's own per-instance decorator that holds
    the bound method. None when something else sits there."""
    own = vars(client).get(name)
    if own is None:
        return lambda fast: setattr(client, name, fast)
    if not defined_in("cohere", own):
        return None
    for cell in own.__closure__ or ():
        held = cell.cell_contents
        if type(held) is types.MethodType and held.__self__ is client and held.__func__ is original.__func__:
            return lambda fast: setattr(cell, "cell_contents", fast)
    return None


def _http_observed(client: Any) -> str | None:
    """Why the HTTP request the SDK path would send for ``client`` is observed, or None.

    The fast path sends no request, so whatever watches the HTTP layer would see the
    SDK path's calls and miss the fast path's: httpx's ``send`` wrapped or replaced,
    on the class or the instance (Sentry's and Datadog's httpx integrations replace
    ``httpx.Client.send`` and ``AsyncClient.send``), event hooks on the client's httpx
    client, httpx's ``HTTPTransport`` request handler wrapped on the class (OpenTelemetry's
    ``HTTPXClientInstrumentor().instrument()``: the SDK path hands its replayed answers
    through it, ``handover``), or a request handler of its transports wrapped
    (OpenTelemetry's ``instrument_client`` wraps the transport's ``handle_request`` on the
    instance), or an auth on its httpx client (user code that runs for every request: a
    token refresh).
    Read when the client is built, like the SDK methods' wrappers.
    """
    import httpx

    asynchronous = is_async_client(type(client))
    base: type = httpx.AsyncClient if asynchronous else httpx.Client
    wrapper = getattr(client, "_client_wrapper", None)
    http = getattr(getattr(wrapper, "httpx_client", None), "httpx_client", None)
    cls = type(http) if isinstance(http, base) else base
    own = getattr(http, "__dict__", {})
    send = own["send"] if "send" in own else getattr(cls, "send", None)
    if "send" in own or not defined_in("httpx", send):
        where = f"{cls.__module__}.{cls.__qualname__}.send"
        return _http_stepped_aside(client, f"{where} is wrapped or replaced ({_describe(send)})")
    hooks = getattr(http, "event_hooks", None)
    hooked = [kind for kind, found in hooks.items() if found] if isinstance(hooks, dict) else []
    if hooked:
        return _http_stepped_aside(client, f"its httpx client has {' and '.join(hooked)} event hooks")
    auth = getattr(http, "auth", None)
    if auth is not None:
        kind = type(auth)
        return _http_stepped_aside(client, f"its httpx client has an auth ({kind.__module__}.{kind.__qualname__})")
    network, handler = HANDLERS[asynchronous]
    wrapper = handler_wrapper(asynchronous)
    if wrapper is not None:  # replayed answers go through it on the SDK path (``handover``)
        return _http_stepped_aside(client, f"httpx.{network.__qualname__}.{handler} is wrapped ({_describe(wrapper)})")
    mounts = getattr(http, "_mounts", None)
    for transport in [getattr(http, "_transport", None), *(mounts.values() if isinstance(mounts, dict) else ())]:
        if transport is None:
            continue
        kind = type(transport)
        on_class = getattr(kind, handler, None)
        if handler in getattr(transport, "__dict__", {}) or type(on_class) is not types.FunctionType:
            method = getattr(transport, handler, None)
            return _http_stepped_aside(
                client, f"the {handler} of its {kind.__module__}.{kind.__qualname__} is wrapped ({_describe(method)})"
            )
    return None


def _http_stepped_aside(client: Any, why: str) -> str:
    return (
        f"{why}, and the fast path sends no HTTP request: the fast path stepped aside for "
        f"{type(client).__qualname__} clients, whose calls went through the SDK and httpx"
    )


def _stepped_aside(cls: type, owner: type, name: str, method: Any) -> str:
    return (
        f"{owner.__module__}.{owner.__qualname__}.{name} is wrapped or replaced "
        f"({_describe(method)}), and it is where this cohere version parses the stream: "
        f"the fast path stepped aside for {cls.__qualname__} clients, whose calls went through the SDK"
    )


# ------------------------------------------------------------------ the SDK's own?


def _nothing() -> Iterator[None]:
    yield None


async def _anothing() -> AsyncIterator[None]:
    yield None


#: The code of ``contextlib``'s decorators' wrappers: the SDK's raw stream methods are.
_CONTEXTLIB_HELPERS = frozenset(
    {contextlib.contextmanager(_nothing).__code__, contextlib.asynccontextmanager(_anothing).__code__}
)


def _sdk_function(method: Any) -> types.FunctionType | None:
    """The function defined in the installed cohere package that ``method`` is a bound
    method of (possibly through ``contextlib``'s context-manager decorators); None when
    anything else wraps or replaces it."""
    if type(method) is not types.MethodType:  # wrapt's bound wrappers pass isinstance checks
        return None
    fn: Any = method.__func__
    for _ in range(3):
        if type(fn) is not types.FunctionType:
            return None
        if defined_in("cohere", fn):
            return fn
        if fn.__code__ not in _CONTEXTLIB_HELPERS:
            return None
        fn = getattr(fn, "__wrapped__", None)
    return None


def _holder(cls: type, name: str) -> type:
    """The class along ``cls``'s MRO that holds ``name`` itself: where a wrapper of an
    inherited method was put (OpenInference's wraps ``V2Client.chat_stream``, which
    ``ClientV2`` inherits)."""
    return next((owner for owner in cls.__mro__ if name in vars(owner)), cls)


def _describe(method: Any) -> str:
    """Who wrapped or replaced a method, from the code that runs: a replacement made with
    ``functools.wraps`` (Sentry's) carries the name and module of what it replaced; a
    ``wrapt`` wrapper is named with the tracer's code it calls."""
    try:
        wrapper = getattr(method, "_self_wrapper", None) if hasattr(type(method), "_self_wrapper") else None
    except Exception:  # a note's detail never fails the client's construction
        wrapper = None
    calling = f" calling {_code_of(wrapper)}" if wrapper is not None else ""
    return f"by {_code_of(method)}{calling}"


def _code_of(obj: Any) -> str:
    """A function's module and qualified name; for any other callable, its class's."""
    fn = obj.__func__ if type(obj) is types.MethodType else obj
    while isinstance(fn, functools.partial):  # OpenTelemetry's wrappers are partials of its functions
        fn = fn.func
    if type(fn) is types.FunctionType:
        code = fn.__code__
        return f"{fn.__globals__.get('__name__', '?')}.{getattr(code, 'co_qualname', code.co_name)}"
    return f"a {type(fn).__module__}.{type(fn).__qualname__}"


class _Parameters(NamedTuple):
    """A method's parameters without ``self``: its signature (the SDK's own TypeError for
    bad arguments), and what ``arguments`` needs to bind keyword arguments without it."""

    signature: inspect.Signature
    names: tuple[str, ...]
    known: frozenset[str]
    required: frozenset[str]
    #: Every parameter can be given by keyword; none is ``*args`` or ``**kwargs``.
    keywords: bool

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """``signature.bind(*args, **kwargs).arguments``. Keyword arguments alone, all
        known and none missing (how the SDK's public method calls its raw client's), are
        taken as they are, in the parameters' order: ``bind`` would cost a fast call a
        Python step per parameter (about 30) to say the same."""
        if not args and self.keywords and self.required <= kwargs.keys() <= self.known:
            return {name: kwargs[name] for name in self.names if name in kwargs}
        return self.signature.bind(*args, **kwargs).arguments


@functools.lru_cache(maxsize=64)
def _parameters(fn: Callable[..., Any]) -> _Parameters:
    """``fn``'s parameters, read once per function (every client of a run asks)."""
    signature = inspect.signature(fn)
    signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    parameters = signature.parameters.values()
    return _Parameters(
        signature,
        tuple(signature.parameters),
        frozenset(signature.parameters),
        frozenset(p.name for p in parameters if p.default is p.empty),
        all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in parameters),
    )


# --------------------------------------------------------------------- planning


class _Planned(NamedTuple):
    plan: Plan
    due: list[float] | None
    started: float
    #: The first replay's events, built when the plan was made (a repeat builds each
    #: from its text as it is due); or None.
    built: list[Any] | None
    #: What gives the recorded response (``http_response``): the responder, the
    #: cassette and the interaction's position in it.
    responder: Responder
    cassette: Cassette
    position: int


#: An interaction's plan, and its events built with it until its first replay takes them.
_Plans = dict[int, "tuple[Plan, list[Any] | None] | None"]


class _Planner:
    """Asks the player which interaction answers, and takes it only when it can go fast."""

    def __init__(self, source: Source, api: StreamKind, url: str, unchecked: bool) -> None:
        self.source = source
        self.api = api
        self.url = url
        #: Whether the SDK method builds events unchecked where its model refuses them.
        self.unchecked = unchecked
        #: Where each player keeps this kind of method's plans (``Player.derived``): each
        #: interaction's plan, None: not fast.
        self.key = ("fast path plans", api, unchecked)

    def request(self, parameters: _Parameters, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RequestView:
        return view("POST", self.url, _request_body(parameters.arguments(args, kwargs), parameters.signature))

    def claim(self, request: RequestView) -> _Planned | None:
        """The plan of the interaction that answers ``request``, marked played; None
        (nothing marked: the SDK path will play it) when it cannot go fast. Raises
        ``NoMatchError`` as the transport does."""
        started = time.monotonic()
        player, responder = self.source()
        if player is None or responder.faults:  # faults act in the transport
            return None
        plans: _Plans = player.derived.setdefault(self.key, {})
        index = player.play_if(request, lambda i: self._plannable(player, plans, i))
        if index is None:
            return None
        planned = plans[index]
        assert planned is not None
        plan, built = planned
        plans[index] = (plan, None)
        stream = player.cassette.interactions[index].response.stream
        assert stream is not None
        due = schedule(stream, responder.speed)
        due = due[: len(plan.texts)] if due is not None else None
        return _Planned(plan, due, started, built, responder, player.cassette, index)

    def _plannable(self, player: Player, plans: _Plans, index: int) -> bool:
        if index not in plans:
            plans[index] = self._make_plan(player, index)
        return plans[index] is not None

    def _make_plan(self, player: Player, index: int) -> tuple[Plan, list[Any] | None] | None:
        response = player.cassette.interactions[index].response
        stream = response.stream
        if stream is None or not 200 <= response.status < 300 or stream.outcome in ("failed", "stopped"):
            return None
        if (stream.format == "sse") != (self.api == "v2"):
            return None
        events = stream.events
        builder = _Builder(self.api, self.unchecked)
        if isinstance(events, EventBlock) and events.materialize_each(builder):
            # The block's check gave it every payload: the plan's classes are what it built.
            plan = builder.plan()
            return (plan, builder.built) if plan is not None else None
        # The events were made before (or a line needed a closer look).
        plan = plan_events(stream, self.api)
        if plan is None:
            return None
        builder = _Builder(self.api, self.unchecked)
        for text in plan.texts:
            builder(text, loads_json(text))
        built = builder.events(plan)
        return (plan, built) if built is not None else None

    def http_response(self, planned: _Planned, *, asynchronous: bool) -> Any:
        """The recorded response as the SDK path's ``HttpResponse`` holds it: streamed, not
        read (its ``read()`` gives the recorded body), closed when the call's context ends
        (``_closing``)."""
        import httpx

        request = httpx.Request("POST", _parsed_url(self.url))
        return planned.responder.streamed(
            planned.cassette, planned.position, request, planned.started, asynchronous=asynchronous
        )


def _closing(response: Any, started: float) -> None:
    """What the SDK's ``httpx`` stream does to its response when the call's context ends:
    the time it took, and closed."""
    response.elapsed = datetime.timedelta(seconds=time.monotonic() - started)
    response.close()


async def _aclosing(response: Any, started: float) -> None:
    response.elapsed = datetime.timedelta(seconds=time.monotonic() - started)
    await response.aclose()


@functools.lru_cache(maxsize=16)
def _parsed_url(url: str) -> Any:
    """``httpx.URL(url)``, parsed once per URL (a URL is immutable; parsing is most of
    what building the SDK's request object costs)."""
    import httpx

    return httpx.URL(url)


def plan_events(stream: Stream, api: StreamKind) -> Plan | None:
    """(class, JSON text) for each event the SDK would yield, or None if unsure.

    A cassette's events block says, once built, whether every payload's type field is
    its line's name (``EventBlock.typed``): then the name gives the class without a
    parse. A plan holds no parsed payloads: the first replay's events are built as the
    block's check parses them (``_Builder``), a repeat parses each text again.
    """
    classes = event_classes(api)
    key = TYPE_KEYS[api]
    events = stream.events
    typed = isinstance(events, EventBlock) and events.typed
    plan = Plan([], [])
    for position, event in enumerate(events):
        if event.raw is not None:
            return None
        if event.data is None:  # v2's [DONE]: the SDK stops here
            if position != len(events) - 1:
                return None
            break
        if typed:
            kind: Any = event.name
        else:
            try:
                data = loads_json(event.data)
            except ValueError:
                return None
            kind = data.get(key) if isinstance(data, dict) else None
        cls = classes.get(kind) if isinstance(kind, str) else None
        if cls is None:
            return None
        plan.classes.append(cls)
        plan.texts.append(event.data)
    return plan


class _Builder:
    """Builds each event as the events block's check parses its payload
    (``EventBlock.materialize_each``), so that no payload is parsed twice and the
    payloads are never all alive at once (with the events, they would cost the
    garbage collector a collection per replay), and makes the plan as it goes: the
    block's events are then never made. Its class is the one the payload's type field
    names, as the SDK picks it; any failure stops the building, and the SDK path plays
    the interaction; so does an event after v2's ``[DONE]`` (what the SDK does with it
    depends on its version). When the block was checked before, it is fed each planned
    text and its parse instead."""

    def __init__(self, api: StreamKind, unchecked: bool) -> None:
        self.classes = event_classes(api)
        self.key = TYPE_KEYS[api]
        self.unchecked = unchecked
        self.built: list[Any] | None = []
        self.texts: list[str] = []
        self._done = False

    def __call__(self, text: str | None, payload: Any) -> None:
        built = self.built
        if built is None:  # failed before
            return
        if text is None or self._done:  # v2's [DONE]
            if self._done:  # an event after it: cohere 7 stops at [DONE], 5.x reads on
                self.built = None
            self._done = True
            return
        try:
            built.append(_build(self.classes[payload[self.key]], text, self.unchecked, payload))
        except Exception:  # any failure (an unknown type, the model's refusal): not fast
            self.built = None
            return
        self.texts.append(text)

    def plan(self) -> Plan | None:
        """The plan of what it was given, or None when that cannot go fast. Each event's
        class is the one it was built as: the class its type field named (``_build``
        builds ``cls`` itself, validated or not)."""
        built = self.built
        return Plan(list(map(type, built)), self.texts) if built is not None else None

    def events(self, plan: Plan) -> list[Any] | None:
        """The events built, when they are the plan's, class by class; else None."""
        built = self.built
        return built if built is not None and list(map(type, built)) == plan.classes else None


def _events(planned: _Planned, unchecked: bool, response: Any = None) -> Iterator[Any]:
    """The planned events, each handed over once it is due. With the ``response`` they
    come in (7.x's ``HttpResponse``), it is marked consumed when the first is asked for,
    as httpx marks the SDK path's once the SDK's parse starts reading it (its ``read()``
    then raises ``StreamConsumed``)."""
    events = paced(_unpaced(planned, unchecked), planned.due, planned.started)
    return events if response is None else chain(_consumed(response), events)


def _consumed(response: Any) -> Iterator[Any]:
    response.is_stream_consumed = True
    yield from ()


async def _aevents(planned: _Planned, unchecked: bool, response: Any = None) -> AsyncIterator[Any]:
    if response is not None:
        response.is_stream_consumed = True
    async for event in apaced(_unpaced(planned, unchecked), planned.due, planned.started):
        yield event


def _unpaced(planned: _Planned, unchecked: bool) -> Iterator[Any]:
    """The events of the first replay, built with its plan, each handed over once: popped
    from the end of their list, reversed, so that it lets go of each as it goes (a
    consumer that drops each event keeps none of them alive); a repeat's, each built
    from its text when it is asked for."""
    classes, texts = planned.plan
    built = planned.built
    if built is None:
        return map(_build, classes, texts, repeat(unchecked))
    built.reverse()
    return starmap(built.pop, repeat((), len(built)))


def _build(cls: type, text: str, unchecked: bool, parsed: Any = None) -> Any:
    """The event ``cls`` builds from ``text`` (or from ``parsed``, its parse) as the SDK
    does: validated; where the model refuses it, built unchecked if the SDK method does
    that (``_builds_unchecked``), else the model's error is raised."""
    try:
        return cls.model_validate(parsed if parsed is not None else loads_json(text))  # type: ignore[attr-defined]
    except ValueError:
        if not unchecked:
            raise
        from cohere.core.unchecked_base_model import construct_type

        return construct_type(type_=cls, object_=json.loads(text))


def _builds_unchecked(own: types.FunctionType) -> bool:
    """Whether the SDK's function (``_sdk_function``) builds each event without validating
    it (``construct_type``, as cohere 5.x does, and 7.x for v1 and generate streams) rather
    than with its validating parse (``parse_sse_obj``: 7.x's v2 chat, which logs and skips
    what its model refuses). Read from the names its code (and the code inside it) calls;
    when neither or both appear, False: the fast path then leaves any event the model
    refuses to the SDK. (Read once per function: every client of a run asks.)"""
    return _calls_construct_type(own.__code__)


@functools.lru_cache(maxsize=64)
def _calls_construct_type(code: types.CodeType) -> bool:
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    return "construct_type" in names and "parse_sse_obj" not in names


# ------------------------------------------------------- the replacement methods


def _raw_sync(original: Any, parameters: _Parameters, planner: _Planner) -> Callable[..., Any]:
    """cohere 7.x: the raw client's ``chat_stream`` or ``generate_stream``, a context manager
    giving the SDK's ``HttpResponse`` whose ``data`` are the events."""
    from cohere.core.http_response import HttpResponse

    @contextlib.contextmanager
    def fast_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
        planned = planner.claim(planner.request(parameters, args, kwargs))
        if planned is None:
            with original(*args, **kwargs) as response:
                yield response
            return
        response = planner.http_response(planned, asynchronous=False)
        try:
            yield HttpResponse(response=response, data=_events(planned, planner.unchecked, response))
        finally:
            _closing(response, planned.started)

    return fast_stream


def _raw_async(original: Any, parameters: _Parameters, planner: _Planner) -> Callable[..., Any]:
    from cohere.core.http_response import AsyncHttpResponse

    @contextlib.asynccontextmanager
    async def fast_stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        planned = planner.claim(planner.request(parameters, args, kwargs))
        if planned is None:
            async with original(*args, **kwargs) as response:
                yield response
            return
        response = planner.http_response(planned, asynchronous=True)
        try:
            yield AsyncHttpResponse(response=response, data=_aevents(planned, planner.unchecked, response))
        finally:
            await _aclosing(response, planned.started)

    return fast_stream


def _public_sync(original: Any, parameters: _Parameters, planner: _Planner) -> Callable[..., Any]:
    """cohere 5.x: the client's own ``chat_stream`` or ``generate_stream``, a generator of events."""

    def fast_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
        planned = planner.claim(planner.request(parameters, args, kwargs))
        if planned is None:
            yield from original(*args, **kwargs)
            return
        yield from _events(planned, planner.unchecked)

    return fast_stream


def _public_async(original: Any, parameters: _Parameters, planner: _Planner) -> Callable[..., Any]:
    async def fast_stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        planned = planner.claim(planner.request(parameters, args, kwargs))
        if planned is None:
            async for event in original(*args, **kwargs):
                yield event
            return
        async for event in _aevents(planned, planner.unchecked):
            yield event

    return fast_stream


#: (raw client's method?, async?) -> the replacement's maker.
_MAKERS = {
    (True, False): _raw_sync,
    (True, True): _raw_async,
    (False, False): _public_sync,
    (False, True): _public_async,
}


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
