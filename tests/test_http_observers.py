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

And that nothing is given up where nothing watches: without an observer the fast path
is used (every event built by it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest

from stream_replay import load_cassette, replay_client
from stream_replay.replay import client as replay_client_module
from stream_replay.replay.fast import install_fast_path
from stream_replay.replay.transport import ReplayTransport
from tests.support import sentry
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import place, write_project
from tests.test_instrumentation import (
    CLASSES,
    STEPPED_ASIDE,
    api_of,
    dumps,
    fast_path_warnings,
    is_async,
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

    assert note is not None and note.startswith("its httpx client has an auth (httpx._auth.FunctionAuth)")
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
from stream_replay import load_cassette, replay_client
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
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("UPSTREAM", raising=False)
    for test in ("test_pickle", "test_pickle_async"):
        place(pytester.path / "tests" / "cassettes" / "test_chat" / f"{test}.yaml", "pickle")
    write_project(pytester, SENTRY_TESTS)
    pytester.makeconftest(SENTRY_CONFTEST)

    result = pytester.runpytest_subprocess("-p", "no:randomly", timeout=300)

    result.assert_outcomes(passed=2)
    lines = [line.rstrip() for line in result.stdout.lines]
    assert "stream-replay: 2 cassettes replayed, 0 recorded, 0 unplayed interactions" in lines
    notes = [line for line in lines if line.startswith("stream-replay: ") and STEPPED_ASIDE in line]
    assert len(notes) == 2  # once per class: ClientV2 and AsyncClientV2
    assert all(" is wrapped or replaced (by sentry_sdk." in note for note in notes)
