"""``stream-replay play``: replay cassettes through the real SDK, printed like a chat UI.

Each chat call (and ``/v1/generate`` call) of the cassette is made again with the
recorded arguments through a genuine cohere client whose HTTP is the replay transport,
so what is printed is what the SDK yields: its own event objects, its own exceptions.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..cassette import Cassette, Interaction, load_cassette
from ..errors import RecordingEndedError
from ..replay.client import replay_client
from ..replay.transport import ReplayTransport
from ..sdk import sdk_kwargs
from ..wire.events import event_type
from . import add_speed, exit_status, output


def add_parsers(commands: Any) -> None:
    play = commands.add_parser(
        "play",
        help="replay cassettes through the real cohere SDK and print them as a chat UI would",
        description="Replays every chat and generate call of each CASSETTE (a file, or a folder: every *.yaml "
        "below it) through a genuine cohere client (no API key, no network) and prints the stream as it "
        "arrives. A recorded HTTP error or a recorded broken stream is shown as the SDK raises it.",
        epilog=exit_status(),
    )
    play.add_argument("cassettes", nargs="+", type=Path, metavar="CASSETTE")
    add_speed(play)
    play.add_argument("--async", dest="use_async", action="store_true", help="use AsyncClientV2 / AsyncClient")
    play.add_argument("--fast", action="store_true", help="build events directly (the fast path)")


def run(args: argparse.Namespace) -> int:
    cassettes = output.Cassettes(args.cassettes)
    for number, (path, cassette) in enumerate(cassettes):
        if number:
            sys.stdout.write("\n")
        play_cassette(cassette, speed=args.speed, use_async=args.use_async, fast=args.fast, name=str(path))
    return 2 if cassettes.failed else 0


def play_cassette(
    path: Path | Cassette,
    *,
    speed: float,
    use_async: bool,
    fast: bool,
    out: TextIO | None = None,
    name: str | None = None,
) -> int:
    import cohere
    import httpx

    stream = out or sys.stdout
    paint = output.painter(stream)
    cassette = path if isinstance(path, Cassette) else load_cassette(path)
    stream.write(paint(name or cassette.label, output.BOLD) + "\n")
    transport = ReplayTransport(cassette, speed=speed or None)
    v2_cls: type[Any] = cohere.AsyncClientV2 if use_async else cohere.ClientV2
    v1_cls: type[Any] = cohere.AsyncClient if use_async else cohere.Client
    v1 = replay_client(cassette, v1_cls, transport=transport, fast=fast)
    #: route -> (client, its streaming method, the printer's stream kind)
    clients: dict[str, tuple[Any, str, str]] = {
        "/v2/chat": (replay_client(cassette, v2_cls, transport=transport, fast=fast), "chat_stream", "v2"),
        "/v1/chat": (v1, "chat_stream", "v1"),
        "/v1/generate": (v1, "generate_stream", "generate"),
    }
    total = len(cassette.interactions)
    for number, interaction in enumerate(cassette.interactions, 1):
        route = _route(interaction)
        _heading(stream, number, total, interaction, route, speed)
        found = clients.get(route)
        if found is None or (interaction.response.stream is None and interaction.response.status < 400):
            stream.write(f"  (not a chat stream: {interaction.response.status}, shown as recorded)\n")
            transport.player.mark(number - 1)
            continue
        client, name, kind = found
        method = getattr(client, name)
        kwargs = sdk_kwargs(getattr(type(client), name), _arguments(interaction))  # 5.11 lacks thinking=...
        started = time.monotonic()
        printer = _Printer(stream, kind, plan_texts=_v1_plan_texts(interaction))
        try:
            if use_async:
                asyncio.run(_consume_async(method, kwargs, printer))
            else:
                _consume(method, kwargs, printer)
        except cohere.core.ApiError as exc:
            stream.write(f"\n  {paint(f'[API error {exc.status_code}]', output.RED)} {exc.body}\n")
            continue
        except (httpx.HTTPError, RecordingEndedError) as exc:  # what the recording holds: the stream broke
            message = output.shorten(str(exc).split("\n  How to fix:")[0], 300)
            stream.write(f"\n  {paint(f'[stream ended: {type(exc).__name__}]', output.RED)} {message}")
        printer.finish(time.monotonic() - started)
    return 0


def _consume(method: Any, kwargs: dict[str, Any], printer: _Printer) -> None:
    events = method(**kwargs)
    try:
        for event in events:
            printer.event(event)
    finally:
        _close(events)


def _close(events: Any) -> None:
    """Close a stream the consumer stopped reading (a closed pipe), now rather than when it
    is collected. cohere 5.x's generator catches GeneratorExit (a bare ``except`` around its
    ``yield``) and yields the next event instead: ``close()`` raises RuntimeError and leaves
    it suspended, and Python would close it again at exit, printing "Exception ignored ...
    generator ignored GeneratorExit". Each attempt reads one more recorded event, so retry
    until one takes: a replayed stream is finite."""
    while True:
        try:
            events.close()
            return
        except RuntimeError:
            continue


async def _consume_async(method: Any, kwargs: dict[str, Any], printer: _Printer) -> None:
    events = method(**kwargs)
    try:
        async for event in events:
            printer.event(event)
    finally:
        with contextlib.suppress(RuntimeError):
            await events.aclose()


def _route(interaction: Interaction) -> str:
    from ..replay.matching import recorded_view

    return recorded_view(interaction.request).route


def _arguments(interaction: Interaction) -> dict[str, Any]:
    body = interaction.request.body.parsed()
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in body.items() if k != "stream"}


def _v1_plan_texts(interaction: Interaction) -> int:
    """How many ``text-generation`` events of a recorded v1 stream come before its
    ``tool-calls-generation``: that text is the tool plan, not the answer (0 if no tool call)."""
    stream = interaction.response.stream
    if stream is None or stream.format != "ndjson":
        return 0
    names = [event.name for event in stream.events]
    if "tool-calls-generation" not in names:
        return 0
    return names[: names.index("tool-calls-generation")].count("text-generation")


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
    title = f"── [{number}/{total}] {' · '.join(details)}"
    out.write(f"\n{output.painter(out)(title, output.BOLD)}\n")
    prompt = output.last_user_text(body)
    if prompt:
        out.write(f"user: {prompt}\n")
    elif isinstance(body, dict) and isinstance(body.get("prompt"), str):  # /v1/generate
        out.write(f"prompt: {output.shorten(body['prompt'])}\n")
    out.flush()


class _Printer:
    """Writes SDK events as a chat UI shows them, and sums them up at the end.

    Labels say what the stream says: ``plan:`` for a tool plan (v2 ``tool-plan-delta``; v1
    ``tool-calls-chunk`` text, the ``text`` of a ``tool-calls-generation`` that came without
    it, and the first ``plan_texts`` ``text-generation`` events when the recording shows them
    followed by tool calls), ``tool call:`` for each call, ``assistant:`` for the answer; on
    ``/v1/generate``, ``generation:`` (``generation N:`` for each of several) and ``error:``."""

    def __init__(self, out: TextIO, api: str, *, plan_texts: int = 0) -> None:
        self.out = out
        self.api = api
        self.paint = output.painter(out)
        self.count = 0
        self.mode = ""
        self.finish_reason: Any = None
        self.usage: Any = None
        self.citations: list[str] = []
        self.plan_texts = plan_texts  # v1: text-generation events that are the tool plan
        self.texts = 0
        self.planned = False
        self.streamed_calls: set[int] = set()
        self.open_call: int | None = None

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
        elif self.api == "generate":
            self._generate(kind, event)
        else:
            self._v1(kind, event)

    def _v2(self, kind: Any, event: Any) -> None:
        message = _at(event, "delta", "message")  # a model on cohere 7.x, a plain dict on 5.x for some events
        if kind == "tool-plan-delta":
            self._enter("plan", "plan: ")
            self.write(_at(message, "tool_plan") or "")
        elif kind == "tool-call-start":
            function = _at(message, "tool_calls", "function")
            self._enter(f"call{event.index}", f"tool call: {_at(function, 'name')}(")
            self.write(_at(function, "arguments") or "")
        elif kind == "tool-call-delta":
            self.write(_at(message, "tool_calls", "function", "arguments") or "")
        elif kind == "tool-call-end":
            self.write(")")
        elif kind == "content-delta":
            thinking = _at(message, "content", "thinking")
            if thinking:
                self._enter("thinking", "thinking: ")
                self.write(thinking)
            text = _at(message, "content", "text")
            if text:
                self._enter("text", "assistant: ")
                self.write(text)
        elif kind == "citation-start":
            citation = _at(message, "citations")
            sources = [_at(s, "id") or _at(s, "type") or "?" for s in _at(citation, "sources") or []]
            self.citations.append(f'"{_at(citation, "text")}" <- {", ".join(str(s) for s in sources)}')
        elif kind == "message-end":
            self.finish_reason = _at(event, "delta", "finish_reason")
            self.usage = _at(event, "delta", "usage")
            error = _at(event, "delta", "error")
            if error:
                self._enter("error", self.paint("error: ", output.RED))
                self.write(str(error))

    def _v1(self, kind: Any, event: Any) -> None:
        if kind == "text-generation":
            self.texts += 1
            if self.texts <= self.plan_texts:
                self._plan(event.text)
            else:
                self._enter("text", "assistant: ")
                self.write(event.text)
        elif kind == "tool-calls-chunk":
            delta = getattr(event, "tool_call_delta", None)
            if delta is not None and (delta.name is not None or delta.parameters is not None):
                self._v1_call_delta(delta)
            elif event.text:
                self._plan(event.text)
        elif kind == "tool-calls-generation":
            self._close_call()
            if not self.planned and getattr(event, "text", None):
                self._plan(event.text)
            for index, call in enumerate(event.tool_calls):
                if index not in self.streamed_calls:
                    self._enter(f"call{index}", f"tool call: {call.name}({_json(call.parameters)})")
        elif kind == "search-results":
            docs = event.documents or []
            self._enter("search", f"search results: {len(docs)} documents")
        elif kind == "citation-generation":
            for citation in event.citations:
                self.citations.append(f'"{citation.text}" <- {", ".join(citation.document_ids)}')
        elif kind == "stream-end":
            self._close_call()
            self.finish_reason = event.finish_reason
            self.usage = getattr(event.response, "meta", None)

    def _generate(self, kind: Any, event: Any) -> None:
        if kind == "text-generation":
            index = _at(event, "index")
            self._enter(f"generation{index}", "generation: " if index is None else f"generation {index}: ")
            self.write(_at(event, "text") or "")
        elif kind == "stream-end":
            self.finish_reason = _at(event, "finish_reason")
            self.usage = _at(event, "response", "meta")
        elif kind == "stream-error":
            self.finish_reason = _at(event, "finish_reason")
            self._enter("error", self.paint("error: ", output.RED))
            self.write(str(_at(event, "err")))

    def _plan(self, text: str) -> None:
        self.planned = True
        self._enter("plan", "plan: ")
        self.write(text)

    def _v1_call_delta(self, delta: Any) -> None:
        """A v1 tool call streamed in ``tool-calls-chunk`` events: its name, then its
        parameters' JSON in fragments, printed as they come (as v2's are)."""
        index = delta.index if delta.index is not None else 0
        if index != self.open_call:
            self._close_call()
            self.streamed_calls.add(index)
            self.open_call = index
            self._enter(f"call{index}", f"tool call: {delta.name or '?'}(")
        if delta.parameters:
            self.write(delta.parameters)

    def _close_call(self) -> None:
        if self.open_call is not None:
            self.write(")")
            self.open_call = None

    def finish(self, seconds: float) -> None:
        if self.citations:
            self.out.write("\ncitations:\n" + "".join(f"  {c}\n" for c in self.citations))
        else:
            self.out.write("\n")
        summary = [f"{self.count} events", f"{seconds:.2f} s"]
        if self.finish_reason:
            summary.insert(0, f"finish {self.finish_reason}")
        tokens = _at(self.usage, "tokens")
        out_tokens = _at(tokens, "output_tokens")
        if out_tokens is not None:
            summary.append(f"{int(_at(tokens, 'input_tokens') or 0)} in / {int(out_tokens)} out tokens")
        self.out.write(self.paint(f"── {' · '.join(summary)}", output.BOLD) + "\n")
        self.out.flush()


def _at(value: Any, *path: str) -> Any:
    """``value.a.b``, or ``value["a"]["b"]`` where the SDK left a plain dict; None if absent."""
    for name in path:
        if value is None:
            return None
        value = value.get(name) if isinstance(value, dict) else getattr(value, name, None)
    return value


def _json(value: Any) -> str:
    """A tool call's parameters as the wire has them: JSON."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)
