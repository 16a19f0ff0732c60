"""Matching that copes with real drift without lying (issue 12), on real bundled cassettes.

The drifts are the ones langchain-cohere's own suite shows against its recordings: a
tool schema type renamed (``int`` -> ``integer``), a model renamed, a prompt that embeds
the current date. Each option is checked to replay what it should, and nothing more,
and the mismatch message to point at the difference.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

import cohere
import httpx
import pytest

from stream_replay import Cassette, NoMatchError, load_cassette, replay_client
from stream_replay.analysis.jsondiff import MISSING, Difference, describe, differences, drop_path, parse_path
from stream_replay.cassette import Body, Interaction, Request
from stream_replay.errors import DriftWarning
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES, chat_kwargs

V1_TOOLS = CASSETTES / "v1_tool_calls.yaml"
V2_TEXT = CASSETTES / "v2_text.yaml"


def _drifted_tools(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The recorded v1 request with every tool parameter type renamed, as a newer
    langchain-cohere sends it (``int`` -> ``integer``, ``str`` -> ``string``)."""
    changed = copy.deepcopy(kwargs)
    renamed = {"int": "integer", "str": "string"}
    for tool in changed["tools"]:
        for definition in tool["parameter_definitions"].values():
            definition["type"] = renamed.get(definition["type"], definition["type"] + "-v2")
    return changed


def _with_prompt(cassette: Cassette, prompt: str) -> Cassette:
    """``cassette`` whose first request's last message is ``prompt``."""
    first = cassette.interactions[0]
    body = copy.deepcopy(first.request.body.json)
    body["messages"][-1]["content"] = prompt
    request = Request(first.request.method, first.request.url, dict(first.request.headers), Body(body, "json"))
    return Cassette((Interaction(request, first.response), *cassette.interactions[1:]), cassette.meta, cassette.path)


# ------------------------------------------------------------------------ paths


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("temperature", ["temperature"]),
        ("messages[0].content", ["messages", 0, "content"]),
        ("tools[*].parameter_definitions.*.type", ["tools", "[*]", "parameter_definitions", "*", "type"]),
    ],
)
def test_paths_read_like_python(path: str, tokens: list[Any]) -> None:
    assert parse_path(path) == tokens


@pytest.mark.parametrize("bad", ["", "a..b", "a[", "[x]", "a[0]b"])
def test_a_malformed_path_is_refused_with_how_to_write_one(bad: str) -> None:
    with pytest.raises(ValueError, match=r"write it like messages\[0\]\.content"):
        parse_path(bad)


def test_wildcards_drop_every_matching_field_and_nothing_else() -> None:
    body = {"tools": [{"name": "a", "p": {"x": {"type": "int", "d": 1}, "y": {"type": "str"}}}, {"name": "b", "p": {}}]}
    drop_path(body, "tools[*].p.*.type")
    assert body == {"tools": [{"name": "a", "p": {"x": {"d": 1}, "y": {}}}, {"name": "b", "p": {}}]}


def test_differences_are_leaves_in_document_order_never_the_whole_body() -> None:
    old = {"a": 1, "b": {"c": [1, 2, 3], "d": "x"}, "e": True}
    new = {"a": 2, "b": {"c": [1, 5], "d": "x", "f": None}, "e": True}
    assert differences(old, new) == [
        Difference("a", 1, 2),
        Difference("b.c[1]", 2, 5),
        Difference("b.c[2]", 3, MISSING),
        Difference("b.f", MISSING, None),
    ]


def test_a_long_string_shows_where_it_parts_on_both_sides() -> None:
    preamble = "## Task and Context\nYou help people answer questions. " * 4
    old = preamble + "Today's date is Monday, July 01, 2024 10:00:00 and the rest of the prompt"
    new = preamble + "Today's date is Sunday, November 29, 2026 20:35:39 and the rest of the prompt"
    (line,) = describe(differences({"preamble": old}, {"preamble": new}))
    at = len(preamble) + len("Today's date is ")
    assert line.startswith(f"preamble, from character {at}: ")
    assert "Monday, July 01, 2024" in line and "Sunday, November 29, 2026" in line


# ------------------------------------------------------------- replay_client


def test_a_wildcard_ignore_field_replays_a_tool_schema_that_drifted() -> None:
    cassette = load_cassette(V1_TOOLS)
    drifted = _drifted_tools(chat_kwargs(cassette))
    with pytest.raises(NoMatchError) as caught:
        list(replay_client(cassette, cohere.Client).chat_stream(**drifted))
    assert "tools[0].parameter_definitions.age.type: 'int' -> 'integer'" in str(caught.value)
    co = replay_client(cassette, cohere.Client, ignore_fields=["tools[*].parameter_definitions.*.type"])
    events = list(co.chat_stream(**drifted))
    assert events[-1].event_type == "stream-end"
    # only the types: a changed description still fails
    drifted["tools"][0]["description"] = "someone else"
    co = replay_client(cassette, cohere.Client, ignore_fields=["tools[*].parameter_definitions.*.type"])
    with pytest.raises(NoMatchError, match=r"tools\[0\].description: '' -> 'someone else'"):
        list(co.chat_stream(**drifted))


def test_an_ignored_pattern_neutralises_a_date_inside_a_prompt_and_only_that() -> None:
    recorded = _with_prompt(load_cassette(V2_TEXT), "Today is 2024-07-01. I'm Pickle Rick")
    kwargs = copy.deepcopy(chat_kwargs(recorded))
    kwargs["messages"][-1]["content"] = "Today is 2026-11-29. I'm Pickle Rick"
    with pytest.raises(NoMatchError, match=r"2024-07-01.*->.*2026-11-29"):
        list(replay_client(recorded).chat_stream(**kwargs))
    co = replay_client(recorded, ignore_patterns=[r"\d{4}-\d{2}-\d{2}"])
    assert list(co.chat_stream(**kwargs))[-1].type == "message-end"
    kwargs["messages"][-1]["content"] = "Today is 2026-11-29. I'm Morty"
    with pytest.raises(NoMatchError, match=r"Pickle Rick.*->.*Morty"):
        list(replay_client(recorded, ignore_patterns=[r"\d{4}-\d{2}-\d{2}"]).chat_stream(**kwargs))


def test_the_closest_recording_is_the_one_with_the_fewest_differing_fields() -> None:
    # Two recordings: the request differs from the second by one key only, and from the
    # first (a completely different conversation) by many.
    first = load_cassette(CASSETTES / "v2_citations.yaml").interactions[0]
    second = load_cassette(V2_TEXT).interactions[0]
    cassette = Cassette((first, second))
    kwargs = chat_kwargs(Cassette((second,)))
    kwargs["temperature"] = 0.3
    with pytest.raises(NoMatchError) as caught:
        list(replay_client(cassette).chat_stream(**kwargs))
    message = str(caught.value)
    assert "Closest recorded: interactions[1] POST /v2/chat (differs in: body)" in message
    assert "temperature: (not recorded) -> 0.3" in message
    assert "(whole body)" not in message and "(the body)" not in message


def test_many_small_differences_are_each_named() -> None:
    cassette = load_cassette(V1_TOOLS)
    kwargs = chat_kwargs(cassette)
    kwargs.update(model="command-r-plus", message="Erick, 28 years old", temperature=0.5)
    with pytest.raises(NoMatchError) as caught:
        list(replay_client(cassette, cohere.Client).chat_stream(**kwargs))
    message = str(caught.value)
    for line in ("model: 'command-r' -> 'command-r-plus'", "message: 'Erick, 27 years old' -> 'Erick, 28 years old'"):
        assert line in message
    assert "temperature: 0.0 -> 0.5" in message


def test_drift_accept_replays_the_recording_and_says_which_fields_drifted() -> None:
    cassette = load_cassette(V1_TOOLS)
    drifted = _drifted_tools(chat_kwargs(cassette))
    transport_client = replay_client(cassette, cohere.Client, drift="accept")
    with pytest.warns(DriftWarning) as caught:
        events = list(transport_client.chat_stream(**drifted))
    assert events[-1].event_type == "stream-end"
    (warning,) = [w for w in caught if issubclass(w.category, DriftWarning)]
    text = str(warning.message)
    assert "answered by interactions[0] of " in text and "(drift accepted)" in text
    assert "tools[0].parameter_definitions.age.type: 'int' -> 'integer'" in text
    # the route still has to match: drift is about the body only
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NoMatchError):
            list(replay_client(cassette, cohere.ClientV2, drift="accept").chat_stream(model="command-r", messages=[]))


def test_drift_accept_never_answers_an_exact_request_with_a_warning() -> None:
    cassette = load_cassette(V1_TOOLS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        events = list(replay_client(cassette, cohere.Client, drift="accept").chat_stream(**chat_kwargs(cassette)))
    assert events[-1].event_type == "stream-end"


def test_the_hint_names_the_options_replay_client_takes() -> None:
    cassette = load_cassette(V2_TEXT)
    with pytest.raises(NoMatchError, match=r"pass ignore_fields=\[\.\.\.\] or ignore_patterns=\[\.\.\.\]"):
        list(replay_client(cassette).chat_stream(model="command-r", messages=[{"role": "user", "content": "Hi"}]))


# ----------------------------------------------------------------------- serve


def _post(server: ReplayServer, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=30) as http:
        return http.post(server.url + "/v1/chat", content=json.dumps(body).encode())


def test_serve_takes_the_same_options_and_its_hint_names_its_flags() -> None:
    cassette = load_cassette(V1_TOOLS)
    body = {**_drifted_tools(chat_kwargs(cassette)), "stream": True}
    with ReplayServer([cassette], speed=0) as server:
        refused = _post(server, body)
    assert refused.status_code == 404
    message = refused.json()["message"]
    assert "tools[0].parameter_definitions.age.type: 'int' -> 'integer'" in message
    assert "--ignore-field PATH or --ignore-pattern REGEX" in message and "ignore_fields=[" not in message
    with ReplayServer([cassette], speed=0, ignore_fields=["tools[*].parameter_definitions.*.type"]) as server:
        answered = _post(server, body)
    assert answered.status_code == 200 and answered.content == cassette.interactions[0].response.body_bytes()


def test_serve_with_drift_accept_answers_and_logs_the_fields(tmp_path: Any) -> None:
    import io

    cassette = load_cassette(V1_TOOLS)
    body = {**_drifted_tools(chat_kwargs(cassette)), "stream": True}
    log = io.StringIO()
    with ReplayServer([cassette], speed=0, drift="accept", log=log) as server:
        answered = _post(server, body)
    assert answered.status_code == 200 and answered.content == cassette.interactions[0].response.body_bytes()
    assert "tools[0].parameter_definitions.age.type: 'int' -> 'integer'" in log.getvalue()


def test_a_request_recorded_without_a_body_matches_any_body_and_only_that() -> None:
    """A generated cassette says nothing about the request; a recorded one still must match."""
    recorded = load_cassette(CASSETTES / "v2_text.yaml")
    first = recorded.interactions[0]
    bodiless = Cassette(
        (Interaction(Request(first.request.method, first.request.url, first.request.headers, Body()), first.response),),
        recorded.meta,
    )
    events = list(replay_client(bodiless).chat_stream(model="any-model", messages=[{"role": "user", "content": "?"}]))
    assert events and events[-1].type == "message-end"
    with pytest.raises(NoMatchError):
        list(replay_client(recorded).chat_stream(model="any-model", messages=[{"role": "user", "content": "?"}]))
