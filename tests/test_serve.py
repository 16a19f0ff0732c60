"""``stream-replay serve``: the real cohere SDK over real HTTP on 127.0.0.1, answered from
the bundled real cassettes; the command itself in a subprocess (its URL line, Ctrl-C)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest
from cohere.core import ApiError

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
from stream_replay.cli import main
from stream_replay.replay import player as player_module
from stream_replay.replay.client import replay_client
from stream_replay.replay.matching import recorded_view
from stream_replay.replay.transport import ReplayTransport
from stream_replay.serve import ReplayServer, cassette_files
from tests.support.corpus import CASSETTES
from tests.support.serve_cli import read_line, start_cli

TIMEOUT = 30.0  # seconds any single HTTP call may take before the test fails


def kwargs_of(interaction: Interaction) -> dict[str, Any]:
    """The chat call's arguments: the recorded request body minus ``stream``, as the installed
    SDK takes them (a field it has no parameter for, e.g. ``thinking`` on 5.11, as an
    additional body parameter: the same body on the wire)."""
    from stream_replay.sdk import sdk_kwargs

    body = json.loads(json.dumps(interaction.request.body.json))
    route = route_of(interaction)
    method = getattr(cohere.ClientV2 if route == "/v2/chat" else cohere.Client, stream_method(route))
    return sdk_kwargs(method, {k: v for k, v in body.items() if k != "stream"})


def stream_method(route: str) -> str:
    """The SDK method that streams from ``route``."""
    return "generate_stream" if route == "/v1/generate" else "chat_stream"


def route_of(interaction: Interaction) -> str:
    return recorded_view(interaction.request).route


def plain(body: Any) -> Any:
    """An error body as JSON: cohere 7 gives the dict, cohere 5.11 may give a model of it."""
    return body.model_dump(exclude_none=True) if hasattr(body, "model_dump") else body


def dumps(events: list[Any]) -> list[tuple[type, Any]]:
    return [(type(e), e.model_dump()) for e in events]


def stream_of(interaction: Interaction) -> Stream:
    stream = interaction.response.stream
    assert stream is not None
    return stream


def recorded_text(stream: Stream) -> str:
    return "".join(
        json.loads(e.data)["delta"]["message"]["content"]["text"]
        for e in stream.events
        if e.data and e.name == "content-delta"
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The HTTP client the SDK clients of a test share, closed at its end."""
    with httpx.Client(timeout=TIMEOUT) as client:
        yield client


@pytest.fixture
def v2_text() -> Cassette:
    return load_cassette(CASSETTES / "v2_text.yaml")


# --------------------------------------------------------------------------- the SDK against a folder


def test_a_served_folder_answers_every_sdk_call_like_in_process_replay(http: httpx.Client) -> None:
    counts = {"streams": 0, "errors": 0, "models": 0, "async": 0}
    with ReplayServer([CASSETTES], speed=0) as server:
        assert len(server.players) == len(list(CASSETTES.glob("*.yaml"))) == 11
        remote_v2 = cohere.ClientV2(api_key="x", base_url=server.url, httpx_client=http)
        remote_v1 = cohere.Client(api_key="x", base_url=server.url, httpx_client=http)
        # the server's order: a request recorded in two cassettes is answered from each in turn
        for path in cassette_files([CASSETTES]):
            cassette = load_cassette(path)
            transport = ReplayTransport(cassette)
            local = {
                "/v2/chat": replay_client(cassette, cohere.ClientV2, transport=transport),
                "/v1/chat": replay_client(cassette, cohere.Client, transport=transport),
            }
            local["/v1/generate"] = local["/v1/chat"]
            for interaction in cassette.interactions:
                route = route_of(interaction)
                remote: Any = remote_v2 if route == "/v2/chat" else remote_v1
                if route == "/v1/models":
                    models = remote_v1.models.list(default_only=True, endpoint="chat")
                    recorded = json.loads(interaction.response.body_bytes())
                    assert [m.name for m in models.models or []] == [m["name"] for m in recorded["models"]]
                    counts["models"] += 1
                elif interaction.response.status >= 400:
                    with pytest.raises(ApiError) as caught:
                        list(remote.chat_stream(**kwargs_of(interaction)))
                    assert caught.value.status_code == interaction.response.status == 422
                    assert isinstance(caught.value, cohere.UnprocessableEntityError)
                    assert plain(caught.value.body) == json.loads(interaction.response.body_bytes())
                    counts["errors"] += 1
                else:
                    name = stream_method(route)
                    expected = dumps(list(getattr(local[route], name)(**kwargs_of(interaction))))
                    if path.stem.endswith("_text"):
                        served = dumps(asyncio.run(_collect_async(server.url, route, kwargs_of(interaction))))
                        counts["async"] += 1
                    else:
                        served = dumps(list(getattr(remote, name)(**kwargs_of(interaction))))
                    assert served == expected and len(expected) >= len(stream_of(interaction).events) - 1
                    counts["streams"] += 1
        assert [p.unplayed() for p in server.players] == [[]] * 11
    assert counts == {"streams": 17, "errors": 5, "models": 2, "async": 2}


async def _collect_async(url: str, route: str, kwargs: dict[str, Any]) -> list[Any]:
    cls: Any = cohere.AsyncClientV2 if route == "/v2/chat" else cohere.AsyncClient
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        co = cls(api_key="x", base_url=url, httpx_client=http)
        return [event async for event in co.chat_stream(**kwargs)]


def test_non_streamed_chat_is_answered_with_the_recorded_body(http: httpx.Client) -> None:
    text = "Hi there! You're Pickle Rick?"
    body = {
        "id": "3ec845ed-ebb1-4223-9648-4e5632d5c6b5",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "finish_reason": "COMPLETE",
        "usage": {"billed_units": {"input_tokens": 4, "output_tokens": 9}},
    }
    messages = [{"role": "user", "content": "I'm Pickle Rick"}]
    request = Request(
        "POST",
        "https://api.cohere.com/v2/chat",
        body=Body({"model": "command-r", "messages": messages, "stream": False}, "compact"),
    )
    response = Response(200, {"content-type": "application/json"}, Body(body, "compact"))
    with ReplayServer([Cassette((Interaction(request, response),))], speed=0) as server:
        co = cohere.ClientV2(api_key="x", base_url=server.url, httpx_client=http)
        answer = co.chat(model="command-r", messages=messages)  # type: ignore[arg-type]
    assert answer.finish_reason == "COMPLETE"
    assert answer.message.content[0].text == text  # type: ignore[union-attr,index]


# --------------------------------------------------------------------------- the wire


@pytest.mark.parametrize(
    "name,content_type", [("v2_tool_calls", "text/event-stream"), ("v1_text", "application/stream+json")]
)
def test_each_event_is_one_http_chunk(name: str, content_type: str) -> None:
    interaction = load_cassette(CASSETTES / f"{name}.yaml").interactions[0]
    stream = stream_of(interaction)
    route = route_of(interaction)
    body = interaction.request.body.to_bytes()
    with (
        ReplayServer([CASSETTES / f"{name}.yaml"], speed=1) as server,
        httpx.stream("POST", server.url + route, content=body, timeout=TIMEOUT) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
        assert response.headers["transfer-encoding"] == "chunked"
        chunks = list(response.iter_raw())
    assert len(chunks) == len(stream.events)
    assert b"".join(chunks) == stream.body()


def test_an_untimed_stream_arrives_at_the_default_pace_at_speed_1(v2_text: Cassette) -> None:
    interaction = v2_text.interactions[0]
    arrivals: list[float] = []
    body = interaction.request.body.to_bytes()
    with (
        ReplayServer([v2_text], speed=1) as server,
        httpx.stream("POST", server.url + "/v2/chat", content=body, timeout=TIMEOUT) as response,
    ):
        for _ in response.iter_raw():
            arrivals.append(time.monotonic())
    assert len(arrivals) == len(stream_of(interaction).events)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert 0.010 <= statistics.median(gaps) <= 0.040


def test_identical_requests_replay_in_recorded_order_then_repeat() -> None:
    """The five identical 422 requests of v2_http_422.yaml, then a sixth: the first again."""
    cassette = load_cassette(CASSETTES / "v2_http_422.yaml")
    errors = [i for i in cassette.interactions if i.response.status == 422]
    recorded = [i.response.headers["x-debug-trace-id"] for i in errors]
    assert len(set(recorded)) == len(errors) == 5
    with ReplayServer([cassette], speed=0) as server, httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        replies = [http.post("/v2/chat", content=errors[0].request.body.to_bytes()) for _ in range(6)]
    assert [r.headers["x-debug-trace-id"] for r in replies] == [*recorded, recorded[0]]
    for reply in replies:
        assert reply.status_code == 422
        assert reply.headers["content-type"] == "application/json"
        assert reply.content == errors[0].response.body_bytes()


def test_routing_through_many_cassettes_builds_no_explanation(
    monkeypatch: pytest.MonkeyPatch, http: httpx.Client
) -> None:
    """Finding the cassette is cheap: the deep diff of a no-match message is for 404s only
    (it costs milliseconds per cassette, which would delay every stream's first event)."""

    def refuse(*args: object) -> float:
        raise AssertionError("a no-match explanation was built while routing a matching request")

    monkeypatch.setattr(player_module, "differences", refuse)
    last = load_cassette(CASSETTES / "v2_tool_calls.yaml")
    with ReplayServer([CASSETTES], speed=0) as server:
        assert server.players[-1].cassette.path == CASSETTES / "v2_tool_calls.yaml"
        reply = http.post(server.url + "/v2/chat", content=last.interactions[0].request.body.to_bytes())
    assert reply.status_code == 200 and reply.content == stream_of(last.interactions[0]).body()


@pytest.mark.parametrize("outcome", ["failed", "stopped"])
def test_a_failed_recording_ends_the_connection_like_the_live_api_did(
    outcome: str, v2_text: Cassette, tmp_path: Path, http: httpx.Client
) -> None:
    base = stream_of(v2_text.interactions[0])
    error = StreamError("httpx.RemoteProtocolError", "peer closed connection without sending complete message body")
    request = Request(
        "POST", "https://api.cohere.com/v2/chat", body=Body({"model": "m", "messages": [], "stream": True}, "json")
    )
    stream = Stream("sse", tuple(base.events[:5]), outcome, error if outcome == "failed" else None)  # type: ignore[arg-type]
    response = Response(200, {"content-type": "text/event-stream"}, stream=stream)
    path = save_cassette(Cassette((Interaction(request, response),)), tmp_path / "failed.yaml")
    with ReplayServer([path], speed=0) as server:
        co = cohere.ClientV2(api_key="x", base_url=server.url, httpx_client=http)
        seen = []
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection without sending complete"):
            for event in co.chat_stream(model="m", messages=[]):
                seen.append(event.type)
        assert seen == ["message-start", "content-start", "content-delta", "content-delta", "content-delta"]
        # on the wire: the recorded events, then no chunked terminator
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError),
            http.stream("POST", server.url + "/v2/chat", json={"model": "m", "messages": [], "stream": True}) as raw,
        ):
            for chunk in raw.iter_raw():
                received += chunk
        assert received == stream.body()


# --------------------------------------------------------------------------- clients find it


def test_a_client_configured_by_co_api_url_alone_prints_the_recorded_text(v2_text: Cassette) -> None:
    interaction = v2_text.interactions[0]
    script = (
        "import json, sys, cohere\n"
        "co = cohere.ClientV2(api_key='x')\n"
        "for event in co.chat_stream(**json.loads(sys.argv[1])):\n"
        "    if event.type == 'content-delta':\n"
        "        print(event.delta.message.content.text, end='', flush=True)\n"
    )
    with ReplayServer([CASSETTES], speed=0) as server:
        env = {**os.environ, "CO_API_URL": server.url}
        done = subprocess.run(
            [sys.executable, "-c", script, json.dumps(kwargs_of(interaction))],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    expected = recorded_text(stream_of(interaction))
    assert expected and done.stdout == expected


def test_an_unmatched_request_is_a_404_the_sdk_raises_with_the_closest_request(
    v2_text: Cassette, http: httpx.Client
) -> None:
    args = kwargs_of(v2_text.interactions[0])
    args["messages"][0]["content"] = "Hello"
    args["temperature"] = 0.3
    with ReplayServer([CASSETTES], speed=0) as server:
        co = cohere.ClientV2(api_key="x", base_url=server.url, httpx_client=http)
        with pytest.raises(ApiError) as caught:
            list(co.chat_stream(**args))
        raw = http.post(server.url + "/v2/chat", json={**args, "stream": True})
    assert isinstance(caught.value, cohere.NotFoundError)
    assert caught.value.status_code == 404
    message = plain(caught.value.body)["message"]
    assert f"no recorded interaction in {CASSETTES / 'v2_text.yaml'} matches POST /v2/chat" in message
    assert "Closest recorded: interactions[0] POST /v2/chat (differs in: body)" in message
    assert "messages[0].content: \"I'm Pickle Rick\" -> 'Hello'" in message
    assert "temperature: (not recorded) -> 0.3" in message
    assert raw.status_code == 404 and raw.headers["content-type"] == "application/json"
    assert raw.json() == {"message": message}


def test_shutdown_closes_the_listening_socket(v2_text: Cassette) -> None:
    with ReplayServer([v2_text], speed=0) as server:
        port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass


# --------------------------------------------------------------------------- the command


def _url_of(line: str) -> str:
    files = cassette_files([CASSETTES])
    interactions = sum(len(load_cassette(f).interactions) for f in files)
    assert (len(files), interactions) == (11, 24)
    prefix = f"stream-replay: serving {len(files)} cassettes ({interactions} interactions) on http://127.0.0.1:"
    assert line.startswith(prefix) and line.endswith("\n") and line.count("\n") == 1, line
    return line.split()[-1]


def test_the_command_prints_its_url_serves_and_stops_on_ctrl_c(
    serve_processes: list[subprocess.Popen[str]], http: httpx.Client
) -> None:
    proc = start_cli("cassettes", "--port", "0", "--speed", "0")
    serve_processes.append(proc)
    url = _url_of(read_line(proc.stdout))
    co = cohere.Client(api_key="x", base_url=url, httpx_client=http)
    assert [m.name for m in co.models.list(default_only=True, endpoint="chat").models or []] == ["command-r-plus"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert proc.stderr is not None
    errors = proc.stderr.read()
    assert "Traceback" not in errors
    assert "/v1/models?" in errors and "-> 200 (cassettes/v1_citations.yaml interactions[0])" in errors


def test_ctrl_c_during_a_stream_still_exits_cleanly(serve_processes: list[subprocess.Popen[str]]) -> None:
    interaction = load_cassette(CASSETTES / "v2_agent.yaml").interactions[2]  # 218 events: 4.4 s at speed 1
    proc = start_cli("cassettes/v2_agent.yaml", "--port", "0", "--speed", "1")
    serve_processes.append(proc)
    url = read_line(proc.stdout).split()[-1]
    body = interaction.request.body.to_bytes()
    with httpx.stream("POST", url + "/v2/chat", content=body, timeout=TIMEOUT) as response:
        chunks = response.iter_raw()
        assert next(chunks).startswith(b"event: message-start")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        with pytest.raises(httpx.RemoteProtocolError):
            for _ in chunks:
                pass
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def _not_a_cassette(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text("a: 1\n")
    return tmp_path / "config.yaml"


def _broken_event(tmp_path: Path) -> Path:
    text = (CASSETTES / "v2_text.yaml").read_text()
    assert text.count('"text":"Hi"') == 1
    (tmp_path / "broken.yaml").write_text(text.replace('"text":"Hi"', '"text":Hi"'))
    return tmp_path / "broken.yaml"


@pytest.mark.parametrize(
    "make,says",
    [
        (lambda tmp: tmp / "missing.yaml", "missing.yaml: no such file or folder"),
        (lambda tmp: tmp, ": no cassettes (*.yaml) in this folder"),
        (_not_a_cassette, "config.yaml:1: format: the file has no 'format' key"),
        (_broken_event, "broken.yaml:55: interactions[0].response.stream.events[2]: the payload of 'content-delta'"),
    ],
    ids=["missing", "empty-folder", "not-a-cassette", "broken-event"],
)
def test_a_bad_path_is_one_line_and_exit_2(
    make: Any, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = make(tmp_path)
    assert main(["serve", str(CASSETTES / "v2_text.yaml"), str(bad), "--port", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(f"stream-replay: {bad}") and says in err


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(CASSETTES / "v2_text.yaml"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"stream-replay: cannot listen on 127.0.0.1:{port}: ")
