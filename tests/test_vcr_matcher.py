"""stream_replay's body matching inside vcrpy: ``stream_replay.vcr_body_matcher`` compares JSON
bodies with wildcards and patterns, and a failure names the fields, in vcrpy's own
CannotOverwriteExistingCassetteException."""

from __future__ import annotations

import copy
from pathlib import Path

import cohere
import pytest
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException

import stream_replay
from stream_replay import load_cassette
from stream_replay.vcr.exporter import export_vcr
from tests.support.corpus import CASSETTES, chat_kwargs


def _recorder(**options: object) -> vcr.VCR:
    my_vcr = vcr.VCR(record_mode="none", match_on=["method", "path", "stream_replay_body"])
    my_vcr.register_matcher("stream_replay_body", stream_replay.vcr_body_matcher(**options))  # type: ignore[arg-type]
    return my_vcr


def test_vcrpy_with_the_body_matcher_refuses_drift_naming_the_field_and_accepts_what_is_ignored(
    tmp_path: Path,
) -> None:
    cassette = load_cassette(CASSETTES / "v1_tool_calls.yaml")
    path = export_vcr(cassette, tmp_path / "test_tools.yaml")
    kwargs = copy.deepcopy(chat_kwargs(cassette))
    for tool in kwargs["tools"]:
        for definition in tool["parameter_definitions"].values():
            definition["type"] = {"int": "integer", "str": "string"}.get(definition["type"], definition["type"])
    with _recorder().use_cassette(str(path)), pytest.raises(CannotOverwriteExistingCassetteException) as caught:
        list(cohere.Client(api_key="k").chat_stream(**kwargs))
    assert "tools[0].parameter_definitions.age.type: 'int' -> 'integer'" in str(caught.value)
    with _recorder(ignore_fields=["tools[*].parameter_definitions.*.type"]).use_cassette(str(path)):
        events = list(cohere.Client(api_key="k").chat_stream(**kwargs))
    assert events[-1].event_type == "stream-end"
