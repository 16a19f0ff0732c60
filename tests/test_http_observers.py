"""Whatever watches the HTTP layer under the SDK sees every call on every replay path.

The fast path sends no HTTP request: it builds the events the SDK would parse. So
anything that observes the SDK's requests in httpx would see the SDK path's calls and
miss the fast path's. Tracers do observe there: Sentry's and Datadog's httpx
integrations replace ``httpx.Client.send`` and ``AsyncClient.send`` on the class
(Sentry's makes an ``http.client`` span per request); OpenTelemetry's
``instrument_client`` wraps a client's transport on the instance; an application may
give its httpx client event hooks, or an auth (code that runs for every request). Where
any of them is in place when a client is built, the fast path steps aside for that
client (and says why once), so the calls go through the SDK and httpx, and the observer
sees them.

This module proves it with:

- a class-level ``wrapt`` wrapper of ``httpx.Client.send`` / ``AsyncClient.send``, on the
  four client classes, through ``replay_client``: one call per ``chat_stream`` call with
  ``fast=True`` as with ``fast=False``, the same events, no event built by the fast path;
- a transport whose request handler is wrapped on the instance, event hooks on the
  httpx client, and an auth on it, for a client built by hand over a ``ReplayTransport``;
- the real Sentry SDK (``sentry-sdk`` 2.75.0, MIT, default integrations: its httpx and
  Cohere integrations among them), in a subprocess of its own because its patches last
  for the process: the same spans on both paths, on the four classes, through
  ``replay_client`` and through the pytest plugin (a ``fast=True`` suite whose conftest
  initialises Sentry, as an application's does).

And that what wraps httpx's own transport sees every replayed request too: the SDK path
hands its replayed answers through ``HTTPTransport.handle_request`` where that is wrapped
on the class (``stream_replay.replay.handover``), and the fast path steps aside. Proved with
OpenTelemetry's httpx instrumentation (``opentelemetry-instrumentation-httpx`` 0.66b2,
Apache-2.0, instrumented globally): each replayed call's span is the one a call over real
HTTP to a loopback server gets (with the stable HTTP conventions too), an injected 503's
the live 503's, a recording makes one span per request, a paced replay keeps its pace;
and with a plain monkeypatch of the handler, and through the plugin.

And that nothing is given up where nothing watches: without an observer the fast path
is used (every event built by it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest

from stream_replay import faults as F
from stream_replay import load_cassette, record_client, replay_client
from stream_replay.cassette.model import DEFAULT_EVENT_GAP
from stream_replay.replay import client as replay_client_module
from stream_replay.replay import handover
from stream_replay.replay.fast import install_fast_path
from stream_replay.replay.transport import ReplayTransport
from tests.support import sentry
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import place, write_project
from tests.support.wire_server import Reply, WireServer
from tests.test_instrumentation import (
    CLASSES,
    STEPPED_ASIDE,
    api_of,
    dumps,
    fast_path_warnings,
    instrumented,
    is_async,
    span_record,
    spy_on_build,
    stream,
)


@pytest.fixture(autouse=True)
def once_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The once-per-process fast-path warning is said anew in each test."""
    monkeypatch.setattr(replay_client_module, "_said", set())


@contextlib.contextmanager
def restored_send() -> Iterator[None]:
    before = {cls: vars(cls)["send"] for cls in (httpx.Client, httpx.AsyncClient)}
    try:
        yield
    finally:
        for cls, send in before.items():
            cls.send = send  # type: ignore[method-assign]


def cassette_for(cls: type) -> Path:
    return CASSETTES / f"{api_of(cls)}_text.yaml"


# --------------------------------------------------- httpx's send, wrapped on the class


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast"])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_a_class_level_wrapper_of_httpx_send_sees_every_call_on_both_paths(
    cls: type, fast: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wrapt = pytest.importorskip("wrapt", reason="wrapt is a test requirement (pyproject's test extra)")
    cassette = load_cassette(cassette_for(cls))
    kwargs = chat_kwargs(cassette)
    expected = dumps(stream(replay_client(cassette, cls), kwargs))  # nothing wrapped yet
    built = spy_on_build(monkeypatch)
    sent: list[str] = []

    def watch(wrapped: Callable[..., Any], instance: Any, args: Any, call_kwargs: dict[str, Any]) -> Any:
        request = args[0] if args else call_kwargs["request"]
        sent.append(f"{request.method} {request.url.path}")
        return wrapped(*args, **call_kwargs)

    with restored_send():
        wrapt.wrap_function_wrapper(httpx, "AsyncClient.send" if is_async(cls) else "Client.send", watch)
        with caplog.at_level(logging.WARNING, logger="stream_replay"):
            clients: list[Any] = [replay_client(cassette, cls, fast=fast) for _ in range(2)]
        consumed = [stream(client, kwargs) for client in clients]

    path = "/v2/chat" if api_of(cls) == "v2" else "/v1/chat"
    assert sent == [f"POST {path}"] * 2  # one request per call, seen on both paths
    assert all(dumps(events) == expected for events in consumed)
    assert built == []  # the fast path built nothing: it stepped aside
    warnings = fast_path_warnings(caplog)
    if fast:  # said once for both clients, naming what it saw
        base = "httpx.AsyncClient" if is_async(cls) else "httpx.Client"
        assert len(warnings) == 1
        assert warnings[0].startswith(f"stream_replay: {base}.send is wrapped or replaced (by a ")
        assert f"{STEPPED_ASIDE} for {cls.__qualname__} clients" in warnings[0]
    else:
        assert warnings == []


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_with_nothing_watching_the_fast_path_is_used(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check does not step aside for nothing: the control of the tests above."""
    cassette = load_cassette(cassette_for(cls))
    built = spy_on_build(monkeypatch)
    events = stream(replay_client(cassette, cls, fast=True), chat_kwargs(cassette))
    assert len(built) == len(events) > 0


# ------------------------------------------- a client built by hand: transport and hooks


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_a_transport_wrapped_on_the_instance_sees_every_call(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    wrapt = pytest.importorskip("wrapt", reason="wrapt is a test requirement (pyproject's test extra)")
    cassette = load_cassette(cassette_for(cls))
    transport = ReplayTransport(cassette)
    handled: list[str] = []

    def watch(wrapped: Callable[..., Any], instance: Any, args: Any, call_kwargs: dict[str, Any]) -> Any:
        handled.append((args[0] if args else call_kwargs["request"]).url.path)
        return wrapped(*args, **call_kwargs)

    handler = "handle_async_request" if is_async(cls) else "handle_request"
    wrapt.wrap_function_wrapper(transport, handler, watch)  # as OpenTelemetry's instrument_client does
    http = httpx.AsyncClient(transport=transport) if is_async(cls) else httpx.Client(transport=transport)
    client = cls(api_key="test-key", httpx_client=http)
    built = spy_on_build(monkeypatch)

    note = install_fast_path(client, transport.player, transport.responder)

    assert note is not None
    assert note.startswith(f"the {handler} of its stream_replay.replay.transport.ReplayTransport is wrapped (by a ")
    events = stream(client, chat_kwargs(cassette))
    assert len(handled) == 1
    assert built == []
    assert len(events) > 0


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_event_hooks_on_the_httpx_client_see_every_call(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = load_cassette(cassette_for(cls))
    transport = ReplayTransport(cassette)
    seen: list[str] = []

    def hook(response: httpx.Response) -> None:
        seen.append(str(response.status_code))

    async def ahook(response: httpx.Response) -> None:
        hook(response)

    http: httpx.Client | httpx.AsyncClient
    if is_async(cls):
        http = httpx.AsyncClient(transport=transport, event_hooks={"response": [ahook]})
    else:
        http = httpx.Client(transport=transport, event_hooks={"response": [hook]})
    client = cls(api_key="test-key", httpx_client=http)
    built = spy_on_build(monkeypatch)

    note = install_fast_path(client, transport.player, transport.responder)

    assert note is not None and note.startswith("its httpx client has response event hooks")
    assert f"{STEPPED_ASIDE} for {cls.__qualname__} clients" in note
    stream(client, chat_kwargs(cassette))
    assert seen == ["200"]
    assert built == []


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_an_auth_on_the_httpx_client_runs_for_every_call(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """An auth is user code that runs for each request (a token refresh, a signature):
    the fast path, which sends none, would skip it."""
    cassette = load_cassette(cassette_for(cls))
    transport = ReplayTransport(cassette)
    signed: list[str] = []

    def sign(request: httpx.Request) -> httpx.Request:
        signed.append(request.url.path)
        request.headers["X-Signature"] = "signed"
        return request

    http: httpx.Client | httpx.AsyncClient
    if is_async(cls):
        http = httpx.AsyncClient(transport=transport, auth=sign)
    else:
        http = httpx.Client(transport=transport, auth=sign)
    client = cls(api_key="test-key", httpx_client=http)
    built = spy_on_build(monkeypatch)

    note = install_fast_path(client, transport.player, transport.responder)

    # The auth's class as httpx names it: ``httpx._auth.FunctionAuth`` up to 0.28, ``httpx.FunctionAuth``
    # from 0.29 (which gives its public classes the module ``httpx``).
    assert note is not None and re.match(r"its httpx client has an auth \(httpx\.(?:_auth\.)?FunctionAuth\), ", note)
    stream(client, chat_kwargs(cassette))
    assert len(signed) == 1
    assert built == []


def test_the_same_client_without_hooks_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    cassette = load_cassette(CASSETTES / "v2_text.yaml")
    transport = ReplayTransport(cassette)
    client = cohere.ClientV2(api_key="test-key", httpx_client=httpx.Client(transport=transport))
    built = spy_on_build(monkeypatch)
    assert install_fast_path(client, transport.player, transport.responder) is None
    events = stream(client, chat_kwargs(cassette))
    assert len(built) == len(events) > 0


# ------------------------------------- httpx's own transport, its handler wrapped on the class


@pytest.fixture
def otel_http() -> Iterator[Any]:
    """OpenTelemetry's httpx instrumentation (``opentelemetry-instrumentation-httpx``
    0.66b2, Apache-2.0), instrumented globally as ``opentelemetry-instrument`` and
    Logfire's ``instrument_httpx()`` do: it wraps ``HTTPTransport.handle_request`` and
    ``AsyncHTTPTransport.handle_async_request`` on the class. Into an in-memory
    exporter; uninstrumented afterwards."""
    module = pytest.importorskip(
        "opentelemetry.instrumentation.httpx",
        reason="opentelemetry-instrumentation-httpx is a test requirement (pyproject's test extra)",
    )
    with instrumented(module.HTTPXClientInstrumentor()) as exporter:
        yield exporter


def http_spans(exporter: Any, live_url: str | None = None) -> list[tuple[Any, ...]]:
    """Every finished span (then forgotten), as ``span_record`` gives it; a live call's
    URL is written as the recorded one (``https://api.cohere.com``)."""
    spans = [span_record(span) for span in exporter.get_finished_spans()]
    exporter.clear()
    if live_url is None:
        return spans
    return [
        (
            name,
            status,
            {k: v.replace(live_url, RECORDED_BASE) if isinstance(v, str) else v for k, v in attrs.items()},
            ev,
        )
        for name, status, attrs, ev in spans
    ]


RECORDED_BASE = "https://api.cohere.com"


def live(cls: type, reply: Reply, kwargs: dict[str, Any]) -> tuple[Any, str]:
    """What ``chat_stream`` gives over real HTTP from a loopback server sending ``reply``
    (the events, or the name of the exception it raised), and the server's URL."""
    with WireServer() as server:
        server.queue(reply)
        return replayed(cls(api_key="live-key", base_url=server.url), kwargs), server.url


def replayed(client: Any, kwargs: dict[str, Any]) -> Any:
    """The events of one ``chat_stream`` call, or the name of the exception it raised (the
    SDK's own, as the consumer sees it)."""
    try:
        return dumps(stream(client, kwargs))
    except Exception as exc:
        return type(exc).__name__


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast"])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_opentelemetry_httpx_records_the_span_a_live_call_records(
    cls: type, fast: bool, otel_http: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The replayed request goes through ``HTTPTransport.handle_request`` as a live one
    does: one client span per call, the live call's (its URL the recorded host's)."""
    cassette = load_cassette(cassette_for(cls))
    kwargs = chat_kwargs(cassette)
    recorded = cassette.interactions[0].response.stream
    assert recorded is not None
    reply = Reply.stream(recorded.body(), recorded.format)
    events, url = live(cls, reply, kwargs)
    expected = http_spans(otel_http, url)
    built = spy_on_build(monkeypatch)

    with caplog.at_level(logging.WARNING, logger="stream_replay"):
        clients = [replay_client(cassette, cls, fast=fast) for _ in range(2)]
    consumed = [replayed(client, kwargs) for client in clients]

    assert len(expected) == 1 and expected[0][0] == "POST"
    assert http_spans(otel_http) == expected * 2  # one per call, as live
    assert consumed == [events, events]
    assert built == []  # the fast path stepped aside: it sends no request to wrap
    warnings = fast_path_warnings(caplog)
    if fast:
        handler = "AsyncHTTPTransport.handle_async_request" if is_async(cls) else "HTTPTransport.handle_request"
        [warning] = warnings  # once for both clients, naming the tracer's function
        assert warning.startswith(f"stream_replay: httpx.{handler} is wrapped (by a ")
        assert " calling opentelemetry.instrumentation.httpx." in warning
        assert f"{STEPPED_ASIDE} for {cls.__qualname__} clients" in warning
    else:
        assert warnings == []


@pytest.mark.parametrize("cls", [cohere.ClientV2, cohere.AsyncClientV2], ids=lambda cls: cls.__name__)
def test_opentelemetry_httpx_records_an_injected_http_error_as_a_live_one(cls: type, otel_http: Any) -> None:
    """A fault's HTTP error in place of the stream: the error span a live 503 gets, and the
    SDK's own exception."""
    cassette = load_cassette(cassette_for(cls))
    kwargs = {**chat_kwargs(cassette), "request_options": {"max_retries": 0}}
    raised, url = live(cls, Reply.json(503, {"message": "service unavailable"}), kwargs)
    expected = http_spans(otel_http, url)

    client = replay_client(cassette, cls, faults=[F.http_error(503)])

    assert replayed(client, kwargs) == raised == "ServiceUnavailableError"
    assert http_spans(otel_http) == expected
    assert expected[0][2]["http.status_code"] == 503


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_a_plain_replacement_of_httpx_transport_handler_sees_replayed_requests(
    cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only ``wrapt``: a monkeypatch that keeps the original in a closure (no
    ``__wrapped__``) sees each replayed request, with its body, on both paths."""
    cassette = load_cassette(cassette_for(cls))
    kwargs = chat_kwargs(cassette)
    seen: list[tuple[str, Any]] = []
    transport_cls = httpx.AsyncHTTPTransport if is_async(cls) else httpx.HTTPTransport
    name = "handle_async_request" if is_async(cls) else "handle_request"
    original = vars(transport_cls)[name]

    def handle(self: Any, request: httpx.Request) -> Any:
        seen.append((request.url.path, json.loads(request.content)))
        return original(self, request)

    async def ahandle(self: Any, request: httpx.Request) -> Any:
        seen.append((request.url.path, json.loads(request.content)))
        return await original(self, request)

    monkeypatch.setattr(transport_cls, name, ahandle if is_async(cls) else handle)
    consumed = [replayed(replay_client(cassette, cls, fast=fast), kwargs) for fast in (False, True)]

    recorded = cassette.interactions[0].request
    assert seen == [(httpx.URL(recorded.url).path, recorded.body.json)] * 2
    assert consumed[0] == consumed[1] and len(consumed[0]) > 0


def test_a_wrapper_over_an_httpx_handler_that_reads_no_pool_is_not_served_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The handover gives its answer as httpx's connection pool: where the httpx function
    under the wrapper is not one that reads the pool, the answer is given directly (the
    wrapper, which would run that function, is not called)."""
    called: list[str] = []
    other = httpx.MockTransport.handle_request  # httpx's own, but no pool in it

    @functools.wraps(other)
    def wrapper(self: Any, request: httpx.Request) -> Any:
        called.append(request.url.path)
        return other(self, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", wrapper)
    assert handover.handler_wrapper(False) is None
    cassette = load_cassette(cassette_for(cohere.ClientV2))
    events = stream(replay_client(cassette, cohere.ClientV2), chat_kwargs(cassette))
    assert called == [] and len(events) > 0


def test_with_httpx_own_handler_nothing_is_handed_over() -> None:
    """The control: with httpx's own handlers in place, nothing is handed over."""
    assert vars(httpx.HTTPTransport)["handle_request"].__module__ == "httpx._transports.default"  # none left wrapped
    assert handover.handler_wrapper(False) is None
    assert handover.handler_wrapper(True) is None


def test_recording_under_opentelemetry_httpx_makes_one_span_per_request(otel_http: Any, tmp_path: Path) -> None:
    """Recording sends through a real ``HTTPTransport``: its span, once (the handover is for
    replayed answers only), and the replay of what was recorded makes the same span."""
    source = load_cassette(cassette_for(cohere.ClientV2))
    kwargs = chat_kwargs(source)
    recorded = source.interactions[0].response.stream
    assert recorded is not None
    path = tmp_path / "chat.yaml"
    with WireServer() as server:
        server.queue(Reply.stream(recorded.body(), recorded.format))
        with record_client(path, cohere.ClientV2, api_key="live-key", base_url=server.url) as client:
            events = dumps(stream(client, kwargs))
        url = server.url
    live_spans = http_spans(otel_http)

    assert [span[2]["http.url"] for span in live_spans] == [f"{url}/v2/chat"]
    # The replay client sends to the SDK's default host; the recording matches it by path.
    assert replayed(replay_client(path, cohere.ClientV2), kwargs) == events
    assert http_spans(otel_http) == [
        (*span[:2], {**span[2], "http.url": f"{RECORDED_BASE}/v2/chat"}, span[3]) for span in live_spans
    ]


def test_a_paced_replay_keeps_its_pace_through_httpx_transport(otel_http: Any) -> None:
    """Handed over, the answer's stream is the replay's own: each event arrives when it is
    due, not all at once."""
    cassette = load_cassette(CASSETTES / "v2_citations.yaml")
    speed = 4.0
    client = replay_client(cassette, cohere.ClientV2, speed=speed)
    arrivals = []
    started = time.monotonic()
    for _ in client.chat_stream(**chat_kwargs(cassette)):
        arrivals.append(time.monotonic() - started)
    due = [(number + 1) * DEFAULT_EVENT_GAP / speed for number in range(len(arrivals))]

    assert len(http_spans(otel_http)) == 1
    assert len(arrivals) > 20
    assert all(arrived >= when - 0.002 for arrived, when in zip(arrivals, due, strict=True))
    # Held back and given at once, they would arrive together at the end.
    assert arrivals[-1] - arrivals[0] >= 0.9 * (due[-1] - due[0])


#: OpenTelemetry's newer HTTP attributes (``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup``: the old
#: and the stable ones) are chosen once per process, so they are compared in a process of
#: their own: each span as a JSON list of name, status and attributes.
OTEL_STABLE_SCRIPT = """
import asyncio, json, os
import cohere
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stream_replay import load_cassette, replay_client
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.wire_server import Reply, WireServer

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
HTTPXClientInstrumentor().instrument(tracer_provider=PROVIDER)


def spans():
    found = [[s.name, s.status.status_code.name, dict(s.attributes)] for s in EXPORTER.get_finished_spans()]
    EXPORTER.clear()
    return found


def consume(client, kwargs):
    if isinstance(client, cohere.AsyncClientV2):
        async def run():
            return [event async for event in client.chat_stream(**kwargs)]
        return asyncio.run(run())
    return list(client.chat_stream(**kwargs))


cassette = load_cassette(CASSETTES / "v2_text.yaml")
kwargs = chat_kwargs(cassette)
stream = cassette.interactions[0].response.stream
result = {}
for cls in (cohere.ClientV2, cohere.AsyncClientV2):
    with WireServer() as server:
        server.queue(Reply.stream(stream.body(), stream.format))
        consume(cls(api_key="live-key", base_url=server.url), kwargs)
        live = spans()
    result[cls.__name__] = {
        "live": live,
        "url": server.url,
        "sdk": (consume(replay_client(cassette, cls), kwargs), spans())[1],
        "fast": (consume(replay_client(cassette, cls, fast=True), kwargs), spans())[1],
    }
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def stable_spans() -> dict[str, Any]:
    """``OTEL_STABLE_SCRIPT``'s spans, run once for the module."""
    pytest.importorskip(
        "opentelemetry.instrumentation.httpx",
        reason="opentelemetry-instrumentation-httpx is a test requirement (pyproject's test extra)",
    )
    env = {**os.environ, "OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup"}
    done = subprocess.run(
        [sys.executable, "-c", OTEL_STABLE_SCRIPT],
        cwd=sentry.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize("cls", [cohere.ClientV2, cohere.AsyncClientV2], ids=lambda cls: cls.__name__)
def test_opentelemetry_httpx_stable_attributes_are_a_live_call_s(cls: type, stable_spans: dict[str, Any]) -> None:
    """With the stable HTTP conventions too: the same attributes as a live call, but for
    the loopback server's address (``https://api.cohere.com`` has no explicit port, so its
    spans have no port attributes, as production's to it have none)."""
    seen = stable_spans[cls.__name__]
    host_port = seen["url"].removeprefix("http://")
    ports = {"net.peer.port", "server.port", "network.peer.port"}
    expected = [
        [
            name,
            status,
            {
                key: value.replace(seen["url"], RECORDED_BASE).replace(host_port.split(":")[0], "api.cohere.com")
                if isinstance(value, str)
                else value
                for key, value in attributes.items()
                if key not in ports
            },
        ]
        for name, status, attributes in seen["live"]
    ]

    assert len(expected) == 1
    assert {"url.full", "http.response.status_code", "network.protocol.version"} <= set(expected[0][2])
    assert seen["sdk"] == expected
    assert seen["fast"] == expected


OTEL_HTTP_CONFTEST = """
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
HTTPXClientInstrumentor().instrument(tracer_provider=PROVIDER)  # as an application's start-up does


@pytest.fixture
def http_spans():
    EXPORTER.clear()
    return lambda: [
        (span.name, span.attributes.get("http.url"), span.attributes.get("http.status_code"))
        for span in EXPORTER.get_finished_spans()
    ]
"""

OTEL_HTTP_TESTS = """
SPAN = ("POST", "https://api.cohere.com/v2/chat", 200)


@pytest.mark.stream_replay(fast=True)
def test_pickle(http_spans):
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert http_spans() == [SPAN]


@pytest.mark.stream_replay(fast=True)
async def test_pickle_async(http_spans):
    assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert http_spans() == [SPAN]


@pytest.mark.stream_replay
def test_pickle_sdk_path(http_spans):
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert http_spans() == [SPAN]
"""


@pytest.mark.slow
def test_a_suite_under_opentelemetry_httpx_keeps_its_http_spans_through_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(
        "opentelemetry.instrumentation.httpx",
        reason="opentelemetry-instrumentation-httpx is a test requirement (pyproject's test extra)",
    )
    notes = sorted(
        notes_of_traced_suite(
            pytester,
            monkeypatch,
            OTEL_HTTP_TESTS,
            OTEL_HTTP_CONFTEST,
            ["test_pickle", "test_pickle_async", "test_pickle_sdk_path"],
        )
    )
    assert len(notes) == 2  # once per class: AsyncClientV2, ClientV2
    assert notes[0].startswith("stream-replay: httpx.AsyncHTTPTransport.handle_async_request is wrapped (by a ")
    assert notes[1].startswith("stream-replay: httpx.HTTPTransport.handle_request is wrapped (by a ")


# ----------------------------------------------------------------- the real Sentry SDK

#: Sentry with its default integrations (``tests/support/sentry.py``), in a process of its
#: own; ``spans()``: the ``[op, description]`` of every span sent since the last call.
SENTRY_CAPTURE = (
    sentry.program()
    + """

def spans():
    return [[span["op"], span["description"]] for span in captured_spans()]
"""
)

SENTRY_SCRIPT = (
    SENTRY_CAPTURE
    + sentry.NOTES
    + """
import asyncio, json
import cohere
from stream_replay import faults as F
from stream_replay import load_cassette, record_client, replay_client
from tests.support.corpus import CASSETTES, chat_kwargs


def spans_of(cls, fast):
    api = "v2" if cls in (cohere.ClientV2, cohere.AsyncClientV2) else "v1"
    cassette = load_cassette(CASSETTES / f"{api}_text.yaml")
    kwargs = chat_kwargs(cassette)
    spans()  # nothing sent before counts
    client = replay_client(cassette, cls, fast=fast)
    with sentry_sdk.start_transaction(name="chat"):
        if cls in (cohere.AsyncClient, cohere.AsyncClientV2):
            async def consume():
                return [event async for event in client.chat_stream(**kwargs)]
            events = asyncio.run(consume())
        else:
            events = list(client.chat_stream(**kwargs))
    return {"events": len(events), "spans": spans()}

result = {}
for cls in (cohere.ClientV2, cohere.AsyncClientV2, cohere.Client, cohere.AsyncClient):
    result[cls.__name__] = {path: spans_of(cls, path == "fast") for path in ("sdk", "fast")}
result["notes"] = notes
print(json.dumps(result))
"""
)


@pytest.fixture(scope="module")
def sentry_spans() -> dict[str, Any]:
    return sentry.run(SENTRY_SCRIPT)  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_sentry_records_the_same_spans_on_the_fast_path(cls: type, sentry_spans: dict[str, Any]) -> None:
    seen = sentry_spans[cls.__name__]
    path = "/v2/chat" if api_of(cls) == "v2" else "/v1/chat"
    assert ["http.client", f"POST https://api.cohere.com{path}"] in seen["sdk"]["spans"]
    assert seen["fast"] == seen["sdk"]
    assert seen["sdk"]["events"] > 0


@pytest.mark.slow
def test_sentry_is_named_once_per_class_where_the_fast_path_stepped_aside(sentry_spans: dict[str, Any]) -> None:
    notes = sentry_spans["notes"]
    for cls in CLASSES:
        base = "httpx.AsyncClient" if is_async(cls) else "httpx.Client"
        [note] = [n for n in notes if f"{STEPPED_ASIDE} for {cls.__qualname__} clients" in n]
        assert note.startswith(f"stream_replay: {base}.send is wrapped or replaced (by sentry_sdk.")


SENTRY_CONFTEST = (
    SENTRY_CAPTURE
    + """
import pytest


@pytest.fixture
def http_spans():
    return lambda: [description for op, description in spans() if op == "http.client"]
"""
)

SENTRY_TESTS = """
import sentry_sdk


@pytest.mark.stream_replay(fast=True)
def test_pickle(http_spans):
    with sentry_sdk.start_transaction(name="chat"):
        assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert http_spans() == ["POST https://api.cohere.com/v2/chat"]


@pytest.mark.stream_replay(fast=True)
async def test_pickle_async(http_spans):
    with sentry_sdk.start_transaction(name="chat"):
        assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert http_spans() == ["POST https://api.cohere.com/v2/chat"]
"""


@pytest.mark.slow
def test_a_fast_suite_under_sentry_keeps_its_http_spans_through_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sentry_sdk", reason="sentry-sdk is a test requirement (pyproject's test extra)")
    notes = notes_of_traced_suite(
        pytester, monkeypatch, SENTRY_TESTS, SENTRY_CONFTEST, ["test_pickle", "test_pickle_async"]
    )
    assert len(notes) == 2  # once per class: ClientV2 and AsyncClientV2
    assert all(" is wrapped or replaced (by sentry_sdk." in note for note in notes)


def notes_of_traced_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tests: str, conftest: str, names: list[str]
) -> list[str]:
    """Runs a project of ``tests`` (each of ``names`` replaying the pickle chat) under a
    tracer its ``conftest`` sets up; every test must pass, each cassette replayed. Gives
    the run summary's notes of the fast path stepping aside."""
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("UPSTREAM", raising=False)
    for test in names:
        place(pytester.path / "tests" / "cassettes" / "test_chat" / f"{test}.yaml", "pickle")
    write_project(pytester, tests)
    pytester.makeconftest(conftest)

    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=300)

    result.assert_outcomes(passed=len(names))
    lines = [line.rstrip() for line in result.stdout.lines]
    assert f"stream-replay: {len(names)} cassettes replayed, 0 recorded, 0 unplayed interactions" in lines
    return [line for line in lines if line.startswith("stream-replay: ") and STEPPED_ASIDE in line]
