"""The pytest plugin and the SDK's clients: one built before the test is served too and
the patch is undone after it, the SDK is left as it was, the fixture builds each of the
four client classes, the fast path, ``replay_client`` inside a marked test, faults
given through the marker, and a client given its own httpx client (its hooks, auth and
headers run, replaying and recording; its transport never does).

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import json

import cohere
import pytest

from stream_replay import Cassette, load_cassette, save_cassette
from tests.support.corpus import CASSETTES, chat_kwargs
from tests.support.plugin_project import KEY, PICKLE, Upstream, cassette, lines, place, requests_in, write_project

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
    import importlib

    fast = importlib.import_module("stream_replay.replay.fast")  # as the plugin finds it (see BUILT_FIXTURE)

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


# ------------------------------------------- a client given its own httpx client

#: A user's httpx client, as application code configures one: auth, default headers,
#: event hooks; and a transport the test must never reach (it stands for the network).
OWN_HTTPX = """
import cohere
import httpx

SEEN = []

def forbidden(request):
    raise AssertionError(f"the user's transport was called for {{request.url}}")

def auth(request):
    SEEN.append(("auth", request.url.path))
    return request

{prefix}def on_request(request):
    SEEN.append(("request", request.method, request.url.path, request.headers.get("x-team")))

{prefix}def on_response(response):
    SEEN.append(("response", response.status_code))

def own_http():
    return httpx.{http}(
        transport=httpx.MockTransport(forbidden),
        auth=auth,
        headers={{"X-Team": "search"}},
        event_hooks={{"request": [on_request], "response": [on_response]}},
    )
"""


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_client_given_its_own_httpx_client_keeps_its_hooks_auth_and_headers_but_not_its_transport(
    pytester: pytest.Pytester, fast: bool, asynchronous: bool
) -> None:
    """In production, the user's auth, headers and event hooks see the request; so they do
    in a replay. Only the transport (the network) is the test's."""
    place(cassette(pytester), "pickle")
    if asynchronous:
        body = """
@pytest.mark.stream_replay(fast=FAST)
async def test_pickle():
    co = cohere.AsyncClientV2(api_key="user-key-0123456789", httpx_client=own_http())
    events = [e async for e in co.chat_stream(**REQUESTS["pickle"])]
    text = [e.delta.message.content.text for e in events if e.type == "content-delta"]
    assert "".join(text) == ANSWERS["pickle"]
    assert SEEN == [("auth", "/v2/chat"), ("request", "POST", "/v2/chat", "search"), ("response", 200)]
"""
    else:
        body = """
@pytest.mark.stream_replay(fast=FAST)
def test_pickle():
    co = cohere.ClientV2(api_key="user-key-0123456789", httpx_client=own_http())
    text = [e.delta.message.content.text for e in co.chat_stream(**REQUESTS["pickle"]) if e.type == "content-delta"]
    assert "".join(text) == ANSWERS["pickle"]
    assert SEEN == [("auth", "/v2/chat"), ("request", "POST", "/v2/chat", "search"), ("response", 200)]
"""
    source = OWN_HTTPX.format(prefix="async " if asynchronous else "", http="AsyncClient" if asynchronous else "Client")
    write_project(pytester, source + f"FAST = {fast}\n" + body)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    if fast:  # the hooks watch the request: the fast path steps aside, and says so
        assert any("its httpx client has request and response event hooks" in line for line in lines(result))


def test_a_response_hook_that_raises_for_status_raises_on_a_recorded_error_as_in_production(
    pytester: pytest.Pytester,
) -> None:
    """A recorded 422: in production, the user's ``raise_for_status`` hook raises httpx's
    error before the SDK reads the answer; a replay that skipped the hook would give the
    SDK's own error instead, and a test of the handling would pass on the wrong one."""
    recorded = load_cassette(CASSETTES / "v2_http_422.yaml")
    index = next(i for i, x in enumerate(recorded.interactions) if x.response.status == 422)
    target = cassette(pytester)
    target.parent.mkdir(parents=True, exist_ok=True)
    save_cassette(Cassette((recorded.interactions[index],), recorded.meta), target)
    write_project(
        pytester,
        f"""
import cohere
import httpx

REQUEST = json.loads({json.dumps(json.dumps(chat_kwargs(recorded, index)))})

def strict(response):
    response.raise_for_status()

@pytest.mark.stream_replay
def test_pickle():
    http = httpx.Client(event_hooks={{"response": [strict]}})
    co = cohere.ClientV2(api_key="user-key-0123456789", httpx_client=http)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        list(co.chat_stream(**REQUEST))
    assert raised.value.response.status_code == 422
""",
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_recording_through_a_client_given_its_own_httpx_client_runs_its_hooks_and_keeps_its_secrets_out(
    pytester: pytest.Pytester, upstream: Upstream
) -> None:
    """Recording too: the user's auth and hooks see the request that reaches the API (here
    a real local server), and what their auth adds never reaches the cassette."""
    token = "tok-user-auth-0123456789abcdef"
    write_project(
        pytester,
        f"""
import os

import cohere
import httpx

SEEN = []

def auth(request):
    request.headers["X-Client-Token"] = "{token}"
    SEEN.append("auth")
    return request

def on_response(response):
    SEEN.append(response.status_code)

@pytest.mark.stream_replay
def test_pickle():
    http = httpx.Client(auth=auth, event_hooks={{"response": [on_response]}})
    co = cohere.ClientV2(base_url=os.environ["UPSTREAM"], httpx_client=http)
    events = list(co.chat_stream(**REQUESTS["pickle"]))
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == ANSWERS["pickle"]
    assert SEEN == ["auth", 200]
""",
    )
    pytester.runpytest("-p", "no:randomly", "--stream-replay-mode=once").assert_outcomes(passed=1)
    assert upstream.hits == 1
    written = cassette(pytester).read_text()
    assert requests_in(cassette(pytester)) == ["pickle"]
    assert token not in written and KEY not in written
    assert "x-client-token" not in written.lower()


def test_a_client_given_its_own_httpx_client_refuses_once_that_client_is_closed_as_httpx_does(
    pytester: pytest.Pytester,
) -> None:
    place(cassette(pytester), "pickle", "pickle")
    write_project(
        pytester,
        """
import cohere
import httpx

@pytest.mark.stream_replay
def test_pickle():
    http = httpx.Client()
    co = cohere.ClientV2(api_key="user-key-0123456789", httpx_client=http)
    assert list(co.chat_stream(**REQUESTS["pickle"]))
    http.close()
    with pytest.raises(RuntimeError, match="client has been closed"):
        list(co.chat_stream(**REQUESTS["pickle"]))
""",
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
