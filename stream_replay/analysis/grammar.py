"""Cohere's stream grammar and invariants, checked event by event.

v2: ``message-start`` first and ``message-end`` last (then only ``[DONE]``); content
blocks and tool calls each opened, fed and closed by index, one at a time, in index
order; citations inside an open text block; the tool plan before the tool calls. v1:
``stream-start`` first and ``stream-end`` last; search queries and search results before
the answer and the tool calls. Invariants: each citation's text is the text at its span,
tool-call arguments concatenate to JSON, v1's final text is the concatenated deltas and
its generation id is stream-start's. ``/v1/generate``: ``text-generation`` events
(``is_finished`` false), then ``stream-end`` (``is_finished`` true, a ``finish_reason``, a
response holding ``generations`` whose text is the deltas of its index, concatenated) or
``stream-error``. Each stream's event types are ``analysis/handling.py``'s: any other is
reported.

``validate_stream`` takes the SDK's events, plain dicts, or a cassette stream's
``WireEvent``s, and returns every violation; ``assert_valid_stream`` raises with all
of them. The SDK itself drops or invents events on bad input, so this is the check
that a stream is whole.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..sdk import StreamKind
from ..wire.events import WireEvent, event_type
from .handling import known, stream_kind


@dataclass(frozen=True)
class Violation:
    """One break of the grammar: the event's position, type and index (None for the stream
    as a whole) and what is wrong, printed as ``event 14 (content-delta, index 1): ...``."""
    position: int | None  # the event's position in the stream; None: the stream as a whole
    type: str | None
    index: int | None
    problem: str

    def __str__(self) -> str:
        if self.position is None:
            return f"stream: {self.problem}"
        where = f"event {self.position} ({self.type}"
        where += f", index {self.index})" if self.index is not None else ")"
        return f"{where}: {self.problem}"


class StreamGrammarError(AssertionError):
    """Raised by ``assert_valid_stream``: ``violations`` lists every break, one line each."""
    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "\n".join(f"  {v}" for v in violations)
        super().__init__(f"the stream breaks Cohere's grammar in {len(violations)} place(s):\n{lines}")


def _as_dict(event: Any) -> tuple[str | None, dict[str, Any] | None]:
    """(type, JSON object) of an event in any of the accepted forms."""
    if isinstance(event, WireEvent):
        if event.data is None:
            return "[DONE]", None
        try:
            data = json.loads(event.data)
        except ValueError:
            return event.name, None
        return event.name, data if isinstance(data, dict) else None
    if isinstance(event, dict):
        data = event
    else:
        dump = getattr(event, "model_dump", None)
        data = dump(by_alias=True) if callable(dump) else None
        if not isinstance(data, dict):
            return None, None
    return event_type(data), data


def _at(data: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def validate_stream(events: Iterable[Any]) -> list[Violation]:
    """Every violation of Cohere's stream grammar and invariants in ``events`` (the SDK's
    events, plain dicts or a cassette stream's ``WireEvent``s, v1 or v2); empty when valid."""
    items = list(events)
    parsed = [_as_dict(event) for event in items]
    family = _family(items, parsed)
    if family == "generate":
        return _Generate(parsed).check()
    if family == "v1":
        return _V1(parsed).check()
    # On the wire every v2 body ends with [DONE]; the SDK stops there and never yields it.
    wire = any(isinstance(event, WireEvent) for event in items)
    return _V2(parsed, wire=wire).check()


def _family(items: list[Any], parsed: list[tuple[str | None, dict[str, Any] | None]]) -> StreamKind:
    """Which stream's grammar applies: generate if any event says so (an SDK class, a
    ``stream-error``, a ``stream-end`` response holding ``generations``), else v1 chat if
    any event is v1's, else v2."""
    kinds = {
        stream_kind(data if isinstance(item, (WireEvent, dict)) else item)
        for item, (_, data) in zip(items, parsed, strict=True)
    }
    if "generate" in kinds:
        return "generate"
    if "v1" in kinds or any(kind in ("stream-start", "stream-end", "text-generation") for kind, _ in parsed):
        return "v1"
    return "v2"


def assert_valid_stream(events: Iterable[Any]) -> None:
    """Raise ``StreamGrammarError`` listing every violation of ``events``, if there is any."""
    violations = validate_stream(events)
    if violations:
        raise StreamGrammarError(violations)


class _V2:
    def __init__(self, parsed: list[tuple[str | None, dict[str, Any] | None]], *, wire: bool) -> None:
        self.parsed = parsed
        self.wire = wire
        self.found: list[Violation] = []

    def bad(self, position: int | None, kind: str | None, index: int | None, problem: str) -> None:
        self.found.append(Violation(position, kind, index, problem))

    def check(self) -> list[Violation]:
        parsed = self.parsed
        body = [(i, k, d) for i, (k, d) in enumerate(parsed) if k != "[DONE]"]
        if not body:
            self.bad(None, None, None, "no events")
            return self.found
        for position, (kind, data) in enumerate(parsed):
            if kind == "[DONE]" and position != len(parsed) - 1:
                self.bad(position, kind, None, "[DONE] before the end of the stream")
            if kind is None or (kind != "[DONE]" and data is None):
                self.bad(position, kind, None, "not a JSON event with a type")
        first, last = body[0], body[-1]
        if first[1] != "message-start":
            index = first[2].get("index") if isinstance(first[2], dict) else None
            index = index if isinstance(index, int) else None
            self.bad(first[0], first[1], index, "the stream does not open with message-start")
        if last[1] != "message-end":
            self.bad(None, None, None, f"the stream does not close with message-end (the last event is {last[1]})")
        elif self.wire and parsed[-1][0] != "[DONE]":
            self.bad(None, None, None, "the body does not end with data: [DONE]")
        open_block: tuple[str, int] | None = None  # ("content" | "tool-call", index)
        next_index = {"content": 0, "tool-call": 0}
        block_types: dict[int, str] = {}
        text: list[str] = []
        thinking: list[str] = []
        plan: list[str] = []
        arguments: dict[int, list[str]] = {}
        citation_open: int | None = None
        citations: list[tuple[int, dict[str, Any]]] = []
        tool_calls_seen = False
        ended = False
        for position, kind, data in body:
            index = data.get("index") if isinstance(data, dict) else None
            index = index if isinstance(index, int) else None
            if ended:
                self.bad(position, kind, index, "after message-end")
                continue
            if kind == "message-start":
                if position != first[0]:
                    self.bad(position, kind, index, "a second message-start")
            elif kind == "message-end":
                ended = True
                if open_block is not None:
                    self.bad(position, kind, index, f"{open_block[0]} {open_block[1]} is still open")
                if citation_open is not None:
                    self.bad(position, kind, index, f"citation {citation_open} is still open")
            elif kind in ("content-start", "tool-call-start"):
                family = kind.removesuffix("-start")
                if open_block is not None:
                    self.bad(position, kind, index, f"{open_block[0]} {open_block[1]} is still open")
                if index != next_index[family]:
                    self.bad(position, kind, index, f"expected index {next_index[family]}")
                if index is not None:
                    next_index[family] = index + 1
                open_block = (family, index if index is not None else -1)
                if family == "content":
                    block_types[open_block[1]] = str(_at(data, "delta", "message", "content", "type") or "text")
                else:
                    tool_calls_seen = True
                    start = _at(data, "delta", "message", "tool_calls", "function", "arguments")
                    arguments[open_block[1]] = [start or ""]
            elif kind in ("content-delta", "content-end", "tool-call-delta", "tool-call-end"):
                family = "content" if kind.startswith("content") else "tool-call"
                if open_block != (family, index):
                    self.bad(position, kind, index, f"no {family}-start for index {index} before it")
                elif kind == "content-delta" and block_types.get(index if index is not None else -1) == "thinking":
                    thinking.append(str(_at(data, "delta", "message", "content", "thinking") or ""))
                elif kind == "content-delta":
                    text.append(str(_at(data, "delta", "message", "content", "text") or ""))
                elif kind == "tool-call-delta" and index is not None:
                    fragment = _at(data, "delta", "message", "tool_calls", "function", "arguments")
                    arguments.setdefault(index, []).append(fragment or "")
                if kind.endswith("-end") and open_block == (family, index):
                    if citation_open is not None:
                        self.bad(position, kind, index, f"citation {citation_open} is still open")
                    open_block = None
            elif kind == "tool-plan-delta":
                plan.append(str(_at(data, "delta", "message", "tool_plan") or ""))
                if tool_calls_seen:
                    self.bad(position, kind, index, "tool plan after a tool call")
                if open_block is not None:
                    self.bad(position, kind, index, f"inside {open_block[0]} {open_block[1]}")
            elif kind == "citation-start":
                if open_block is None or open_block[0] != "content":
                    self.bad(position, kind, index, "outside a content block")
                if citation_open is not None:
                    self.bad(position, kind, index, f"citation {citation_open} is still open")
                citation_open = index
                citation = _at(data, "delta", "message", "citations")
                if isinstance(citation, dict):
                    citations.append((position, citation))
            elif kind == "citation-end":
                if citation_open is None or citation_open != index:
                    self.bad(position, kind, index, f"no citation-start for index {index} before it")
                citation_open = None
            elif kind is not None and kind not in known("v2"):
                self.bad(position, kind, index, "not a v2 event type")
        # a citation's span is in the text it cites: the answer, the thinking, or the tool plan
        cited_texts = {"THINKING_CONTENT": "".join(thinking), "PLAN": "".join(plan)}
        whole = "".join(text)
        for position, citation in citations:
            start, end, cited = citation.get("start"), citation.get("end"), citation.get("text")
            kind_of_text = citation.get("type")
            source = cited_texts.get(kind_of_text, whole) if isinstance(kind_of_text, str) else whole
            what = {"THINKING_CONTENT": "thinking", "PLAN": "tool plan"}.get(str(kind_of_text), "text")
            if isinstance(start, int) and isinstance(end, int) and source[start:end] != cited:
                self.bad(position, "citation-start", None, f"{cited!r} is not the {what} at {start}:{end}")
        for index, fragments in sorted(arguments.items()):
            joined = "".join(fragments)
            if joined:
                try:
                    json.loads(joined)
                except ValueError:
                    self.bad(None, None, None, f"tool call {index}: the arguments are not JSON: {joined[:60]!r}")
        return self.found


class _V1:
    def __init__(self, parsed: list[tuple[str | None, dict[str, Any] | None]]) -> None:
        self.parsed = parsed
        self.found: list[Violation] = []

    def check(self) -> list[Violation]:
        parsed = self.parsed
        kinds = [kind for kind, _ in parsed]
        if kinds[0] != "stream-start":
            self.found.append(Violation(0, kinds[0], None, "the stream does not open with stream-start"))
        if kinds[-1] != "stream-end":
            self.found.append(
                Violation(None, None, None, f"the stream does not close with stream-end (the last is {kinds[-1]})")
            )
        answer: tuple[int, str] | None = None  # the first event of the answer or the tool calls
        for position, kind in enumerate(kinds):
            if kind == "stream-start" and position != 0:
                self.found.append(Violation(position, kind, None, "a second stream-start"))
            if kind == "stream-end" and position != len(kinds) - 1:
                self.found.append(Violation(position, kind, None, "stream-end before the end of the stream"))
            if kind is not None and kind not in known("v1"):
                self.found.append(Violation(position, kind, None, "not a v1 chat event type"))
            if kind in _SEARCH and answer is not None:
                problem = f"after {answer[1]} (event {answer[0]}): search events come before the answer and tool calls"
                self.found.append(Violation(position, kind, None, problem))
            if kind in _ANSWER and answer is None:
                answer = (position, kind)
        text = "".join(str(d.get("text", "")) for k, d in parsed if k == "text-generation" and d)
        start = next((d for k, d in parsed if k == "stream-start" and d), None)
        end = next((d for k, d in parsed if k == "stream-end" and d), None)
        response = end.get("response") if end else None
        if isinstance(response, dict):
            final = response.get("text")
            if isinstance(final, str) and final != text and response.get("tool_calls") in (None, []):
                self.found.append(
                    Violation(
                        len(kinds) - 1,
                        "stream-end",
                        None,
                        "the response text is not the concatenated text-generation events",
                    )
                )
            if (
                start
                and start.get("generation_id")
                and response.get("generation_id") not in (None, start["generation_id"])
            ):
                self.found.append(
                    Violation(len(kinds) - 1, "stream-end", None, "the generation id is not stream-start's")
                )
        for position, (kind, data) in enumerate(parsed):
            if kind != "citation-generation" or not data:
                continue
            for citation in data.get("citations") or ():
                begin, finish, cited = citation.get("start"), citation.get("end"), citation.get("text")
                if isinstance(begin, int) and isinstance(finish, int) and text[begin:finish] != cited:
                    problem = f"text {cited!r} is not the text at {begin}:{finish}"
                    self.found.append(Violation(position, kind, None, problem))
        planned = [str(d.get("text") or "") for k, d in parsed if k == "tool-calls-chunk" and d and "text" in d]
        generated = next((d for k, d in parsed if k == "tool-calls-generation" and d), None)
        plan_text = generated.get("text") if generated is not None else None
        if planned and isinstance(plan_text, str) and "".join(planned) != plan_text:
            position = next(i for i, (k, _) in enumerate(parsed) if k == "tool-calls-generation")
            problem = "its text is not the concatenated tool-calls-chunk text"
            self.found.append(Violation(position, "tool-calls-generation", None, problem))
        return self.found


#: v1 search events, and the events of the answer and the tool calls they come before: so in
#: every real v1 stream that has them (13 of the corpus's 64, 3 of them before tool calls).
_SEARCH = frozenset({"search-queries-generation", "search-results"})
_ANSWER = frozenset({"text-generation", "citation-generation", "tool-calls-chunk", "tool-calls-generation"})


class _Generate:
    """``/v1/generate``: ``text-generation`` events, then ``stream-end`` or ``stream-error``."""

    def __init__(self, parsed: list[tuple[str | None, dict[str, Any] | None]]) -> None:
        self.parsed = parsed
        self.found: list[Violation] = []

    def bad(self, position: int | None, kind: str | None, index: int | None, problem: str) -> None:
        self.found.append(Violation(position, kind, index, problem))

    def check(self) -> list[Violation]:
        if not self.parsed:
            self.bad(None, None, None, "no events")
            return self.found
        ends = ("stream-end", "stream-error")
        deltas: dict[int, list[str]] = {}
        ended = False
        for position, (kind, data) in enumerate(self.parsed):
            index = data.get("index") if isinstance(data, dict) else None
            index = index if isinstance(index, int) else None
            if data is None or kind is None:
                self.bad(position, kind, index, "not a JSON event with a type")
                continue
            if kind not in known("generate"):
                self.bad(position, kind, index, "not a generate event type")
                continue
            if ended:
                self.bad(position, kind, index, "after the end of the stream")
            finished = data.get("is_finished")
            if kind == "text-generation":
                deltas.setdefault(index or 0, []).append(str(data.get("text") or ""))
                if finished is not False:
                    self.bad(position, kind, index, f"is_finished is {finished!r}, not false")
                continue
            ended = True
            if finished is not True:
                self.bad(position, kind, index, f"is_finished is {finished!r}, not true")
            if data.get("finish_reason") is None:
                self.bad(position, kind, index, "no finish_reason")
            if kind == "stream-end":
                self._generations(position, data.get("response"), deltas)
        last = self.parsed[-1][0]
        if last not in ends:
            problem = f"the stream does not close with stream-end or stream-error (the last is {last})"
            self.bad(None, None, None, problem)
        return self.found

    def _generations(self, position: int, response: Any, deltas: dict[int, list[str]]) -> None:
        generations = response.get("generations") if isinstance(response, dict) else None
        if not isinstance(generations, list) or not generations:
            self.bad(position, "stream-end", None, "its response holds no generations")
            return
        for number, generation in enumerate(generations):
            index = generation.get("index") if isinstance(generation, dict) else None
            index = index if isinstance(index, int) else number
            text = generation.get("text") if isinstance(generation, dict) else None
            if isinstance(text, str) and text != "".join(deltas.get(index, [])):
                problem = f"generation {index}: its text is not the concatenated text-generation events"
                self.bad(position, "stream-end", None, problem)


__all__ = ["StreamGrammarError", "Violation", "assert_valid_stream", "validate_stream"]
