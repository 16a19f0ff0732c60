"""``stream-replay verify`` never reports a key problem as drift, and never quietly compares
a recording with itself (issue 13).

- It says first where it re-sends.
- Without ``CO_API_KEY``, nothing is sent to Cohere's API: one line, exit 2.
- A cassette recorded from a local server (through ``CO_API_URL`` pointing at
  ``stream-replay serve``) is not re-sent there unless asked (``--to-recorded-host`` or
  ``--base-url``): by default it goes to the live API with the recorded route. Here the
  "live API" is a loopback ``WireServer`` put in ``LIVE_API``'s place, and the local server
  is a real ``ReplayServer`` the cassette was recorded from, through the real SDK.
- A 401 or 403 answer is a key problem (one line, exit 2), not drift.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import cohere
import pytest

from stream_replay import load_cassette, record_client
from stream_replay.cli import main
from stream_replay.errors import StreamReplayError
from stream_replay.recording import verify as verify_module
from stream_replay.recording.verify import is_loopback, verify
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import Upstream
from tests.support.wire_server import Reply, WireServer

CANARY = "sk-canary-verify-0b7e5d31a9"
NO_KEY = (
    "stream-replay: CO_API_KEY is not set: verify re-sends each recorded request to https://api.cohere.com, which "
    "needs your Cohere API key; export CO_API_KEY, or give --base-url URL for a server that checks none "
    "(nothing was sent)"
)


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CO_API_KEY", "COHERE_API_KEY", "CO_API_URL"):
        monkeypatch.delenv(name, raising=False)


class Local(Upstream):
    """The local server a cassette was recorded from, and the requests that reached it since."""

    def __init__(self, server: ReplayServer, log: io.StringIO, cassette: Path) -> None:
        super().__init__(server, log)
        self.cassette = cassette


@pytest.fixture
def recorded_locally(tmp_path: Path) -> Iterator[Local]:
    """A cassette recorded through the real SDK from a local ReplayServer (no key: a placeholder)."""
    source = load_cassette(CASSETTES / "v2_text.yaml")
    path = tmp_path / "recorded-locally.yaml"
    log = io.StringIO()
    with ReplayServer([source], speed=None, log=log) as server:
        with record_client(path, cohere.ClientV2, base_url=server.url) as co:
            for _ in co.chat_stream(**chat_kwargs(source)):
                pass
        log.truncate(0)
        log.seek(0)
        assert load_cassette(path).interactions[0].request.url == f"{server.url}/v2/chat"
        yield Local(server, log, path)


def run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # argparse's usage error
        return int(exc.code or 0)


def test_without_a_key_nothing_is_sent_to_cohere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert load_cassette(CASSETTES / "v2_text.yaml").interactions[0].request.url == "https://api.cohere.com/v2/chat"
    assert main(["verify", str(CASSETTES / "v2_text.yaml"), str(CASSETTES / "v2_citations.yaml")]) == 2
    printed = capsys.readouterr()
    assert printed.err.splitlines() == [NO_KEY]
    assert printed.out == ""


def test_it_says_first_where_it_re_sends(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [CASSETTES / "v2_text.yaml", CASSETTES / "v2_citations.yaml"]
    with ReplayServer(paths, speed=None) as server:
        assert main(["verify", *map(str, paths), "--base-url", server.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"stream-replay: re-sending 3 request(s) of 2 cassette(s) to {server.url}",
        f"{paths[0]}: no drift",
        f"{paths[1]}: no drift",
        "3 request(s) in 2 cassette(s): 0 cassette(s) drifted",
    ]


def test_a_cassette_recorded_locally_is_not_sent_back_there_without_a_key(
    recorded_locally: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(recorded_locally.cassette)]) == 2
    assert capsys.readouterr().err.splitlines() == [NO_KEY]
    assert recorded_locally.hits == 0


def test_a_cassette_recorded_locally_goes_to_the_live_api_with_its_route(
    recorded_locally: Local,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(verify_module, "LIVE_API", wire_server.url)  # the stand-in for https://api.cohere.com
    monkeypatch.setenv("CO_API_KEY", CANARY)
    recorded = load_cassette(recorded_locally.cassette).interactions[0]
    assert recorded.response.stream is not None
    wire_server.queue(Reply.stream(recorded.response.stream.body(), "sse"))
    assert main(["verify", str(recorded_locally.cassette)]) == 0
    assert recorded_locally.hits == 0
    [(method, path, body)] = wire_server.requests
    assert (method, path, body) == ("POST", "/v2/chat", recorded.request.body.to_bytes())
    assert capsys.readouterr().out.splitlines() == [
        f"stream-replay: re-sending 1 request(s) of 1 cassette(s) to {wire_server.url}",
        f"stream-replay: 1 request(s) were recorded from a local server ({recorded_locally.url}): re-sent to "
        f"{wire_server.url} with the recorded API route instead (--to-recorded-host to send them there, "
        "--base-url URL for another server)",
        f"{recorded_locally.cassette}: no drift",
        "1 request(s) in 1 cassette(s): 0 cassette(s) drifted",
    ]


def test_to_recorded_host_sends_it_back_there_on_request(
    recorded_locally: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(recorded_locally.cassette), "--to-recorded-host"]) == 0  # no key: a placeholder
    assert recorded_locally.hits == 1
    assert capsys.readouterr().out.splitlines() == [
        f"stream-replay: re-sending 1 request(s) of 1 cassette(s) to {recorded_locally.url}",
        f"{recorded_locally.cassette}: no drift",
        "1 request(s) in 1 cassette(s): 0 cassette(s) drifted",
    ]


def test_base_url_and_to_recorded_host_do_not_go_together(
    recorded_locally: Local, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["verify", str(recorded_locally.cassette), "--to-recorded-host", "--base-url", recorded_locally.url]
    assert run(args) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert recorded_locally.hits == 0


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("key", [CANARY, None], ids=["refused-key", "no-key"])
def test_a_refused_key_is_a_key_problem_not_drift(
    status: int,
    key: str | None,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if key:
        monkeypatch.setenv("CO_API_KEY", key)
    wire_server.queue(Reply.json(status, {"message": "invalid api token"}))
    path = CASSETTES / "v2_citations.yaml"  # two requests: the first answer stops it
    assert main(["verify", str(path), "--base-url", wire_server.url]) == 2
    printed = capsys.readouterr()
    why = (
        "the API key was refused (expired, wrong, or without access): check CO_API_KEY"
        if key
        else "the server wants an API key, and CO_API_KEY is not set"
    )
    assert printed.err.splitlines() == [
        f"stream-replay: {path}: interactions[0]: {wire_server.url} answered HTTP {status}: {why}; "
        "this is a key problem, not drift, and nothing more was sent"
    ]
    assert printed.out.splitlines() == [f"stream-replay: re-sending 2 request(s) of 1 cassette(s) to {wire_server.url}"]
    assert len(wire_server.requests) == 1


def test_the_python_api_keeps_its_signature_and_refuses_without_a_key(recorded_locally: Local) -> None:
    """``--stream-replay-verify`` calls ``verify(paths, out, base_url=...)``."""
    out = io.StringIO()
    with pytest.raises(StreamReplayError) as caught:
        verify([recorded_locally.cassette], out, base_url=None)
    assert f"stream-replay: {caught.value}" == NO_KEY
    assert out.getvalue() == "" and recorded_locally.hits == 0
    assert verify([recorded_locally.cassette], out, base_url=recorded_locally.url) == 0
    assert recorded_locally.hits == 1


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080/v2/chat", True),
        ("http://127.9.9.9/v2/chat", True),
        ("http://localhost:43125/v2/chat", True),
        ("http://[::1]:43125/v2/chat", True),
        ("http://0.0.0.0:8000/v2/chat", True),
        ("https://api.cohere.com/v2/chat", False),
        ("http://192.168.1.4:8080/v2/chat", False),
        ("http://localhost.example.com/v2/chat", False),
    ],
)
def test_what_counts_as_a_local_server(url: str, local: bool) -> None:
    assert is_loopback(url) is local
