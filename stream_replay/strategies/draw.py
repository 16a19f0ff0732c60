"""Hypothesis strategies for ``Turn`` values: what the model says, and how it is cut.

Values follow the shapes of the real corpus (token-sized deltas of 1 to 12
characters, UUID generation ids, ``name_xxxxxxxxxxxx`` tool-call ids, usage counts),
widened with what the corpus lacks and production has: emoji (ZWJ sequences, flags,
skin tones), CJK, combining marks, right-to-left text, whitespace-only and empty
deltas, escapes, every finish reason. Each part shrinks towards the simplest stream:
short plain text in one delta, no thinking, no tools, ``COMPLETE``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import itertools
import json
import random
import re
import string
import unicodedata
from typing import Any, TypeVar

from hypothesis import assume
from hypothesis import strategies as st

from .answer import Api, Block, BlockKind, Call, Cite, Turn

T = TypeVar("T")

#: Finish reasons each API's stream can end with (v2: cohere 7.x's ``ChatFinishReason``;
#: v1: ``ChatStreamEndEventFinishReason``). The first is the one a stream shrinks to.
FINISH_REASONS: dict[str, tuple[str, ...]] = {
    "v2": ("COMPLETE", "MAX_TOKENS", "STOP_SEQUENCE", "TOOL_CALL", "ERROR", "TIMEOUT"),
    "v1": ("COMPLETE", "MAX_TOKENS", "ERROR", "ERROR_LIMIT", "ERROR_TOXIC"),
}

#: How the text of a part is cut into deltas.
CHUNKINGS = ("tokens", "one", "characters", "anywhere")

_WORDS = (
    "the", "a", "value", "is", "**5**", "Paris", "result", "magic_function", "I", "will", "use",
    "tool", "answer", "question", "because", "0.5", "42", "e.g.", "—", "\"quoted\"", "`code`",
    "https://example.com/a?b=c", "C:\\path", "{", "}", "[1]", "-", "*", "#", "Hello",
)  # fmt: skip
_UNICODE = (
    "é", "ñ", "ß", "中文", "日本語のテキスト", "한국어", "مرحبا", "שלום", "Привет", "😀", "👍🏽",
    "👨\u200d👩\u200d👧\u200d👦", "🇫🇷", "🇯🇵", "❤️", "∑", "\U0001d518\U0001d52b\U0001d526", "\u00a0", "\u200b",
    "\t", "\\n",
)  # fmt: skip
#: One character to a reader, several code points a delta may split: letters written as a base
#: and combining marks (macOS file names, pasted text, Hangul jamo), emoji sequences, flags.
_CLUSTERS = (
    "e\u0301", "n\u0303", "a\u0308", "o\u0302\u0301", "\u1100\u1161\u11a8", "\u1112\u1161\u11ab",
    "👨\u200d👩\u200d👧\u200d👦", "🇫🇷", "👍🏽", "❤️",
)  # fmt: skip
_SPACES = (" ", "\n", "\n\n", "  ", " \n", "\t")

#: Characters generated text leaves out. The servers write them raw (v2 writes all
#: non-ASCII raw; v1's Go encoder escapes U+2028/9 but not U+0085), and the SDK's
#: line readers split lines at them (``str.splitlines``): cohere 7.x and 5.x lose a
#: v1 event at U+0085 and everything after it; 5.x (httpx-sse) loses a v2 event at
#: any of the three. Measured with these strategies. A stream no consumer can
#: survive is a fault to inject, not a shape to generate.
SDK_LINE_BREAKERS = "\x85\u2028\u2029"


_characters = st.characters(exclude_categories=["Cs"], exclude_characters=SDK_LINE_BREAKERS)


_tokens = st.one_of(
    st.sampled_from(_WORDS).map(lambda w: " " + w),
    st.sampled_from(_WORDS),
    st.sampled_from(_SPACES),
    st.sampled_from(_UNICODE),
    st.sampled_from(_CLUSTERS),
    st.sampled_from(".,;:!?"),
    st.integers(0, 10**6).map(str),
    st.text(_characters, min_size=1, max_size=3),
)


def pinned(value: Any, default: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """A user's pin: None draws from ``default``, a strategy draws from itself, a value is fixed."""
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    return st.just(value)


#: Token-sized pieces of a given text (a word with the space before it, a run of
#: punctuation, white space): how "tokens" cuts text it did not draw.
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")


def awkward_positions(text: str) -> list[int]:
    """Cut points inside what a reader sees as one character (an emoji ZWJ sequence, a
    flag, a skin tone, a letter and its combining accent) or between two non-ASCII
    characters (inside a CJK word): where consumers that assume whole characters break."""
    found = []
    for at in range(1, len(text)):
        before, after = text[at - 1], text[at]
        joined = before == "\u200d" or after in "\u200d\ufe0f" or unicodedata.category(after).startswith("M")
        modifier = "\U0001f3fb" <= after <= "\U0001f3ff"
        flag = "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff"
        if joined or modifier or flag or (not before.isascii() and not after.isascii()):
            found.append(at)
    return found


@st.composite
def pieces(draw: st.DrawFn, text: str | None = None, *, max_tokens: int = 24, chunking: Any = None) -> tuple[str, ...]:
    """Deltas: ``text`` (drawn as tokens when None) cut the way ``chunking`` says
    (drawn from ``CHUNKINGS`` when None)."""
    # drawn text has at least one token: an empty answer is drawn as such (``text=""``)
    drawn = st.lists(_tokens, min_size=1, max_size=max_tokens)
    tokens: list[str] = _TOKEN.findall(text) if text is not None else draw(drawn)
    cut: list[str]
    whole = "".join(tokens)
    how = draw(pinned(chunking, st.sampled_from(CHUNKINGS)))
    if how not in CHUNKINGS:
        raise ValueError(f"chunking must be one of {', '.join(CHUNKINGS)}, got {how!r}")
    if how == "one" or not whole:
        cut = [whole] if whole else []
    elif how == "characters":
        cut = list(whole)
    elif how == "tokens":
        cut = [t for t in tokens if t]
    else:  # anywhere: any code point boundary, and often inside a character a reader sees as one
        positions = set(draw(st.sets(st.integers(1, max(1, len(whole) - 1)), max_size=min(len(whole), 30))))
        awkward = awkward_positions(whole)
        if awkward:
            positions |= draw(st.sets(st.sampled_from(awkward), max_size=len(awkward)))
        bounds = [0, *sorted(p for p in positions if 0 < p < len(whole)), len(whole)]
        cut = [whole[a:b] for a, b in itertools.pairwise(bounds)]
    empty: int = draw(st.integers(0, 3))
    if cut and empty == 3:  # now and then, an empty delta
        at: int = draw(st.integers(0, len(cut)))
        cut.insert(at, "")
    return tuple(cut)


@st.composite
def _citations(
    draw: st.DrawFn, text: str, before: int, *, api: Api, kind: BlockKind, count: Any, sources: st.SearchStrategy[Any]
) -> tuple[Cite, ...]:
    """Citations of spans of ``text`` (a block starting ``before`` characters into its kind's text)."""
    if not text.strip():
        return ()
    wanted = draw(pinned(count, st.integers(0, 3)))
    spans: list[tuple[int, int]] = []
    for _ in range(int(wanted)):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        spans.append((start, end))
    spans.sort(key=lambda span: (span[1], span[0]))
    # Thinking citations exist only in the API that types its citations.
    typed = api == "v2" and (kind == "thinking" or draw(st.booleans()))
    return tuple(
        Cite(before + a, before + b, tuple(draw(st.lists(sources, min_size=1, max_size=2))), typed) for a, b in spans
    )


_ID_CHARS = string.ascii_lowercase + string.digits
_names = st.from_regex(r"\A[a-z][a-z0-9_]{0,15}\Z").filter(lambda n: not n.endswith("_"))
_keys = st.one_of(
    st.sampled_from(("input", "query", "location", "a", "b", "n")),
    _names,
    st.text(_characters, max_size=4),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_characters, max_size=12),
    st.sampled_from(("Paris", 'héllo "wörld"', "line\nbreak", "tab\there", "back\\slash", "😀", "中文")),
)
#: Tool-call arguments: a JSON object of any shape the API can send.
arguments = st.dictionaries(
    _keys,
    st.recursive(
        _scalars, lambda deeper: st.lists(deeper, max_size=3) | st.dictionaries(_keys, deeper, max_size=3), max_leaves=6
    ),
    max_size=4,
)


@st.composite
def _call(draw: st.DrawFn, *, chunking: Any) -> Call:
    name = draw(_names)
    suffix = "".join(draw(st.lists(st.sampled_from(_ID_CHARS), min_size=12, max_size=12)))
    value = draw(arguments)
    # The model writes the arguments as text: escaped or not, compact or indented.
    text = json.dumps(value, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from((None, 4))))
    return Call(f"{name}_{suffix}", name, draw(pieces(text, chunking=chunking)), value)


def _v2_source(calls: tuple[Call, ...]) -> st.SearchStrategy[dict[str, Any]]:
    tool = st.builds(
        lambda n, out: {"type": "tool", "id": f"{n}:0", "tool_output": out},
        st.sampled_from([c.id for c in calls] or ["magic_function_yypdfpdj7gx6"]),
        st.dictionaries(st.sampled_from(("output", "result", "text")), _scalars, min_size=1, max_size=2),
    )
    document = st.builds(
        lambda i, text: {"type": "document", "id": f"doc:{i}", "document": {"id": f"doc:{i}", "text": text}},
        st.integers(0, 9),
        st.text(_characters, max_size=20),
    )
    return st.one_of(document, tool)


_v1_source = st.integers(0, 9).map(lambda i: f"doc_{i}")
_web_document = st.builds(
    lambda i, title, snippet: {
        "id": f"web-search_{i}",
        "snippet": snippet,
        "timestamp": "2024-11-29T12:00:00",
        "title": title,
        "url": f"https://example.com/{i}",
    },
    st.integers(0, 9),
    st.text(_characters, max_size=12),
    st.text(_characters, max_size=30),
)


def debug_apis() -> frozenset[str]:
    """The APIs whose stream the installed SDK models a ``debug`` event in (5.11: v1 only).
    Read when a strategy is built, not while drawing: it imports cohere (about a second)."""
    from ..sdk import event_classes

    return frozenset(api for api in ("v1", "v2") if "debug" in event_classes(api))


def _usage(api: Api) -> st.SearchStrategy[dict[str, Any]]:
    counts = st.integers(0, 5000)

    def shape(a: int, b: int, c: int, d: int) -> dict[str, Any]:
        usage = {
            "billed_units": {"input_tokens": a, "output_tokens": b},
            "tokens": {"input_tokens": a + c, "output_tokens": b + d},
        }
        return {"api_version": {"version": "1"}, **usage} if api == "v1" else usage

    return st.builds(shape, counts, counts, counts, counts)


def _timing(seed: int) -> tuple[float, tuple[float, ...]]:
    """A time to first event and a cycle of gaps (a seed, so the stream stays small)."""
    rng = random.Random(seed)
    return round(rng.uniform(0.05, 0.8), 3), tuple(round(rng.expovariate(1 / 0.03), 3) for _ in range(16))


@st.composite
def turns(
    draw: st.DrawFn,
    *,
    api: Any = "v2",
    text: Any = None,
    thinking: Any = None,
    tool_calls: Any = None,
    citations: Any = None,
    finish_reason: Any = None,
    chunking: Any = None,
    search: Any = None,
    debug: Any = None,
    logprobs: Any = None,
    timed: Any = None,
    debugged: frozenset[str] = frozenset(),
) -> Turn:
    """One streamed response (see ``stream_replay.strategies.cassettes`` for the pins;
    ``debugged``: ``debug_apis()``)."""
    # A pin given as a value is checked before anything is drawn (a contradiction is the
    # caller's mistake: ValueError); a pin given as a strategy is drawn first, and an
    # example where its value contradicts another is rejected (hypothesis's assume).
    v2_only = [name for name, pin in (("thinking", thinking), ("logprobs", logprobs)) if _set(pin)]
    v1_only = ["search"] if _set(search) else []
    if v2_only and v1_only:
        raise ValueError(f"{', '.join(v2_only)} (v2 only) and search (v1 only) cannot both be pinned")
    apis: tuple[str, ...] = ("v2",) if v2_only else ("v1",) if v1_only else ("v2", "v1")
    if _set(debug):
        apis = tuple(a for a in apis if a in debugged)
        if not apis:
            raise ValueError("debug=True: the installed cohere SDK models no debug event on these streams")
        v2_only = v2_only or (["debug"] if apis == ("v2",) else [])
        v1_only = v1_only or (["debug"] if apis == ("v1",) else [])
    which: Api = draw(pinned(api, st.sampled_from(apis)))
    if which not in ("v1", "v2"):
        raise ValueError(f"api must be 'v1' or 'v2', got {which!r}")
    if which not in apis:
        raise ValueError(f"api={which!r} has no {', '.join(v2_only or v1_only)}: pin api={apis[0]!r} or leave it out")
    if _set(text) and _set(tool_calls) and int(tool_calls) > 0:
        raise ValueError("text= and tool_calls= both pinned: the API answers with text or with tool calls, not both")
    said_pin = _value(draw, text)
    calls_pin = _value(draw, tool_calls)
    cites_pin = _value(draw, citations)
    # a pinned answer (or pinned citations, which need one) comes without tool calls: the
    # API answers with text or with tool calls
    answer_pinned = said_pin not in (None, False) or bool(cites_pin)
    assume(not (answer_pinned and calls_pin))
    # otherwise half the answers are text, as in the corpus (36 of 69 v2 streams)
    if calls_pin is not None:
        calls_wanted = calls_pin
    else:
        calls_wanted = 0 if answer_pinned else draw(st.sampled_from((0, 0, 0, 1, 2, 3)))
    reason = draw(pinned(finish_reason, st.sampled_from(FINISH_REASONS[which])))
    if calls_wanted == 0 and reason == "TOOL_CALL" and calls_pin is None and not answer_pinned:
        calls_wanted = draw(st.integers(1, 3))
    if calls_wanted and finish_reason is None:
        reason = "TOOL_CALL" if which == "v2" else "COMPLETE"
    calls = tuple(draw(_call(chunking=chunking)) for _ in range(int(calls_wanted)))
    blocks: list[Block] = []
    thought = _for_api(draw, thinking, st.booleans(), which == "v2")
    if thought is not False:
        blocks.append(Block("thinking", draw(_text_pieces(thought, chunking))))
    if calls:
        said: Any = False
    elif said_pin is not None:
        said = said_pin
    elif cites_pin:
        said = True
    else:  # no answer block (1 in 10), an empty one (1 in 10), or some text
        said = draw(st.integers(0, 9).map(lambda n: {9: False, 8: ""}.get(n, True)))
    if said is not False:
        blocks.append(Block("text", draw(_text_pieces(said, chunking))))
        if said_pin is None and which == "v2" and draw(st.integers(0, 3)) == 3:  # now and then, a second block
            blocks.append(Block("text", draw(_text_pieces(True, chunking))))
    if cites_pin:  # citations need text to cite
        assume(any(b.text.strip() for b in blocks))
    searched = _for_api(draw, search, st.integers(0, 3).map(lambda n: n == 3), which == "v1")
    queries: tuple[str, ...] = ()
    documents: tuple[dict[str, str], ...] = ()
    if searched:
        queries = tuple(draw(st.lists(st.text(_characters, min_size=1, max_size=20), min_size=1, max_size=2)))
        documents = tuple(draw(st.lists(_web_document, min_size=1, max_size=3, unique_by=lambda d: d["id"])))
    sources: st.SearchStrategy[Any]
    if which == "v2":
        sources = _v2_source(calls)
    elif documents:
        sources = st.sampled_from([d["id"] for d in documents])
    else:
        sources = _v1_source
    cited: list[Block] = []
    for block in blocks:
        before = sum(len(b.text) for b in cited if b.kind == block.kind)
        cites = draw(_citations(block.text, before, api=which, kind=block.kind, count=cites_pin, sources=sources))
        cited.append(Block(block.kind, block.pieces, cites))
    plan = draw(_text_pieces(True, chunking)) if calls else ()
    if calls and not "".join(plan).strip():
        plan = draw(pieces("I will use the tools to answer.", chunking=chunking))
    error = None
    usage = draw(_usage(which))
    if reason == "ERROR" and which == "v2":
        error = "your request resulted in an invalid tool generation. Try updating the messages or tool definitions"
        usage = {}
    first, gaps = _timing(draw(st.integers(0, 2**16))) if draw(pinned(timed, st.booleans())) else (None, ())
    wants_debug = _for_api(draw, debug, st.integers(0, 7).map(lambda n: n == 7), which in debugged)
    prompt = draw(st.text(_characters, max_size=40)) if wants_debug else None
    return Turn(
        api=which,
        generation_id=str(draw(st.uuids())),
        blocks=tuple(cited),
        plan=tuple(plan),
        calls=calls,
        finish_reason=reason,
        usage=usage,
        error=error,
        citations_per_event=draw(st.integers(1, 3)),
        citations_at_end=draw(st.booleans()),
        # as in the corpus's older v1 recordings of a single call
        indexed_deltas=not (which == "v1" and len(calls) == 1 and draw(st.booleans())),
        search_queries=queries,
        documents=documents,
        debug_prompt=prompt,
        logprobs=bool(_for_api(draw, logprobs, st.integers(0, 7).map(lambda n: n == 7), which == "v2")),
        first_event=first,
        gaps=gaps,
    )


def _set(pin: Any) -> bool:
    """Whether a pin is given as a value that asks for something (not None, False or 0)."""
    return pin is not None and not isinstance(pin, st.SearchStrategy) and pin is not False and pin != 0


def _value(draw: st.DrawFn, pin: Any) -> Any:
    """A pin's value: drawn when it is a strategy, as given otherwise (None: not pinned)."""
    return draw(pin) if isinstance(pin, st.SearchStrategy) else pin


def _for_api(draw: st.DrawFn, pin: Any, default: st.SearchStrategy[Any], allowed: bool) -> Any:
    """A pin of something only some streams have (thinking, logprobs, search, debug): drawn
    where ``allowed``; elsewhere False, an example whose strategy pin asks for it rejected."""
    if allowed:
        return draw(pinned(pin, default))
    if isinstance(pin, st.SearchStrategy):
        assume(draw(pin) in (None, False))
    return False


def _text_pieces(value: Any, chunking: Any) -> st.SearchStrategy[tuple[str, ...]]:
    """Pieces of a given text (a string), or of drawn text (True)."""
    if isinstance(value, str):
        return pieces(value, chunking=chunking)
    if value is not True:
        raise ValueError(f"text and thinking take a bool, a string or a strategy of either, got {value!r}")
    return pieces(None, chunking=chunking)
