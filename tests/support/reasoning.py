# ruff: noqa: E501  (the payloads, one per line, as the fixture holds them)
"""The bundled reasoning cassette, ``cassettes/v2_reasoning.yaml``, rebuilt from the real
payloads it holds.

The payloads are vercel/ai's ``packages/cohere/src/__fixtures__/cohere-reasoning.chunks.txt``
(commit d7e3880f4afad1850ec9a1c948baf0221caa22b2, Apache-2.0): one JSON payload per line,
recorded from the live API by that project, without SSE framing and without the request.
``PAYLOADS`` holds them line for line (compact JSON, the fixture's key order, checked by
re-serialising). What is reconstructed, and said in the cassette's ``source:``: the SSE
framing (``event: <type>`` / ``data: <payload>`` blocks and the closing ``data: [DONE]``,
as the live API frames every ``/v2/chat`` stream) and the request (a question the thinking
text describes, with ``thinking`` enabled). ``python -m tests.support.reasoning`` writes it.
"""

from __future__ import annotations

import json

from stream_replay import Cassette
from stream_replay.cassette import Body, Interaction, Meta, Request, Response, Stream
from stream_replay.wire import WireEvent
from tests.support.corpus import CASSETTES

_THINKING = [
    "The", " user", " is", " asking", " for", " the", " sum", " of", " 2", " and", " 2", ".", " Since", " this",
    " is", " a", " straightforward", " arithmetic", " problem", ",", " I", " don", "'t", " need", " to", " use",
    " any", " tools", ".", " I", " can", " calculate", " the", " answer", " directly", ".",
]  # fmt: skip
_TEXT = ["The", " answer", " to", " 2", " +", " 2", " is", " 4", "."]


def _line(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


PAYLOADS = [
    _line(
        {
            "id": "c9117d7f-a7e4-499f-b643-a2a1e139687b",
            "type": "message-start",
            "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}},
        }
    ),
    _line({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking", "thinking": ""}}}}),
    *(
        _line({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": token}}}})
        for token in _THINKING
    ),
    _line({"type": "content-end", "index": 0}),
    _line({"type": "content-start", "index": 1, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
    *(_line({"type": "content-delta", "index": 1, "delta": {"message": {"content": {"text": token}}}}) for token in _TEXT),
    _line({"type": "content-end", "index": 1}),
    _line(
        {
            "type": "message-end",
            "delta": {
                "finish_reason": "COMPLETE",
                "usage": {
                    "billed_units": {"input_tokens": 8, "output_tokens": 50},
                    "tokens": {"input_tokens": 1394, "output_tokens": 54},
                    "cached_tokens": 1360,
                },
            },
        }
    ),
]

REQUEST = {
    "model": "command-a-reasoning-08-2025",
    "messages": [{"role": "user", "content": "What is 2 + 2?"}],
    "thinking": {"type": "enabled"},
    "stream": True,
}

SOURCE = {
    "repository": "github.com/vercel/ai",
    "path": "packages/cohere/src/__fixtures__/cohere-reasoning.chunks.txt",
    "commit": "d7e3880f4afad1850ec9a1c948baf0221caa22b2",
    "license": "Apache-2.0",
    "copyright": "Vercel, Inc.",
    "recorded_from": "the live Cohere API, by vercel/ai",
    "kept_exactly": "every event's JSON payload, byte for byte, in order",
    "reconstructed": (
        "the SSE framing (event: <type> / data: <payload> blocks and the closing data: [DONE], as the live "
        "API frames /v2/chat streams; the fixture holds the payloads only, one per line) and the request "
        "(not in the fixture: the question the thinking text describes, with thinking enabled); no timing"
    ),
}


def reasoning_cassette() -> Cassette:
    events = [WireEvent(json.loads(p)["type"], p) for p in PAYLOADS] + [WireEvent("[DONE]", None)]
    request = Request(
        "POST", "https://api.cohere.com/v2/chat", {"content-type": "application/json"}, Body(REQUEST, "json")
    )
    response = Response(200, {"content-type": "text/event-stream"}, stream=Stream("sse", tuple(events)))
    meta = Meta(recorded_at=None, cohere_version=None, stream_replay_version=None, source=SOURCE)
    return Cassette((Interaction(request, response),), meta)


if __name__ == "__main__":  # pragma: no cover
    from stream_replay import save_cassette

    save_cassette(reasoning_cassette(), CASSETTES / "v2_reasoning.yaml", overwrite=True)
    print(CASSETTES / "v2_reasoning.yaml")
