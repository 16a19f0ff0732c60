"""Issue 14, "secrets through side doors": a canary key placed wherever it could leak (the
``Authorization`` header, a request body field, the prompt, a response header
(``Set-Cookie``), an event's text) is driven through every path that writes a file:
``record_client`` (sync and async), the pytest plugin's recording mode, ``stream-replay
record``, ``import-vcr``, the vcrpy serializer (under vcrpy and under pytest-recording)
and ``export-vcr``. Each time, either the canary is redacted or left out, or the write is
refused naming the file and the line; and after each case not one file under the test's
temporary folders holds the canary's bytes.

"Live" is the real cohere SDK over loopback HTTP (``tests/support/wire_server.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest
import vcr
import yaml

from stream_replay import load_cassette, vcr_serializer
from stream_replay.cassette import dumps_cassette
from stream_replay.cli import main
from stream_replay.errors import StreamReplayWarning, UnsafeCassetteError
from stream_replay.vcr.serializer import vcr_serializer_with
from stream_replay.wire import encode
from stream_replay.wire.jsontext import dumps_v1, dumps_v2
from tests.support.corpus import CASSETTES
from tests.support.wire_server import Reply, WireServer

CANARY = "sk-canary-0123456789abcdef0123456789abcdef"
PATTERN = r"sk-canary-[0-9a-f]{32}"
PROMPT = f"my key is {CANARY}, keep it safe"
#: httpx's own transport method, which vcrpy patches while a cassette is in use.
HTTPX_SEND = httpx.HTTPTransport.handle_request


# ------------------------------------------------------------------ what leaks, and the check


def leaky_reply(name: str = "v2_text.yaml") -> Reply:
    """The bundled stream of ``name`` with the canary in an event's text, answered with a
    ``Set-Cookie`` header holding it too."""
    stream = load_cassette(CASSETTES / name).interactions[0].response.stream
    assert stream is not None
    events = list(stream.events)
    for index, event in enumerate(events):
        if event.data is None:
            continue
        payload = json.loads(event.data)
        if event.name == "content-delta":
            payload["delta"]["message"]["content"]["text"] = f" the key: {CANARY} "
            events[index] = event._replace(data=dumps_v2(payload))
            break
        if event.name == "text-generation":
            payload["text"] = f" the key: {CANARY} "
            events[index] = event._replace(data=dumps_v1(payload))
            break
    reply = Reply.stream(encode(events, stream.format), stream.format)
    reply.headers = {"set-cookie": f"session={CANARY}; Path=/; HttpOnly", "x-api-key": CANARY}
    return reply


def header_only_reply() -> Reply:
    """A clean stream, but the answer sets a cookie holding the canary."""
    stream = load_cassette(CASSETTES / "v2_text.yaml").interactions[0].response.stream
    assert stream is not None
    reply = Reply.stream(stream.body(), "sse")
    reply.headers = {"set-cookie": f"session={CANARY}; Path=/"}
    return reply


def ask_kwargs() -> dict[str, Any]:
    """A v2 request with the canary in the prompt and in a document's field."""
    return {
        "model": "command-r",
        "messages": [{"role": "user", "content": PROMPT}],
        "documents": [{"id": "doc-1", "data": {"title": "keys", "token": CANARY}}],
    }


def assert_no_canary(*roots: Path) -> int:
    """Not one file below ``roots`` holds the canary's bytes; returns how many files were searched."""
    searched = 0
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                searched += 1
                assert CANARY.encode() not in path.read_bytes(), f"the canary leaked into {path}"
    return searched


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CO_API_KEY", "COHERE_API_KEY", "CO_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder apart from the test's own, for inputs that hold the canary by construction
    (a vcrpy cassette to import, a hand-edited cassette to export)."""
    yield tmp_path_factory.mktemp("input-holding-the-canary")


# ------------------------------------------------------------------ record_client


def test_record_client_redacts_the_canary_everywhere_it_was(tmp_path: Path, wire_server: WireServer) -> None:
    from stream_replay import record_client

    wire_server.queue(leaky_reply())
    path = tmp_path / "sync.yaml"
    with record_client(
        path, cohere.ClientV2, api_key=CANARY, base_url=wire_server.url, redact_patterns=[PATTERN]
    ) as co:
        text = "".join(
            e.delta.message.content.text for e in co.chat_stream(**ask_kwargs()) if e.type == "content-delta"
        )
    assert CANARY in text  # the consumer got the live text
    written = path.read_text()
    assert written.count("<redacted>") == 3  # the prompt, the document's field, the event
    assert "set-cookie" not in written and "authorization" not in written.lower()
    assert_no_canary(tmp_path)


async def test_record_client_async_redacts_the_canary_too(tmp_path: Path, wire_server: WireServer) -> None:
    from stream_replay import record_client

    wire_server.queue(leaky_reply("v1_text.yaml"))
    path = tmp_path / "async.yaml"
    async with record_client(
        path, cohere.AsyncClient, api_key=CANARY, base_url=wire_server.url, redact_patterns=[PATTERN]
    ) as co:
        events = [e async for e in co.chat_stream(model="command-r", message=PROMPT)]
    assert any(CANARY in getattr(e, "text", "") for e in events)
    stream = load_cassette(path).interactions[0].response.stream
    assert stream is not None
    assert any("\\u003credacted\\u003e" in (e.data or "") for e in stream.events)  # v1: Go's escaping
    assert_no_canary(tmp_path)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_record_client_without_redaction_refuses_the_save_naming_file_and_line(
    tmp_path: Path, wire_server: WireServer, asynchronous: bool
) -> None:
    from stream_replay import record_client

    wire_server.queue(leaky_reply())
    path = tmp_path / "leak.yaml"
    with pytest.warns(StreamReplayWarning, match="not recorded"), pytest.raises(UnsafeCassetteError) as refused:
        if asynchronous:
            async with record_client(path, cohere.AsyncClientV2, api_key=CANARY, base_url=wire_server.url) as aco:
                [e async for e in aco.chat_stream(**ask_kwargs())]
        else:
            with record_client(path, cohere.ClientV2, api_key=CANARY, base_url=wire_server.url) as co:
                list(co.chat_stream(**ask_kwargs()))
    assert refused.value.path == path and refused.value.line is not None
    assert str(refused.value).startswith(f"{path}:{refused.value.line}: ")
    assert "redact_patterns" in str(refused.value)  # the way out
    assert CANARY not in str(refused.value)
    assert not path.exists()
    assert_no_canary(tmp_path)


def test_record_client_leaves_out_credential_headers_without_being_asked(
    tmp_path: Path, wire_server: WireServer
) -> None:
    from stream_replay import record_client

    wire_server.queue(header_only_reply())
    path = tmp_path / "headers.yaml"
    source = load_cassette(CASSETTES / "v2_text.yaml")
    body = source.interactions[0].request.body.json
    with record_client(path, cohere.ClientV2, api_key=CANARY, base_url=wire_server.url) as co:
        list(co.chat_stream(**{k: v for k, v in body.items() if k != "stream"}))
    assert len(load_cassette(path).interactions) == 1
    assert_no_canary(tmp_path)


def test_the_key_in_cohere_api_key_is_searched_for_too(
    tmp_path: Path, wire_server: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stream_replay import record_client

    monkeypatch.setenv("COHERE_API_KEY", CANARY)  # not the key sent: still never written
    wire_server.queue(leaky_reply())
    path = tmp_path / "env.yaml"
    with (
        pytest.warns(StreamReplayWarning),
        pytest.raises(UnsafeCassetteError, match="API key"),
        record_client(path, cohere.ClientV2, api_key="another-key-0123456789", base_url=wire_server.url) as co,
    ):
        list(co.chat_stream(**ask_kwargs()))
    assert not path.exists()
    assert_no_canary(tmp_path)


# ------------------------------------------------------------------ the pytest plugin

APP = """
import os

import cohere


def ask():
    co = cohere.ClientV2(base_url=os.environ["UPSTREAM"])
    secret = os.environ["CANARY"]  # never in a source file: the byte search covers the project
    text = []
    for event in co.chat_stream(
        model="command-r",
        messages=[{"role": "user", "content": "my key is " + secret}],
        documents=[{"id": "doc-1", "data": {"token": secret}}],
    ):
        if event.type == "content-delta":
            text.append(event.delta.message.content.text)
    return "".join(text)
"""

TEST = """
import pytest

from app import ask


@pytest.mark.stream_replay
def test_ask():
    assert ask()
"""


def plugin_project(pytester: pytest.Pytester, ini: str = "") -> Path:
    pytester.makepyfile(app=APP)
    tests = pytester.path / "tests"
    tests.mkdir()
    (tests / "test_chat.py").write_text(TEST)
    pytester.makeini("[pytest]\npythonpath = .\nfilterwarnings = ignore::DeprecationWarning\n" + ini)
    return tests / "cassettes" / "test_chat" / "test_ask.yaml"


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, wire_server: WireServer) -> WireServer:
    monkeypatch.setenv("UPSTREAM", wire_server.url)
    monkeypatch.setenv("CO_API_KEY", CANARY)
    monkeypatch.setenv("CANARY", CANARY)
    return wire_server


def test_the_plugin_records_with_the_ini_patterns_and_the_canary_stays_out(
    pytester: pytest.Pytester, live: WireServer, tmp_path: Path
) -> None:
    live.queue(leaky_reply())
    path = plugin_project(pytester, ini=f"stream_replay_redact_patterns =\n    {PATTERN}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--stream-replay-mode=once")
    result.assert_outcomes(passed=1)
    assert load_cassette(path).interactions[0].request.body.json["messages"][0]["content"] == "my key is <redacted>"
    assert assert_no_canary(pytester.path, tmp_path) >= 4


def test_the_plugin_refuses_the_save_without_redaction_naming_the_cassette(
    pytester: pytest.Pytester, live: WireServer, tmp_path: Path
) -> None:
    live.queue(leaky_reply())
    path = plugin_project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "--stream-replay-mode=once")
    result.assert_outcomes(passed=1, errors=1)  # the test ran; its teardown says what was refused
    out = result.stdout.str()
    assert "UnsafeCassetteError" in out
    assert f"{path}:" in out and "would contain the API key in use; nothing was written" in out
    assert not path.exists()
    assert_no_canary(pytester.path, tmp_path)


# ------------------------------------------------------------------ stream-replay record


def test_cli_record_refuses_then_redacts(
    tmp_path: Path,
    outside: Path,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CO_API_KEY", CANARY)
    documents = outside / "documents.json"  # an input: holds the canary by construction
    documents.write_text(json.dumps(ask_kwargs()["documents"]))
    out = tmp_path / "cli" / "leak.yaml"
    args = ["record", "--model", "command-r", "--message", PROMPT, "--documents", str(documents)]
    args += ["--base-url", wire_server.url, "-o", str(out)]
    wire_server.queue(leaky_reply())
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{out}:" in err and "would contain the API key in use; nothing was written" in err
    assert CANARY not in err
    assert not out.exists()
    assert_no_canary(tmp_path)

    wire_server.queue(leaky_reply())
    assert main([*args, "--redact-pattern", PATTERN]) == 0
    assert out.read_text().count("<redacted>") == 3  # the prompt, the document's field, the event
    assert_no_canary(tmp_path)


# ------------------------------------------------------------------ import-vcr


def vcrpy_cassette(folder: Path, *, body_canary: bool = True) -> Path:
    """A vcrpy cassette as vcrpy records it: the request's ``Authorization`` header, the
    prompt and a document's field, the answer's ``Set-Cookie`` and an event hold the canary."""
    from vcr.request import Request
    from vcr.serialize import serialize
    from vcr.serializers import yamlserializer

    reply = leaky_reply() if body_canary else header_only_reply()
    body = json.dumps({**ask_kwargs(), "stream": True}) if body_canary else json.dumps({"model": "command-r"})
    request = Request(
        "POST",
        "https://api.cohere.com/v2/chat",
        body,
        {"authorization": f"Bearer {CANARY}", "content-type": "application/json"},
    )
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"content-type": ["text/event-stream"], **{k: [v] for k, v in reply.headers.items()}},
        "body": {"string": b"".join(reply.chunks)},
    }
    path = folder / "leaky.yaml"
    path.write_text(serialize({"requests": [request], "responses": [response]}, yamlserializer))
    assert CANARY in path.read_text()
    return path


def test_import_vcr_refuses_a_key_inside_a_body_then_redacts_it(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = vcrpy_cassette(outside)  # CO_API_KEY is not set: the recorded Authorization header tells the key
    out = tmp_path / "converted"
    assert main(["import-vcr", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    target = out / "leaky.yaml"
    assert f"{source}: not converted: {target}:" in err
    assert "would contain the API key in use; nothing was written" in err and "--redact-pattern" in err
    assert not target.exists()
    assert_no_canary(tmp_path)

    assert main(["import-vcr", str(source), "-o", str(out), "--redact-pattern", PATTERN]) == 0
    written = target.read_text()
    assert written.count("<redacted>") == 3
    assert_no_canary(tmp_path)


def test_import_vcr_leaves_out_credential_headers(tmp_path: Path, outside: Path) -> None:
    source = vcrpy_cassette(outside, body_canary=False)
    assert main(["import-vcr", str(source), "-o", str(tmp_path / "converted")]) == 0
    assert (tmp_path / "converted" / "leaky.yaml").exists()
    assert_no_canary(tmp_path)


# ------------------------------------------------------------------ the vcrpy serializer


def _vcr(folder: Path, serializer: Any = vcr_serializer) -> vcr.VCR:
    my_vcr = vcr.VCR(serializer="stream_replay", cassette_library_dir=str(folder))
    my_vcr.register_serializer("stream_replay", serializer)
    return my_vcr


def test_the_serializer_leaves_out_authorization_and_set_cookie(tmp_path: Path, wire_server: WireServer) -> None:
    wire_server.queue(header_only_reply())
    source = load_cassette(CASSETTES / "v2_text.yaml")
    body = source.interactions[0].request.body.json
    with _vcr(tmp_path).use_cassette("headers.yaml"):
        list(
            cohere.ClientV2(api_key=CANARY, base_url=wire_server.url).chat_stream(
                **{k: v for k, v in body.items() if k != "stream"}
            )
        )
    written = (tmp_path / "headers.yaml").read_text()
    assert "content-delta {" in written and "set-cookie" not in written.lower()
    assert "authorization" not in written.lower()
    assert_no_canary(tmp_path)


def test_the_serializer_refuses_a_key_in_a_body_and_vcrpy_writes_nothing(
    tmp_path: Path, wire_server: WireServer
) -> None:
    wire_server.queue(leaky_reply())
    with pytest.raises(UnsafeCassetteError) as refused, _vcr(tmp_path).use_cassette("leak.yaml"):
        list(cohere.ClientV2(api_key=CANARY, base_url=wire_server.url).chat_stream(**ask_kwargs()))
    assert refused.value.path == tmp_path / "leak.yaml" and refused.value.line is not None
    assert "the vcrpy cassette would contain the API key in use; nothing was written" in str(refused.value)
    assert "vcr_serializer_with" in str(refused.value)
    assert not (tmp_path / "leak.yaml").exists()
    # vcrpy undoes its patches after saving; the refusal undid them first, so nothing
    # later in the process is answered from the refused cassette
    assert httpx.HTTPTransport.handle_request is HTTPX_SEND
    wire_server.queue(header_only_reply())
    list(cohere.ClientV2(api_key="x", base_url=wire_server.url).chat_stream(model="command-r", messages=[]))
    assert len(wire_server.requests) == 2
    assert_no_canary(tmp_path)


def test_the_redacting_serializer_writes_and_vcrpy_replays_the_redacted_stream(
    tmp_path: Path, wire_server: WireServer
) -> None:
    serializer = vcr_serializer_with(redact_patterns=[PATTERN])
    wire_server.queue(leaky_reply())
    base_url = wire_server.url
    with _vcr(tmp_path, serializer).use_cassette("redacted.yaml"):
        list(cohere.ClientV2(api_key=CANARY, base_url=base_url).chat_stream(**ask_kwargs()))
    assert_no_canary(tmp_path)
    data = yaml.safe_load((tmp_path / "redacted.yaml").read_text())
    request = data["interactions"][0]["request"]
    assert json.loads(request["body"])["documents"][0]["data"]["token"] == "<redacted>"
    with _vcr(tmp_path, serializer).use_cassette("redacted.yaml", record_mode="none"):
        events = list(cohere.ClientV2(api_key="x", base_url=base_url).chat_stream(**ask_kwargs()))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert " the key: <redacted> " in text
    assert_no_canary(tmp_path)


def test_pytest_recording_shows_the_refusal_as_a_teardown_error_naming_the_cassette(
    pytester: pytest.Pytester, live: WireServer, tmp_path: Path
) -> None:
    pytest.importorskip("pytest_recording", reason="pytest-recording is in the test extras: pip install '.[test]'")
    live.queue(leaky_reply())
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="module")
def vcr_config():
    return {"serializer": "stream_replay"}
"""
    )
    pytester.makepyfile(
        test_chat="""
import os

import cohere
import pytest


@pytest.mark.vcr
def test_chat():
    secret = os.environ["CANARY"]
    co = cohere.ClientV2(base_url=os.environ["UPSTREAM"])
    list(co.chat_stream(model="command-r", messages=[{"role": "user", "content": "my key is " + secret}]))
"""
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--record-mode=once")
    result.assert_outcomes(passed=1, errors=1)
    out = result.stdout.str()
    written = pytester.path / "cassettes" / "test_chat" / "test_chat.stream_replay"
    assert "ERROR at teardown of test_chat" in out
    assert f"UnsafeCassetteError: {written}:" in out
    assert "the vcrpy cassette would contain the API key in use; nothing was written" in out
    assert not written.exists()
    assert httpx.HTTPTransport.handle_request is HTTPX_SEND  # vcrpy's patches did not outlive the test
    assert_no_canary(pytester.path, tmp_path)


# ------------------------------------------------------------------ export-vcr


def hand_edited(folder: Path, *, body_canary: bool = True) -> Path:
    """A stream_replay cassette with an ``authorization`` header added by hand, and the
    canary in the prompt."""
    text = dumps_cassette(load_cassette(CASSETTES / "v2_text.yaml"))
    text = text.replace("    headers:\n", f"    headers:\n      authorization: Bearer {CANARY}\n", 1)
    if body_canary:
        text = text.replace("I'm Pickle Rick", f"my key is {CANARY}", 1)
    path = folder / "edited.yaml"
    path.write_text(text)
    assert load_cassette(path).interactions[0].request.headers["authorization"] == f"Bearer {CANARY}"
    return path


def test_export_vcr_refuses_a_key_in_a_body_then_redacts_it(
    tmp_path: Path, outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = hand_edited(outside)
    target = tmp_path / "exported.yaml"
    assert main(["export-vcr", str(source), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{target}:" in err and "the vcrpy cassette would contain the API key in use; nothing was written" in err
    assert not target.exists()
    assert_no_canary(tmp_path)

    assert main(["export-vcr", str(source), "-o", str(target), "--redact-pattern", PATTERN]) == 0
    request = yaml.safe_load(target.read_text())["interactions"][0]["request"]
    assert json.loads(request["body"])["messages"][0]["content"] == "my key is <redacted>"
    assert "authorization" not in target.read_text().lower()
    assert_no_canary(tmp_path)


def test_export_vcr_drops_a_hand_edited_authorization_header(tmp_path: Path, outside: Path) -> None:
    source = hand_edited(outside, body_canary=False)
    target = tmp_path / "exported.yaml"
    assert main(["export-vcr", str(source), "-o", str(target)]) == 0
    assert "authorization" not in target.read_text().lower()
    assert_no_canary(tmp_path)
