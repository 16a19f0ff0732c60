"""A generated stream as values: what the model "says" and how it is cut into deltas.

Pure data, no hypothesis and no cohere: ``draw`` builds these, ``render`` turns them
into wire events, and ``oracle`` says what they add up to. A ``Turn`` is one streamed
response; its text, thinking, tool plan and tool-call arguments are kept as the
deltas they are sent in (``pieces``), so the chunking is part of the value and
shrinks with it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Api = Literal["v1", "v2"]
BlockKind = Literal["text", "thinking"]


@dataclass(frozen=True)
class Cite:
    """A citation of ``start``:``end`` of its block's text (v2; v1 cites the answer text).

    ``sources``: v2 source objects as the wire has them, or v1 document ids.
    ``typed``: the wire carries ``type`` and ``content_index`` (cohere 7.x era API);
    older recordings have neither.
    """

    start: int
    end: int
    sources: tuple[Any, ...]
    typed: bool = True


@dataclass(frozen=True)
class Block:
    """A v2 content block (v1: the answer text), sent as ``pieces``."""

    kind: BlockKind
    pieces: tuple[str, ...]
    citations: tuple[Cite, ...] = ()

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Call:
    """A tool call: its arguments as the JSON text sent, in ``pieces``."""

    id: str
    name: str
    pieces: tuple[str, ...]
    arguments: Any

    @property
    def arguments_text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Turn:
    """One streamed response of the chat API."""

    api: Api
    generation_id: str
    blocks: tuple[Block, ...]
    plan: tuple[str, ...]
    calls: tuple[Call, ...]
    finish_reason: str
    usage: dict[str, Any]
    error: str | None = None
    #: Citations sent after the last text delta (the corpus's placement), not right after
    #: the delta that completes each one's span.
    citations_at_end: bool = False
    #: v1: how many citations each ``citation-generation`` event carries (1: one each).
    citations_per_event: int = 1
    #: v1 with connectors (web search, RAG): the search queries, then one search result
    #: per query and the documents found, all before the answer.
    search_queries: tuple[str, ...] = ()
    documents: tuple[dict[str, str], ...] = ()
    #: A ``debug`` event (the rendered prompt) right after the stream opens.
    debug_prompt: str | None = None
    #: v1: tool-call deltas name their call's ``index`` (older recordings of one call omit it).
    indexed_deltas: bool = True
    #: v2: each text delta carries its ``logprobs`` (a request with ``logprobs=True``).
    logprobs: bool = False
    #: Seconds before the first event and between events (None: an untimed stream).
    first_event: float | None = None
    gaps: tuple[float, ...] = ()

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if b.kind == "text")

    @property
    def thinking(self) -> str:
        return "".join(b.text for b in self.blocks if b.kind == "thinking")

    @property
    def tool_plan(self) -> str:
        return "".join(self.plan)
