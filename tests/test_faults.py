"""Faults on real recordings: the consumer sees what it sees from a real HTTP server doing
the same at the socket level (``tests/support/wire_server.py`` on 127.0.0.1, built here
independently from the recorded bytes), through the real SDK, v1 and v2, sync and async."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import cohere
import httpx
import pytest

from stream_replay import Cassette, load_cassette, replay_client
from stream_replay import faults as F
from stream_replay.replay.faults import _DEFAULT_MESSAGES
from stream_replay.wire import WireEvent, encode_event
from tests.support.corpus import CASSETTES, STREAMS_DIR, chat_kwargs, needs_corpus, stream_rows
from tests.support.wire_server import Reply, WireServer

Outcome = tuple[list[tuple[str, dict[str, Any]]], str | None, str | None]


def _cassette(name: str) -> Cassette:
    loaded = load_cassette(CASSETTES / f"{name}.yaml")
    return Cassette(loaded.interactions[:1], loaded.meta)


def _events(cassette: Cassette) -> list[WireEvent]:
    stream = cassette.interactions[0].response.stream
    assert stream is not None
    return list(stream.events)


def _consume(client: Any, kwargs: dict[str, Any], use_async: bool) -> Outcome:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def run_async() -> None:
        async for event in client.chat_stream(**kwargs):
            seen.append((type(event).__name__, event.model_dump() if hasattr(event, "model_dump") else event))

    try:
        if use_async:
            asyncio.run(run_async())
        else:
            for event in client.chat_stream(**kwargs):
                seen.append((type(event).__name__, event.model_dump() if hasattr(event, "model_dump") else event))
    except Exception as exc:  # the outcome under test
        body = getattr(exc, "body", None)
        detail = json.dumps(body, default=str, sort_keys=True) if body is not None else str(exc)
        return seen, type(exc).__name__, detail
    return seen, None, None


def _classes(api: str, use_async: bool) -> type:
    if api == "v2":
        return cohere.AsyncClientV2 if use_async else cohere.ClientV2
    return cohere.AsyncClient if use_async else cohere.Client


def _live(reply: Reply, cassette: Cassette, api: str, use_async: bool, timeout: float | None = None) -> Outcome:
    with WireServer() as server:
        server.queue(reply)
        client = _classes(api, use_async)(api_key="fault-test-key", base_url=server.url, timeout=timeout)
        return _consume(client, chat_kwargs(cassette), use_async)


def _replayed(
    cassette: Cassette, faults: list[F.Fault], api: str, use_async: bool, timeout: float | None = None
) -> Outcome:
    client = replay_client(cassette, _classes(api, use_async), faults=faults, timeout=timeout)
    return _consume(client, chat_kwargs(cassette), use_async)


def _chunks(events: list[WireEvent], fmt: str) -> list[bytes]:
    return [encode_event(e, fmt) for e in events]  # type: ignore[arg-type]


def _content_type(fmt: str) -> str:
    return "text/event-stream" if fmt == "sse" else "application/stream+json"


def _half(event: WireEvent, fmt: str) -> bytes:
    data = event.data or "{}"
    text = data[: max(1, len(data) // 2)]
    return f"event: {event.name}\ndata: {text}\n\n".encode() if fmt == "sse" else f"{text}\n".encode()


def _unknown(fmt: str) -> bytes:
    if fmt == "sse":
        return b'event: x-future-event\ndata: {"type":"x-future-event","index":0}\n\n'
    return b'{"is_finished":false,"event_type":"x-future-event"}\n'


# Each case: the fault, and the same fault done by a real server (from the recorded events).
CASES: dict[str, tuple[Callable[[int], list[F.Fault]], Callable[[list[WireEvent], str, int], Reply]]] = {
    "disconnect": (
        lambda n: [F.disconnect(after=n)],
        lambda ev, fmt, n: Reply(200, _content_type(fmt), _chunks(ev, fmt), drop_after=n),
    ),
    "malformed": (
        lambda n: [F.malformed(at=n)],
        lambda ev, fmt, n: Reply(
            200, _content_type(fmt), [*_chunks(ev[:n], fmt), _half(ev[n], fmt), *_chunks(ev[n + 1 :], fmt)]
        ),
    ),
    "unknown_event": (
        lambda n: [F.unknown_event(at=n)],
        lambda ev, fmt, n: Reply(
            200, _content_type(fmt), [*_chunks(ev[:n], fmt), _unknown(fmt), *_chunks(ev[n:], fmt)]
        ),
    ),
    "drop": (
        lambda n: [F.drop(at=n)],
        lambda ev, fmt, n: Reply(200, _content_type(fmt), _chunks(ev[:n] + ev[n + 1 :], fmt)),
    ),
    "duplicate": (
        lambda n: [F.duplicate(at=n)],
        lambda ev, fmt, n: Reply(200, _content_type(fmt), _chunks([*ev[: n + 1], *ev[n:]], fmt)),
    ),
    "swap": (
        lambda n: [F.swap(at=n)],
        lambda ev, fmt, n: Reply(200, _content_type(fmt), _chunks([*ev[:n], ev[n + 1], ev[n], *ev[n + 2 :]], fmt)),
    ),
    "split": (
        lambda n: [F.split(every=7)],
        lambda ev, fmt, n: Reply(
            200,
            _content_type(fmt),
            [b"".join(_chunks(ev, fmt))[i : i + 7] for i in range(0, len(b"".join(_chunks(ev, fmt))), 7)],
        ),
    ),
    "disconnect+split": (
        lambda n: [F.disconnect(after=n), F.split(every=5)],
        lambda ev, fmt, n: Reply(
            200,
            _content_type(fmt),
            [b"".join(_chunks(ev[:n], fmt))[i : i + 5] for i in range(0, len(b"".join(_chunks(ev[:n], fmt))), 5)]
            + [b"x"],
            drop_after=len(range(0, len(b"".join(_chunks(ev[:n], fmt))), 5)),
        ),
    ),
}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", ["v2_text", "v2_tool_calls", "v1_text", "v1_tool_calls"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_fault_gives_what_a_real_server_doing_it_gives(case: str, name: str, use_async: bool) -> None:
    cassette = _cassette(name)
    fmt = "sse" if name.startswith("v2") else "ndjson"
    api = "v2" if fmt == "sse" else "v1"
    events = _events(cassette)
    # Somewhere in the middle; for tool calls, in the middle of the argument fragments.
    fragments = [i for i, e in enumerate(events) if e.name in ("tool-call-delta", "tool-calls-chunk")]
    position = fragments[len(fragments) // 2] if fragments else len(events) // 2
    make_faults, make_reply = CASES[case]
    live = _live(make_reply(events, fmt, position), cassette, api, use_async)
    replayed = _replayed(cassette, make_faults(position), api, use_async)
    assert replayed == live
    plain = _replayed(cassette, [], api, use_async)
    # A split body parses the same; the structural faults change what the consumer sees.
    # (What the SDK makes of a malformed or unknown event depends on its version: the
    # comparison with the real server above is the check for those.)
    if case in ("split", "disconnect", "drop", "duplicate", "swap", "disconnect+split"):
        assert (replayed == plain) == (case == "split")
    if case.startswith("disconnect"):
        assert live[1] == "RemoteProtocolError" and len(live[0]) <= position


#: Text outside ASCII, two to four bytes a character in UTF-8.
WIDE = "Pïcklé Rîck 漢字 🥒"


def _wide(name: str) -> Cassette:
    """The cassette with every text delta's text (v2 ``content-delta``, v1
    ``text-generation``) replaced by ``WIDE``."""
    cassette = _cassette(name)
    events = []
    for event in _events(cassette):
        payload = json.loads(event.data) if event.data else None
        if isinstance(payload, dict) and payload.get("type") == "content-delta":
            payload["delta"]["message"]["content"]["text"] = WIDE
        elif isinstance(payload, dict) and payload.get("event_type") == "text-generation":
            payload["text"] = WIDE
        else:
            events.append(event)
            continue
        events.append(WireEvent(event.name, json.dumps(payload, ensure_ascii=False, separators=(",", ":"))))
    interaction = cassette.interactions[0]
    stream = interaction.response.stream
    assert stream is not None
    response = dataclasses.replace(interaction.response, stream=dataclasses.replace(stream, events=tuple(events)))
    return Cassette((dataclasses.replace(interaction, response=response),), cassette.meta)


def _texts(outcome: Outcome) -> list[str]:
    """The text of each text delta the consumer got (v2 ``content-delta``, v1 ``text-generation``)."""
    texts: list[str] = []
    for _, dump in outcome[0]:
        if dump.get("type") == "content-delta":
            texts.append(dump["delta"]["message"]["content"]["text"])
        elif dump.get("event_type") == "text-generation":
            texts.append(dump["text"])
    return texts


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", ["v2_text", "v1_text"])
def test_a_split_inside_each_character_gives_what_a_real_server_splitting_there_gives(
    name: str, use_async: bool
) -> None:
    """``split(every=1)`` over text outside ASCII cuts every character between chunks.
    What the SDK makes of that is its reader's doing: most decode across chunks, but the
    sync SSE reader of cohere 5.20.1 to 6.1.0 (run here: 5.21.1) decodes each chunk alone,
    so the text arrives as U+FFFD. The replay gives what a real server sending one byte a chunk gives."""
    cassette = _wide(name)
    fmt = "sse" if name.startswith("v2") else "ndjson"
    body = b"".join(_chunks(_events(cassette), fmt))
    assert WIDE.encode() in body  # the text is on the wire as UTF-8, not as \u escapes
    live = _live(
        Reply(200, _content_type(fmt), [body[i : i + 1] for i in range(len(body))]), cassette, name[:2], use_async
    )
    replayed = _replayed(cassette, [F.split(every=1)], name[:2], use_async)

    assert replayed == live
    assert live[1] is None and WIDE in _texts(_replayed(cassette, [], name[:2], use_async))
    texts = _texts(live)
    assert texts  # the deltas came through, whole or mangled by the SDK's reader
    assert all(text == WIDE for text in texts) or all("\ufffd" in text for text in texts)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", ["v2_text", "v1_text"])
@pytest.mark.parametrize(("status", "retry_after"), [(429, 3.0), (500, None), (503, None)])
def test_an_http_error_instead_of_the_stream_is_the_sdk_s_own_exception(
    status: int, retry_after: float | None, name: str, use_async: bool
) -> None:
    api = name[:2]
    cassette = _cassette(name)
    message = _DEFAULT_MESSAGES[status]
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    # The SDK retries 429, 500 and 503 (twice by default, honouring Retry-After); without
    # retries, one request shows the error as the SDK raises it.
    kwargs = {**chat_kwargs(cassette), "request_options": {"max_retries": 0}}
    with WireServer() as server:
        server.queue(Reply.json(status, {"message": message}, headers))
        live = _consume(_classes(api, use_async)(api_key="fault-test-key", base_url=server.url), kwargs, use_async)
    fault = F.http_error(status, retry_after=retry_after)
    replayed = _consume(replay_client(cassette, _classes(api, use_async), faults=[fault]), kwargs, use_async)
    assert replayed == live
    assert replayed[0] == []
    assert (
        replayed[1] == {429: "TooManyRequestsError", 500: "InternalServerError", 503: "ServiceUnavailableError"}[status]
    )


def test_an_http_error_for_the_first_request_only_lets_the_retry_through() -> None:
    cassette = _cassette("v2_text")
    client = replay_client(
        cassette, cohere.ClientV2, faults=[F.http_error(429, retry_after=0, times=1)], allow_repeats=True
    )
    with pytest.raises(cohere.TooManyRequestsError):
        list(client.chat_stream(**chat_kwargs(cassette)))
    assert [e.type for e in client.chat_stream(**chat_kwargs(cassette))][-1] == "message-end"


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", ["v2_text", "v1_text"])
def test_a_stall_longer_than_the_read_timeout_is_the_sdk_s_read_timeout(name: str, use_async: bool) -> None:
    api = name[:2]
    fmt = "sse" if api == "v2" else "ndjson"
    cassette = _cassette(name)
    events = _events(cassette)
    chunks = _chunks(events, fmt)
    delays = [0.0] * len(chunks)
    delays[5] = 2.0
    live = _live(Reply(200, _content_type(fmt), chunks, delays), cassette, api, use_async, timeout=0.3)
    replayed = _replayed(cassette, [F.stall(after=5, seconds=2.0)], api, use_async, timeout=0.3)
    assert live[1] == replayed[1] == "ReadTimeout"
    assert live[0] == replayed[0] and len(replayed[0]) == 5


def test_a_stall_shorter_than_the_timeout_delays_and_goes_on() -> None:
    cassette = _cassette("v2_text")
    replayed = _replayed(cassette, [F.stall(after=5, seconds=0.05)], "v2", False)
    plain = _replayed(cassette, [], "v2", False)
    assert replayed == plain


def test_a_fault_position_outside_the_stream_says_so() -> None:
    cassette = _cassette("v2_text")
    count = len(_events(cassette))
    with pytest.raises(ValueError, match=rf"malformed\(at={count + 5}\): the stream has {count} events"):
        list(
            replay_client(cassette, cohere.ClientV2, faults=[F.malformed(at=count + 5)]).chat_stream(
                **chat_kwargs(cassette)
            )
        )


def test_fault_labels_read_as_test_ids() -> None:
    assert F.label([F.disconnect(after=12), F.split(every=7)]) == "disconnect@12+split/7"
    assert F.label([F.http_error(429)]) == "http_429"
    assert F.label([]) == "no-fault"
    assert httpx.RemoteProtocolError is not None


def test_fault_specs_from_the_command_line() -> None:
    assert F.parse("disconnect:after=3") == F.disconnect(after=3)
    assert F.parse("disconnect:3") == F.disconnect(3)
    assert F.parse("http_error:429") == F.http_error(429)
    assert F.parse("http_error:status=503,retry_after=2") == F.http_error(503, retry_after=2)
    assert F.parse("stall:after=5,seconds=0.5") == F.stall(after=5, seconds=0.5)
    assert F.parse("split:7") == F.split(7)
    with pytest.raises(ValueError, match=r"unknown fault 'disconect' in 'disconect:3'; known: delay, disconnect, "):
        F.parse("disconect:3")
    with pytest.raises(ValueError, match=r"fault 'stall:after=1,secs=2': "):
        F.parse("stall:after=1,secs=2")


@pytest.mark.parametrize("spec", ["disconnect:after=5", "malformed:at=5", "split:3"])
def test_serve_applies_the_same_faults_over_http(spec: str) -> None:
    from stream_replay.serve import ReplayServer

    cassette = _cassette("v2_text")
    fault = F.parse(spec)
    with ReplayServer([cassette], speed=None, faults=[fault]) as server:
        client = cohere.ClientV2(api_key="fault-test-key", base_url=server.url)
        served = _consume(client, chat_kwargs(cassette), False)
    assert served == _replayed(cassette, [fault], "v2", False)


def test_slow_first_event_and_delay_shift_the_schedule_by_what_they_say() -> None:
    from stream_replay.replay.faulty import make_plan

    cassette = _cassette("v2_text")
    interaction = cassette.interactions[0]
    count = len(_events(cassette))
    plain = make_plan(interaction, 1.0, [])
    assert plain.due is not None and len(plain.due) == count
    slow = make_plan(interaction, 1.0, [F.slow_first_event(0.5)])
    assert slow.due == [at + 0.5 for at in plain.due]
    jittered = make_plan(interaction, 1.0, [F.delay(0.01, jitter=0.004, seed=3)])
    again = make_plan(interaction, 1.0, [F.delay(0.01, jitter=0.004, seed=3)])
    assert jittered.due == again.due  # seeded: the same every run
    assert jittered.due is not None
    extra = [j - p for j, p in zip(jittered.due, plain.due, strict=True)]
    steps = [b - a for a, b in itertools.pairwise(extra)]
    assert extra[0] == 0.0 and all(0.01 <= step <= 0.014 + 1e-9 for step in steps)
    instant = make_plan(interaction, None, [F.slow_first_event(0.25)])
    assert instant.due == [0.25] * count  # at speed None only the injected delay applies


def test_a_slow_first_event_arrives_no_sooner() -> None:
    cassette = _cassette("v2_text")
    client = replay_client(cassette, cohere.ClientV2, faults=[F.slow_first_event(0.2)])
    started = time.monotonic()
    arrivals = [time.monotonic() - started for _ in client.chat_stream(**chat_kwargs(cassette))]
    assert arrivals[0] >= 0.2


@needs_corpus
@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_body_split_into_single_bytes_parses_as_a_real_server_sends_it(api: str) -> None:
    from pathlib import Path

    from stream_replay.cassette import Body, Interaction, Request, Response, Stream
    from stream_replay.wire import decode

    fmt = "sse" if api == "v2" else "ndjson"
    # The corpus's v2 bodies are all ASCII (JSON escapes); 18 of its v1 bodies carry raw
    # UTF-8, which a one-byte split cuts inside every multi-byte character.
    row = next(
        r
        for r in stream_rows()
        if r["api"] == api
        and r["http_status"] == "200"
        and (api == "v2" or not (STREAMS_DIR / r["file"]).read_bytes().isascii())
    )
    raw = (STREAMS_DIR / row["file"]).read_bytes()
    body = json.loads(Path(str(STREAMS_DIR / row["file"]).rsplit(".", 1)[0] + ".request.json").read_text())
    request = Request("POST", row["request_uri"], {"content-type": "application/json"}, Body(json=body, style="json"))
    response = Response(200, {"content-type": _content_type(fmt)}, stream=Stream(fmt, tuple(decode(raw, fmt))))
    cassette = Cassette((Interaction(request, response),))
    live = _live(Reply(200, _content_type(fmt), [raw[i : i + 1] for i in range(len(raw))]), cassette, api, False)
    replayed = _replayed(cassette, [F.split(every=1)], api, False)
    assert replayed == live == _replayed(cassette, [], api, False)


def test_a_short_stall_in_a_split_body_loses_nothing() -> None:
    cassette = _cassette("v1_text")
    plain = _replayed(cassette, [], "v1", False)
    assert _replayed(cassette, [F.stall(after=4, seconds=0.05), F.split(every=5)], "v1", False) == plain


class _Counting(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Counts the requests that reach the replay transport under it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return self.inner.handle_request(request)  # type: ignore[no-any-return]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("status", "error"),
    [(429, cohere.TooManyRequestsError), (500, cohere.InternalServerError), (503, cohere.ServiceUnavailableError)],
)
def test_chat_stream_is_not_retried_by_the_sdk(status: int, error: type[Exception], use_async: bool) -> None:
    """What the README's fault table says, measured: on cohere 7.3.1 and 5.11.4,
    ``chat_stream`` sends one request and raises the SDK's error at once; its retries
    (``max_retries``) are for the non-streaming calls only."""
    from stream_replay.replay.transport import ReplayTransport

    cassette = load_cassette(CASSETTES / "v2_text.yaml")
    counting = _Counting(ReplayTransport(cassette, faults=[F.http_error(status)]))
    if use_async:
        co: Any = cohere.AsyncClientV2(api_key="k", httpx_client=httpx.AsyncClient(transport=counting))
    else:
        co = cohere.ClientV2(api_key="k", httpx_client=httpx.Client(transport=counting))
    events, raised, _ = _consume(co, chat_kwargs(cassette), use_async)
    assert (events, raised) == ([], error.__name__)
    assert counting.requests == 1


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_an_application_retrying_after_an_injected_429_gets_the_recorded_stream(use_async: bool) -> None:
    """The injected error took the recorded answer's place: the answer is still there
    for the application's own retry, as the live API would give it."""
    from stream_replay.replay.transport import ReplayTransport

    cassette = _cassette("v2_text")
    transport = ReplayTransport(cassette, faults=[F.http_error(429, times=1)])
    co = replay_client(cassette, _classes("v2", use_async), transport=transport)
    events, raised, _ = _consume(co, chat_kwargs(cassette), use_async)
    assert (events, raised) == ([], "TooManyRequestsError")
    assert transport.unplayed() == [0]  # the injected error did not use up the recording
    retried = _consume(co, chat_kwargs(cassette), use_async)
    assert retried == _replayed(cassette, [], "v2", use_async) and retried[1] is None
    assert transport.unplayed() == []
