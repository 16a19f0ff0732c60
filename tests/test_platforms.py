"""Cohere on other platforms is never served by accident (issue 15): Bedrock, SageMaker and
OCI clients sign their requests and decode AWS event-stream frames in their own httpx event
hooks. Served from a /v1 or /v2 chat cassette they would take a code path production never
takes, so ``replay_client``, ``record_client`` and the pytest plugin refuse them with one
clear error that says what is not supported and why."""

from __future__ import annotations

import cohere
import pytest

from stream_replay import record_client, replay_client
from stream_replay.sdk import UnsupportedClientError
from tests.support.corpus import CASSETTES
from tests.support.plugin_project import cassette, lines, place, write_project

PLATFORM_CLIENTS = [
    getattr(cohere, name)
    for name in ("BedrockClient", "BedrockClientV2", "SagemakerClient", "SagemakerClientV2", "OciClient", "OciClientV2")
    if hasattr(cohere, name)
]


@pytest.mark.parametrize("client", PLATFORM_CLIENTS, ids=[c.__name__ for c in PLATFORM_CLIENTS])
def test_replay_client_and_record_client_refuse_other_platforms(client: type, tmp_path: object) -> None:
    with pytest.raises(UnsupportedClientError) as caught:
        replay_client(CASSETTES / "v2_text.yaml", client)
    message = str(caught.value)
    assert f"cohere.{client.__name__} is not supported" in message
    assert "code path production never takes" in message and "How to fix:" in message
    with pytest.raises(UnsupportedClientError):
        record_client(CASSETTES / "never-written.yaml", client)
    assert not (CASSETTES / "never-written.yaml").exists()


def test_a_subclass_of_a_platform_client_is_refused_too() -> None:
    platform = PLATFORM_CLIENTS[0]
    mine = type("MyBedrock", (platform,), {})
    with pytest.raises(UnsupportedClientError, match=f"cohere.{platform.__name__} is not supported"):
        replay_client(CASSETTES / "v2_text.yaml", mine)


def test_the_plugin_refuses_a_client_whose_transport_belongs_to_another_platform(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client built with an other platform's httpx client (its event hooks) before the
    test: the plugin would route its requests to the cassette, around the hooks."""
    monkeypatch.delenv("CO_API_KEY", raising=False)
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
import cohere
import cohere.aws_client
import httpx

# built at import time, as an application does, with the hooks a BedrockClient installs
PLATFORM = cohere.ClientV2(
    api_key="n/a",
    httpx_client=httpx.Client(event_hooks={"response": [cohere.aws_client.map_response_from_bedrock()]}),
)

@pytest.mark.stream_replay
def test_pickle():
    list(PLATFORM.chat_stream(**REQUESTS["pickle"]))
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = "\n".join(lines(result))
    assert "UnsupportedClientError: stream_replay: a cohere client for another platform is not supported" in out
    assert "AWS Bedrock or SageMaker" in out


def test_the_check_imports_no_platform_module() -> None:
    """Checking a Cohere platform client costs no import of the AWS or OCI modules (the
    plugin checks every client a test builds), and a subclass of a platform client,
    declared by the user, is refused like the client itself."""
    import subprocess
    import sys

    script = """
import sys
import cohere
from stream_replay.sdk import refuse_other_platform
clients = (cohere.ClientV2, cohere.AsyncClient)  # cohere 7.x imports a client's modules on first use
before = set(sys.modules)  # cohere 5.x imports its AWS modules itself; 7.x on demand
for client in clients:
    refuse_other_platform(client)
print(sorted(set(sys.modules) - before))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    from stream_replay.sdk import refuse_other_platform

    for client in PLATFORM_CLIENTS:
        mine = type("Mine", (client,), {})
        with pytest.raises(UnsupportedClientError, match=f"cohere.{client.__name__} is not supported"):
            refuse_other_platform(mine)
