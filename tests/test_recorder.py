"""Recording through the real SDK against a real loopback server speaking Cohere's wire
protocol: what is recorded equals what was sent, and replaying it gives the consumer
the same outcome it saw live, for every way a stream can end."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import statistics
import warnings
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest

from stream_replay import RecordingEndedError, load_cassette, record_client, replay_client
from stream_replay.errors import CassetteError, StreamReplayWarning, TruncatedStreamWarning, UnsafeCassetteError
from stream_replay.wire import decode
from tests.support.corpus import CASSETTES, STREAMS_DIR, needs_corpus, stream_rows
from tests.support.wire_server import Reply, WireServer

CANARY = "sk-canary-7f3a9c2e41d8b6"

Outcome = tuple[list[tuple[type, dict[str, Any]]], type[BaseException] | None]


def bundled(name: str, index: int = 0) -> tuple[bytes, dict[str, Any], str]:
    """(body, chat_stream kwargs, format) of a real bundled stream."""
    interaction = load_cassette(CASSETTES / name).interactions[index]
    stream = interaction.response.stream
    assert stream is not None
    kwargs = {k: v for k, v in json.loads(json.dumps(interaction.request.body.json)).items() if k != "stream"}
    return stream.body(), kwargs, stream.format


async def consume_async(client: Any, kwargs: dict[str, Any], stop_after: int | None = None) -> Outcome:
    seen: list[tuple[type, dict[str, Any]]] = []
    try:
        async for event in client.chat_stream(**kwargs):
            seen.append((type(event), event.model_dump()))
            if stop_after is not None and len(seen) >= stop_after:
                break
    except Exception as exc:
        return seen, type(exc)
    return seen, None


def consume(client: Any, kwargs: dict[str, Any], *, stop_after: int | None = None) -> Outcome:
    """The consumer-visible outcome: the events seen, and the exception type raised."""
    if isinstance(client, (cohere.AsyncClient, cohere.AsyncClientV2)):
        return asyncio.run(consume_async(client, kwargs, stop_after))
    seen: list[tuple[type, dict[str, Any]]] = []
    try:
        for event in client.chat_stream(**kwargs):
            seen.append((type(event), event.model_dump()))
            if stop_after is not None and len(seen) >= stop_after:
                break
    except Exception as exc:
        return seen, type(exc)
    return seen, None


def client_classes(fmt: str, use_async: bool) -> type:
    if fmt == "sse":
        return cohere.AsyncClientV2 if use_async else cohere.ClientV2
    return cohere.AsyncClient if use_async else cohere.Client


def record(
    path: Path, server: WireServer, reply: Reply, fmt: str, kwargs: dict[str, Any], use_async: bool, **options: Any
) -> Outcome:
    """Record one call through a genuine client (``async with`` for the async ones)."""
    server.queue(reply)
    session = record_client(path, client_classes(fmt, use_async), api_key=CANARY, base_url=server.url)
    if use_async:

        async def run() -> Outcome:
            async with session as co:
                return await consume_async(co, kwargs, options.get("stop_after"))

        return asyncio.run(run())
    with session as co:
        return consume(co, kwargs, **options)


def replayed(path: Path, fmt: str, kwargs: dict[str, Any], use_async: bool, **options: Any) -> Outcome:
    return consume(replay_client(path, client_classes(fmt, use_async), allow_repeats=True), kwargs, **options)


def assert_no_canary(folder: Path) -> None:
    for file in folder.rglob("*"):
        if file.is_file():
            assert CANARY.encode() not in file.read_bytes(), file


# --------------------------------------------------------------------------- the whole corpus


@pytest.mark.slow
@needs_corpus
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_recording_every_corpus_stream_keeps_events_order_and_bytes(
    tmp_path: Path, wire_server: WireServer, use_async: bool
) -> None:
    recorded = 0
    for row in stream_rows():
        source = STREAMS_DIR / row["file"]
        fmt = "sse" if row["api"] == "v2" else "ndjson"
        kwargs = json.loads(source.with_suffix(".request.json").read_text())
        kwargs.pop("stream", None)
        path = tmp_path / f"{source.stem}.yaml"
        live = record(path, wire_server, Reply.stream(source.read_bytes(), fmt, delay=0.0005), fmt, kwargs, use_async)
        stream = load_cassette(path).interactions[0].response.stream
        assert stream is not None and stream.outcome == "completed", row["file"]
        assert [e.with_offset(None) for e in stream.events] == decode(source.read_bytes(), fmt)  # type: ignore[arg-type]
        assert stream.body() == source.read_bytes()
        assert stream.timed
        assert replayed(path, fmt, kwargs, use_async) == live
        recorded += 1
    assert recorded == 133
    assert_no_canary(tmp_path)


def test_recorded_timing_follows_the_server_within_a_few_ms(tmp_path: Path, wire_server: WireServer) -> None:
    body, kwargs, fmt = bundled("v2_tool_calls.yaml")
    record(tmp_path / "t.yaml", wire_server, Reply.stream(body, fmt, delay=0.02), fmt, kwargs, False)
    stream = load_cassette(tmp_path / "t.yaml").interactions[0].response.stream
    assert stream is not None
    offsets = [float(e.offset or 0.0) for e in stream.events]
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert offsets == sorted(offsets)
    assert abs(statistics.median(gaps) - 0.020) < 0.005
    assert offsets[0] >= 0.019  # the server waits 20 ms before the first event too


# --------------------------------------------------------------------------- how streams end


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "name,drop_after",
    [("v2_text.yaml", 10), ("v2_tool_calls.yaml", 35), ("v1_text.yaml", 7), ("v1_tool_calls.yaml", 20)],
    ids=["v2-text", "v2-mid-tool-call-arguments", "v1-text", "v1-tool-call-chunks"],
)
def test_a_connection_dropped_mid_stream_replays_the_same_events_then_the_same_error(
    tmp_path: Path, wire_server: WireServer, name: str, drop_after: int, use_async: bool
) -> None:
    body, kwargs, fmt = bundled(name)
    reply = dataclasses.replace(Reply.stream(body, fmt), drop_after=drop_after)
    live = record(tmp_path / "c.yaml", wire_server, reply, fmt, kwargs, use_async)
    assert live[1] is httpx.RemoteProtocolError
    assert 0 < len(live[0]) <= drop_after
    stream = load_cassette(tmp_path / "c.yaml").interactions[0].response.stream
    assert stream is not None and stream.outcome == "failed"
    assert stream.error is not None and stream.error.type == "httpx.RemoteProtocolError"
    assert len(stream.events) == drop_after
    assert replayed(tmp_path / "c.yaml", fmt, kwargs, use_async) == live


@pytest.mark.parametrize("name", ["v2_text.yaml", "v1_text.yaml"])
def test_a_stream_without_its_terminator_is_recorded_truncated_with_a_warning(
    tmp_path: Path, wire_server: WireServer, name: str
) -> None:
    body, kwargs, fmt = bundled(name)
    events = decode(body, fmt)  # type: ignore[arg-type]
    cut = Reply.stream(body, fmt)
    cut = dataclasses.replace(cut, chunks=list(cut.chunks)[: len(events) - 1], delays=[])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        live = record(tmp_path / "t.yaml", wire_server, cut, fmt, kwargs, False)
    assert any(issubclass(w.category, TruncatedStreamWarning) for w in caught)
    stream = load_cassette(tmp_path / "t.yaml").interactions[0].response.stream
    assert stream is not None and stream.outcome == "truncated"
    assert replayed(tmp_path / "t.yaml", fmt, kwargs, False) == live


@pytest.mark.parametrize(
    "status,error,headers",
    [
        (429, cohere.TooManyRequestsError, {"retry-after": "7"}),
        (500, cohere.InternalServerError, {}),
        (422, cohere.UnprocessableEntityError, {}),
    ],
)
def test_http_errors_are_recorded_and_replayed_as_the_same_sdk_exception(
    tmp_path: Path, wire_server: WireServer, status: int, error: type[Exception], headers: dict[str, str]
) -> None:
    body = {"message": f"recorded error {status}"}
    kwargs = {"model": "command-r", "messages": [{"role": "user", "content": "hi"}]}
    wire_server.queue(Reply.json(status, body, headers))
    # 429 and 500 are kept only when asked (record_errors='all'); 422 by default
    policy = "all" if status in (429, 500) else "deterministic"
    with (
        record_client(
            tmp_path / "e.yaml", cohere.ClientV2, record_errors=policy, api_key=CANARY, base_url=wire_server.url
        ) as co,
        pytest.raises(error) as live,
    ):
        list(co.chat_stream(**kwargs, request_options={"max_retries": 0}))
    interaction = load_cassette(tmp_path / "e.yaml").interactions[0]
    assert interaction.response.status == status
    assert json.loads(interaction.response.body_bytes()) == body
    for name, value in headers.items():
        assert interaction.response.headers[name] == value
    with pytest.raises(error) as again:
        list(replay_client(tmp_path / "e.yaml").chat_stream(**kwargs, request_options={"max_retries": 0}))
    assert again.value.status_code == live.value.status_code == status  # type: ignore[attr-defined]
    assert again.value.body == live.value.body  # type: ignore[attr-defined]
    assert_no_canary(tmp_path)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_consumer_that_stops_early_is_recorded_as_stopped(
    tmp_path: Path, wire_server: WireServer, use_async: bool
) -> None:
    body, kwargs, fmt = bundled("v2_text.yaml")
    live = record(
        tmp_path / "s.yaml", wire_server, Reply.stream(body, fmt, delay=0.002), fmt, kwargs, use_async, stop_after=5
    )
    stream = load_cassette(tmp_path / "s.yaml").interactions[0].response.stream
    assert stream is not None and stream.outcome == "stopped"
    assert len(stream.events) >= 5
    assert replayed(tmp_path / "s.yaml", fmt, kwargs, use_async, stop_after=5) == live
    # reading on past what was recorded is an error, never a silently short stream
    rest = replay_client(tmp_path / "s.yaml").chat_stream(**kwargs)
    with pytest.raises(RecordingEndedError):
        for _ in range(len(stream.events) + 5):
            next(rest)


def test_an_abandoned_stream_is_saved_as_stopped_when_the_session_ends(tmp_path: Path, wire_server: WireServer) -> None:
    body, kwargs, fmt = bundled("v2_text.yaml")
    wire_server.queue(Reply.stream(body, fmt, delay=0.002))
    with record_client(tmp_path / "a.yaml", cohere.ClientV2, api_key=CANARY, base_url=wire_server.url) as co:
        stream = co.chat_stream(**kwargs)
        first = [next(stream) for _ in range(3)]
        assert not (tmp_path / "a.yaml").exists()  # still in flight
    recorded = load_cassette(tmp_path / "a.yaml").interactions[0].response.stream
    assert recorded is not None and recorded.outcome == "stopped"
    assert len(first) == 3 and len(recorded.events) >= 3


# --------------------------------------------------------------------------- calls and sessions


def test_non_stream_calls_are_recorded_and_replayed(tmp_path: Path, wire_server: WireServer) -> None:
    reply = {
        "id": "b1",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
        "finish_reason": "COMPLETE",
        "usage": {"billed_units": {"input_tokens": 3, "output_tokens": 2}},
    }
    kwargs = {"model": "command-r", "messages": [{"role": "user", "content": "hi"}]}
    wire_server.queue(Reply.json(200, reply))
    with record_client(tmp_path / "n.yaml", cohere.ClientV2, api_key=CANARY, base_url=wire_server.url) as co:
        live = co.chat(**kwargs)
    again = replay_client(tmp_path / "n.yaml").chat(**kwargs)
    assert again.model_dump() == live.model_dump()
    assert again.message.content[0].text == "Hello!"  # type: ignore[union-attr,index]
    assert_no_canary(tmp_path)


def test_several_calls_append_in_order_as_each_completes(tmp_path: Path, wire_server: WireServer) -> None:
    cassette = load_cassette(CASSETTES / "v2_citations.yaml")
    path = tmp_path / "agent.yaml"
    with record_client(path, cohere.ClientV2, api_key=CANARY, base_url=wire_server.url) as co:
        for index, interaction in enumerate(cassette.interactions):
            stream = interaction.response.stream
            assert stream is not None
            wire_server.queue(Reply.stream(stream.body(), "sse"))
            args = {k: v for k, v in json.loads(json.dumps(interaction.request.body.json)).items() if k != "stream"}
            list(co.chat_stream(**args))
            assert len(load_cassette(path).interactions) == index + 1  # written as it completes
    recorded = load_cassette(path)
    assert [i.request.body.json for i in recorded.interactions] == [i.request.body.json for i in cassette.interactions]
    assert recorded.meta.cohere_version == cohere.__version__


def test_the_api_key_never_reaches_disk_and_a_leak_is_refused(tmp_path: Path, wire_server: WireServer) -> None:
    body, kwargs, fmt = bundled("v1_text.yaml")
    record(tmp_path / "v1.yaml", wire_server, Reply.stream(body, fmt), fmt, kwargs, True)
    assert_no_canary(tmp_path)
    # a key inside what is sent (here, a message) would be written: the save is refused
    leaky = dict(kwargs, message=f"my key is {CANARY}")
    wire_server.queue(Reply.stream(body, fmt))
    with (
        pytest.warns(StreamReplayWarning, match="not recorded"),
        pytest.raises(UnsafeCassetteError, match="API key") as refused,
        record_client(tmp_path / "leak.yaml", cohere.Client, api_key=CANARY, base_url=wire_server.url) as co,
    ):
        list(co.chat_stream(**leaky))
    assert refused.value.line is not None
    assert CANARY not in str(refused.value)
    assert not (tmp_path / "leak.yaml").exists()
    assert_no_canary(tmp_path)


def test_the_key_from_the_environment_is_guarded_too(
    tmp_path: Path, wire_server: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CO_API_KEY", CANARY)
    body, kwargs, fmt = bundled("v2_text.yaml")
    wire_server.queue(Reply.stream(body, fmt))
    with record_client(tmp_path / "env.yaml", cohere.ClientV2, base_url=wire_server.url) as co:
        list(co.chat_stream(**kwargs))
    assert_no_canary(tmp_path)
    assert "authorization" not in (tmp_path / "env.yaml").read_text().lower()


def test_recording_never_overwrites_a_cassette_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    damaged = (CASSETTES / "v2_text.yaml").read_text()[:2000]
    path.write_text(damaged)
    with pytest.raises(CassetteError, match="nothing is recorded into it") as caught:
        record_client(path, cohere.ClientV2, api_key=CANARY)
    assert caught.value.path == path
    assert path.read_text() == damaged


def test_a_dummy_key_of_a_few_characters_does_not_refuse_every_save(tmp_path: Path, wire_server: WireServer) -> None:
    body, kwargs, fmt = bundled("v2_text.yaml")
    wire_server.queue(Reply.stream(body, fmt))
    with record_client(tmp_path / "x.yaml", cohere.ClientV2, api_key="x", base_url=wire_server.url) as co:
        list(co.chat_stream(**kwargs))
    assert len(load_cassette(tmp_path / "x.yaml").interactions) == 1


def test_temporaries_left_by_killed_saves_are_cleaned_up_once_stale(tmp_path: Path) -> None:
    import os
    import time

    from stream_replay.cassette.files import STALE_TEMPORARY_SECONDS
    from stream_replay.recording.writer import CassetteWriter

    path = tmp_path / "c.yaml"
    stale = tmp_path / ".c.yaml.abc123.tmp"
    fresh = tmp_path / ".c.yaml.def456.tmp"
    for leftover in (stale, fresh):
        leftover.write_text("a copy left by a killed save")
    old = time.time() - STALE_TEMPORARY_SECONDS - 5
    os.utime(stale, (old, old))
    CassetteWriter(path).append(load_cassette(CASSETTES / "v2_text.yaml").interactions[0])
    assert not stale.exists()
    assert fresh.exists()  # might still be another writer's save in progress
    assert len(load_cassette(path).interactions) == 1


@pytest.mark.parametrize(
    ("status", "policy", "kept"),
    [
        (401, "deterministic", False),
        (403, "deterministic", False),
        (408, "deterministic", False),
        (429, "deterministic", False),
        (500, "deterministic", False),
        (503, "deterministic", False),
        (400, "deterministic", True),
        (404, "deterministic", True),
        (422, "deterministic", True),
        (401, "all", True),
        (422, "none", False),
    ],
)
def test_record_errors_keeps_what_a_user_wants_kept_and_says_what_it_left_out(
    tmp_path: Path, wire_server: WireServer, status: int, policy: str, kept: bool
) -> None:
    """An expired key (401) or a rate limit (429) recorded would be replayed as the answer
    forever: left out by default, each with a warning that says why and how to keep it."""
    from stream_replay.errors import StreamReplayWarning

    wire_server.queue(Reply.json(status, {"message": f"error {status}"}, {}))
    path = tmp_path / "e.yaml"
    with (
        warnings.catch_warnings(record=True) as caught,
        record_client(path, cohere.ClientV2, record_errors=policy, api_key=CANARY, base_url=wire_server.url) as co,
        pytest.raises(cohere.core.ApiError) as live,
    ):
        warnings.simplefilter("always")
        list(co.chat_stream(model="command-r", messages=[], request_options={"max_retries": 0}))
    assert live.value.status_code == status
    said = [str(w.message) for w in caught if issubclass(w.category, StreamReplayWarning)]
    if kept:
        assert load_cassette(path).interactions[0].response.status == status
        assert said == []
    else:
        assert not path.exists()
        (message,) = said
        assert message.startswith(f"not recorded: POST {wire_server.url}/v2/chat -> HTTP {status} ")
        assert message.endswith("pass record_errors='all'")


def test_serves_own_no_match_answer_is_never_recorded(tmp_path: Path) -> None:
    from stream_replay.errors import StreamReplayWarning
    from stream_replay.serve import ReplayServer

    path = tmp_path / "e.yaml"
    with (
        ReplayServer([CASSETTES / "v2_text.yaml"], speed=0) as server,
        pytest.warns(StreamReplayWarning, match="serve's own 'no recorded interaction' answer"),
        record_client(path, cohere.ClientV2, record_errors="all", api_key=CANARY, base_url=server.url) as co,
        pytest.raises(cohere.NotFoundError),
    ):
        list(co.chat_stream(model="command-r", messages=[{"role": "user", "content": "not recorded"}]))
    assert not (tmp_path / "e.yaml").exists()
