"""Frameworks that build their own cohere clients, served by the stream_replay plugin.

Each test uses a library as its documentation shows (the library builds the cohere client
itself, inside the test or at import) and checks what the library hands its caller against
what the cassette holds, read here with PyYAML and ``json`` alone (nothing of stream_replay's):

- haystack's ``CohereChatGenerator`` (cohere-haystack): ``cohere.ClientV2`` /
  ``AsyncClientV2``, v2 ``chat_stream``, a streaming callback per chunk, tool calls;
  with ``max_retries`` it gives the SDK an httpx client of its own;
- llama-index's ``Cohere`` LLM (llama-index-llms-cohere): ``cohere.Client``, v1
  ``chat_stream``, one delta per text event; its ``astream_chat`` is broken (it iterates
  the sync client's stream with ``async for``), and the replay breaks the same way.

The libraries' request bodies are not the recorded ones (haystack sends a message's
content as a list of text parts, llama-index adds ``temperature`` and ``model``), so every
marker accepts drift, as README's "Moving from pytest-recording" does; the run's summary
names the fields. ``bench/conformance.py`` (section C) runs this project and counts the
events the fast path built in each test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

CASSETTES = Path(__file__).parent / "cassettes"


def recorded(name: str) -> list[dict[str, Any]]:
    """The payloads of the first interaction's events, in order (v2's ``[DONE]`` left out)."""
    cassette = yaml.safe_load((CASSETTES / name).read_text(encoding="utf-8"))
    block = cassette["interactions"][0]["response"]["stream"]["events"]
    return [json.loads(line.split(" ", 2)[2]) for line in block.splitlines() if not line.endswith("[DONE]")]


def recorded_v2_text(name: str) -> str:
    return "".join(e["delta"]["message"]["content"]["text"] for e in recorded(name) if e["type"] == "content-delta")


def recorded_v2_tool_calls(name: str) -> list[tuple[str, dict[str, Any]]]:
    """(name, parsed arguments) of each tool call, assembled from its start and deltas."""
    calls: dict[int, list[str]] = {}
    for event in recorded(name):
        if event["type"] == "tool-call-start":
            function = event["delta"]["message"]["tool_calls"]["function"]
            calls[event["index"]] = [function["name"], function.get("arguments", "")]
        elif event["type"] == "tool-call-delta":
            calls[event["index"]][1] += event["delta"]["message"]["tool_calls"]["function"]["arguments"]
    return [(name, json.loads(arguments)) for name, arguments in calls.values()]


def recorded_v2_end(name: str) -> dict[str, Any]:
    return next(e["delta"] for e in recorded(name) if e["type"] == "message-end")


def recorded_v1_text(name: str) -> str:
    return "".join(e["text"] for e in recorded(name) if e["event_type"] == "text-generation")


# ------------------------------------------------------------------------- haystack

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "The name of the person"},
        "age": {"type": "integer", "description": "The age of the person"},
    },
    "required": ["name", "age"],
}


def _generator(**kwargs: Any) -> Any:
    from haystack.utils import Secret
    from haystack_integrations.components.generators.cohere import CohereChatGenerator

    return CohereChatGenerator(api_key=Secret.from_token("test-key"), model="command-r", **kwargs)


def _check_haystack_reply(reply: Any, chunks: list[Any], cassette: str) -> None:
    text = recorded_v2_text(cassette)
    assert reply.text == text
    assert "".join(chunk.content for chunk in chunks) == text
    end = recorded_v2_end(cassette)
    assert reply.meta["finish_reason"] == "stop" and end["finish_reason"] == "COMPLETE"
    billed = end["usage"]["billed_units"]
    assert reply.meta["usage"]["prompt_tokens"] == billed["input_tokens"]
    assert reply.meta["usage"]["completion_tokens"] == billed["output_tokens"]


@pytest.mark.stream_replay(cassette="v2_text.yaml", drift="accept")
def test_haystack_streams_the_recorded_text() -> None:
    from haystack.dataclasses import ChatMessage

    chunks: list[Any] = []
    generator = _generator(streaming_callback=chunks.append)
    reply = generator.run([ChatMessage.from_user("I'm Pickle Rick")])["replies"][0]
    _check_haystack_reply(reply, chunks, "v2_text.yaml")


@pytest.mark.stream_replay(cassette="v2_text.yaml", drift="accept")
def test_haystack_with_its_own_httpx_client() -> None:
    # max_retries: haystack builds an httpx.Client(transport=HTTPTransport(retries=2)) and
    # gives it to ClientV2; the plugin keeps that client but never its transport.
    from haystack.dataclasses import ChatMessage

    chunks: list[Any] = []
    generator = _generator(streaming_callback=chunks.append, max_retries=2)
    reply = generator.run([ChatMessage.from_user("I'm Pickle Rick")])["replies"][0]
    _check_haystack_reply(reply, chunks, "v2_text.yaml")


@pytest.mark.stream_replay(cassette="v2_text.yaml", drift="accept")
async def test_haystack_streams_asynchronously() -> None:
    from haystack.dataclasses import ChatMessage

    chunks: list[Any] = []

    async def callback(chunk: Any) -> None:
        chunks.append(chunk)

    generator = _generator(streaming_callback=callback)
    reply = (await generator.run_async([ChatMessage.from_user("I'm Pickle Rick")]))["replies"][0]
    _check_haystack_reply(reply, chunks, "v2_text.yaml")


@pytest.mark.stream_replay(cassette="v2_tool_calls.yaml", drift="accept")
def test_haystack_streams_a_tool_call() -> None:
    from haystack.dataclasses import ChatMessage
    from haystack.tools import Tool

    chunks: list[Any] = []
    person = Tool(name="Person", description="", parameters=PERSON, function=lambda **kwargs: kwargs)
    generator = _generator(streaming_callback=chunks.append, tools=[person], generation_kwargs={"temperature": 0.0})
    reply = generator.run([ChatMessage.from_user("Erick, 27 years old")])["replies"][0]
    expected = recorded_v2_tool_calls("v2_tool_calls.yaml")
    assert [(call.tool_name, call.arguments) for call in reply.tool_calls] == expected
    assert reply.meta["finish_reason"] == "tool_calls"
    assert recorded_v2_end("v2_tool_calls.yaml")["finish_reason"] == "TOOL_CALL"
    assert any(chunk.tool_calls for chunk in chunks)  # streamed, not only assembled


# ---------------------------------------------------------------------- llama-index


def _llm() -> Any:
    from llama_index.llms.cohere import Cohere

    return Cohere(api_key="test-key", model="command-r")


def _message() -> Any:
    from llama_index.core.llms import ChatMessage

    return ChatMessage(role="user", content="I'm Pickle Rick")


@pytest.mark.stream_replay(cassette="v1_text.yaml", drift="accept")
def test_llama_index_streams_the_recorded_text() -> None:
    responses = list(_llm().stream_chat([_message()]))
    text = recorded_v1_text("v1_text.yaml")
    assert "".join(response.delta for response in responses) == text
    assert responses[-1].message.content == text


@pytest.mark.stream_replay(cassette="v1_text.yaml", drift="accept", report_unplayed=False)
async def test_llama_index_astream_chat_fails_as_in_production(stream_replay: Any) -> None:
    # llama-index-llms-cohere 0.9.0's astream_chat calls the sync client's chat_stream (a
    # generator: no request is sent) and iterates it with `async for`. The replay must
    # fail where production fails, and must not send the request that production never sends.
    with pytest.raises(TypeError, match="requires an object with __aiter__ method, got generator"):
        [response async for response in await _llm().astream_chat([_message()])]
    assert stream_replay.played == []


#: Built when the module is imported, before any test: its clients are the SDK's own,
#: not built inside a test (the plugin routes their requests, the fast path is not theirs).
LLM_AT_IMPORT = _llm()


@pytest.mark.stream_replay(cassette="v1_text.yaml", drift="accept")
def test_llama_index_llm_built_at_import() -> None:
    responses = list(LLM_AT_IMPORT.stream_chat([_message()]))
    assert "".join(response.delta for response in responses) == recorded_v1_text("v1_text.yaml")
