"""``stream-replay play``: replay a cassette through the real SDK, printed like a chat UI.

Each chat call of the cassette is made again with the recorded arguments through a
genuine cohere client whose HTTP is the replay transport, so what is printed is what
the SDK yields: its own event objects, its own exceptions.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..cassette import Interaction, load_cassette
from ..replay.client import replay_client
from ..replay.transport import ReplayTransport
from ..wire.events import event_type
from . import add_speed


def add_parsers(commands: Any) -> None:
    play = commands.add_parser(
        "play",
        help="replay a cassette through the real cohere SDK and print it as a chat UI would",
        description="Replays every chat call of CASSETTE through a genuine cohere client "
        "(no API key, no network) and prints the stream as it arrives.",
    )
    play.add_argument("cassette", type=Path)
    add_speed(play)
    play.add_argument("--async", dest="use_async", action="store_true", help="use AsyncClientV2 / AsyncClient")
    play.add_argument("--fast", action="store_true", help="build events directly (the fast path)")


def run(args: argparse.Namespace) -> int:
    return play_cassette(args.cassette, speed=args.speed, use_async=args.use_async, fast=args.fast)


def play_cassette(path: Path, *, speed: float, use_async: bool, fast: bool, out: TextIO | None = None) -> int:
    import cohere

    stream = out or sys.stdout
    cassette = load_cassette(path)
    transport = ReplayTransport(cassette, speed=speed or None)
    v2_cls: type[Any] = cohere.AsyncClientV2 if use_async else cohere.ClientV2
    v1_cls: type[Any] = cohere.AsyncClient if use_async else cohere.Client
    clients = {
        "/v2/chat": replay_client(cassette, v2_cls, transport=transport, fast=fast),
        "/v1/chat": replay_client(cassette, v1_cls, transport=transport, fast=fast),
    }
    total = len(cassette.interactions)
    for number, interaction in enumerate(cassette.interactions, 1):
        route = _route(interaction)
        _heading(stream, number, total, interaction, route, speed)
        client = clients.get(route)
        if client is None or (interaction.response.stream is None and interaction.response.status < 400):
            stream.write(f"  (not a chat stream: {interaction.response.status}, shown as recorded)\n")
            transport.player.mark(number - 1)
            continue
        kwargs = _arguments(interaction)
        started = time.monotonic()
        printer = _Printer(stream, "v2" if route == "/v2/chat" else "v1")
        try:
            if use_async:
                asyncio.run(_consume_async(client, kwargs, printer))
            else:
                for event in client.chat_stream(**kwargs):
                    printer.event(event)
        except cohere.core.ApiError as exc:
            stream.write(f"\n  [API error {exc.status_code}] {exc.body}\n")
            continue
        printer.finish(time.monotonic() - started)
    return 0


async def _consume_async(client: Any, kwargs: dict[str, Any], printer: _Printer) -> None:
    async for event in client.chat_stream(**kwargs):
        printer.event(event)


def _route(interaction: Interaction) -> str:
    from ..replay.matching import recorded_view

    return recorded_view(interaction.request).route


def _arguments(interaction: Interaction) -> dict[str, Any]:
    body = interaction.request.body.parsed()
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in body.items() if k != "stream"}


def _heading(out: TextIO, number: int, total: int, interaction: Interaction, route: str, speed: float) -> None:
    req = interaction.request
    body = req.body.parsed()
    model = body.get("model") if isinstance(body, dict) else None
    details = [f"{req.method} {route}"]
    if model:
        details.append(f"model {model}")
    stream = interaction.response.stream
    if stream is not None:
        pace = "instant" if not speed else ("recorded pace" if stream.timed else "no timing recorded: 20 ms/event")
        details.append(f"{len(stream.events)} events on the wire ({pace})")
    out.write(f"\n── [{number}/{total}] {' · '.join(details)}\n")
    prompt = _last_user_text(body)
    if prompt:
        out.write(f"user: {prompt}\n")
    out.flush()


def _last_user_text(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    text: Any = None
    if isinstance(body.get("message"), str):
        text = body["message"]
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            text = message.get("content")
    if isinstance(text, list):
        text = " ".join(str(part.get("text", "")) for part in text if isinstance(part, dict))
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    short: str = text if len(text) <= 160 else text[:157] + "..."
    return short


class _Printer:
    """Writes SDK events as a chat UI shows them, and sums them up at the end."""

    def __init__(self, out: TextIO, api: str) -> None:
        self.out = out
        self.api = api
        self.count = 0
        self.mode = ""
        self.finish_reason: Any = None
        self.usage: Any = None
        self.citations: list[str] = []

    def _enter(self, mode: str, label: str) -> None:
        if self.mode != mode:
            self.out.write(("\n" if self.mode else "") + label)
            self.mode = mode

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def event(self, event: Any) -> None:
        self.count += 1
        kind = event_type(event)
        if self.api == "v2":
            self._v2(kind, event)
        else:
            self._v1(kind, event)

    def _v2(self, kind: Any, event: Any) -> None:
        if kind == "tool-plan-delta":
            self._enter("plan", "plan: ")
            self.write(event.delta.message.tool_plan or "")
        elif kind == "tool-call-start":
            call = event.delta.message.tool_calls
            self._enter(f"call{event.index}", f"tool call: {call.function.name}(")
            self.write(call.function.arguments or "")
        elif kind == "tool-call-delta":
            self.write(event.delta.message.tool_calls.function.arguments or "")
        elif kind == "tool-call-end":
            self.write(")")
        elif kind == "content-delta":
            content = event.delta.message.content
            thinking = getattr(content, "thinking", None)
            if thinking:
                self._enter("thinking", "thinking: ")
                self.write(thinking)
            if content.text:
                self._enter("text", "assistant: ")
                self.write(content.text)
        elif kind == "citation-start":
            citation = event.delta.message.citations
            sources = [getattr(s, "id", None) or getattr(s, "type", "?") for s in citation.sources or []]
            self.citations.append(f'"{citation.text}" <- {", ".join(str(s) for s in sources)}')
        elif kind == "message-end":
            self.finish_reason = event.delta.finish_reason
            self.usage = event.delta.usage
            error = getattr(event.delta, "error", None)
            if error:
                self._enter("error", "error: ")
                self.write(str(error))

    def _v1(self, kind: Any, event: Any) -> None:
        if kind == "text-generation":
            self._enter("text", "assistant: ")
            self.write(event.text)
        elif kind == "tool-calls-chunk":
            self._enter("calls", "tool calls: ")
            self.write(event.text or "")
        elif kind == "tool-calls-generation":
            for call in event.tool_calls:
                self._enter(f"call-{call.name}", f"tool call: {call.name}({call.parameters})")
        elif kind == "search-results":
            docs = event.documents or []
            self._enter("search", f"search results: {len(docs)} documents")
        elif kind == "citation-generation":
            for citation in event.citations:
                self.citations.append(f'"{citation.text}" <- {", ".join(citation.document_ids)}')
        elif kind == "stream-end":
            self.finish_reason = event.finish_reason

    def finish(self, seconds: float) -> None:
        if self.citations:
            self.out.write("\ncitations:\n" + "".join(f"  {c}\n" for c in self.citations))
        else:
            self.out.write("\n")
        summary = [f"{self.count} events", f"{seconds:.2f} s"]
        if self.finish_reason:
            summary.insert(0, f"finish {self.finish_reason}")
        tokens = getattr(self.usage, "tokens", None)
        if tokens is not None and tokens.output_tokens is not None:
            summary.append(f"{int(tokens.input_tokens or 0)} in / {int(tokens.output_tokens)} out tokens")
        self.out.write(f"── {' · '.join(summary)}\n")
        self.out.flush()
