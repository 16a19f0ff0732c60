"""The reference consumer snippets (``../shared/seed/cohere-streaming.md``) run unchanged
against replayed real cassettes: only the client they are handed differs.

``cohere.ClientV2()`` (and friends) inside a snippet returns a replay client of a bundled
cassette; its requests differ from the recorded ones (other prompts, another model), so
these clients match on method and route only. What each snippet prints is checked
against the recorded wire JSON. Where a snippet relies on something the SDK does not
provide (``event.response`` on a v2 message-end), the test asserts what really happens:
the same ``AttributeError`` a live stream gives. README, "The final response: collect",
shows the correct way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest

from stream_replay import Cassette, collect, load_cassette, record_client, replay_client
from stream_replay import faults as F
from stream_replay.cassette import Interaction
from stream_replay.replay.faults import _DEFAULT_MESSAGES
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.seed_snippets import SNIPPETS
from tests.support.wire_server import Reply, WireServer

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "cohere-streaming.md"
ANY_CHAT = ("method", "route")


def _only(name: str, index: int) -> Cassette:
    cassette = load_cassette(CASSETTES / f"{name}.yaml")
    return Cassette((cassette.interactions[index],), cassette.meta)


def _payloads(cassette: Cassette) -> list[dict[str, Any]]:
    stream = cassette.interactions[0].response.stream
    assert stream is not None
    return [json.loads(e.data) for e in stream.events if e.data is not None]


def _text(cassette: Cassette) -> str:
    return "".join(
        p["delta"]["message"]["content"]["text"] for p in _payloads(cassette) if p["type"] == "content-delta"
    )


def _run(
    section: str,
    cassette: Cassette,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    faults: Sequence[F.Fault] = (),
    **names: Any,
) -> tuple[str, BaseException | None]:
    """Run the snippet with every cohere client it builds (or is handed as ``co``)
    replaying ``cassette`` (with ``faults``); what it printed, and what it raised."""
    clients = {
        "ClientV2": replay_client(cassette, cohere.ClientV2, match_on=ANY_CHAT, faults=faults),
        "AsyncClientV2": replay_client(cassette, cohere.AsyncClientV2, match_on=ANY_CHAT, faults=faults),
        "Client": replay_client(cassette, cohere.Client, match_on=ANY_CHAT, faults=faults),
    }
    for name, client in clients.items():
        monkeypatch.setattr(cohere, name, lambda *args, _client=client, **kwargs: _client)
    namespace: dict[str, Any] = {"__name__": "snippet", "cohere": cohere, "co": clients["ClientV2"], **names}
    raised: BaseException | None = None
    try:
        exec(compile(SNIPPETS[section], f"<seed: {section}>", "exec"), namespace)
    except Exception as exc:
        raised = exc
    return capsys.readouterr().out, raised


def test_the_copies_are_the_reference_document_s_snippets() -> None:
    if not SEED.exists():
        pytest.skip(f"{SEED} is absent (a clone has no ../shared): the copies in tests/support are used as they are")
    blocks: dict[str, str] = {}
    heading = None
    for found in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", SEED.read_text(), re.M | re.S):
        if found.group(1):
            heading = found.group(1).lstrip("# ").strip()
        else:
            assert heading is not None
            blocks[heading] = found.group(2)
    assert blocks == SNIPPETS


def test_basic_streaming_prints_the_recorded_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_text", 0)
    out, raised = _run("Basic Streaming", cassette, monkeypatch, capsys)
    assert raised is None
    assert out == _text(cassette)


def test_async_streaming_prints_the_recorded_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_text", 0)
    out, raised = _run("Async Streaming", cassette, monkeypatch, capsys)
    assert raised is None
    assert out == _text(cassette)


@pytest.mark.parametrize("section", ["Handling All Event Types", "Collecting Full Response While Streaming"])
def test_reading_response_on_message_end_fails_as_it_does_live(
    section: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_text", 0)
    out, raised = _run(section, cassette, monkeypatch, capsys)
    assert isinstance(raised, AttributeError)
    assert "'response'" in str(raised)
    expected = _text(cassette)
    if section == "Handling All Event Types":
        expected = "Generation started...\n" + expected + "\n--- Generation complete ---\n"
    assert out == expected


def _plan_message_is_a_dict() -> bool:
    """cohere 5.11's tool-plan-delta model has ``delta.tool_plan`` and no ``delta.message``:
    the wire's ``delta.message`` is kept as a plain dict extra, so the snippet's
    ``.tool_plan`` raises there, live too. 7.x models ``delta.message.tool_plan``."""
    from stream_replay.sdk import event_classes

    delta = event_classes("v2")["tool-plan-delta"].model_fields["delta"].annotation  # type: ignore[attr-defined]
    members = [m for m in getattr(delta, "__args__", (delta,)) if getattr(m, "model_fields", None)]
    return not any("message" in m.model_fields for m in members)


def test_tool_use_streaming_prints_plan_calls_and_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_tool_calls", 0)
    body = cassette.interactions[0].request.body.json
    assert isinstance(body, dict)
    plan_is_a_dict = _plan_message_is_a_dict()  # before cohere's classes are stood in for
    out, raised = _run("Tool Use Streaming", cassette, monkeypatch, capsys, tools=body["tools"])
    if plan_is_a_dict:
        assert isinstance(raised, AttributeError) and "tool_plan" in str(raised)
        assert out == ""
        return
    assert raised is None
    payloads = _payloads(cassette)
    kinds = [p["type"] for p in payloads]
    plan = "".join(
        f"Planning: {p['delta']['message']['tool_plan']}" for p in payloads if p["type"] == "tool-plan-delta"
    )
    assert out.startswith(plan)
    assert out.count("\nTool call started\n") == kinds.count("tool-call-start")
    assert out.count("Args: ") == kinds.count("tool-call-delta")
    assert out.count("\nTool call complete\n") == kinds.count("tool-call-end")


def test_rag_citations_on_v2_print_the_text_then_fail_on_response(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_citations", 1)
    out, raised = _run("RAG Citation Events", cassette, monkeypatch, capsys)
    # v2 sends citation-start/citation-end, never citation-generation (a v1 event), so
    # the snippet's citation case never runs; message-end has no response.
    assert isinstance(raised, AttributeError)
    assert out == _text(cassette)
    assert "[Citation:" not in out


def test_rag_citations_through_the_v1_client_fail_on_its_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v1_citations", 2)
    v1 = replay_client(cassette, cohere.Client, match_on=ANY_CHAT)
    out, raised = _run("RAG Citation Events", cassette, monkeypatch, capsys, co=v1)
    assert isinstance(raised, TypeError)  # v1's chat_stream takes message=, not messages=
    assert "messages" in str(raised)
    assert out == ""
    # The v1 consumer that works: the citations are on the stream, and collect gathers them.
    result = collect(v1.chat_stream(**chat_kwargs(cassette)))
    stream = cassette.interactions[0].response.stream
    assert stream is not None
    recorded = [
        c["text"]
        for e in stream.events
        if e.name == "citation-generation"
        for c in json.loads(e.data or "")["citations"]
    ]
    assert recorded and [c.text for c in result.citations] == recorded


def test_the_chat_ui_helper_streams_tokens_then_fails_before_on_complete(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_text", 0)
    out, raised = _run("Streaming Chat UI Helper", cassette, monkeypatch, capsys)
    assert isinstance(raised, AttributeError)
    assert out == _text(cassette)  # every token reached on_token; on_complete never ran
    assert "[Done:" not in out


def test_error_handling_reports_the_recorded_http_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_http_422", 1)
    out, raised = _run("Error Handling in Streams", cassette, monkeypatch, capsys)
    assert raised is None
    response = cassette.interactions[0].response
    assert response.status == 422
    body = response.body.json
    assert isinstance(body, dict)
    # The body as the installed SDK gives it: a dict on 7.x, a model on 5.11.
    first, second = out.split("\n")
    assert first.startswith("API Error: 422 - ") and body["message"] in first
    assert second == "[Error: 422]"


def test_error_handling_reports_a_recorded_dropped_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _only("v2_text", 0)
    stream = source.interactions[0].response.stream
    assert stream is not None
    with WireServer() as server:
        reply = Reply.stream(stream.body(), "sse")
        reply.drop_after = 10
        server.queue(reply)
        session = record_client(tmp_path / "dropped.yaml", cohere.ClientV2, api_key="x", base_url=server.url)
        with session as co, pytest.raises(httpx.RemoteProtocolError):
            list(co.chat_stream(model="command-r", messages=[{"role": "user", "content": "Hello"}]))
    recorded = load_cassette(tmp_path / "dropped.yaml")
    interaction: Interaction = recorded.interactions[0]
    assert interaction.response.stream is not None and interaction.response.stream.outcome == "failed"
    out, raised = _run("Error Handling in Streams", recorded, monkeypatch, capsys)
    assert raised is None
    texts = [
        json.loads(e.data)["delta"]["message"]["content"]["text"]
        for e in interaction.response.stream.events
        if e.name == "content-delta" and e.data
    ]
    error = interaction.response.stream.error
    assert error is not None
    assert out == "".join(texts) + f"Stream error: {error.message}\n[Stream interrupted]"


def test_error_handling_survives_a_disconnect_injected_mid_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_text", 0)
    payloads = _payloads(cassette)
    out, raised = _run("Error Handling in Streams", cassette, monkeypatch, capsys, faults=[F.disconnect(after=20)])
    assert raised is None
    partial = "".join(p["delta"]["message"]["content"]["text"] for p in payloads[:20] if p["type"] == "content-delta")
    assert out == partial + f"Stream error: {F.DISCONNECT_MESSAGE}\n[Stream interrupted]"


@pytest.mark.parametrize("status", [429, 500])
def test_error_handling_reports_an_injected_http_error(
    status: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = _only("v2_text", 0)
    # retry_after=0: the SDK's own retries (it retries 429 and 500) do not wait
    out, raised = _run(
        "Error Handling in Streams", cassette, monkeypatch, capsys, faults=[F.http_error(status, retry_after=0)]
    )
    assert raised is None
    first, second = out.split("\n")
    assert first.startswith(f"API Error: {status} - ") and _DEFAULT_MESSAGES[status] in first
    assert second == f"[Error: {status}]"
