"""Recording again, and recording without a key where none is needed (issue 13).

- ``stream-replay record --from CASSETTE``: every request of a bundled cassette sent again
  through the real SDK to a real loopback ``ReplayServer`` serving that same cassette. The
  server answers only a request equal to the recorded one (method, route, query, JSON body),
  so a recording that completes proves the SDK sent each request exactly; the new cassette's
  requests, statuses and events are then compared with the source's.
- ``record``'s generation flags and ``--param``: the bundled tool-call request recorded again
  from flags alone; every flag's field in the body the server received.
- A key only where the target needs one: ``record``, ``record --from`` and the plugin's
  ``once`` mode against a server that checks none, with no ``CO_API_KEY``.
- ``-o`` that cannot be written: one line, exit 2, nothing sent.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stream_replay import Cassette, load_cassette, save_cassette
from stream_replay.cassette import Body, Interaction, Response
from stream_replay.cli import main
from stream_replay.replay.client import PLACEHOLDER_KEY
from stream_replay.replay.matching import recorded_view
from stream_replay.sdk import COHERE_API_URL, sdk_base_url
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES, CURATED
from tests.support.plugin_project import PICKLE, Upstream, cassette, lines, requests_in, write_project
from tests.support.wire_server import Reply, WireServer

CANARY = "sk-canary-record-from-7f3a2c9e1b"


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CO_API_KEY", "COHERE_API_KEY", "CO_API_URL"):
        monkeypatch.delenv(name, raising=False)


class Served(Upstream):
    """A ReplayServer and the requests that reached it."""


@contextlib.contextmanager
def served(*sources: Path | Cassette) -> Iterator[Served]:
    log = io.StringIO()
    with ReplayServer(list(sources), speed=None, log=log) as server:
        yield Served(server, log)


@pytest.fixture
def v2_text_server() -> Iterator[Served]:
    with served(CASSETTES / "v2_text.yaml") as server:
        yield server


def request_of(interaction: Interaction) -> tuple[str, str, tuple[tuple[str, str], ...], Any]:
    view = recorded_view(interaction.request)
    return view.method, view.route, view.query, view.body


def answer_of(interaction: Interaction) -> tuple[int, Any, str | None, list[tuple[str, str | None]]]:
    response = interaction.response
    stream = response.stream
    events = [(event.name, event.data) for event in stream.events] if stream is not None else []
    body = response.body.parsed() if stream is None else None
    return response.status, body, stream.outcome if stream is not None else None, events


def run(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:  # argparse's usage error
        return int(exc.code or 0)


def placeholder_line(url: str) -> str:
    return f"stream-replay: CO_API_KEY is not set; {url} is not Cohere's API: sending a placeholder key"


# ------------------------------------------------------------------------- record --from


@pytest.mark.parametrize("name", sorted(CURATED))
def test_record_from_sends_every_recorded_request_again_exactly(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CASSETTES / f"{name}.yaml"
    source = load_cassette(path)
    out = tmp_path / "refreshed" / f"{name}.yaml"
    with served(path) as server:
        code = main(["record", "--from", str(path), "--base-url", server.url, "-o", str(out)])
        assert server.hits == len(source.interactions)
    printed = capsys.readouterr()
    assert code == 0, printed
    assert printed.err.splitlines() == [placeholder_line(server.url)]
    fresh = load_cassette(out)
    assert [request_of(i) for i in fresh.interactions] == [request_of(i) for i in source.interactions]
    assert [answer_of(i) for i in fresh.interactions] == [answer_of(i) for i in source.interactions]
    assert all(i.response.stream.timed for i in fresh.interactions if i.response.stream is not None)
    summaries = [line for line in printed.out.splitlines() if line.startswith("stream-replay: interactions[")]
    assert len(summaries) == len(source.interactions)
    assert all(line.endswith("(as in the source)") for line in summaries)
    assert printed.out.splitlines()[0] == (
        f"stream-replay: re-sending {len(source.interactions)} request(s) of {path} through the cohere SDK "
        f"to {server.url}"
    )
    assert printed.out.splitlines()[-1] == f"stream-replay: recorded {len(source.interactions)} interaction(s) -> {out}"
    assert list(out.parent.iterdir()) == [out]  # no temporary file left beside it


def test_record_from_keeps_every_generation_parameter_and_the_recorded_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CASSETTES / "v2_http_422.yaml"
    out = tmp_path / "422.yaml"
    with served(path) as server:
        assert main(["record", "--from", str(path), "--base-url", server.url, "-o", str(out)]) == 0
    fresh = load_cassette(out)
    assert [i.response.status for i in fresh.interactions] == [200, 422, 422, 422, 422, 422]
    body = fresh.interactions[1].request.body.json
    assert body["temperature"] == 0.0 and body["model"] == "command-r" and body["tools"]
    assert fresh.interactions[0].request.url.endswith("/v1/chat")
    assert "[API error 422]" in capsys.readouterr().out


def test_record_from_refuses_to_replace_a_file_unless_forced_and_refreshes_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pickle.yaml"
    out.write_text("keep me\n")
    source = CASSETTES / "v2_text.yaml"
    with served(source) as server:
        assert main(["record", "--from", str(source), "--base-url", server.url, "-o", str(out)]) == 2
        assert server.hits == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"stream-replay: -o {out} exists: record --from writes a whole new cassette; add --force to replace it"
    ]
    assert out.read_text() == "keep me\n"

    save_cassette(load_cassette(source), out, overwrite=True)
    with served(source) as server:  # the way to refresh a cassette: --from it, onto itself
        assert main(["record", "--from", str(out), "--base-url", server.url, "-o", str(out), "--force"]) == 0
    fresh = load_cassette(out)
    assert fresh.meta.source is None  # a new recording, not the imported one
    assert answer_of(fresh.interactions[0]) == answer_of(load_cassette(source).interactions[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pickle.yaml"]


def test_record_from_never_leaves_a_half_written_cassette(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = load_cassette(CASSETTES / "v2_citations.yaml")
    first_only = Cassette(source.interactions[:1], source.meta)  # the second request has no answer there
    out = tmp_path / "out" / "citations.yaml"
    with served(first_only) as server:
        code = main(
            ["record", "--from", str(CASSETTES / "v2_citations.yaml"), "--base-url", server.url, "-o", str(out)]
        )
        assert server.hits == 2
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0] == placeholder_line(server.url)
    assert err[1].startswith(f"stream-replay: interactions[1]: {server.url} answered HTTP 404 is stream-replay serve's")
    assert err[1].endswith("; nothing was written")
    assert list(tmp_path.iterdir()) == []  # not even the folder -o needed


def test_record_from_says_what_differs_from_the_source_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = load_cassette(CASSETTES / "v2_text.yaml")
    refused = Response(422, {"content-type": "application/json"}, body=Body.of_text('{"message": "model retired"}'))
    now = Cassette((Interaction(source.interactions[0].request, refused),), source.meta)  # the API changed its mind
    out = tmp_path / "pickle.yaml"
    with served(now) as server:
        assert (
            main(["record", "--from", str(CASSETTES / "v2_text.yaml"), "--base-url", server.url, "-o", str(out)]) == 1
        )
    printed = capsys.readouterr().out.splitlines()
    assert printed[-2] == (
        "stream-replay: interactions[0] POST /v2/chat -> HTTP 422 "
        "(differs from the source: status 200 -> 422; stream completed -> none)"
    )
    source_path = CASSETTES / "v2_text.yaml"
    assert (
        printed[-1] == f"stream-replay: recorded 1 interaction(s) -> {out}; 1 differs from {source_path}, as said above"
    )
    assert load_cassette(out).interactions[0].response.status == 422  # written: it is what the API says now


def test_record_from_an_unreachable_server_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    out = tmp_path / "x.yaml"
    assert main(["record", "--from", str(CASSETTES / "v2_text.yaml"), "--base-url", url, "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == placeholder_line(url)
    assert err[1].startswith(f"stream-replay: interactions[0]: cannot reach {url}: ")
    assert err[1].endswith("; nothing was written") and len(err) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "extra",
    [["--model", "command-r"], ["--temperature", "0.3"], ["--param", "seed=1"], ["--api", "v1"]],
    ids=["model", "temperature", "param", "api"],
)
def test_record_from_takes_no_request_flags(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.yaml"
    assert main(["record", "--from", str(CASSETTES / "v2_text.yaml"), *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"stream-replay: --from re-sends the recorded requests exactly: {extra[0]} cannot go with it"]
    assert not out.exists()


# ------------------------------------------------------------- record: generation flags


def test_record_flags_reproduce_the_bundled_tool_call_request_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CASSETTES / "v2_tool_calls.yaml"
    recorded = load_cassette(path).interactions[0]
    body = recorded.request.body.json
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(body["tools"]))
    out = tmp_path / "person.yaml"
    args = ["record", "--model", "command-r", "--message", "Erick, 27 years old", "--tools", str(tools)]
    with served(path) as server:
        assert main([*args, "--temperature", "0", "--base-url", server.url, "-o", str(out)]) == 0
    fresh = load_cassette(out).interactions[0]
    assert fresh.request.body.json == body
    assert answer_of(fresh)[3] == answer_of(recorded)[3]
    assert "finish TOOL_CALL" in capsys.readouterr().out


def test_every_generation_flag_and_param_reach_the_request_body(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = load_cassette(CASSETTES / "v2_text.yaml").interactions[0].response.stream
    assert stream is not None
    wire_server.queue(Reply.stream(stream.body(), "sse"))
    out = tmp_path / "params.yaml"
    flags = ["--temperature", "0.3", "--max-tokens", "200", "--seed", "7", "--p", "0.75", "--k", "40"]
    flags += ["--stop-sequence", "END", "--stop-sequence", "STOP", "--frequency-penalty", "0.1"]
    flags += ["--presence-penalty", "0.2", "--safety-mode", "strict"]
    flags += ["--param", 'thinking={"type": "enabled", "token_budget": 512}', "--param", "x_extra=[1, null]"]
    args = ["record", "--model", "command-a", "--message", "hi", *flags, "--base-url", wire_server.url, "-o", str(out)]
    assert main(args) == 0
    [(method, route, sent)] = wire_server.requests
    assert (method, route) == ("POST", "/v2/chat")
    assert json.loads(sent) == {
        "model": "command-a",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "max_tokens": 200,
        "seed": 7,
        "p": 0.75,
        "k": 40,
        "stop_sequences": ["END", "STOP"],
        "frequency_penalty": 0.1,
        "presence_penalty": 0.2,
        "safety_mode": "STRICT",
        "thinking": {"type": "enabled", "token_budget": 512},  # a field 5.11 has no parameter for
        "x_extra": [1, None],
        "stream": True,
    }
    assert load_cassette(out).interactions[0].request.body.json == json.loads(sent)
    assert capsys.readouterr().err.splitlines() == [placeholder_line(wire_server.url)]


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        (
            "thinking={type: enabled}",
            "--param 'thinking={type: enabled}': the value of thinking is not JSON "
            "(Expecting property name enclosed in double quotes, at character 1)",
        ),
        (
            "mode=fast",
            "--param 'mode=fast': the value of mode is not JSON (Expecting value, at character 0); "
            "a string needs quotes: --param 'mode=\"fast\"'",
        ),
        ("thinking", "--param 'thinking': give KEY=JSON, e.g. --param 'thinking={\"type\":\"enabled\"}'"),
        ("temperature=0.5", "--param temperature=...: temperature is already given by another flag"),
        ("stream=false", "--param stream=...: record always streams"),
    ],
    ids=["bad-json", "unquoted-string", "no-equals", "twice", "stream"],
)
def test_a_bad_param_is_one_line_naming_the_flag_and_sends_nothing(
    param: str, expected: str, tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.yaml"
    args = ["record", "--model", "m", "--message", "hi", "--temperature", "0.1", "--param", param]
    assert main([*args, "--base-url", wire_server.url, "-o", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"stream-replay: {expected}"]
    assert wire_server.requests == [] and not out.exists()


def test_a_bad_number_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["record", "--model", "m", "--message", "hi", "--temperature", "hot", "-o", str(tmp_path / "x")]) == 2
    assert "argument --temperature: invalid float value: 'hot'" in capsys.readouterr().err


# ------------------------------------------------------------------------------ the key


def test_record_without_a_key_against_a_server_that_checks_none(
    tmp_path: Path, v2_text_server: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = load_cassette(CASSETTES / "v2_text.yaml").interactions[0]
    out = tmp_path / "pickle.yaml"
    args = ["record", "--model", "command-r", "--message", "I'm Pickle Rick", "--base-url", v2_text_server.url]
    assert main([*args, "-o", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [placeholder_line(v2_text_server.url)]
    assert answer_of(load_cassette(out).interactions[0])[3] == answer_of(recorded)[3]


def test_co_api_url_is_the_target_too(
    tmp_path: Path, v2_text_server: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CO_API_URL", v2_text_server.url)
    out = tmp_path / "pickle.yaml"
    assert main(["record", "--from", str(CASSETTES / "v2_text.yaml"), "-o", str(out)]) == 0
    assert capsys.readouterr().err.splitlines() == [placeholder_line(v2_text_server.url)]
    assert v2_text_server.hits == 1
    assert load_cassette(out).interactions[0].request.url == f"{v2_text_server.url}/v2/chat"


@pytest.mark.parametrize(
    "target", [None, "https://api.cohere.com", "https://api.cohere.ai/", "https://stg.api.cohere.com/"]
)
@pytest.mark.parametrize("from_cassette", [False, True], ids=["record", "record-from"])
def test_without_a_key_cohere_s_api_is_one_line_and_nothing_is_written(
    target: str | None, from_cassette: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "x.yaml"
    request = ["--from", str(CASSETTES / "v2_text.yaml")] if from_cassette else ["--model", "m", "--message", "hi"]
    where = ["--base-url", target] if target else []
    assert main(["record", *request, *where, "-o", str(out)]) == 2
    what = "record --from" if from_cassette else "record"
    assert capsys.readouterr().err.splitlines() == [
        f"stream-replay: CO_API_KEY is not set: {what} sends to {target or COHERE_API_URL}, which needs your "
        "Cohere API key (it is sent, never written); export CO_API_KEY, or give --base-url URL for a server "
        "that checks none"
    ]
    assert not out.parent.exists()


@pytest.mark.parametrize("key", [None, CANARY], ids=["no-key", "refused-key"])
@pytest.mark.parametrize("from_cassette", [False, True], ids=["record", "record-from"])
def test_a_401_is_a_key_problem_and_nothing_is_written(
    key: str | None,
    from_cassette: bool,
    tmp_path: Path,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if key:
        monkeypatch.setenv("CO_API_KEY", key)
    wire_server.queue(Reply.json(401, {"message": "invalid api token"}))
    out = tmp_path / "x.yaml"
    request = ["--from", str(CASSETTES / "v2_text.yaml")] if from_cassette else ["--model", "m", "--message", "hi"]
    assert main(["record", *request, "--base-url", wire_server.url, "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    why = (
        "the API key was refused (expired or wrong?): check CO_API_KEY"
        if key
        else ("the server wants an API key, and CO_API_KEY is not set")
    )
    where = "interactions[0]: " if from_cassette else ""
    tail = "nothing was written" if from_cassette else "nothing was recorded"
    assert err[-1] == f"stream-replay: {where}{wire_server.url} answered HTTP 401: {why}; {tail}"
    assert len(err) == (1 if key else 2)
    assert len(wire_server.requests) == 1 and list(tmp_path.iterdir()) == []


def test_a_real_key_is_never_written(tmp_path: Path, v2_text_server: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COHERE_API_KEY", CANARY)  # the SDK's other variable: sent, and searched for too
    out = tmp_path / "pickle.yaml"
    args = ["record", "--from", str(CASSETTES / "v2_text.yaml"), "--base-url", v2_text_server.url, "-o", str(out)]
    assert main(args) == 0
    assert CANARY not in out.read_text() and PLACEHOLDER_KEY not in out.read_text()


@pytest.mark.parametrize("from_cassette", [False, True], ids=["record", "record-from"])
def test_an_answer_holding_the_key_is_never_written(
    from_cassette: bool,
    tmp_path: Path,
    wire_server: WireServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The secret scan still works with a real key: an answer echoing it refuses the save."""
    monkeypatch.setenv("CO_API_KEY", CANARY)
    stream = load_cassette(CASSETTES / "v2_text.yaml").interactions[0].response.stream
    assert stream is not None and b'"text":" Pickle"' in stream.body()
    wire_server.queue(Reply.stream(stream.body().replace(b'"text":" Pickle"', f'"text":"{CANARY}"'.encode()), "sse"))
    out = tmp_path / "new" / "x.yaml"
    request = ["--from", str(CASSETTES / "v2_text.yaml")] if from_cassette else ["--model", "m", "--message", "hi"]
    assert main(["record", *request, "--base-url", wire_server.url, "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "the cassette would contain the API key in use" in err[0] and "nothing was written" in err[0]
    assert err[1].startswith("  How to fix: remove the key from what is recorded") and len(err) == 2
    assert CANARY not in "\n".join(err)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ -o


def test_output_onto_a_folder_is_one_line_and_sends_nothing(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["--model", "m", "--message", "hi"], ["--from", str(CASSETTES / "v2_text.yaml")]):
        assert main(["record", *args, "--base-url", wire_server.url, "-o", str(tmp_path)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert err == [
            f"stream-replay: -o {tmp_path} is a folder: give the cassette's file path, e.g. -o {tmp_path / 'chat.yaml'}"
        ]
    assert wire_server.requests == [] and list(tmp_path.iterdir()) == []


def test_output_under_a_file_is_one_line_and_sends_nothing(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder\n")
    out = blocker / "sub" / "x.yaml"
    assert main(["record", "--model", "m", "--message", "hi", "--base-url", wire_server.url, "-o", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"stream-replay: -o {out}: {blocker} is a file, not a folder: choose another path"
    ]
    assert wire_server.requests == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into a read-only folder")
def test_output_in_a_read_only_folder_is_one_line_and_sends_nothing(
    tmp_path: Path, wire_server: WireServer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = folder / "x.yaml"
        assert main(["record", "--model", "m", "--message", "hi", "--base-url", wire_server.url, "-o", str(out)]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"stream-replay: -o {out}: the folder {folder} is not writable: choose a folder you can write to, "
            "or change its permissions"
        ]
        assert wire_server.requests == []
    finally:
        folder.chmod(0o755)


def test_force_goes_with_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--model", "m", "--message", "hi", "--force", "-o", str(tmp_path / "x.yaml")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "stream-replay: --force goes with --from (record appends to an existing cassette)"
    ]


# --------------------------------------------------------------- the plugin's record modes


@pytest.mark.slow  # a pytest process of its own
@pytest.mark.usefixtures("offline")
def test_plugin_once_records_through_co_api_url_without_a_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CO_API_URL`` is read by the SDK when it is imported: a fresh process, as a user runs it."""
    write_project(pytester, PICKLE)
    with served(CASSETTES / "v2_text.yaml") as server:
        monkeypatch.setenv("CO_API_URL", server.url)
        result = pytester.runpytest_subprocess("--stream-replay-mode=once")
        result.assert_outcomes(passed=1)
        assert server.hits == 1
    assert "stream-replay: 0 cassettes replayed, 1 recorded (1 interaction), 0 unplayed interactions" in lines(result)
    assert requests_in(cassette(pytester)) == ["pickle"]
    assert load_cassette(cassette(pytester)).interactions[0].request.url == f"{server.url}/v2/chat"
    monkeypatch.delenv("CO_API_URL")
    pytester.runpytest().assert_outcomes(passed=1)  # and replays offline


@pytest.mark.usefixtures("offline")
def test_plugin_once_records_through_base_url_without_a_key(
    pytester: pytest.Pytester, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CO_API_KEY")  # the app builds cohere.ClientV2(base_url=<upstream>)
    write_project(pytester, PICKLE)
    pytester.runpytest("--stream-replay-mode=once").assert_outcomes(passed=1)
    assert upstream.hits == 1
    assert requests_in(cassette(pytester)) == ["pickle"]


@pytest.mark.usefixtures("offline")
def test_plugin_once_against_cohere_without_a_key_records_nothing(pytester: pytest.Pytester) -> None:
    if sdk_base_url({}) != COHERE_API_URL:
        pytest.skip("CO_API_URL was set when cohere was imported in this process")
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--stream-replay-mode=once")
    result.assert_outcomes(failed=1)
    assert "CO_API_KEY" in result.stdout.str()
    assert not cassette(pytester).exists()
