"""Generated streams through the pytest plugin (issue 16): a marked test takes a
cassette a strategy drew (``stream_replay.use_cassette``), the application builds its
own ``cohere.ClientV2()`` as in production, on the SDK path and the fast path; a bug
in the application fails with the shrunk stream printed as event lines; a property
test that passes leaves no cassette behind and reports nothing unplayed.

pytester runs of a user's project: every assertion is on what pytest prints and on
the files left behind."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("offline")

APP = '''
import functools

import cohere


@functools.cache
def shared_client():
    """One client for the whole application, built on first use."""
    return cohere.ClientV2()


def ui_text_shared(request):
    text = []
    for event in shared_client().chat_stream(**request):
        if event.type == "content-delta" and event.delta.message.content.text is not None:
            text.append(event.delta.message.content.text)
    return "".join(text)


def ui_text_twice_quietly(request):
    """Asks twice (a retry by mistake) and hides the failure of the second."""
    text = ui_text(request)
    try:
        ui_text(request)
    except Exception:
        pass
    return text


def ui_text(request):
    """The chat UI's text: every content delta of the answer, thinking left out."""
    text = []
    for event in cohere.ClientV2().chat_stream(**request):
        if event.type == "content-delta" and event.delta.message.content.text is not None:
            text.append(event.delta.message.content.text)
    return "".join(text)


def ui_text_buggy(request):
    """The same, but it takes the first content block for the answer (reasoning models
    send their thinking first)."""
    text, answer = [], None
    for event in cohere.ClientV2().chat_stream(**request):
        if event.type == "content-start" and answer is None:
            answer = event.index
        if event.type == "content-delta" and event.index == answer:
            text.append(event.delta.message.content.text or "")
    return "".join(text)
'''

TESTS = """
import pytest
from hypothesis import HealthCheck, given, settings

from stream_replay.strategies import cassettes, expected

import app

REQUEST = {"model": "command-a-reasoning-08-2025", "messages": [{"role": "user", "content": "hi"}]}
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.stream_replay{marker}
@PROPERTY
@given(cassette=cassettes(api="v2", tool_calls=0))
def test_ui_text(stream_replay, cassette):
    with stream_replay.use_cassette(cassette):
        assert app.{function}(REQUEST) == expected(cassette).text
"""


def _project(pytester: pytest.Pytester, function: str, marker: str = "") -> None:
    pytester.makepyfile(app=APP)
    pytester.makepyfile(test_ui=TESTS.replace("{function}", function).replace("{marker}", marker))


@pytest.mark.parametrize("marker", ["", "(fast=True)"], ids=["sdk", "fast"])
def test_a_marked_property_test_replays_each_generated_cassette(pytester: pytest.Pytester, marker: str) -> None:
    _project(pytester, "ui_text", marker)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "cassettes").exists()  # nothing recorded, nothing written
    assert "unplayed" not in result.stdout.str()


def test_a_bug_fails_with_the_shrunk_stream_as_event_lines(pytester: pytest.Pytester) -> None:
    _project(pytester, "ui_text_buggy")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "(stream_replay.strategies" in out
    # the shrunk stream that shows the bug: a second content block (after thinking, or
    # after an empty first text block), printed as the cassette's event lines
    assert '- content-start {"type":"content-start","index":0,' in out
    assert '- content-start {"type":"content-start","index":1,' in out
    assert "- [DONE]" in out


@pytest.mark.parametrize("marker", ["", "(fast=True)"], ids=["sdk", "fast"])
def test_a_client_built_once_answers_from_each_example_s_cassette(pytester: pytest.Pytester, marker: str) -> None:
    _project(pytester, "ui_text_shared", marker)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_request_the_drawn_cassette_cannot_answer_fails_its_example(pytester: pytest.Pytester) -> None:
    """Caught by the code under test, it is raised when the block ends: inside the example,
    so hypothesis shrinks it and prints the cassette, rather than an error at teardown."""
    _project(pytester, "ui_text_twice_quietly")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "NoMatchError" in out and "(stream_replay.strategies" in out
    assert "error" not in result.parseoutcomes()
