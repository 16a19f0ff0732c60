"""The pytest plugin and the SDK's clients: one built before the test is served too and
the patch is undone after it, the SDK is left as it was, the fixture builds each of the
four client classes, the fast path, ``replay_client`` inside a marked test, and faults
given through the marker.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import cohere
import pytest

from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import PICKLE, cassette, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")


def test_a_client_built_before_the_test_is_served_too_and_the_patch_is_undone(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
import cohere
import httpx

# Built at import, with a base URL nothing listens on: only the cassette can answer.
PREBUILT = cohere.ClientV2(api_key="prebuilt-key-0123456789", base_url="http://127.0.0.1:9")

@pytest.mark.stream_replay
def test_pickle():
    events = list(PREBUILT.chat_stream(**REQUESTS["pickle"]))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == ANSWERS["pickle"]

def test_after():
    assert not hasattr(cohere.ClientV2.__init__, "__wrapped__")
    with pytest.raises(httpx.ConnectError):
        list(PREBUILT.chat_stream(**REQUESTS["pickle"]))
""",
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_the_sdk_is_left_as_it_was(pytester: pytest.Pytester) -> None:
    before = {cls: cls.__dict__.get("__init__") for cls in (cohere.Client, cohere.ClientV2)}
    place(cassette(pytester), "pickle")
    write_project(pytester, PICKLE)
    pytester.runpytest().assert_outcomes(passed=1)
    assert {cls: cls.__dict__.get("__init__") for cls in (cohere.Client, cohere.ClientV2)} == before


@pytest.mark.parametrize("name", ["ClientV2", "AsyncClientV2", "Client", "AsyncClient"])
def test_the_fixture_gives_each_client_class(pytester: pytest.Pytester, name: str) -> None:
    api = "v2" if name.endswith("V2") else "v1"
    source = "v2_text" if api == "v2" else "v1_text"
    target = cassette(pytester, "test_client")
    target.parent.mkdir(parents=True)
    target.write_text((CASSETTES / f"{source}.yaml").read_text())
    from stream_replay import load_cassette

    request = chat_kwargs(load_cassette(target))
    final = "message-end" if api == "v2" else "stream-end"
    kind = "type" if api == "v2" else "event_type"
    consume = (
        "[e async for e in co.chat_stream(**REQUEST)]"
        if name.startswith("Async")
        else "list(co.chat_stream(**REQUEST))"
    )
    write_project(
        pytester,
        f"""
import cohere
REQUEST = {request!r}

@pytest.mark.stream_replay
{"async " if name.startswith("Async") else ""}def test_client(stream_replay):
    co = stream_replay.client(cohere.{name})
    assert type(co) is cohere.{name}
    events = {consume}
    assert events[-1].{kind} == {final!r}
""",
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_fast_path_gives_the_same_answer(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
from app import client

@pytest.fixture
def stream_replay_config():
    return {"fast": True}

@pytest.mark.stream_replay
def test_pickle(monkeypatch):
    import stream_replay.replay.fast as fast

    built = []
    build = fast._build
    monkeypatch.setattr(fast, "_build", lambda cls, *rest: built.append(cls) or build(cls, *rest))
    co = client()
    events = list(co.chat_stream(**REQUESTS["pickle"]))
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == ANSWERS["pickle"]
    assert len(built) == len(events) > 0  # every event came from the fast path
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_replay_client_inside_a_marked_test_keeps_its_own_cassette(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    other = place(pytester.path / "other.yaml", "citations")
    write_project(
        pytester,
        f"""
import cohere
from stream_replay import replay_client

@pytest.mark.stream_replay
def test_pickle():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]  # from the test's cassette
    co = replay_client({str(other)!r}, cohere.ClientV2)
    events = list(co.chat_stream(**REQUESTS["citations"]))
    assert "".join(e.delta.message.content.text for e in events if e.type == "content-delta") == ANSWERS["citations"]
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_faults_in_the_marker_and_parametrized_with_readable_ids(pytester: pytest.Pytester) -> None:
    place(pytester.path / "tests" / "cassettes" / "shared.yaml", "pickle")
    write_project(
        pytester,
        """
import cohere
import httpx
from stream_replay import faults

@pytest.mark.stream_replay("shared")
@faults.parametrize([faults.disconnect(after=3)], faults.http_error(429), [])
def test_faulty(stream_replay):
    injected = stream_replay.settings["faults"]
    assert stream_replay.settings.source("faults").startswith("faults.parametrize of ") or not injected
    if not injected:
        assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    elif injected[0].label == "http_429":
        with pytest.raises(cohere.TooManyRequestsError):
            answer(REQUESTS["pickle"])
    else:
        with pytest.raises(httpx.RemoteProtocolError):
            answer(REQUESTS["pickle"])
""",
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3)
    out = lines(result)
    for ident in ("disconnect@3", "http_429", "no-fault"):
        assert any(f"test_faulty[{ident}] PASSED" in line for line in out), ident


def test_a_client_kept_after_its_test_never_answers_from_that_test_s_cassette(pytester: pytest.Pytester) -> None:
    """Application code that caches its client: the next test's calls are answered by
    the next test's cassette (on the fast path too), and a call once no test runs is
    refused, saying why, instead of answered from a finished test's cassette."""
    place(cassette(pytester, "test_first"), "pickle")
    place(cassette(pytester, "test_second"), "citations")
    write_project(
        pytester,
        """
import cohere
from stream_replay.errors import StreamReplayError

KEPT = {}

@pytest.fixture
def stream_replay_config():
    return {"fast": True}

def text(events):
    return "".join(e.delta.message.content.text for e in events if e.type == "content-delta")

@pytest.mark.stream_replay
def test_first():
    KEPT["sync"] = cohere.ClientV2()
    KEPT["async"] = cohere.AsyncClientV2()
    assert text(KEPT["sync"].chat_stream(**REQUESTS["pickle"])) == ANSWERS["pickle"]

@pytest.mark.stream_replay
def test_second():
    assert text(KEPT["sync"].chat_stream(**REQUESTS["citations"])) == ANSWERS["citations"]

async def test_third_no_cassette():
    with pytest.raises(StreamReplayError, match="test_chat.py::test_first was used after that test ended"):
        async for _ in KEPT["async"].chat_stream(**REQUESTS["pickle"]):
            pass

def test_fourth_no_cassette():
    with pytest.raises(StreamReplayError, match="test_chat.py::test_first was used after that test ended"):
        list(KEPT["sync"].chat_stream(**REQUESTS["pickle"]))
""",
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=4)
    assert "stream-replay: 2 cassettes replayed, 0 recorded, 0 unplayed interactions" in lines(result)
