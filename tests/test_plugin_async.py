"""The pytest plugin with async tests: under pytest-asyncio (replay and record) and under anyio.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import pytest

from tests.support.plugin_project import Upstream, cassette, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")


def test_async_tests_under_pytest_asyncio_replay_and_record(pytester: pytest.Pytester, upstream: Upstream) -> None:
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
async def test_pickle():
    assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
""",
    )
    pytester.runpytest("--stream-replay-mode=once").assert_outcomes(passed=1)
    assert upstream.hits == 1
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)
    assert upstream.hits == 1


def test_async_tests_under_anyio_replay(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
@pytest.mark.stream_replay
async def test_pickle():
    assert await answer_async(REQUESTS["pickle"]) == ANSWERS["pickle"]
""",
    )
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)
