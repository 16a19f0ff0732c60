"""The bundled generate cassette, ``cassettes/v1_generate.yaml``: ``/v1/generate`` streams
reconstructed from the cohere SDK's own models. It is not a live recording.

No real ``/v1/generate`` stream is in the shared corpus, and none could be recorded here
(no API key, no network). So the events are built from what the SDK (7.3.1 and 5.11.4
alike) declares the stream to be: the ``GenerateStreamedResponse`` union in
``cohere/types/generate_streamed_response.py`` (``text-generation``, ``stream-end``,
``stream-error``, keyed by ``event_type``), ``GenerateStreamEndResponse`` and
``SingleGenerationInStream``. Each payload has the fields those models declare, in the
order they declare them, written as one compact JSON object per line
(``application/stream+json``, as ``generate_stream`` reads it: one ``json.loads`` per
line). The prompts, the text, the ids (uuid5 of the text) and the error message are made
up; the key order, escaping and any field the SDK does not model are not the live API's.
The cassette's ``source:`` says all of this. ``python -m tests.support.generate`` writes it.
"""

from __future__ import annotations

import uuid

from stream_replay import Cassette
from stream_replay.cassette import Body, Interaction, Meta, Request, Response, Stream
from stream_replay.wire import WireEvent
from stream_replay.wire.jsontext import dumps_v1
from tests.support.corpus import CASSETTES

PATH = CASSETTES / "v1_generate.yaml"
URL = "https://api.cohere.com/v1/generate"

#: interaction 0: a generation that completes.
TAGLINE = [" Life", " is", " sweet", ",", " one", " scoop", " at", " a", " time", "."]
#: interaction 1: a generation the server ends with a stream-error.
CUT = [" The", " sea", " is"]
ERROR = "reconstructed example: the generation failed on the server"

REQUESTS = [
    {"prompt": "Write a tagline for an ice cream shop.", "model": "command", "max_tokens": 20, "stream": True},
    {"prompt": "Write a poem about the sea.", "model": "command", "max_tokens": 200, "stream": True},
]

SOURCE = {
    "recorded_from": "nothing: reconstructed, not a live recording",
    "reconstructed": (
        "every event, from the cohere SDK's own models of the /v1/generate stream (cohere 7.3.1 and 5.11.4: "
        "cohere/types/generate_streamed_response.py, the GenerateStreamedResponse union of text-generation, "
        "stream-end and stream-error keyed by event_type; generate_stream_end_response.py; "
        "single_generation_in_stream.py): the fields they declare, in their order, compact JSON, one object "
        "per line (application/stream+json). Made up: the prompts, the text, the ids (uuid5 of the text) and "
        "the error message. Not the live API's: key order, escaping, fields the SDK does not model; no timing"
    ),
    "why": "no /v1/generate stream is in the corpus of real recordings, and none could be recorded",
    "built_by": "python -m tests.support.generate",
}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "stream-replay:v1_generate:" + ":".join(parts)))


def _text_events(tokens: list[str]) -> list[WireEvent]:
    return [
        WireEvent("text-generation", dumps_v1({"event_type": "text-generation", "text": t, "is_finished": False}))
        for t in tokens
    ]


def _completed() -> tuple[WireEvent, ...]:
    prompt = str(REQUESTS[0]["prompt"])
    text = "".join(TAGLINE)
    end = {
        "event_type": "stream-end",
        "is_finished": True,
        "finish_reason": "COMPLETE",
        "response": {
            "id": _id("response", prompt),
            "prompt": prompt,
            "generations": [{"id": _id("generation", text), "text": text, "finish_reason": "COMPLETE"}],
        },
    }
    return (*_text_events(TAGLINE), WireEvent("stream-end", dumps_v1(end)))


def _failed() -> tuple[WireEvent, ...]:
    error = {"event_type": "stream-error", "is_finished": True, "finish_reason": "ERROR", "err": ERROR}
    return (*_text_events(CUT), WireEvent("stream-error", dumps_v1(error)))


def generate_cassette() -> Cassette:
    interactions = []
    for body, events in zip(REQUESTS, (_completed(), _failed()), strict=True):
        request = Request("POST", URL, {"content-type": "application/json"}, Body(body, "json"))
        response = Response(200, {"content-type": "application/stream+json"}, stream=Stream("ndjson", events))
        interactions.append(Interaction(request, response))
    meta = Meta(recorded_at=None, cohere_version=None, stream_replay_version=None, source=SOURCE)
    return Cassette(tuple(interactions), meta)


if __name__ == "__main__":  # pragma: no cover
    from stream_replay import save_cassette

    save_cassette(generate_cassette(), PATH, overwrite=True)
    print(PATH)
