"""Every event class of the installed SDK's stream unions is handled, and handled as
``stream_replay/analysis/handling.py`` says (issue 15).

For each stream (v1 chat, v2 chat, v1 generate), the classes are read from the installed
SDK (``sdk.event_classes``: the union ``chat_stream`` / ``generate_stream`` is annotated
to yield), on whichever cohere runs the suite (7.3.1 and 5.11.4 in CI). A class that
appears in a new SDK and that the table does not name fails the first test, by name.
Then, over streams holding every type (``tests/support/union_samples.py``: the bundled
recordings, plus what no recording has, built from the SDK's models), each type is checked
three ways:

- collect: feeding each event changes only the ``StreamResult`` fields the table names for
  its type, and every field named is changed by some event of that type;
- the fast path: it builds each event as the SDK's class for its type name, with the
  ``model_dump()`` of the SDK's own parse of the same bytes, and is really used;
- the grammar: every sample, a stream with each type where its rule puts it, is valid.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from unittest import mock

import cohere
import pytest

from stream_replay import collect, load_cassette, replay_client, validate_stream
from stream_replay.analysis.assemble import Collector, StreamResult
from stream_replay.analysis.handling import HANDLING
from stream_replay.replay import fast as fast_module
from stream_replay.sdk import (
    StreamKind,
    _client_kind,
    client_api,
    client_class,
    event_classes,
    is_async_client,
    sdk_client,
    sdk_version,
)
from stream_replay.wire.events import event_type
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.union_samples import Sample, arguments, cassette, samples

KINDS: list[StreamKind] = ["v1", "v2", "generate"]
INSTALLED: dict[StreamKind, dict[str, type]] = {kind: event_classes(kind) for kind in KINDS}
SAMPLES = samples(INSTALLED)

#: Fields every event feeds (each one's arrival), not what the table is about.
EVERY_EVENT = {"events", "timing", "api", "endpoint"}
V2_TEXT = CASSETTES / "v2_text.yaml"


def replay(sample: Sample, fast: bool) -> list[Any]:
    """The events the SDK yields for the sample (through ``ClientV2`` / ``Client``)."""
    client: Any = replay_client(cassette(sample), cohere.ClientV2 if sample.kind == "v2" else cohere.Client, fast=fast)
    method = client.generate_stream if sample.kind == "generate" else client.chat_stream
    return list(method(**arguments(sample)))


def changed_fields(events: list[Any]) -> list[tuple[str, set[str]]]:
    """For each event: its type, and the StreamResult fields that changed when it was fed."""
    names = [f.name for f in dataclasses.fields(StreamResult) if f.name not in EVERY_EVENT]
    collector = Collector()
    before = collector.result()
    out = []
    for event in events:
        collector.feed(event)
        after = collector.result()
        out.append((str(event_type(event)), {n for n in names if getattr(before, n) != getattr(after, n)}))
        before = after
    return out


def of_kind(kind: StreamKind) -> list[Sample]:
    return [s for s in SAMPLES if s.kind == kind]


@pytest.mark.parametrize("kind", KINDS)
def test_every_event_class_of_the_installed_sdk_is_in_the_table(kind: StreamKind) -> None:
    unhandled = [f"{cls.__name__} ({name!r})" for name, cls in INSTALLED[kind].items() if name not in HANDLING[kind]]
    assert unhandled == [], (
        f"cohere {sdk_version()}'s {kind} stream union has event classes stream_replay does not handle: "
        f"{unhandled}. Add each to stream_replay/analysis/handling.py, with its grammar rule and the "
        "StreamResult fields it fills, and handle it in analysis/grammar.py and analysis/assemble.py."
    )
    result_fields = {f.name for f in dataclasses.fields(StreamResult)}
    for name, handling in HANDLING[kind].items():
        assert handling.grammar, name
        assert set(handling.fields) <= result_fields - EVERY_EVENT, name


@pytest.mark.parametrize("kind", KINDS)
def test_each_event_type_fills_exactly_the_fields_the_table_names(kind: StreamKind) -> None:
    filled: dict[str, set[str]] = {name: set() for name in INSTALLED[kind]}
    for sample in of_kind(kind):
        for name, changed in changed_fields(replay(sample, fast=False)):
            assert changed <= set(HANDLING[kind][name].fields), f"{sample.label}: {name} changed {changed}"
            filled[name] |= changed
    assert filled == {name: set(HANDLING[kind][name].fields) for name in INSTALLED[kind]}


@pytest.mark.parametrize("kind", KINDS)
def test_the_fast_path_builds_each_class_as_the_sdk_parses_it(
    kind: StreamKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[type] = []
    build = fast_module._build
    monkeypatch.setattr(fast_module, "_build", lambda cls, *rest: built.append(cls) or build(cls, *rest))
    seen: set[type] = set()
    for sample in of_kind(kind):
        parsed = replay(sample, fast=False)
        assert built == []
        fast = replay(sample, fast=True)
        assert len(built) == len(fast)  # every event came from the fast path
        built.clear()
        assert [(type(e), e.model_dump()) for e in fast] == [(type(e), e.model_dump()) for e in parsed], sample.label
        for event in fast:
            assert type(event) is INSTALLED[kind][str(event_type(event))]  # the class for its type name
            seen.add(type(event))
    assert seen == set(INSTALLED[kind].values())  # the samples hold every class of the union


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.label)
def test_the_grammar_accepts_each_event_where_its_rule_puts_it(sample: Sample) -> None:
    stream = cassette(sample).interactions[0].response.stream
    assert stream is not None
    assert validate_stream(stream.events) == []
    assert validate_stream(replay(sample, fast=False)) == []


def test_the_sdk_s_classes_are_its_own_whatever_a_test_put_in_their_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hand code under test a replay client by replacing ``cohere.ClientV2`` (the
    seed snippets' tests do), and mock or wrap ``chat_stream`` on the class. The event
    classes, a class's API and the accepted clients are still the SDK's own, whenever
    they are first asked for (they are cached: asked first under a patch, they stay)."""
    real = {name: sdk_client(name) for name in ("Client", "AsyncClient", "ClientV2", "AsyncClientV2")}
    replay: Any = replay_client(V2_TEXT, real["ClientV2"])
    for name in real:
        monkeypatch.setattr(cohere, name, lambda *args, **kwargs: replay)
    monkeypatch.setattr(real["ClientV2"], "chat_stream", mock.Mock(name="chat_stream"))
    monkeypatch.setattr(real["Client"], "chat_stream", mock.Mock(name="chat_stream"))
    event_classes.cache_clear()
    _client_kind.cache_clear()
    try:
        assert {kind: event_classes(kind) for kind in KINDS} == INSTALLED
        assert [client_api(cls) for cls in real.values()] == ["v1", "v1", "v2", "v2"]
        assert [is_async_client(cls) for cls in real.values()] == [False, True, False, True]
        assert client_class(None) is real["ClientV2"]
        monkeypatch.undo()  # the replay client streams through the SDK's own method again
        result = collect(replay.chat_stream(**chat_kwargs(load_cassette(V2_TEXT))))
        assert result.finish_reason == "COMPLETE" and result.text
    finally:
        event_classes.cache_clear()
        _client_kind.cache_clear()
