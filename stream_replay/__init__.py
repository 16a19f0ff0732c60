"""stream_replay: record Cohere chat streams once, replay them through the real SDK forever.

The public names load lazily, so ``import stream_replay`` (and the pytest plugin)
costs next to nothing until a name is used: cohere, httpx and vcrpy are
imported only by the code that needs them.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .analysis.assemble import StreamResult as StreamResult
    from .analysis.assemble import acollect as acollect
    from .analysis.assemble import atee as atee
    from .analysis.assemble import collect as collect
    from .analysis.assemble import tee as tee
    from .analysis.assertions import assert_final_response as assert_final_response
    from .analysis.assertions import assert_matches_cassette as assert_matches_cassette
    from .analysis.grammar import StreamGrammarError as StreamGrammarError
    from .analysis.grammar import assert_valid_stream as assert_valid_stream
    from .analysis.grammar import validate_stream as validate_stream
    from .cassette import Cassette as Cassette
    from .cassette import Interaction as Interaction
    from .cassette import dumps_cassette as dumps_cassette
    from .cassette import load_cassette as load_cassette
    from .cassette import loads_cassette as loads_cassette
    from .cassette import save_cassette as save_cassette
    from .cassette.redaction import Redaction as Redaction
    from .errors import CassetteError as CassetteError
    from .errors import DriftWarning as DriftWarning
    from .errors import NoMatchError as NoMatchError
    from .errors import RecordingEndedError as RecordingEndedError
    from .errors import StreamReplayError as StreamReplayError
    from .recording.client import record_client as record_client
    from .replay.client import replay_client as replay_client
    from .replay.transport import ReplayTransport as ReplayTransport
    from .vcr.importer import read_vcr as read_vcr
    from .vcr.matcher import body_matcher as vcr_body_matcher  # noqa: F401  (in __all__ through _EXPORTS)
    from .vcr.serializer import vcr_serializer_with as vcr_serializer_with

_EXPORTS = {
    "StreamResult": "stream_replay.analysis.assemble",
    "assert_final_response": "stream_replay.analysis.assertions",
    "assert_matches_cassette": "stream_replay.analysis.assertions",
    "acollect": "stream_replay.analysis.assemble",
    "atee": "stream_replay.analysis.assemble",
    "collect": "stream_replay.analysis.assemble",
    "tee": "stream_replay.analysis.assemble",
    "Cassette": "stream_replay.cassette",
    "Interaction": "stream_replay.cassette",
    "dumps_cassette": "stream_replay.cassette",
    "load_cassette": "stream_replay.cassette",
    "loads_cassette": "stream_replay.cassette",
    "save_cassette": "stream_replay.cassette",
    "CassetteError": "stream_replay.errors",
    "NoMatchError": "stream_replay.errors",
    "RecordingEndedError": "stream_replay.errors",
    "StreamReplayError": "stream_replay.errors",
    "StreamGrammarError": "stream_replay.analysis.grammar",
    "assert_valid_stream": "stream_replay.analysis.grammar",
    "validate_stream": "stream_replay.analysis.grammar",
    "read_vcr": "stream_replay.vcr.importer",
    "replay_client": "stream_replay.replay.client",
    "record_client": "stream_replay.recording.client",
    "ReplayTransport": "stream_replay.replay.transport",
    "DriftWarning": "stream_replay.errors",
    "vcr_body_matcher": "stream_replay.vcr.matcher",
    "Redaction": "stream_replay.cassette.redaction",
    "vcr_serializer_with": "stream_replay.vcr.serializer",
}

#: Exported names that differ from their name in the module.
_ALIASES = {"vcr_body_matcher": "body_matcher"}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stream_replay' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _ALIASES.get(name, name))
    globals()[name] = value
    return value
