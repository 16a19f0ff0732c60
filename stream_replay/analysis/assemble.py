"""The final response of a Cohere stream, assembled from its events.

On v2 there is no final response on the wire: ``message-end`` carries the finish
reason and usage, not the message. ``collect`` consumes a stream of the SDK's own
events (v1 or v2 chat, or v1 generate) and returns a ``StreamResult``: text, thinking,
tool plan, tool calls with their arguments parsed from the concatenated fragments,
citations, finish reason, usage, error, v1's search queries, search results and
documents, debug events, v2's logprobs, generate's generations, the events and timing.
``tee`` is the pass-through form: the consumer's own loop sees every event, and the
result is there when the stream ends. Nothing is added to the SDK's events; what the
result holds from them (usage, search results, documents, logprobs...) are the SDK's own
objects. ``analysis/handling.py`` says which field each event type fills.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ..wire.events import event_type
from .handling import _get, stream_kind


@dataclass(frozen=True)
class ToolCall:
    """One tool call: ``arguments`` parsed from ``arguments_text`` (None if it is not JSON)."""

    index: int | None
    id: str | None
    name: str | None
    arguments_text: str
    arguments: Any


@dataclass(frozen=True)
class Citation:
    """One citation: the span ``start``:``end`` of the text it cites, that ``text``, its
    ``sources``, the content block it belongs to (``content_index``) and what it cites
    (``type``: v2's ``TEXT_CONTENT``, ``THINKING_CONTENT`` or ``PLAN``; None on v1)."""

    start: int | None
    end: int | None
    text: str | None
    sources: tuple[Any, ...]
    content_index: int | None = None
    type: str | None = None


@dataclass(frozen=True)
class Timing:
    """Seconds from the start of collection to the first event, the first content (text,
    thinking, tool plan or tool-call arguments), and the end of the stream."""

    first_event: float | None
    first_content: float | None
    total: float


@dataclass(frozen=True)
class StreamResult:
    """The final response a stream adds up to (``collect``, ``tee``): text, thinking, tool plan,
    tool calls, citations, finish reason, usage, error, every event as the SDK yielded it, and
    the timing of the first event, the first content and the end.

    Then, each as the SDK's own objects, in stream order: v1's ``search_queries``,
    ``search_results`` and ``documents`` (from ``search-queries-generation`` and
    ``search-results``; when the stream sent none, those of ``stream-end``'s response);
    ``debug``, the ``debug`` events themselves; ``logprobs``, each v2 ``content-delta``'s
    ``logprobs`` that has one. ``generations``: on ``/v1/generate``, each generation's text,
    by index (``text`` is the first one's). ``endpoint``: ``"chat"`` or ``"generate"``
    (``api`` is ``"v1"`` for both v1 endpoints), None while the events do not tell."""
    api: Literal["v1", "v2"] | None
    text: str
    thinking: str
    tool_plan: str
    tool_calls: tuple[ToolCall, ...]
    citations: tuple[Citation, ...]
    finish_reason: str | None
    usage: Any
    error: Any
    generation_id: str | None
    events: tuple[Any, ...] = field(repr=False)
    timing: Timing
    search_queries: tuple[Any, ...] = ()
    search_results: tuple[Any, ...] = ()
    documents: tuple[Any, ...] = ()
    debug: tuple[Any, ...] = field(default=(), repr=False)
    logprobs: tuple[Any, ...] = field(default=(), repr=False)
    generations: tuple[str, ...] = ()
    endpoint: Literal["chat", "generate"] | None = None


class Collector:
    """Feeds on events one at a time; ``result()`` at any point (complete at the end)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[Any] = []
        self.api: Literal["v1", "v2"] | None = None
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._plan: list[str] = []
        self._blocks: dict[int, str] = {}  # v2 content index -> "text" / "thinking"
        self._calls: dict[int, dict[str, Any]] = {}
        self._final_calls: list[ToolCall] | None = None
        self._citations: list[Citation] = []
        self._finish: str | None = None
        self._usage: Any = None
        self._error: Any = None
        self._generation: str | None = None
        self._endpoint: Literal["chat", "generate"] | None = None
        self._by_index: dict[int, list[str]] = {}  # v1 text-generation text per generation index
        self._search_queries: list[Any] = []
        self._search_results: list[Any] = []
        self._documents: list[Any] = []
        self._final_search: tuple[Any, Any, Any] = (None, None, None)  # stream-end response's
        self._debug: list[Any] = []
        self._logprobs: list[Any] = []
        self._first_event: float | None = None
        self._first_content: float | None = None
        self._ended: float | None = None

    def feed(self, event: Any) -> None:
        now = time.monotonic() - self.started
        if self._first_event is None:
            self._first_event = now
        self.events.append(event)
        kind = event_type(event)
        if kind is None:
            return
        if self._endpoint is None:
            stream = stream_kind(event)
            self._endpoint = None if stream is None else "generate" if stream == "generate" else "chat"
        if kind == "debug":
            self._debug.append(event)
        if _get(event, "event_type") is None:
            self.api = self.api or "v2"
            self._feed_v2(kind, event, now)
        else:
            self.api = self.api or "v1"
            self._feed_v1(kind, event, now)

    def _content(self, now: float) -> None:
        if self._first_content is None:
            self._first_content = now

    def _feed_v2(self, kind: str, event: Any, now: float) -> None:
        index = _get(event, "index")
        message = _get(event, "delta", "message")
        if kind == "message-start":
            self._generation = _get(event, "id")
        elif kind == "content-start":
            block = _get(message, "content", "type")
            if isinstance(index, int):
                self._blocks[index] = str(block or "text")
        elif kind == "content-delta":
            content = _get(message, "content")
            block = self._blocks.get(index, "text") if isinstance(index, int) else "text"
            thinking = _get(content, "thinking")
            text = _get(content, "text")
            if block == "thinking" or (text is None and isinstance(thinking, str)):
                self._thinking.append(thinking or text or "")
            else:
                self._text.append(text or "")
            logprobs = _get(event, "logprobs")
            if logprobs is not None:
                self._logprobs.append(logprobs)
            self._content(now)
        elif kind == "tool-plan-delta":
            self._plan.append(_get(message, "tool_plan") or "")
            self._content(now)
        elif kind == "tool-call-start":
            call = _get(message, "tool_calls")
            key = index if isinstance(index, int) else len(self._calls)
            self._calls[key] = {
                "id": _get(call, "id"),
                "name": _get(call, "function", "name"),
                "arguments": [_get(call, "function", "arguments") or ""],
            }
        elif kind == "tool-call-delta":
            fragment = _get(message, "tool_calls", "function", "arguments") or ""
            key = index if isinstance(index, int) else max(self._calls, default=0)
            self._calls.setdefault(key, {"id": None, "name": None, "arguments": []})["arguments"].append(fragment)
            self._content(now)
        elif kind == "citation-start":
            citation = _get(message, "citations")
            self._citations.append(
                Citation(
                    start=_get(citation, "start"),
                    end=_get(citation, "end"),
                    text=_get(citation, "text"),
                    sources=tuple(_get(citation, "sources") or ()),
                    content_index=_get(citation, "content_index"),
                    type=_type_name(_get(citation, "type")),
                )
            )
        elif kind == "message-end":
            self._finish = _get(event, "delta", "finish_reason")
            self._usage = _get(event, "delta", "usage")
            self._error = _get(event, "delta", "error")
            self._ended = now

    def _feed_v1(self, kind: str, event: Any, now: float) -> None:
        if kind == "stream-start":
            self._generation = _get(event, "generation_id")
        elif kind == "text-generation":
            index = _get(event, "index")  # generate, with num_generations > 1: which generation
            self._by_index.setdefault(index if isinstance(index, int) else 0, []).append(_get(event, "text") or "")
            self._content(now)
        elif kind == "search-queries-generation":
            self._search_queries.extend(_get(event, "search_queries") or ())
        elif kind == "search-results":
            self._search_results.extend(_get(event, "search_results") or ())
            self._documents.extend(_get(event, "documents") or ())
        elif kind == "citation-generation":
            for citation in _get(event, "citations") or ():
                self._citations.append(
                    Citation(
                        start=_get(citation, "start"),
                        end=_get(citation, "end"),
                        text=_get(citation, "text"),
                        sources=tuple(_get(citation, "document_ids") or ()),
                    )
                )
        elif kind == "tool-calls-chunk":
            delta = _get(event, "tool_call_delta")
            index = _get(delta, "index")
            if delta is None or index is None:
                plan = _get(event, "text")
                if isinstance(plan, str):
                    self._plan.append(plan)
            else:
                call = self._calls.setdefault(index, {"id": None, "name": None, "arguments": []})
                if _get(delta, "name"):
                    call["name"] = _get(delta, "name")
                call["arguments"].append(_get(delta, "parameters") or "")
            self._content(now)
        elif kind == "tool-calls-generation":
            calls = []
            for position, call in enumerate(_get(event, "tool_calls") or ()):
                parameters = _get(call, "parameters")
                calls.append(ToolCall(position, None, _get(call, "name"), json.dumps(parameters), parameters))
            self._final_calls = calls
            if not self._plan and isinstance(_get(event, "text"), str):
                self._plan.append(_get(event, "text"))
        elif kind == "stream-end":
            self._finish = _get(event, "finish_reason")
            response = _get(event, "response")
            self._usage = _get(response, "meta")
            generations = _get(response, "generations")
            if generations is not None:  # /v1/generate: the generation id is the first generation's
                self._generation = _get(next(iter(generations), None), "id")
            else:
                self._error = None if self._finish != "ERROR" else _get(response, "text")
                self._final_search = (
                    _get(response, "search_queries"),
                    _get(response, "search_results"),
                    _get(response, "documents"),
                )
            self._ended = now
        elif kind == "stream-error":  # /v1/generate: the server ended the stream with an error
            self._finish = _get(event, "finish_reason")
            self._error = _get(event, "err")
            self._ended = now

    def result(self) -> StreamResult:
        calls: list[ToolCall]
        if self._final_calls is not None:
            calls = self._final_calls
        else:
            calls = []
            for index in sorted(self._calls):
                call = self._calls[index]
                text = "".join(call["arguments"])
                try:
                    parsed = json.loads(text) if text else {}
                except ValueError:
                    parsed = None
                calls.append(ToolCall(index, call["id"], call["name"], text, parsed))
        total = self._ended if self._ended is not None else time.monotonic() - self.started
        texts = ["".join(self._by_index[index]) for index in sorted(self._by_index)]
        queries, results, documents = self._final_search
        return StreamResult(
            api=self.api,
            text="".join(self._text) + (texts[0] if texts else ""),
            thinking="".join(self._thinking),
            tool_plan="".join(self._plan),
            tool_calls=tuple(calls),
            citations=tuple(self._citations),
            finish_reason=self._finish,
            usage=self._usage,
            error=self._error,
            generation_id=self._generation,
            events=tuple(self.events),
            timing=Timing(self._first_event, self._first_content, total),
            search_queries=tuple(self._search_queries or queries or ()),
            search_results=tuple(self._search_results or results or ()),
            documents=tuple(self._documents or documents or ()),
            debug=tuple(self._debug),
            logprobs=tuple(self._logprobs),
            generations=tuple(texts) if self._endpoint == "generate" else (),
            endpoint=self._endpoint,
        )


def _type_name(value: Any) -> str | None:
    """A citation's type as the wire says it (the SDK may give an enum)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def collect(stream: Iterable[Any]) -> StreamResult:
    """Consume ``stream`` (from ``chat_stream``) and return its final response."""
    collector = Collector()
    for event in stream:
        collector.feed(event)
    return collector.result()


async def acollect(stream: AsyncIterable[Any]) -> StreamResult:
    """``collect`` for the async clients' streams."""
    collector = Collector()
    async for event in stream:
        collector.feed(event)
    return collector.result()


class Tee:
    """``for event in (tap := tee(stream)): ...`` then ``tap.result``: every event reaches
    the loop unchanged, and the final response is assembled on the way."""

    def __init__(self, stream: Iterable[Any]) -> None:
        self._stream = stream
        self.collector = Collector()

    def __iter__(self) -> Iterator[Any]:
        for event in self._stream:
            self.collector.feed(event)
            yield event

    @property
    def result(self) -> StreamResult:
        return self.collector.result()


class AsyncTee:
    """``async for event in (tap := atee(stream)): ...`` then ``tap.result``: ``Tee`` for async streams."""
    def __init__(self, stream: AsyncIterable[Any]) -> None:
        self._stream = stream
        self.collector = Collector()

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for event in self._stream:
            self.collector.feed(event)
            yield event

    @property
    def result(self) -> StreamResult:
        return self.collector.result()


def tee(stream: Iterable[Any]) -> Tee:
    """A pass-through of ``stream``: the loop sees every event unchanged; ``.result`` is the
    ``StreamResult`` once the loop ends."""
    return Tee(stream)


def atee(stream: AsyncIterable[Any]) -> AsyncTee:
    """``tee`` for an async stream (``async for``)."""
    return AsyncTee(stream)
