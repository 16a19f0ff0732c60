"""The pytest plugin keeps nothing of a finished test: a suite of many replayed tests
holds at most the last cassette it loaded (kept while unchanged, for the next test
using it, as parametrized tests do), never one per test, and what a test built is
freed when it ends, without waiting for the cycle collector.

A pytester run of a user's project, in its own process, with the garbage collector
turned off: what a finished test left behind is then still in ``gc.get_objects()`` if
anything (pytest's items, a cache, a reference cycle) still holds it. In a suite the
collector is on; but what waits for it is promoted while the test runs and lies in the
oldest generation until a full collection, and full collections are what made a
replayed suite slower than its tests (``bench/bench_plugin.py``)."""

from __future__ import annotations

import pytest

from tests.support.plugin_project import cassette, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")

TESTS = 30


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
def test_a_suite_keeps_nothing_of_its_finished_tests(pytester: pytest.Pytester, fast: bool) -> None:
    for index in range(TESTS):
        place(cassette(pytester, f"test_{index:02d}"), "pickle")
    body = "".join(
        f"""
@pytest.mark.stream_replay
def test_{index:02d}():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
"""
        for index in range(TESTS)
    )
    write_project(
        pytester,
        f"""
import gc
import sys

@pytest.fixture
def stream_replay_config():
    return {{"fast": {fast}}}
{body}

def test_zz_after_all():
    from stream_replay.cassette.model import Cassette, Stream
    from stream_replay.plugin.session import StreamReplay

    kept = [type(o).__name__ for o in gc.get_objects() if isinstance(o, (Cassette, Stream, StreamReplay))]
    print("kept:", sorted(kept))
    assert sorted(kept) in ([], ["Cassette", "Stream"])
    # A run that only replays, without faults, loads nothing of recording or of faults.
    unused = ("stream_replay.recording", "stream_replay.replay.faults", "stream_replay.replay.faulty")
    assert sorted(m for m in sys.modules if m.startswith(unused)) == []
""",
    )
    (pytester.path / "conftest.py").write_text("import gc\n\n\ndef pytest_configure(config):\n    gc.disable()\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-s")  # its own process: its own heap
    result.assert_outcomes(passed=TESTS + 1)
    assert f"stream-replay: {TESTS} cassettes replayed, 0 recorded, 0 unplayed interactions" in lines(result)

