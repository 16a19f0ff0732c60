"""Whatever wraps the SDK's ``chat_stream`` (or ``generate_stream``) at class level sees every
call, on every replay path.

Tracers (OpenTelemetry, Sentry) and tests (``unittest.mock.patch.object``) wrap or replace
``cohere.ClientV2.chat_stream`` and its three siblings on the class, before the client is
built. This module proves, for ``ClientV2``, ``AsyncClientV2``, ``Client`` and ``AsyncClient``:

- a plain ``wrapt`` class-level wrapper, emulating a tracer, gets exactly one call per
  ``chat_stream`` call and passes on every event the consumer gets, with ``fast=False``
  and ``fast=True``, and the consumer's events equal the SDK path's (class and
  ``model_dump()``); the same for ``generate_stream`` (``/v1/generate``), which the fast
  path also covers;
- the real OpenTelemetry Cohere instrumentation (``opentelemetry-instrumentation-cohere``
  0.62.4, traceloop/openllmetry, Apache-2.0, which wraps with ``wrapt``) records one span
  per call, with the same attributes (response id, finish reason, completion text, tool
  calls, usage) on the fast path as on the SDK path;
- so does OpenInference's Cohere instrumentation (``openinference-instrumentation-cohere``
  0.1.15, Arize, Apache-2.0), a second tracer family that wraps elsewhere: the SDK's base
  classes ``cohere.v2.client.V2Client``/``AsyncV2Client``, which ``ClientV2`` and
  ``AsyncClientV2`` inherit; where the fast path steps aside for it (before cohere 5.16),
  its note names that base class and the tracer's code, not the client class or wrapt
  alone;
- so does Sentry's Cohere integration (``sentry-sdk`` 2.75.0, MIT), alone, for
  ``cohere.Client``: a third way to wrap, a plain ``functools.wraps`` replacement of the
  base class's ``BaseCohere.chat_stream``; in a process of its own (its patches last for
  the process), the same span data on both paths, and before 5.16 a note naming that base
  class and Sentry's code;
- a ``unittest.mock.patch.object`` replacement is what runs, fast path or not;
- through the pytest plugin, a wrapper applied in a conftest at import time (as an
  instrumentor at application start) sees the calls of a ``fast=True`` test.

Which behaviour to expect comes from the SDK's structure, not from stream_replay: where
the public ``chat_stream`` hands its arguments to a raw client that sends and parses
(cohere 7.x and 5.16 on, ``cohere.v2.raw_client`` exists), the fast path takes the raw
client's place and must really be used (every event built by
``stream_replay.replay.fast._build``); where the public method parses the stream itself
(cohere 5.11 to 5.15), the fast path must step aside for a wrapped class (no event built
by it), say why once on the ``stream_replay`` logger, and once in the plugin's terminal
summary.

The instrumentation declares ``cohere >=4.2.7, <6``: on 7.x, ``instrument()`` logs a
dependency conflict and wraps nothing unless given ``skip_dep_check=True``, which these
tests pass (its wrappers work on 7.3.1: the SDK path records full spans). Its
``uninstrument()`` leaves the unwrapped functions set on each class, where they were only
inherited; every test here puts the four classes' ``__dict__`` back exactly as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import cohere
import pytest

from stream_replay import load_cassette, replay_client
from stream_replay.replay import client as replay_client_module
from stream_replay.replay import fast as fast_module
from stream_replay.replay.transport import ReplayTransport
from tests.support import sentry
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import BUILT_FIXTURE, place, write_project

#: cohere 7.x (and 5.x from 5.16): the public ``chat_stream`` delegates to
#: ``client._raw_client.chat_stream``, which sends and parses. Before 5.16 there are no raw
#: clients: the public method parses.
RAW_CLIENTS = importlib.util.find_spec("cohere.v2.raw_client") is not None

CLASSES = [cohere.ClientV2, cohere.AsyncClientV2, cohere.Client, cohere.AsyncClient]


def api_of(cls: type) -> str:
    return "v2" if issubclass(cls, (cohere.ClientV2, cohere.AsyncClientV2)) else "v1"


#: Each class with the bundled real cassettes of its API: plain text, and a tool call.
CASES = [
    pytest.param(cls, name, id=f"{cls.__name__}-{name}")
    for cls in CLASSES
    for name in (f"{api_of(cls)}_text", f"{api_of(cls)}_tool_calls")
]

STEPPED_ASIDE = "the fast path stepped aside"


# -------------------------------------------------------------------- helpers


@dataclass
class Span:
    """What the emulated tracer records for one ``chat_stream`` call."""

    kwargs: dict[str, Any]
    events: list[Any] = field(default_factory=list)
    ended: bool = False


class Tracer:
    """A class-level ``wrapt`` wrapper, as a tracer writes one: a span per call, and the
    returned (async) generator wrapped to see each event on its way to the consumer."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    def __call__(self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        span = Span(kwargs=dict(kwargs))
        self.spans.append(span)
        stream = wrapped(*args, **kwargs)
        return self._atrace(span, stream) if hasattr(stream, "__aiter__") else self._trace(span, stream)

    @staticmethod
    def _trace(span: Span, stream: Iterator[Any]) -> Iterator[Any]:
        for event in stream:
            span.events.append(event)
            yield event
        span.ended = True

    @staticmethod
    async def _atrace(span: Span, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for event in stream:
            span.events.append(event)
            yield event
        span.ended = True


def is_async(cls: type) -> bool:
    """An async client, or the async v2 sub-client of one (``cohere.AsyncClient(...).v2``)."""
    from cohere.v2.client import AsyncV2Client

    return issubclass(cls, (cohere.AsyncClient, AsyncV2Client))


def stream(client: Any, kwargs: dict[str, Any], method: str = "chat_stream") -> list[Any]:
    """Every event of one ``chat_stream`` (or ``method``) call, sync or async."""
    if is_async(type(client)):

        async def consume() -> list[Any]:
            return [event async for event in getattr(client, method)(**kwargs)]

        return asyncio.run(consume())
    return list(getattr(client, method)(**kwargs))


def dumps(events: list[Any]) -> list[tuple[type, dict[str, Any]]]:
    return [(type(event), event.model_dump()) for event in events]


def finish_reason(events: list[Any]) -> str:
    """The finish reason of the stream's last event (v2 ``message-end``, v1 ``stream-end``)."""
    last = events[-1]
    return str(last.delta.finish_reason if hasattr(last, "delta") else last.finish_reason)


def spy_on_build(monkeypatch: pytest.MonkeyPatch) -> list[type]:
    """The classes of the events the fast path builds, in order."""
    built: list[type] = []
    build = fast_module._build

    def spy(cls: type, *rest: Any) -> Any:
        built.append(cls)
        return build(cls, *rest)

    monkeypatch.setattr(fast_module, "_build", spy)
    return built


def fast_path_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "stream_replay" and STEPPED_ASIDE in r.getMessage()]


def stepped_aside_for(cls: type) -> str:
    return f"{STEPPED_ASIDE} for {cls.__qualname__} clients"


@contextlib.contextmanager
def restored(*classes: type) -> Iterator[None]:
    """Put the classes' own attributes back exactly: a replaced one gets its old value, one
    added where it was only inherited is deleted."""
    before = {cls: dict(vars(cls)) for cls in classes}
    try:
        yield
    finally:
        for cls, attributes in before.items():
            for name in set(vars(cls)) - set(attributes):
                delattr(cls, name)
            for name, value in attributes.items():
                if vars(cls).get(name) is not value:
                    setattr(cls, name, value)


@pytest.fixture(autouse=True)
def pristine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with the SDK's classes as they were, and with the
    once-per-process fast-path warning not yet said."""
    monkeypatch.setattr(replay_client_module, "_said", set())
    before = {cls: dict(vars(cls)) for cls in CLASSES}
    with restored(*CLASSES):
        yield
    assert {cls: dict(vars(cls)) for cls in CLASSES} == before


@pytest.fixture
def wrap_function_wrapper() -> Callable[..., Any]:
    wrapt = pytest.importorskip("wrapt", reason="wrapt is a test requirement (pyproject's test extra)")
    return wrapt.wrap_function_wrapper  # type: ignore[no-any-return]


# ------------------------------------------------------- a plain wrapt wrapper


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast"])
@pytest.mark.parametrize(("cls", "name"), CASES)
def test_a_class_level_wrapt_wrapper_sees_every_call_and_every_event(
    cls: type,
    name: str,
    fast: bool,
    wrap_function_wrapper: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    kwargs = chat_kwargs(cassette)
    expected = dumps(stream(replay_client(cassette, cls), kwargs))  # the SDK path, nothing wrapped
    built = spy_on_build(monkeypatch)
    tracer = Tracer()
    wrap_function_wrapper(cls, "chat_stream", tracer)  # before the clients are built

    with caplog.at_level(logging.WARNING, logger="stream_replay"):
        clients = [replay_client(cassette, cls, fast=fast) for _ in range(2)]
    consumed = [stream(client, kwargs) for client in clients]

    assert len(tracer.spans) == 2  # one span per call
    for span, events in zip(tracer.spans, consumed, strict=True):
        assert span.kwargs == kwargs
        assert span.ended
        assert len(span.events) == len(events) > 0
        # The wrapper passed on the very objects the consumer got.
        assert all(seen is got for seen, got in zip(span.events, events, strict=True))
        assert dumps(events) == expected
    warnings = fast_path_warnings(caplog)
    if fast and RAW_CLIENTS:  # the fast path was really used, under the wrapper
        assert len(built) == 2 * len(expected)
        assert warnings == []
    elif fast:  # the public method parses: the fast path stepped aside, and said so once for both clients
        assert built == []
        assert len(warnings) == 1
        assert f"{cls.__module__}.{cls.__qualname__}.chat_stream is wrapped or replaced" in warnings[0]
        assert stepped_aside_for(cls) in warnings[0]
    else:
        assert built == []
        assert warnings == []


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast"])
@pytest.mark.parametrize("cls", CLASSES)
def test_a_class_level_wrapt_wrapper_of_generate_stream_sees_every_call_and_every_event(
    cls: type,
    fast: bool,
    wrap_function_wrapper: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cassette = load_cassette(CASSETTES / "v1_generate.yaml")
    kwargs = chat_kwargs(cassette)  # the recorded request's fields: generate_stream's arguments
    expected = stream(replay_client(cassette, cls), kwargs, "generate_stream")  # the SDK path, nothing wrapped
    expected_dumps = dumps(expected)
    built = spy_on_build(monkeypatch)
    tracer = Tracer()
    wrap_function_wrapper(cls, "generate_stream", tracer)  # before the clients are built

    with caplog.at_level(logging.WARNING, logger="stream_replay"):
        clients = [replay_client(cassette, cls, fast=fast) for _ in range(2)]
    consumed = [stream(client, kwargs, "generate_stream") for client in clients]

    assert len(tracer.spans) == 2
    for span, events in zip(tracer.spans, consumed, strict=True):
        assert span.kwargs == kwargs and span.ended
        assert len(span.events) == len(events) > 0
        assert all(seen is got for seen, got in zip(span.events, events, strict=True))
        assert dumps(events) == expected_dumps
        assert events[-1].event_type == "stream-end"
    warnings = fast_path_warnings(caplog)
    if fast and RAW_CLIENTS:  # the raw client's generate_stream was replaced, under the wrapper
        assert len(built) == 2 * len(expected)
        assert warnings == []
    elif fast:  # before 5.16: generate_stream parses, and it is wrapped: stepped aside, said once
        assert built == []
        [warning] = warnings
        assert f"{cls.__module__}.{cls.__qualname__}.generate_stream is wrapped or replaced" in warning
        assert "chat_stream" not in warning  # chat_stream is not wrapped: it keeps the fast path
        assert stepped_aside_for(cls) in warning
    else:
        assert built == [] and warnings == []


# ----------------------------------------------- the real OpenTelemetry instrumentation


@pytest.fixture
def otel_spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Cohere instrumentation, instrumented (before any client is built) into an
    in-memory exporter; uninstrumented afterwards (``pristine`` then restores the classes)."""
    instrumentation = pytest.importorskip(
        "opentelemetry.instrumentation.cohere",
        reason="opentelemetry-instrumentation-cohere is not installed (pyproject's test extra)",
    )
    monkeypatch.setenv("TRACELOOP_TRACE_CONTENT", "true")  # record prompts and completions (its default)
    with instrumented(instrumentation.CohereInstrumentor()) as exporter:  # it declares cohere <6
        yield exporter


@contextlib.contextmanager
def instrumented(instrumentor: Any) -> Iterator[Any]:
    """An OpenTelemetry instrumentor recording into an in-memory exporter, without its
    check of the cohere version it declares (on a version outside, it would log the
    conflict and wrap nothing); uninstrumented afterwards."""
    trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk is not installed")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider, skip_dep_check=True)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def span_record(span: Any) -> tuple[Any, ...]:
    """Everything a span holds that does not vary with time."""
    return span.name, span.status.status_code, dict(span.attributes), [event.name for event in span.events]


def spans_on_both_paths(
    exporter: Any, cls: type, name: str, through: Callable[[Any], Any] = lambda client: client
) -> tuple[list[Any], dict[bool, tuple[Any, ...]]]:
    """One call replaying the cassette ``name`` on the SDK path, then one on the fast path
    (of ``through(client)``'s ``chat_stream``): the fast path's events, and for each path
    its events' dumps and the call's one span."""
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    kwargs = chat_kwargs(cassette)
    paths = {}
    for fast in (False, True):
        exporter.clear()
        events = stream(through(replay_client(cassette, cls, fast=fast)), kwargs)
        spans = exporter.get_finished_spans()
        assert len(spans) == 1, f"fast={fast}: {len(spans)} spans for one call"
        paths[fast] = dumps(events), span_record(spans[0])
    return events, paths


@pytest.mark.parametrize(("cls", "name"), CASES)
def test_opentelemetry_records_one_span_per_call_with_the_same_content_on_both_paths(
    cls: type, name: str, otel_spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = spy_on_build(monkeypatch)
    events, paths = spans_on_both_paths(otel_spans, cls, name)

    assert paths[True] == paths[False]
    _, (span_name, _, attributes, chunks) = paths[False]
    assert span_name == "cohere.chat"
    assert len(chunks) == len(events)  # one chunk event per event the consumer got
    # What it took from the stream, not from the request: the comparison above is not vacuous.
    assert attributes["gen_ai.response.finish_reasons"] == (finish_reason(events),)
    assert attributes["gen_ai.completion.0.content"]
    assert attributes["gen_ai.response.id"]
    assert attributes["gen_ai.usage.completion_tokens"] > 0
    if name == "v2_tool_calls":
        assert attributes["gen_ai.completion.0.tool_calls.0.name"] == "Person"
    assert built == ([type(event) for event in events] if RAW_CLIENTS else [])


# ---------------------------------------------- OpenInference's instrumentation


@pytest.fixture
def openinference_spans() -> Iterator[Any]:
    """OpenInference's Cohere instrumentation into an in-memory exporter; its base classes
    put back as they were afterwards."""
    instrumentation = pytest.importorskip(
        "openinference.instrumentation.cohere",
        reason="openinference-instrumentation-cohere is not installed (pyproject's test extra)",
    )
    from cohere.v2.client import AsyncV2Client, V2Client

    # It declares cohere >=5.13.
    with restored(V2Client, AsyncV2Client), instrumented(instrumentation.CohereInstrumentor()) as exporter:
        yield exporter


#: The v2 clients, and a v1 client's v2 sub-client (``cohere.Client(...).v2``, as
#: langchain-cohere streams), each with both v2 cassettes.
V2_CALLS = [
    pytest.param(cls, via_v2, name, id=f"{cls.__name__}{'.v2' if via_v2 else ''}-{name}")
    for cls, via_v2 in (
        (cohere.ClientV2, False),
        (cohere.AsyncClientV2, False),
        (cohere.Client, True),
        (cohere.AsyncClient, True),
    )
    for name in ("v2_text", "v2_tool_calls")
]


@pytest.mark.parametrize(("cls", "via_v2", "name"), V2_CALLS)
def test_openinference_records_one_span_per_call_with_the_same_content_on_both_paths(
    cls: type,
    via_v2: bool,
    name: str,
    openinference_spans: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    built = spy_on_build(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="stream_replay"):
        through = (lambda client: client.v2) if via_v2 else (lambda client: client)
        events, paths = spans_on_both_paths(openinference_spans, cls, name, through)

    assert paths[True] == paths[False]
    _, (span_name, _, attributes, _) = paths[False]
    holder = "AsyncV2Client" if is_async(cls) else "V2Client"
    assert span_name == ("AsyncClientV2" if is_async(cls) else "ClientV2") + ".chat_stream"  # its name, either way
    # What it took from the stream, not from the request: the comparison above is not vacuous.
    assert attributes["llm.finish_reason"] == finish_reason(events)
    assert attributes["llm.token_count.completion"] == events[-1].delta.usage.tokens.output_tokens
    if name == "v2_text":
        text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
        assert attributes["llm.output_messages.0.message.content"] == text != ""
    elif RAW_CLIENTS:  # (with cohere 5.11's events, it records no tool call, on either path)
        assert attributes["llm.output_messages.0.message.tool_calls.0.tool_call.function.name"] == "Person"
    warnings = fast_path_warnings(caplog)
    if RAW_CLIENTS:  # the public method ran under the tracer, and the fast path under it
        assert built == [type(event) for event in events]
        assert warnings == []
    else:  # the fast path stepped aside, naming where the wrapper is and whose it is
        assert built == []
        assert len(warnings) == 1
        assert f"cohere.v2.client.{holder}.chat_stream is wrapped or replaced" in warnings[0]
        assert "calling a openinference.instrumentation.cohere._wrappers." in warnings[0]
        assert stepped_aside_for(cls) in warnings[0]


def test_the_note_names_a_wrappers_code_and_never_fails_on_an_odd_wrapper() -> None:
    class Odd:
        """A callable whose type says it has wrapt's attribute, and raises reading it."""

        @property
        def _self_wrapper(self) -> Any:
            raise RuntimeError("not a wrapt wrapper")

        def __call__(self) -> None: ...

    assert fast_module._describe(Odd()) == f"by a {__name__}.{Odd.__qualname__}"
    # and a MagicMock, which answers any attribute, is not taken for wrapt's wrapper
    assert fast_module._describe(mock.MagicMock()) == "by a unittest.mock.MagicMock"


# ------------------------------------------------------------ mock.patch.object


@pytest.mark.parametrize("cls", CLASSES)
def test_a_mock_patch_of_chat_stream_is_what_runs_with_fast_true(
    cls: type, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cassette = load_cassette(CASSETTES / f"{api_of(cls)}_text.yaml")
    kwargs = chat_kwargs(cassette)
    fake_events = ["fake event 0", "fake event 1", "fake event 2"]
    calls: list[dict[str, Any]] = []

    def fake(self: Any, **kwargs: Any) -> Iterator[str]:
        calls.append(kwargs)
        yield from fake_events

    async def afake(self: Any, **kwargs: Any) -> AsyncIterator[str]:
        calls.append(kwargs)
        for event in fake_events:
            yield event

    built = spy_on_build(monkeypatch)
    transport = ReplayTransport(cassette)
    with (
        mock.patch.object(cls, "chat_stream", afake if is_async(cls) else fake),
        caplog.at_level(logging.WARNING, logger="stream_replay"),
    ):
        client = replay_client(cassette, cls, fast=True, transport=transport)
        events = stream(client, kwargs)

    assert events == fake_events
    assert calls == [kwargs]
    assert built == []
    assert transport.play_counts == [0]  # nothing reached the cassette, fast or not
    assert "chat_stream" not in vars(cls)
    if RAW_CLIENTS:
        assert fast_path_warnings(caplog) == []
    else:
        [warning] = fast_path_warnings(caplog)
        assert stepped_aside_for(cls) in warning


# ------------------------------------------------------ Sentry's Cohere integration

#: Sentry with its Cohere integration alone (its httpx one, which makes the fast path
#: step aside for every client, off: as with ``disabled_integrations``), recording
#: prompts and responses; one ``cohere.Client.chat_stream`` call per bundled v1
#: cassette on each path. Its integration replaces ``BaseCohere.chat_stream``, the base
#: class ``cohere.Client`` inherits it from, with a plain ``functools.wraps`` function.
SENTRY_COHERE = (
    sentry.program(
        options="integrations=[CohereIntegration()], default_integrations=False, "
        "auto_enabling_integrations=False, send_default_pii=True",
        imports="from sentry_sdk.integrations.cohere import CohereIntegration",
    )
    + sentry.NOTES
    + """
import json
import cohere
from stream_replay import load_cassette, replay_client
from stream_replay.replay import fast
from tests.support.corpus import CASSETTES, chat_kwargs

built = []
build = fast._build
fast._build = lambda cls, *rest: built.append(cls.__name__) or build(cls, *rest)

result = {"notes": notes}
for name in ("v1_text", "v1_tool_calls"):
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    kwargs = chat_kwargs(cassette)
    result[name] = {}
    for path in ("sdk", "fast"):
        captured_spans()  # nothing sent before counts
        built.clear()
        client = replay_client(cassette, cohere.Client, fast=path == "fast")
        with sentry_sdk.start_transaction(name="chat"):
            events = list(client.chat_stream(**kwargs))
        result[name][path] = {
            "events": [[type(event).__name__, event.model_dump(mode="json")] for event in events],
            "built": list(built),
            "spans": captured_spans(),
        }
print(json.dumps(result))
"""
)


@pytest.fixture(scope="module")
def sentry_cohere() -> dict[str, Any]:
    return sentry.run(SENTRY_COHERE)  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["v1_text", "v1_tool_calls"])
def test_sentrys_cohere_integration_records_the_same_span_on_both_paths(
    name: str, sentry_cohere: dict[str, Any]
) -> None:
    sdk, fast = sentry_cohere[name]["sdk"], sentry_cohere[name]["fast"]

    assert fast["events"] == sdk["events"]  # what the consumer got, through Sentry's wrapper
    assert fast["spans"] == sdk["spans"]
    [span] = sdk["spans"]  # one span per call, Sentry's Cohere one (no httpx span: that integration is off)
    assert span["origin"] == "auto.ai.cohere"
    # What it took from the stream's last event, not from the request: the comparison above is not vacuous.
    kind, end = sdk["events"][-1]
    assert kind == "StreamEndStreamedChatResponse"
    data, response = span["data"], end["response"]
    assert data["ai.generation_id"] == response["generation_id"]
    assert data["ai.finish_reason"] == end["finish_reason"] == "COMPLETE"
    assert data["ai.responses"] == response["text"] != ""
    assert data["gen_ai.usage.output_tokens"] == response["meta"]["billed_units"]["output_tokens"] > 0
    if name == "v1_tool_calls":
        assert '"name": "Person"' in data["ai.tool_calls"]
    assert sdk["built"] == []
    if RAW_CLIENTS:  # the public method ran under Sentry's wrapper, and the fast path under it
        assert fast["built"] == [kind for kind, _ in sdk["events"]]
    else:  # the public method parses, and it is replaced: the fast path stepped aside
        assert fast["built"] == []


@pytest.mark.slow
def test_where_the_fast_path_steps_aside_for_sentry_it_names_the_base_class_and_sentrys_code(
    sentry_cohere: dict[str, Any],
) -> None:
    notes = [note for note in sentry_cohere["notes"] if STEPPED_ASIDE in note]
    if RAW_CLIENTS:
        assert notes == []
    else:  # once in the process, for both calls
        [note] = notes
        assert note.startswith("stream_replay: cohere.base_client.BaseCohere.chat_stream is wrapped or replaced")
        assert "(by sentry_sdk.integrations.cohere." in note
        assert stepped_aside_for(cohere.Client) in note


# ------------------------------------------------------------- the pytest plugin

#: A conftest that wraps the SDK's classes at import time, as an instrumentor does at
#: application start, and undoes it when the run ends.
CONFTEST = (
    """
import cohere
import pytest
import wrapt

CLASSES = (cohere.ClientV2, cohere.AsyncClientV2)
BEFORE = {cls: dict(vars(cls)) for cls in CLASSES}
SPANS = []


def tracer(wrapped, instance, args, kwargs):
    span = {"kwargs": dict(kwargs), "events": 0}
    SPANS.append(span)
    stream = wrapped(*args, **kwargs)

    def traced():
        for event in stream:
            span["events"] += 1
            yield event

    async def atraced():
        async for event in stream:
            span["events"] += 1
            yield event

    return atraced() if hasattr(stream, "__aiter__") else traced()


for cls in CLASSES:
    wrapt.wrap_function_wrapper(cls, "chat_stream", tracer)


def pytest_unconfigure(config):
    for cls in CLASSES:
        if "chat_stream" in BEFORE[cls]:
            cls.chat_stream = BEFORE[cls]["chat_stream"]
        else:
            del cls.chat_stream


@pytest.fixture
def spans():
    SPANS.clear()
    return SPANS

"""
    + BUILT_FIXTURE
)

PLUGIN_TESTS = """
import importlib.util

RAW_CLIENTS = importlib.util.find_spec("cohere.v2.raw_client") is not None


def one_span_per_call(spans, built):
    assert len(spans) == 1
    assert spans[0]["kwargs"] == REQUESTS["pickle"]
    assert spans[0]["events"] > 0
    assert len(built) == (spans[0]["events"] if RAW_CLIENTS else 0)


@pytest.mark.stream_replay(fast=True)
def test_pickle(spans, built):
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    one_span_per_call(spans, built)


@pytest.mark.stream_replay(fast=True)
def test_pickle_again(spans, built):
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    one_span_per_call(spans, built)


@pytest.mark.stream_replay(fast=True)
async def test_pickle_async(spans, built):
    assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
    one_span_per_call(spans, built)
"""


def cassette_of(pytester: pytest.Pytester, test: str) -> Path:
    """Where the plugin looks for a test's cassette in ``write_project``'s layout."""
    return pytester.path / "tests" / "cassettes" / "test_chat" / f"{test}.yaml"


def test_a_wrapper_from_a_conftest_sees_every_call_of_fast_tests_through_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("wrapt", reason="wrapt is a test requirement (pyproject's test extra)")
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("UPSTREAM", raising=False)
    for test in ("test_pickle", "test_pickle_again", "test_pickle_async"):
        place(cassette_of(pytester, test), "pickle")
    write_project(pytester, PLUGIN_TESTS)
    pytester.makeconftest(CONFTEST)

    result = pytester.runpytest("-p", "no:randomly")

    result.assert_outcomes(passed=3)
    lines = [line.rstrip() for line in result.stdout.lines]
    assert "stream-replay: 3 cassettes replayed, 0 recorded, 0 unplayed interactions" in lines
    notes = [line for line in lines if line.startswith("stream-replay: ") and STEPPED_ASIDE in line]
    if RAW_CLIENTS:
        assert notes == []
    else:  # once per class, however many tests built one
        assert len(notes) == 2
        for cls in (cohere.ClientV2, cohere.AsyncClientV2):
            [note] = [line for line in notes if stepped_aside_for(cls) in line]
            assert note.startswith(f"stream-replay: {cls.__module__}.{cls.__qualname__}.chat_stream is wrapped")
