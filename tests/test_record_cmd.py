"""``stream-replay record`` against a real loopback server speaking Cohere's wire protocol."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from stream_replay.cassette import load_cassette
from stream_replay.cli import main
from tests.support.corpus import CASSETTES
from tests.support.wire_server import Reply, WireServer

CANARY = "sk-canary-cli-5d1e0b"


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", CANARY)
    monkeypatch.delenv("CO_API_URL", raising=False)


def stream_of(name: str) -> bytes:
    stream = load_cassette(CASSETTES / name).interactions[0].response.stream
    assert stream is not None
    return stream.body()


def test_record_prints_the_stream_live_and_writes_the_cassette(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wire_server.queue(Reply.stream(stream_of("v2_text.yaml"), "sse"))
    out = tmp_path / "rec" / "pickle.yaml"
    code = main(
        [
            "record",
            "--model",
            "command-r",
            "--message",
            "I'm Pickle Rick",
            "--base-url",
            wire_server.url,
            "-o",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "assistant: Hi there! You're Pickle Rick?" in printed
    summary = printed.strip().splitlines()[-1]
    assert summary.startswith("stream-replay: recorded 73 events in ")
    assert summary.endswith(f"finish COMPLETE -> {out}")
    interaction = load_cassette(out).interactions[0]
    assert interaction.request.body.json == {
        "model": "command-r",
        "messages": [{"role": "user", "content": "I'm Pickle Rick"}],
        "stream": True,
    }
    assert interaction.response.stream is not None and interaction.response.stream.timed
    assert CANARY not in out.read_text()


def test_record_v1_with_history_tools_and_documents_from_files(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.yaml"
    history.write_text("- role: USER\n  message: Who are you?\n- role: CHATBOT\n  message: A bot.\n")
    tools = tmp_path / "tools.json"
    tools.write_text(
        json.dumps([{"name": "magic_function", "description": "Applies magic", "parameter_definitions": {}}])
    )
    documents = tmp_path / "docs.json"
    documents.write_text(json.dumps([{"title": "Report", "text": "Q3 revenue was $10M"}]))
    wire_server.queue(Reply.stream(stream_of("v1_text.yaml"), "ndjson"))
    out = tmp_path / "v1.yaml"
    args = ["record", "--api", "v1", "--model", "command-r", "--message", "hi", "--messages", str(history)]
    args += ["--tools", str(tools), "--documents", str(documents), "--base-url", wire_server.url, "-o", str(out)]
    assert main(args) == 0
    sent = load_cassette(out).interactions[0].request.body.json
    assert sent["message"] == "hi"
    assert sent["chat_history"][1] == {"role": "CHATBOT", "message": "A bot."}
    assert sent["tools"][0]["name"] == "magic_function"
    assert sent["documents"] == [{"title": "Report", "text": "Q3 revenue was $10M"}]
    assert "finish COMPLETE" in capsys.readouterr().out


def test_a_missing_key_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CO_API_KEY")
    out = tmp_path / "new" / "x.yaml"
    assert main(["record", "--model", "m", "--message", "hi", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "stream-replay: CO_API_KEY is not set: record sends to https://api.cohere.com, which needs your Cohere API "
        "key (it is sent, never written); export CO_API_KEY, or give --base-url URL for a server that checks none"
    ]
    assert not out.parent.exists()


def test_an_unreachable_server_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "x.yaml"
    url = f"http://127.0.0.1:{port}"
    code = main(["record", "--model", "m", "--message", "hi", "--base-url", url, "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"stream-replay: cannot reach {url}: ")
    assert err[0].endswith("nothing was recorded")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content,words",
    [
        ('[{"role": "user",\n "content": }]', "history.json:2: the messages file is not valid JSON"),
        ('{"role": "user"}', "must hold a list"),
    ],
)
def test_a_bad_input_file_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, words: str
) -> None:
    history = tmp_path / "history.json"
    history.write_text(content)
    out = tmp_path / "x.yaml"
    assert main(["record", "--model", "m", "--messages", str(history), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and str(history) in err[0]
    assert not out.exists()
    assert main(["record", "--model", "m", "--messages", str(tmp_path / "missing.json"), "-o", str(out)]) == 2
    assert "cannot read the messages file" in capsys.readouterr().err


def test_an_api_error_is_recorded_and_exits_non_zero(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wire_server.queue(Reply.json(422, {"message": "unknown field: parameter name is not a valid field"}))
    out = tmp_path / "e.yaml"
    assert main(["record", "--model", "m", "--message", "hi", "--base-url", wire_server.url, "-o", str(out)]) == 1
    assert "[API error 422]" in capsys.readouterr().out
    assert load_cassette(out).interactions[0].response.status == 422
