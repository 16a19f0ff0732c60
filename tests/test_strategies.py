"""``stream_replay.strategies`` (issue 16): generated Cohere streams that the real SDK
parses into exactly the answer they were generated with, on v2 and v1, sync and async,
the SDK path and the fast path; pins that do what they say; every event type, finish
reason and awkward chunking reachable; recordings re-chunked with their answers kept;
failing examples that print as event lines and save as regression cassettes; faults
and the pytest plugin composing with them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cohere
import httpx
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from stream_replay import collect, load_cassette, replay_client, save_cassette, validate_stream
from stream_replay.analysis.assertions import assert_matches_cassette, recorded_response
from stream_replay.cassette import Cassette
from stream_replay.faults import disconnect
from stream_replay.sdk import event_classes
from stream_replay.strategies import (
    CHUNKINGS,
    FINISH_REASONS,
    cassettes,
    conversations,
    expected,
    fault_sets,
    rechunked,
)
from tests.support.corpus import CASSETTES
from tests.support.generated import V1_ARGS, V2_ARGS, api_of, differences, first, replayed

FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _events(cassette: Cassette, index: int = 0) -> list[Any]:
    stream = cassette.interactions[index].response.stream
    assert stream is not None
    return list(stream.events)


def _payloads(cassette: Cassette, index: int = 0) -> list[dict[str, Any]]:
    return [json.loads(e.data) for e in _events(cassette, index) if e.data is not None]


# --------------------------------------------------------------- the SDK agrees


@pytest.mark.parametrize("fast", [False, True], ids=["sdk", "fast"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("api", ["v2", "v1"])
def test_the_sdk_parses_every_generated_stream_into_its_answer(api: str, asynchronous: bool, fast: bool) -> None:
    @FEW
    @given(cassettes(api=api))
    def check(cassette: Cassette) -> None:
        assert validate_stream(_events(cassette)) == []
        (result,) = replayed(cassette, asynchronous=asynchronous, fast=fast)
        assert differences(result, cassette) == []

    check()


def test_a_conversation_answers_its_requests_in_order() -> None:
    @FEW
    @given(conversations(cassettes(api="v2", tool_calls=st.integers(1, 3)), cassettes(api="v2", tool_calls=0)))
    def check(cassette: Cassette) -> None:
        first, second = replayed(cassette)
        assert first.tool_calls and first.finish_reason == "TOOL_CALL"
        assert not second.tool_calls
        assert differences(first, cassette, 0) == [] and differences(second, cassette, 1) == []

    check()


def test_the_answer_is_kept_inside_the_cassette_when_saved(tmp_path: Path) -> None:
    @settings(max_examples=15, deadline=None)
    @given(cassettes(api=None))
    def check(cassette: Cassette) -> None:
        path = tmp_path / "regression.yaml"
        save_cassette(cassette, path)
        loaded = load_cassette(path)
        assert _events(loaded) == _events(cassette)
        (result,) = replayed(loaded)
        assert_matches_cassette(result, loaded)  # the answer it was generated with, read back
        path.unlink()

    check()


def test_the_oracle_is_not_read_from_the_events() -> None:
    """Change the answer text on the wire only: the oracle still says what was generated,
    so the replayed stream no longer matches it."""
    cassette = find(cassettes(api="v2", text="Paris is the capital.", chunking="one"), lambda c: True)
    stream = cassette.interactions[0].response.stream
    assert stream is not None
    tampered = [e._replace(data=e.data.replace("Paris", "Rome")) if e.data else e for e in stream.events]
    from dataclasses import replace

    broken = replace(
        cassette,
        interactions=(
            replace(
                cassette.interactions[0],
                response=replace(cassette.interactions[0].response, stream=replace(stream, events=tuple(tampered))),
            ),
        ),
    )
    (result,) = replayed(broken)
    assert result.text == "Rome is the capital."
    assert expected(broken).text == "Paris is the capital."
    assert any(d.startswith("text:") for d in differences(result, broken))


# ------------------------------------------------------------------------- pins


def test_pins_fix_what_they_name() -> None:
    @FEW
    @given(
        cassettes(api="v2", text="Bonjour 👋🏽 世界", thinking=True, tool_calls=0, finish_reason="MAX_TOKENS"),
    )
    def v2(cassette: Cassette) -> None:
        want = expected(cassette)
        assert want.text == "Bonjour 👋🏽 世界"  # exactly: no second text block added to a pinned answer
        assert want.finish_reason == "MAX_TOKENS" and not want.tool_calls
        kinds = [p["delta"]["message"]["content"]["type"] for p in _payloads(cassette) if p["type"] == "content-start"]
        assert kinds[0] == "thinking"

    @FEW
    @given(cassettes(api="v1", tool_calls=2))
    def v1(cassette: Cassette) -> None:
        assert api_of(cassette) == "v1"
        want = expected(cassette)
        assert len(want.tool_calls) == 2 and want.text == "" and want.tool_plan
        assert cassette.interactions[0].request.url.endswith("/v1/chat")

    v2()
    v1()


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_chunking_cuts_the_text_as_named(chunking: str) -> None:
    @FEW
    @given(cassettes(api="v2", thinking=False, tool_calls=0, chunking=chunking, text="Hello 👨\u200d👩\u200d👧 wörld"))
    def check(cassette: Cassette) -> None:
        deltas = [
            p["delta"]["message"]["content"]["text"]
            for p in _payloads(cassette)
            if p["type"] == "content-delta" and p["index"] == 0
        ]
        nonempty = [d for d in deltas if d]
        assert "".join(deltas) == "Hello 👨\u200d👩\u200d👧 wörld"
        if chunking == "one":
            assert nonempty == ["Hello 👨\u200d👩\u200d👧 wörld"]
        if chunking == "characters":
            assert all(len(d) == 1 for d in nonempty) and len(nonempty) == len("Hello 👨\u200d👩\u200d👧 wörld")

    check()


def test_a_bad_pin_says_which_values_it_takes() -> None:
    with pytest.raises(ValueError, match="api must be 'v1' or 'v2'"):
        find(cassettes(api="v3"), lambda c: True)
    with pytest.raises(ValueError, match="chunking must be one of"):
        find(cassettes(chunking="words"), lambda c: True)
    with pytest.raises(ValueError, match="api='v1' has no thinking: pin api='v2'"):
        find(cassettes(api="v1", thinking=True), lambda c: True)
    with pytest.raises(ValueError, match="text or with tool calls, not both"):
        find(cassettes(text="hi", tool_calls=2), lambda c: True)


def test_pins_given_as_strategies_are_drawn_not_taken_for_true() -> None:
    @FEW
    @given(cassettes(api=None, text=st.booleans(), tool_calls=st.integers(0, 2), thinking=st.booleans()))
    def check(cassette: Cassette) -> None:
        want = expected(cassette)
        assert not (want.text and want.tool_calls)

    check()


def test_pinned_citations_always_come_with_text_to_cite() -> None:
    @FEW
    @given(cassettes(api=None, citations=st.integers(1, 3)))
    def check(cassette: Cassette) -> None:
        assert expected(cassette).citations

    check()


def test_tokens_chunking_cuts_given_text_into_token_sized_deltas() -> None:
    cassette = find(cassettes(api="v2", text="The value is **5**, again.", chunking="tokens", thinking=False), bool)
    deltas = [p["delta"]["message"]["content"]["text"] for p in _payloads(cassette) if p["type"] == "content-delta"]
    assert [d for d in deltas if d] == ["The", " value", " is", " **", "5", "**,", " again", "."]


def test_a_pin_decides_what_else_is_drawn() -> None:
    """A pinned answer is never dropped for tool calls; thinking or logprobs pinned with
    api=None draw v2 streams only, search v1 streams only."""

    @FEW
    @given(cassettes(api=None, text="Only this."), cassettes(api=None, thinking=True), cassettes(api=None, search=True))
    def check(answered: Cassette, thought: Cassette, searched: Cassette) -> None:
        assert expected(answered).text == "Only this." and not expected(answered).tool_calls
        assert api_of(thought) == "v2" and expected(thought).thinking
        assert api_of(searched) == "v1" and {e.name for e in _events(searched)} >= {"search-results"}

    check()


# ------------------------------------------------------------ what is reachable


def _kinds(cassette: Cassette) -> set[str]:
    return {e.name for e in _events(cassette)}


#: Every event type the installed SDK's stream unions model: a type the SDK adds and the
#: strategies cannot generate fails here.
V2_TYPES = [*sorted(event_classes("v2")), "[DONE]"]
V1_TYPES = sorted(event_classes("v1"))


@pytest.mark.parametrize("kind", V2_TYPES)
def test_every_v2_event_type_is_generated(kind: str) -> None:
    first(cassettes(api="v2"), lambda c: kind in _kinds(c))


@pytest.mark.parametrize("kind", V1_TYPES)
def test_every_v1_event_type_is_generated(kind: str) -> None:
    first(cassettes(api="v1"), lambda c: kind in _kinds(c))


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_every_finish_reason_is_generated(api: str) -> None:
    for reason in FINISH_REASONS[api]:
        first(cassettes(api=api), lambda c, reason=reason: expected(c).finish_reason == reason)


SHAPES: dict[str, Callable[[Cassette], bool]] = {
    "thinking before the answer": lambda c: bool(expected(c).thinking and expected(c).text),
    "two text blocks": lambda c: (
        sum(
            1
            for p in _payloads(c)
            if p["type"] == "content-start" and p["delta"]["message"]["content"]["type"] == "text"
        )
        == 2
    ),
    "three tool calls": lambda c: len(expected(c).tool_calls) == 3,
    "a citation of the thinking": lambda c: any(x.type == "THINKING_CONTENT" for x in expected(c).citations),
    "a document source": lambda c: any(
        isinstance(s, dict) and s.get("type") == "document" for x in expected(c).citations for s in x.sources
    ),
    "a tool source": lambda c: any(
        isinstance(s, dict) and s.get("type") == "tool" for x in expected(c).citations for s in x.sources
    ),
    "an untyped citation (older API)": lambda c: any(x.type is None for x in expected(c).citations),
    "a citation whose span crosses deltas": lambda c: _crosses(c),
    "an empty answer": lambda c: expected(c).text == "" and not expected(c).tool_calls,
    "an empty delta": lambda c: any(
        p["type"] == "content-delta" and p["delta"]["message"]["content"].get("text") == "" for p in _payloads(c)
    ),
    "a whitespace-only delta": lambda c: any(
        p["type"] == "content-delta" and (p["delta"]["message"]["content"].get("text") or "x").isspace()
        for p in _payloads(c)
    ),
    "an emoji sequence cut between deltas": lambda c: _cut_inside(c, "👨\u200d👩\u200d👧\u200d👦"),
    "tool-call arguments cut inside a JSON string": lambda c: any(
        p["type"] == "tool-call-delta" and p["delta"]["message"]["tool_calls"]["function"]["arguments"].count('"') % 2
        for p in _payloads(c)
    ),
    "an error with its message": lambda c: expected(c).error is not None,
}


def _crosses(cassette: Cassette) -> bool:
    ends, at = set(), 0
    for p in _payloads(cassette):
        if p["type"] == "content-delta":
            at += len(
                p["delta"]["message"]["content"].get("text") or p["delta"]["message"]["content"].get("thinking") or ""
            )
            ends.add(at)
    return any(
        any(x.start < end < x.end for end in ends)
        for x in expected(cassette).citations
        if x.start is not None and x.end is not None
    )


def _cut_inside(cassette: Cassette, sequence: str) -> bool:
    texts = [
        p["delta"]["message"]["content"].get("text") or "" for p in _payloads(cassette) if p["type"] == "content-delta"
    ]
    whole = "".join(texts)
    return sequence in whole and not any(sequence in t for t in texts)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_awkward_shape_is_generated(shape: str) -> None:
    first(cassettes(api="v2"), SHAPES[shape])


def test_logprobs_ride_on_every_text_delta_and_are_collected() -> None:
    cassette = first(cassettes(api="v2", logprobs=True, tool_calls=0, text=True), lambda c: len(expected(c).text) > 3)
    deltas = [
        p for p in _payloads(cassette) if p["type"] == "content-delta" and "text" in p["delta"]["message"]["content"]
    ]
    assert deltas and all("logprobs" in p for p in deltas)
    (result,) = replayed(cassette)
    assert [lp.text for lp in result.logprobs] == [p["delta"]["message"]["content"]["text"] for p in deltas]


# ------------------------------------------------------------------ re-chunking


@pytest.mark.parametrize("name", sorted(p.stem for p in CASSETTES.glob("*.yaml") if p.stem != "v2_http_422"))
def test_a_rechunked_recording_keeps_its_answers(name: str) -> None:
    original = load_cassette(CASSETTES / f"{name}.yaml")
    chats = [i for i, x in enumerate(original.interactions) if x.request.url.endswith("/chat")]

    @settings(max_examples=15, deadline=None)
    @given(rechunked(original))
    def check(cassette: Cassette) -> None:
        for index, interaction in enumerate(cassette.interactions):
            if interaction.response.stream is None:
                continue
            assert validate_stream(interaction.response.stream.events) == validate_stream(_events(original, index))
            # what the re-cut wire JSON adds up to is the recording's answer
            assert_matches_cassette(recorded_response(Cassette((interaction,))), original, index=index)
        for index in chats:
            single = Cassette((cassette.interactions[index],), cassette.meta)
            api = api_of(single)
            client = replay_client(
                single, cohere.ClientV2 if api == "v2" else cohere.Client, match_on=["method", "route"]
            )
            result = collect(client.chat_stream(**(V2_ARGS if api == "v2" else V1_ARGS)))
            assert_matches_cassette(result, original, index=index)

    check()


def test_rechunking_moves_the_boundaries_and_nothing_else() -> None:
    original = load_cassette(CASSETTES / "v2_citations.yaml")
    one = find(rechunked(original, chunking="one"), lambda c: True)
    each = find(rechunked(original, chunking="characters"), lambda c: True)
    for index in (0, 1):
        before = [e.name for e in _events(original, index)]
        for cut in (one, each):
            after = [e.name for e in _events(cut, index)]
            # the same events but deltas, in the same order
            assert [n for n in after if not n.endswith("-delta")] == [n for n in before if not n.endswith("-delta")]
        plan = [p for p in _payloads(one, index) if p["type"] == "tool-plan-delta"]
        assert len(plan) <= 1
        chars = [
            p["delta"]["message"]["content"]["text"] for p in _payloads(each, index) if p["type"] == "content-delta"
        ]
        assert all(len(t) == 1 for t in chars)


# --------------------------------------------------- failing examples, faults


def test_a_failing_example_prints_as_event_lines() -> None:
    def ui_text(events: Any) -> str:  # a consumer that forgets the first delta
        deltas = [e.delta.message.content.text for e in events if e.type == "content-delta"]
        return "".join(deltas[1:])

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(cassettes(api="v2", thinking=False, tool_calls=0))
    def test(cassette: Cassette) -> None:
        client = replay_client(cassette)
        assert ui_text(client.chat_stream(**V2_ARGS)) == expected(cassette).text

    with pytest.raises(AssertionError) as caught:
        test()
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "<Cassette <in-memory cassette> (stream_replay.strategies" in notes
    events = [line.split()[1] for line in notes.splitlines() if line.startswith("      - ")]
    # shrunk to the shortest stream that shows the bug: one text delta is enough to lose
    assert events == [
        "message-start", "content-start", "content-delta", "content-end", "message-end", "[DONE]",
    ]  # fmt: skip


def test_faults_compose_with_generated_streams() -> None:
    @FEW
    @given(st.data())
    def check(data: st.DataObject) -> None:
        cassette = data.draw(cassettes(api="v2"))
        after = data.draw(st.integers(0, len(_events(cassette)) - 2))
        client = replay_client(cassette, faults=[disconnect(after=after)])
        seen = []
        with pytest.raises(httpx.RemoteProtocolError):
            for event in client.chat_stream(**V2_ARGS):
                seen.append(event)
        assert len(seen) <= after

        faults = data.draw(fault_sets(cassette))
        replay_client(cassette, faults=faults)  # every drawn fault fits the stream

    check()


def _sdk_decodes_across_chunks() -> bool:
    """Whether the installed SDK's sync v2 reader decodes a character cut across chunks.
    cohere 5.20.1 to 6.1.0 decode each chunk alone (the character arrives as U+FFFD):
    asked of the SDK itself, over httpx's ``MockTransport``, one byte a chunk."""
    data = '{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"é"}}}}'
    body = f"event: content-delta\ndata: {data}\n\n".encode()

    def handler(request: httpx.Request) -> httpx.Response:
        chunks = [body[i : i + 1] for i in range(len(body))]
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(chunks))

    client = cohere.ClientV2(api_key="probe", httpx_client=httpx.Client(transport=httpx.MockTransport(handler)))
    [event] = list(client.chat_stream(model="m", messages=[]))
    return event.delta.message.content.text == "é"  # type: ignore[union-attr]


def test_a_consumer_that_handles_transport_and_api_errors_survives_every_drawn_fault_set() -> None:
    """fault_sets draws faults that fit the stream; through the real SDK each ends in the
    answer, an altered answer, or an httpx / cohere API error: nothing else escapes.
    Byte boundaries alone change nothing the consumer sees, unless the SDK's reader
    mangles a character cut across chunks (then an answer outside ASCII may hold U+FFFD)."""
    across = _sdk_decodes_across_chunks()

    def show(cassette: Cassette, faults: list[Any]) -> str:
        client = replay_client(cassette, faults=faults)
        try:
            events = list(client.chat_stream(**V2_ARGS))
        except (httpx.TransportError, cohere.core.ApiError):
            return "Sorry, try again."
        return "".join(
            e.delta.message.content.text or ""
            for e in events
            if getattr(e, "type", None) == "content-delta" and getattr(e.delta.message.content, "text", None)
        )

    @FEW
    @given(st.data())
    def check(data: st.DataObject) -> None:
        cassette = data.draw(cassettes(api="v2", tool_calls=0, thinking=False))
        faults = data.draw(fault_sets(cassette))
        shown = show(cassette, faults)
        clean = all(type(f).__name__ in ("Split",) for f in faults)
        answer = expected(cassette).text
        if clean and (across or answer.isascii()):  # byte boundaries alone change nothing a consumer sees
            assert shown == answer
        elif clean:  # the SDK's reader replaces a character cut between chunks, and does nothing else
            assert shown == answer or "\ufffd" in shown

    check()


@pytest.mark.parametrize("kind", ["Disconnect", "Split", "Malformed", "UnknownEvent", "Reorder", "HttpError"])
def test_fault_sets_draw_every_kind_of_fault(kind: str) -> None:
    cassette = find(cassettes(api="v2"), lambda c: True)
    first(fault_sets(cassette), lambda faults: any(type(f).__name__ == kind for f in faults))


def test_importing_stream_replay_does_not_import_hypothesis() -> None:
    code = (
        "import sys, stream_replay; stream_replay.replay_client; stream_replay.collect; "
        "print('hypothesis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
