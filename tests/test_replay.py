"""Replay through the real cohere SDK, on the bundled real cassettes (no corpus needed)."""

from __future__ import annotations

import asyncio
import gc
import json
import ssl
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest
from cohere.core import ApiError

from stream_replay import NoMatchError, RecordingEndedError, replay_client
from stream_replay.cassette import (
    Body,
    Cassette,
    Interaction,
    Request,
    Response,
    Stream,
    StreamError,
    load_cassette,
    save_cassette,
)
from stream_replay.replay import pacing as pacing_module
from stream_replay.replay import transport as transport_module
from stream_replay.replay.transport import ReplayTransport
from stream_replay.sdk import event_classes
from stream_replay.wire import WireEvent
from tests.support.corpus import CASSETTES

V2_TEXT = CASSETTES / "v2_text.yaml"


def kwargs_of(cassette: Cassette, index: int = 0) -> dict[str, Any]:
    body = json.loads(json.dumps(cassette.interactions[index].request.body.json))
    return {k: v for k, v in body.items() if k != "stream"}


def recorded_texts(cassette: Cassette, index: int) -> str:
    """The text a v2 stream carries, read straight from the cassette's JSON payloads."""
    stream = cassette.interactions[index].response.stream
    assert stream is not None
    parts = []
    for event in stream.events:
        if event.data and event.name == "content-delta":
            parts.append(json.loads(event.data)["delta"]["message"]["content"]["text"])
    return "".join(parts)


# --------------------------------------------------------------------------- consumer loops


@pytest.mark.parametrize("name,index", [("v2_text", 0), ("v2_citations", 1), ("v2_agent", 3)])
def test_the_plain_consumer_loop_prints_exactly_the_recorded_text(
    name: str, index: int, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    transport = ReplayTransport(cassette)
    for earlier in range(index):
        transport.player.mark(earlier)  # the earlier steps of the agent loop
    co = replay_client(cassette, cohere.ClientV2, transport=transport)
    args = kwargs_of(cassette, index)
    for event in co.chat_stream(model=args.pop("model"), messages=args.pop("messages"), **args):
        if event.type == "content-delta":
            print(event.delta.message.content.text, end="", flush=True)
    expected = recorded_texts(cassette, index)
    assert expected
    assert capsys.readouterr().out == expected


def test_the_async_consumer_loop_prints_exactly_the_recorded_text(capsys: pytest.CaptureFixture[str]) -> None:
    cassette = load_cassette(V2_TEXT)
    async_co = replay_client(cassette, cohere.AsyncClientV2)

    async def stream_response() -> None:
        async for event in async_co.chat_stream(**kwargs_of(cassette)):
            if event.type == "content-delta":
                print(event.delta.message.content.text, end="", flush=True)

    asyncio.run(stream_response())
    assert capsys.readouterr().out == recorded_texts(cassette, 0)


@pytest.mark.parametrize("cls", [cohere.Client, cohere.AsyncClient])
def test_v1_clients_yield_the_recorded_text_generation(cls: type) -> None:
    cassette = load_cassette(CASSETTES / "v1_text.yaml")
    stream = cassette.interactions[0].response.stream
    assert stream is not None
    expected = "".join(json.loads(e.data)["text"] for e in stream.events if e.data and e.name == "text-generation")
    co = replay_client(cassette, cls)

    async def collect_async() -> list[Any]:
        return [e async for e in co.chat_stream(**kwargs_of(cassette))]

    events = asyncio.run(collect_async()) if cls is cohere.AsyncClient else list(co.chat_stream(**kwargs_of(cassette)))
    assert "".join(e.text for e in events if e.event_type == "text-generation") == expected
    assert events[-1].event_type == "stream-end" and events[-1].response.text == expected


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("cls", [cohere.ClientV2, cohere.AsyncClientV2, cohere.Client, cohere.AsyncClient])
def test_every_client_class_is_genuine_and_yields_the_sdks_own_classes(cls: type, fast: bool) -> None:
    v2 = cls in (cohere.ClientV2, cohere.AsyncClientV2)
    cassette = load_cassette(CASSETTES / ("v2_tool_calls.yaml" if v2 else "v1_tool_calls.yaml"))
    co = replay_client(cassette, cls, fast=fast)
    assert type(co) is cls

    async def collect_async() -> list[Any]:
        return [e async for e in co.chat_stream(**kwargs_of(cassette))]

    events = asyncio.run(collect_async()) if "Async" in cls.__name__ else list(co.chat_stream(**kwargs_of(cassette)))
    classes = set(event_classes("v2" if v2 else "v1").values())
    assert events and all(type(e) in classes for e in events)
    stream = cassette.interactions[0].response.stream
    assert stream is not None
    assert len(events) == sum(1 for e in stream.events if not e.is_done)


@pytest.mark.parametrize("cls", [cohere.Client, cohere.AsyncClient])
def test_a_v1_clients_v2_sub_client_takes_the_fast_path(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cohere.Client(...).v2.chat_stream``, as langchain-cohere streams: the same events
    as the SDK path's, built by the fast path (cohere 5.x makes the sub-client in the
    client's constructor, 7.x at its first use)."""
    from tests.test_instrumentation import dumps, spy_on_build, stream

    built = spy_on_build(monkeypatch)
    cassette = load_cassette(CASSETTES / "v2_tool_calls.yaml")
    expected = dumps(stream(replay_client(cassette, cls).v2, kwargs_of(cassette)))
    assert built == []
    assert dumps(stream(replay_client(cassette, cls, fast=True).v2, kwargs_of(cassette))) == expected
    assert built == [kind for kind, _ in expected] and len(expected) > 40


def test_a_v1_client_whose_v2_sub_client_cannot_be_made_is_still_built_fast() -> None:
    """cohere 7.x makes ``client.v2`` at its first use; the fast path asks for it when the
    client is built. If the SDK's own getter fails then, the client's construction does
    not: the failure is left to the first use, as without the fast path."""
    if not isinstance(vars(cohere.client.BaseCohere).get("v2"), property):
        pytest.skip("this cohere makes the sub-client in the client's constructor (5.x)")
    from stream_replay.replay.fast import install_fast_path
    from stream_replay.replay.player import Player
    from stream_replay.replay.responses import Responder

    cassette = load_cassette(CASSETTES / "v1_text.yaml")
    co = cohere.Client(api_key="k", httpx_client=httpx.Client(transport=ReplayTransport(cassette)))
    del co._v2  # what the SDK's v2 getter reads: it now raises AttributeError
    assert install_fast_path(co, Player(cassette), Responder(None, ())) is None
    with pytest.raises(AttributeError):
        co.v2  # noqa: B018
    assert list(co.chat_stream(**kwargs_of(cassette)))  # and the client's own chat_stream answers


def test_replay_is_deterministic() -> None:
    cassette = load_cassette(CASSETTES / "v2_agent.yaml")

    chats = [i for i, x in enumerate(cassette.interactions) if x.response.stream is not None]

    def run() -> list[list[dict[str, Any]]]:
        co = replay_client(cassette)
        return [[e.model_dump() for e in co.chat_stream(**kwargs_of(cassette, i))] for i in chats]

    first = run()
    assert first == run() == run()
    assert len(first) == len(chats) >= 3


def test_interactions_with_identical_requests_replay_in_recorded_order() -> None:
    """An agent that sends the same request twice gets the recorded answers in order."""
    first = load_cassette(V2_TEXT).interactions[0]
    second = load_cassette(CASSETTES / "v2_error_finish.yaml").interactions[0]
    cassette = Cassette((first, Interaction(first.request, second.response)))
    co = replay_client(cassette)
    ids = []
    for _ in range(2):
        events = list(co.chat_stream(**kwargs_of(cassette)))
        ids.append(events[0].id)
    recorded = [json.loads(str(i.response.stream.events[0].data))["id"] for i in cassette.interactions]  # type: ignore[union-attr]
    assert ids == recorded and ids[0] != ids[1]


# --------------------------------------------------------------------------- HTTP errors


def test_a_recorded_422_raises_the_sdks_own_exception_with_status_and_body() -> None:
    cassette = load_cassette(CASSETTES / "v2_http_422.yaml")
    index = next(i for i, x in enumerate(cassette.interactions) if x.response.status == 422)
    co = replay_client(cassette, cohere.ClientV2)
    with pytest.raises(cohere.UnprocessableEntityError) as caught:
        list(co.chat_stream(**kwargs_of(cassette, index)))
    assert isinstance(caught.value, ApiError)
    assert caught.value.status_code == 422
    assert plain(caught.value.body) == json.loads(cassette.interactions[index].response.body_bytes())


def plain(body: Any) -> Any:
    """An error body as JSON: cohere 7 gives the dict, cohere 5.11 its own model of it."""
    return body.model_dump(exclude_none=True) if hasattr(body, "model_dump") else body


def _error_cassette(status: int, body: dict[str, Any], headers: dict[str, str]) -> Cassette:
    request = Request(
        "POST", "https://api.cohere.com/v2/chat", body=Body({"model": "m", "messages": [], "stream": True}, "json")
    )
    response = Response(status, {"content-type": "application/json", **headers}, Body(body, "compact"))
    return Cassette((Interaction(request, response),))


@pytest.mark.parametrize(
    "status,error",
    [(429, cohere.TooManyRequestsError), (400, cohere.BadRequestError), (500, cohere.InternalServerError)],
)
def test_http_errors_surface_as_the_sdks_exceptions(status: int, error: type[Exception]) -> None:
    body = {"message": "You are using a Trial key, which is limited to 10 API calls / minute."}
    cassette = _error_cassette(status, body, {"retry-after": "7"})
    co = replay_client(cassette, cohere.ClientV2)
    with pytest.raises(error) as caught:
        list(co.chat_stream(model="m", messages=[], request_options={"max_retries": 0}))
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert plain(caught.value.body) == body  # type: ignore[attr-defined]
    if hasattr(caught.value, "headers"):  # cohere 7 keeps the response headers; 5.11 does not
        assert caught.value.headers["retry-after"] == "7"


# --------------------------------------------------------------------------- non-stream calls


def test_a_non_stream_call_returns_the_sdks_own_response() -> None:
    cassette = load_cassette(CASSETTES / "v1_citations.yaml")
    co = replay_client(cassette, cohere.Client)
    models = co.models.list(default_only=True, endpoint="chat")
    recorded = json.loads(cassette.interactions[0].response.body_bytes())
    assert type(models).__module__.startswith("cohere.")
    assert [m.name for m in models.models or []] == [m["name"] for m in recorded["models"]]


def test_chat_without_streaming_returns_the_sdks_response() -> None:
    text = "Hi there! You're Pickle Rick?"
    body = {
        "id": "3ec845ed-ebb1-4223-9648-4e5632d5c6b5",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "finish_reason": "COMPLETE",
        "usage": {
            "billed_units": {"input_tokens": 4, "output_tokens": 9},
            "tokens": {"input_tokens": 70, "output_tokens": 9},
        },
    }
    request = Request(
        "POST",
        "https://api.cohere.com/v2/chat",
        body=Body(
            {"model": "command-r", "messages": [{"role": "user", "content": "I'm Pickle Rick"}], "stream": False},
            "compact",
        ),
    )
    cassette = Cassette(
        (Interaction(request, Response(200, {"content-type": "application/json"}, Body(body, "compact"))),)
    )
    response = replay_client(cassette).chat(
        model="command-r", messages=[{"role": "user", "content": "I'm Pickle Rick"}]
    )
    assert response.finish_reason == "COMPLETE"
    assert response.message.content[0].text == text  # type: ignore[union-attr,index]


# --------------------------------------------------------------------------- matching


def test_an_unmatched_request_names_the_cassette_and_shows_a_field_diff() -> None:
    co = replay_client(V2_TEXT)
    args = kwargs_of(load_cassette(V2_TEXT))
    args["messages"][0]["content"] = "Hello"
    args["temperature"] = 0.3
    with pytest.raises(NoMatchError) as caught:
        list(co.chat_stream(**args))
    message = str(caught.value)
    assert str(V2_TEXT) in message
    assert "Closest recorded: interactions[0] POST /v2/chat" in message
    assert "messages[0].content: \"I'm Pickle Rick\" -> 'Hello'" in message
    assert "temperature: (not recorded) -> 0.3" in message
    assert "How to fix:" in message


def test_a_request_beyond_the_recording_says_every_match_was_played() -> None:
    cassette = load_cassette(V2_TEXT)
    co = replay_client(cassette)
    list(co.chat_stream(**kwargs_of(cassette)))
    with pytest.raises(NoMatchError, match="already played"):
        list(co.chat_stream(**kwargs_of(cassette)))
    again = replay_client(cassette, allow_repeats=True)
    assert len(list(again.chat_stream(**kwargs_of(cassette)))) == len(list(again.chat_stream(**kwargs_of(cassette))))


def test_ignore_fields_and_custom_matchers() -> None:
    cassette = load_cassette(V2_TEXT)
    args = kwargs_of(cassette)
    args["messages"][0]["content"] = "something else"
    co = replay_client(cassette, ignore_fields=["messages[0].content"])
    assert list(co.chat_stream(**args))
    by_route = replay_client(cassette, match_on=["method", "route"])
    assert list(by_route.chat_stream(model="other", messages=[]))
    with pytest.raises(ValueError, match="unknown matcher"):
        replay_client(cassette, match_on=["nope"])
    never = replay_client(cassette, match_on=[lambda recorded, incoming: False])
    with pytest.raises(NoMatchError, match="differs in: <lambda>"):
        list(never.chat_stream(**kwargs_of(cassette)))


def test_the_host_does_not_matter_by_default() -> None:
    cassette = load_cassette(V2_TEXT)
    co = replay_client(cassette, base_url="http://127.0.0.1:9/proxy/cohere")
    assert list(co.chat_stream(**kwargs_of(cassette)))


# --------------------------------------------------------------------------- pace


def _stream_cassette(events: list[WireEvent], outcome: str = "completed", error: StreamError | None = None) -> Cassette:
    request = Request(
        "POST", "https://api.cohere.com/v2/chat", body=Body({"model": "m", "messages": [], "stream": True}, "json")
    )
    stream = Stream("sse", tuple(events), outcome, error)  # type: ignore[arg-type]
    return Cassette((Interaction(request, Response(200, {"content-type": "text/event-stream"}, stream=stream)),))


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.mark.parametrize("speed,expected", [(None, []), (1.0, [0.02] * 10), (4.0, [0.005] * 10)])
def test_untimed_streams_use_the_documented_default_pace(
    monkeypatch: pytest.MonkeyPatch, speed: float | None, expected: list[float]
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(transport_module, "time", clock)  # when the request was made
    monkeypatch.setattr(pacing_module, "time", clock)  # waiting until each event is due
    cassette = load_cassette(V2_TEXT)
    co = replay_client(cassette, speed=speed)
    list(co.chat_stream(**kwargs_of(cassette)))
    assert clock.sleeps[:10] == expected


def test_timed_streams_replay_at_the_recorded_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(transport_module, "time", clock)  # when the request was made
    monkeypatch.setattr(pacing_module, "time", clock)  # waiting until each event is due
    base = load_cassette(V2_TEXT).interactions[0].response.stream
    assert base is not None
    offsets = [0.35, 0.36, 0.40, 0.41, 0.5]
    events = [e.with_offset(o) for e, o in zip(base.events[:4], offsets, strict=False)] + [
        base.events[-1].with_offset(0.5)
    ]
    co = replay_client(_stream_cassette(events), speed=1.0)
    list(co.chat_stream(model="m", messages=[]))
    assert clock.sleeps == [0.35, 0.01, 0.04, 0.01, 0.09]


# --------------------------------------------------------------------------- outcomes


def test_a_failed_recording_replays_its_events_then_the_same_exception() -> None:
    base = load_cassette(V2_TEXT).interactions[0].response.stream
    assert base is not None
    error = StreamError("httpx.RemoteProtocolError", "peer closed connection without sending complete message body")
    cassette = _stream_cassette(list(base.events[:5]), "failed", error)
    seen = []
    with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
        for event in replay_client(cassette).chat_stream(model="m", messages=[]):
            seen.append(event.type)
    assert seen == ["message-start", "content-start", "content-delta", "content-delta", "content-delta"]


def test_reading_past_a_stream_the_consumer_stopped_is_an_error_not_a_short_stream() -> None:
    base = load_cassette(V2_TEXT).interactions[0].response.stream
    assert base is not None
    cassette = _stream_cassette(list(base.events[:3]), "stopped")
    co = replay_client(cassette)
    stream = co.chat_stream(model="m", messages=[])
    assert [next(stream).type for _ in range(3)] == ["message-start", "content-start", "content-delta"]
    with pytest.raises(RecordingEndedError, match="stopped reading here"):
        next(stream)


def test_a_replayed_stream_lets_its_recorded_events_go_with_the_cassette() -> None:
    """A response lives in a reference cycle of httpx's (the response and the stream the
    client binds to it). What it holds of the recording waits for the garbage collector
    with it; the recorded events must not be part of that, or every test's events are
    left for the collector (the plugin drops each test's cassette when the test ends)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        cassette = load_cassette(V2_TEXT)
        body = cassette.interactions[0].request.body.json
        with (
            httpx.Client(transport=ReplayTransport(cassette)) as http,
            http.stream("POST", "https://api.cohere.com/v2/chat", json=body) as response,
        ):
            assert response.read().count(b"event: content-delta") == 69
        del cassette, http, response
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, (WireEvent, Stream, Cassette))]
        cycles = [o for o in gc.garbage if isinstance(o, httpx.Response)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert cycles, "httpx's response is no longer a cycle: this test no longer tests anything"
    assert left == []


# --------------------------------------------------------------------------- fast path and construction


def test_the_fast_path_defers_to_the_sdk_for_what_it_cannot_prove_equal() -> None:
    """An unknown event type and a raw block: the SDK's own handling, on both paths."""
    base = load_cassette(V2_TEXT).interactions[0].response.stream
    assert base is not None
    odd = [
        base.events[0],
        WireEvent("brand-new-event", '{"type":"brand-new-event","delta":{}}'),
        WireEvent("?", None, b": keep-alive\n\n"),
        *base.events[1:],
    ]
    cassette = _stream_cassette(odd)
    slow = [e.model_dump() for e in replay_client(cassette).chat_stream(model="m", messages=[])]
    fast = [e.model_dump() for e in replay_client(cassette, fast=True).chat_stream(model="m", messages=[])]
    assert fast == slow
    # Whatever the SDK makes of the odd events (cohere 7 skips the unknown type, 5.11
    # yields it), every real event still arrives, in order.
    kinds = [d.get("type") for d in slow]
    assert [k for k in kinds if k != "brand-new-event"] == [e.name for e in base.events[:-1]]


def test_what_follows_done_in_a_loaded_cassette_is_the_sdks_business_on_the_fast_path(tmp_path: Path) -> None:
    """Events after v2's ``[DONE]``, in a cassette read from its file (whose first fast
    replay builds its events as the block's check reads them): both paths give what the
    installed SDK gives. cohere 7 stops at ``[DONE]``, 5.x reads on; a fast path that
    took either for granted fails on the other."""
    base = load_cassette(V2_TEXT).interactions[0].response.stream
    assert base is not None and base.events[-1].data is None
    path = tmp_path / "after_done.yaml"
    save_cassette(_stream_cassette([*base.events, *base.events[2:4]]), path)

    def events(fast: bool) -> list[dict[str, Any]]:
        co = replay_client(load_cassette(path), fast=fast)
        return [e.model_dump() for e in co.chat_stream(model="m", messages=[])]

    slow = events(False)
    assert events(True) == slow
    before = [e.name for e in base.events[:-1]]
    assert [d["type"] for d in slow] in (before, before + [e.name for e in base.events[2:4]])


@pytest.mark.parametrize("cls", [cohere.ClientV2, cohere.AsyncClientV2])
def test_an_event_the_sdks_model_refuses_is_handled_as_the_sdk_handles_it_on_the_fast_path(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, cls: type
) -> None:
    """cohere 7's v2 parse (and 5.x's from 5.20.5) logs a warning and skips an event its
    model refuses; earlier 5.x releases build it unchecked. The fast path does what the
    installed SDK does: where the SDK builds unchecked, it takes the interaction and
    builds that event unchecked too; elsewhere it leaves the interaction to the SDK. Both
    paths give the same events and the same log, on either SDK."""
    import stream_replay.replay.fast as fast_module

    plans: list[object] = []
    make_plan = fast_module._Planner._make_plan
    monkeypatch.setattr(
        fast_module._Planner, "_make_plan", lambda self, *args: plans.append(make_plan(self, *args)) or plans[-1]
    )
    base = load_cassette(V2_TEXT).interactions[0].response.stream
    assert base is not None
    refused = WireEvent("content-delta", '{"type":"content-delta","index":0,"delta":5}')
    cassette = _stream_cassette([base.events[0], refused, *base.events[1:]])

    def run(fast: bool) -> tuple[list[Any], list[tuple[str, str]]]:
        caplog.clear()
        co = replay_client(cassette, cls, fast=fast)
        if cls is cohere.AsyncClientV2:

            async def read() -> list[Any]:
                return [e async for e in co.chat_stream(model="m", messages=[])]

            got = asyncio.run(read())
        else:
            got = list(co.chat_stream(model="m", messages=[]))
        return [(type(e), e.model_dump()) for e in got], [(r.levelname, r.getMessage()) for r in caplog.records]

    slow, slow_log = run(fast=False)
    fast, fast_log = run(fast=True)
    assert fast == slow
    assert fast_log == slow_log
    kept = [d for _, d in slow if d.get("delta") == 5]
    assert len(slow) == len(base.events) - 1 + len(kept)  # every recorded event; the refused one if the SDK keeps it
    # The SDK either kept the event or said it skipped it; the fast path took the
    # interaction exactly when the SDK keeps such an event.
    assert kept or any(level == "WARNING" and "Skipping" in message for level, message in slow_log)
    assert len(plans) == 1 and (plans[0] is not None) == bool(kept)


def test_the_fast_path_builds_the_class_the_payload_names_not_the_line(tmp_path: Path) -> None:
    """The SDK picks an event's class by its JSON's ``type``; the line's name is for
    people. A line renamed by hand is built as its payload says, on both paths (the
    fast path reads the names only when loading checked that every payload agrees)."""
    recorded = load_cassette(V2_TEXT)
    stream = recorded.interactions[0].response.stream
    assert stream is not None
    assert stream.events.typed is True  # type: ignore[attr-defined]
    events = list(stream.events)
    assert events[2].name == "content-delta"
    events[2] = WireEvent("content-start", events[2].data, None, events[2].offset)
    path = tmp_path / "renamed.yaml"
    save_cassette(_stream_cassette(events), path)
    renamed = load_cassette(path).interactions[0].response.stream
    assert renamed is not None
    assert renamed.events.typed is False  # type: ignore[attr-defined]
    slow = [type(e).__name__ for e in replay_client(path).chat_stream(model="m", messages=[])]
    fast = [type(e).__name__ for e in replay_client(path, fast=True).chat_stream(model="m", messages=[])]
    assert fast == slow
    assert "Delta" in slow[2]


def test_the_fast_path_builds_a_first_replay_from_the_payloads_loading_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading checks every payload by parsing it; the first fast replay builds its events
    from that parse instead of parsing each payload again, and lets go of it: a repeat
    parses the text, and gets equal events."""
    import stream_replay.replay.fast as fast_module

    parsed_texts: list[str] = []
    real = fast_module.loads_json

    def counting(text: str) -> Any:
        parsed_texts.append(text)
        return real(text)

    monkeypatch.setattr(fast_module, "loads_json", counting)
    co = replay_client(load_cassette(V2_TEXT), fast=True, allow_repeats=True)
    first = [
        e.model_dump()
        for e in co.chat_stream(model="command-r", messages=[{"role": "user", "content": "I'm Pickle Rick"}])
    ]
    assert len(first) == 73 and parsed_texts == []
    again = [
        e.model_dump()
        for e in co.chat_stream(model="command-r", messages=[{"role": "user", "content": "I'm Pickle Rick"}])
    ]
    assert again == first and len(parsed_texts) == 73


@pytest.mark.parametrize("cls", [cohere.ClientV2, cohere.AsyncClientV2], ids=["sync", "async"])
def test_the_fast_path_lets_go_of_each_event_it_hands_over(cls: type) -> None:
    """Nothing of the fast path holds an event once the consumer has the next, on the
    first replay (its events built before it) and on a repeat: a consumer that drops
    each event as it goes keeps none of them alive (CPython's reference count, less the
    test's own)."""
    import sys

    co = replay_client(load_cassette(V2_TEXT), cls, fast=True, allow_repeats=True)
    request = {"model": "command-r", "messages": [{"role": "user", "content": "I'm Pickle Rick"}]}

    def holders() -> list[int]:
        """For each event but the last, how many others hold it once the next has arrived."""
        counts: list[int] = []
        previous: list[Any] = []

        def arrived(event: Any) -> None:
            if previous:
                counts.append(sys.getrefcount(previous.pop()) - 1)  # less the pop's own
            previous.append(event)

        if cls is cohere.ClientV2:
            for event in co.chat_stream(**request):
                arrived(event)
        else:

            async def consume() -> None:
                async for event in co.chat_stream(**request):
                    arrived(event)

            asyncio.run(consume())
        return counts

    assert holders() == [0] * 72  # the first replay
    assert holders() == [0] * 72  # a repeat


def _raw_observations(cls: type, fast: bool) -> list[Any]:
    """What a consumer of ``with_raw_response.chat_stream`` sees of the httpx response,
    before the events, after them and after the call; and what reading the body gives,
    before the events and after them."""
    co = replay_client(load_cassette(V2_TEXT), cls, fast=fast, allow_repeats=True)
    request = {"model": "command-r", "messages": [{"role": "user", "content": "I'm Pickle Rick"}]}
    seen: list[Any] = []

    def outcome(read: Any) -> Any:
        try:
            value = read()
        except Exception as exc:
            return type(exc).__name__
        return len(value) if isinstance(value, bytes) else type(value).__name__

    def http_of(raw: Any) -> Any:
        """The httpx response the SDK's raw response holds: its ``response`` on cohere 7.x;
        5.x's (5.16 to 5.21) keeps it private."""
        return raw.response if hasattr(raw, "response") else raw._response

    def state(raw: Any) -> None:
        http = http_of(raw)
        seen.append(
            (
                raw.status_code,
                raw.headers,
                http.is_closed,
                http.is_stream_consumed,
                outcome(lambda: http.content),
                outcome(lambda: http.elapsed),
            )
        )

    async def run() -> None:
        if cls is cohere.ClientV2:
            with co.with_raw_response.chat_stream(**request) as raw:
                state(raw)
                seen.append(len(list(raw.data)))
                state(raw)
                seen.append(outcome(http_of(raw).read))  # after the events
            state(raw)
            with co.with_raw_response.chat_stream(**request) as raw:
                seen.append(outcome(http_of(raw).read))  # before them
                seen.append(len(list(raw.data)))
            return
        async with co.with_raw_response.chat_stream(**request) as raw:
            state(raw)
            seen.append(len([event async for event in raw.data]))
            state(raw)
            try:
                seen.append(len(await http_of(raw).aread()))  # after the events
            except Exception as exc:
                seen.append(type(exc).__name__)
            seen.append(outcome(http_of(raw).read))  # an async response's sync read
        state(raw)
        async with co.with_raw_response.chat_stream(**request) as raw:
            seen.append(len(await http_of(raw).aread()))
            seen.append(len([event async for event in raw.data]))

    asyncio.run(run())
    return seen


@pytest.mark.parametrize("cls", [cohere.ClientV2, cohere.AsyncClientV2], ids=["sync", "async"])
def test_the_raw_response_of_a_fast_call_is_the_sdk_paths(cls: type) -> None:
    """``with_raw_response.chat_stream`` on the fast path gives the httpx response the SDK
    path gives: streamed and not read (``content`` refused, ``read()`` the recorded
    body), consumed once the events are read (a second read refused), closed and timed
    when the call's context ends. Compared with the SDK path's, over real HTTP types."""
    if not hasattr(cls, "with_raw_response"):
        pytest.skip(f"cohere {cohere.__version__}'s streams give no raw response (no with_raw_response)")
    sdk = _raw_observations(cls, fast=False)
    assert sdk[0][2:] == (False, False, "ResponseNotRead", "RuntimeError")  # the SDK path as httpx gives it
    assert _raw_observations(cls, fast=True) == sdk


def test_the_fast_path_checks_arguments_like_the_sdk() -> None:
    co = replay_client(V2_TEXT, fast=True)
    with pytest.raises(TypeError):
        list(co.chat_stream(model="command-r"))  # type: ignore[call-arg]


def _bound(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
    """What ``inspect.signature(fn)`` (without self) binds, as (names in order, values) or
    the error it raises."""
    import inspect

    signature = inspect.signature(fn)
    signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    try:
        arguments = signature.bind(*args, **kwargs).arguments
    except TypeError as exc:
        return "TypeError", str(exc)
    return ",".join(arguments), list(arguments.values())


def _taken(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Any]:
    import stream_replay.replay.fast as fast_module

    try:
        arguments = fast_module._parameters(fn).arguments(args, kwargs)
    except TypeError as exc:
        return "TypeError", str(exc)
    return ",".join(arguments), list(arguments.values())


def test_the_fast_path_binds_arguments_as_the_signature_does() -> None:
    """The fast path takes keyword arguments without ``Signature.bind``; what it takes, in
    which order, and what it refuses are ``bind``'s, for the SDK's streaming methods and
    for signatures the shortcut does not apply to."""
    co = cohere.ClientV2(api_key="k")
    raw = getattr(co, "_raw_client", None)
    sdk_method = raw.chat_stream.__func__ if raw is not None else cohere.ClientV2.chat_stream  # 7.x, 5.x

    def odd(self: object, a: int, /, b: int, *rest: int, c: int = 3, **more: int) -> None: ...

    messages = [{"role": "user", "content": "hi"}]
    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = [
        (sdk_method, (), {"model": "command-r", "messages": messages}),
        (sdk_method, (), {"messages": messages, "temperature": 0.5, "model": "command-r"}),  # another order
        (sdk_method, (), {"model": "command-r"}),  # one missing
        (sdk_method, (), {"model": "command-r", "messages": messages, "nope": 1}),  # one unknown
        (sdk_method, ("command-r",), {"messages": messages}),  # positional: keyword-only in the SDK
        (odd, (1, 2, 5), {"c": 4, "d": 6}),
        (odd, (), {"a": 1, "b": 2}),  # a is positional-only
    ]
    for fn, args, kwargs in calls:
        assert _taken(fn, args, kwargs) == _bound(fn, args, kwargs), (fn, args, kwargs)
    assert _taken(sdk_method, (), calls[1][2])[0] == "model,messages,temperature"


def test_replay_clients_build_no_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a replay client must not load TLS certificates")

    monkeypatch.setattr(ssl, "create_default_context", refuse)
    monkeypatch.setattr(httpx._config, "create_ssl_context", refuse, raising=False)  # type: ignore[attr-defined]
    cassette = load_cassette(V2_TEXT)
    for cls in (cohere.ClientV2, cohere.AsyncClientV2, cohere.Client, cohere.AsyncClient):
        assert isinstance(replay_client(cassette, cls), cls)


def test_replay_client_refuses_what_is_not_a_cohere_client(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="client must be"):
        replay_client(V2_TEXT, dict)
    with pytest.raises(TypeError, match="httpx_client"):
        replay_client(V2_TEXT, httpx_client=httpx.Client())


def test_a_transport_reports_what_was_never_played() -> None:
    cassette = load_cassette(CASSETTES / "v2_agent.yaml")
    transport = ReplayTransport(cassette)
    co = replay_client(cassette, transport=transport)
    list(co.chat_stream(**kwargs_of(cassette, 2)))
    assert transport.unplayed() == [0, 1, 3]
    assert transport.play_counts == [0, 0, 1, 0]
