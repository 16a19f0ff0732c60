"""The pytest plugin under pytest-xdist (``-n 2``): every record mode, with a cassette
shared by tests on different workers. Slow: each run starts its workers afresh.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import pytest

from tests.support.plugin_project import Upstream, lines, requests_in, write_project

pytestmark = [pytest.mark.usefixtures("offline"), pytest.mark.slow]


XDIST_SUITE = """
@pytest.mark.stream_replay
def test_a():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]

@pytest.mark.stream_replay
def test_b():
    assert answer(REQUESTS["citations"]) == ANSWERS["citations"]

@pytest.mark.stream_replay("shared")
def test_c():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]

@pytest.mark.stream_replay("shared")
def test_d():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
"""


def test_every_mode_works_under_xdist_with_a_shared_cassette(pytester: pytest.Pytester, upstream: Upstream) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extras: pip install '.[test]'")
    write_project(pytester, XDIST_SUITE)
    folder = pytester.path / "tests" / "cassettes"
    shared = folder / "shared.yaml"

    def run(*args: str) -> list[str]:
        result = pytester.runpytest_subprocess("-n", "2", *args)
        result.assert_outcomes(passed=4)
        return lines(result)

    out = run("--stream-replay-mode=once")
    # the shared cassette is recorded once, by whichever of test_c/test_d came first;
    # the other waited and replayed it
    assert "stream-replay: 1 cassette replayed, 3 recorded (3 interactions), 0 unplayed interactions" in out
    assert requests_in(shared) == ["pickle"]
    assert upstream.hits == 3

    out = run()
    assert "stream-replay: 3 cassettes replayed, 0 recorded, 0 unplayed interactions" in out
    out = run("--stream-replay-mode=new_episodes")
    assert "stream-replay: 3 cassettes replayed, 0 recorded, 0 unplayed interactions" in out
    assert upstream.hits == 3

    out = run("--stream-replay-mode=all")
    assert "stream-replay: 0 cassettes replayed, 3 recorded (4 interactions), 0 unplayed interactions" in out
    assert requests_in(shared) == ["pickle", "pickle", "pickle"]
    assert upstream.hits == 7

    out = run("--stream-replay-mode=rewrite")
    assert "stream-replay: 1 cassette replayed, 3 recorded (3 interactions), 0 unplayed interactions" in out
    assert requests_in(shared) == ["pickle"]
    assert requests_in(folder / "test_chat" / "test_a.yaml") == ["pickle"]
    assert upstream.hits == 10
