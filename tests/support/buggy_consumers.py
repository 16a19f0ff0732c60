"""Stream consumers with the mistakes that reach production, each a few lines, and
what each should have produced (``truth``, from the stream's expected answer).

Used by bench/bench_strategies.py (which of these mistakes replaying the real corpus
catches, and which the generated streams of ``stream_replay.strategies`` catch) and
tests/test_strategies_catch.py. The
consumers take the SDK's own events (a list), as application code does.
"""

from __future__ import annotations

import contextlib
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stream_replay.analysis.assemble import StreamResult


@dataclass(frozen=True)
class Buggy:
    name: str
    mistake: str
    api: str
    consume: Callable[[list[Any]], Any]
    truth: Callable[[StreamResult], Any]


def _content(event: Any) -> Any:
    return event.delta.message.content


def _arguments(event: Any) -> str:
    """A tool-call delta's argument fragment, on cohere 7.x (models) and 5.x (whose models
    name the field ``tool_call``, leaving the wire's ``delta.message`` a plain dict): the
    consumers' only mistakes are the ones they are named for."""
    message = event.delta.message
    if isinstance(message, dict):
        return str(message["tool_calls"]["function"].get("arguments") or "")
    return str(message.tool_calls.function.arguments or "")


def _text_deltas(events: list[Any]) -> list[str]:
    return [_content(e).text for e in events if e.type == "content-delta" and _content(e).text is not None]


def drops_first_delta(events: list[Any]) -> str:
    return "".join(_text_deltas(events)[1:])


def thinking_in_text(events: list[Any]) -> str:
    return "".join(
        _content(e).text or getattr(_content(e), "thinking", None) or "" for e in events if e.type == "content-delta"
    )


def first_block_is_answer(events: list[Any]) -> str:
    text, answer = [], None
    for e in events:
        if e.type == "content-start" and answer is None:
            answer = e.index
        if e.type == "content-delta" and e.index == answer:
            text.append(_content(e).text or "")
    return "".join(text)


def strips_deltas(events: list[Any]) -> str:
    return "".join(d.strip() for d in _text_deltas(events))


def normalizes_each_delta(events: list[Any]) -> str:
    return "".join(unicodedata.normalize("NFC", d) for d in _text_deltas(events))


def parses_arguments_per_delta(events: list[Any]) -> list[Any]:
    calls: list[dict[str, Any]] = []
    for e in events:
        if e.type == "tool-call-start":
            calls.append({})
        if e.type == "tool-call-delta":
            with contextlib.suppress(ValueError):
                calls[-1].update(json.loads(_arguments(e)))
    return calls


def one_arguments_buffer(events: list[Any]) -> list[Any]:
    buffer = ""
    for e in events:
        if e.type == "tool-call-delta":
            buffer += _arguments(e)
    return [json.loads(buffer)] if buffer else []


def hides_unfinished_answers(events: list[Any]) -> str:
    end = next(e for e in events if e.type == "message-end")
    return "".join(_text_deltas(events)) if end.delta.finish_reason in ("COMPLETE", "TOOL_CALL") else ""


def cites_over_all_content(events: list[Any]) -> list[str]:
    seen, cited = "", []
    for e in events:
        if e.type == "content-delta":
            seen += _content(e).text or getattr(_content(e), "thinking", None) or ""  # 5.x: no thinking field
        if e.type == "citation-start":
            citation = e.delta.message.citations
            cited.append(seen[citation.start : citation.end])
    return cited


def ignores_the_error(events: list[Any]) -> Any:
    end = next(e for e in events if e.type == "message-end")
    return (end.delta.finish_reason, None)


def capitalizes_the_answer(events: list[Any]) -> str:
    if any(e.type == "tool-call-start" for e in events):
        return ""
    text = "".join(_text_deltas(events))
    return text[0].upper() + text[1:]


def plan_in_text(events: list[Any]) -> str:
    parts = []
    for e in events:
        if e.type == "tool-plan-delta":
            message = e.delta.message  # a plain dict on cohere 5.x, as _arguments says
            parts.append(message["tool_plan"] if isinstance(message, dict) else message.tool_plan)
        elif e.type == "content-delta" and _content(e).text is not None:
            parts.append(_content(e).text)
    return "".join(parts)


def cites_by_utf8_bytes(events: list[Any]) -> list[str]:
    text, cited = "", []
    for e in events:
        if e.type == "content-delta":
            text += _content(e).text or ""
        kind = getattr(e.delta.message.citations, "type", None) if e.type == "citation-start" else None
        if e.type == "citation-start" and (kind or "TEXT_CONTENT") == "TEXT_CONTENT":
            citation = e.delta.message.citations
            cited.append(text.encode()[citation.start : citation.end].decode("utf-8", "replace"))
    return cited


def v1_calls_by_index(events: list[Any]) -> list[str]:
    names: list[str] = []
    for e in events:
        delta = getattr(e, "tool_call_delta", None) if e.event_type == "tool-calls-chunk" else None
        if delta is not None and delta.name is not None:
            names.insert(delta.index, delta.name)
    return names


def _text(result: StreamResult) -> str:
    return result.text


def _cited_text(result: StreamResult) -> list[Any]:
    return [c.text for c in result.citations if (c.type or "TEXT_CONTENT") == "TEXT_CONTENT"]


CONSUMERS = [
    Buggy("drops_first_delta", "an off-by-one skips the first text delta", "v2", drops_first_delta, _text),
    Buggy("thinking_in_text", "shows a reasoning model's thinking as the answer", "v2", thinking_in_text, _text),
    Buggy("first_block_is_answer", "takes content block 0 for the answer", "v2", first_block_is_answer, _text),
    Buggy("strips_deltas", "strips white space from each delta", "v2", strips_deltas, _text),
    Buggy(
        "normalizes_each_delta",
        "NFC-normalizes each delta (an accent split from its letter stays apart)",
        "v2",
        normalizes_each_delta,
        lambda r: unicodedata.normalize("NFC", r.text),
    ),
    Buggy(
        "parses_arguments_per_delta",
        "parses each tool-call delta as JSON",
        "v2",
        parses_arguments_per_delta,
        lambda r: [c.arguments for c in r.tool_calls],
    ),
    Buggy(
        "one_arguments_buffer",
        "one argument buffer for every tool call",
        "v2",
        one_arguments_buffer,
        lambda r: [c.arguments for c in r.tool_calls],
    ),
    Buggy(
        "hides_unfinished_answers",
        "shows nothing unless the stream ended COMPLETE (a MAX_TOKENS answer vanishes)",
        "v2",
        hides_unfinished_answers,
        lambda r: r.text,
    ),
    Buggy(
        "cites_over_all_content",
        "slices citations out of thinking and text run together",
        "v2",
        cites_over_all_content,
        lambda r: [c.text for c in r.citations],
    ),
    Buggy(
        "ignores_the_error",
        "drops message-end's error",
        "v2",
        ignores_the_error,
        lambda r: (r.finish_reason, r.error),
    ),
    Buggy(
        "capitalizes_the_answer",
        "capitalizes the answer's first letter (an empty answer raises)",
        "v2",
        capitalizes_the_answer,
        lambda r: "" if r.tool_calls else r.text[:1].upper() + r.text[1:],
    ),
    Buggy("plan_in_text", "shows the tool plan as the answer", "v2", plan_in_text, _text),
    Buggy(
        "cites_by_utf8_bytes",
        "slices citations by UTF-8 bytes, not characters",
        "v2",
        cites_by_utf8_bytes,
        _cited_text,
    ),
    Buggy(
        "v1_calls_by_index",
        "files v1 tool calls under tool_call_delta.index (older streams leave it out)",
        "v1",
        v1_calls_by_index,
        lambda r: [c.name for c in r.tool_calls],
    ),
]


def caught(consumer: Buggy, events: list[Any], result: StreamResult) -> bool:
    """Whether the mistake shows on this stream: a wrong answer, or an exception."""
    try:
        return bool(consumer.consume(events) != consumer.truth(result))
    except Exception:  # any exception is the consumer failing
        return True
