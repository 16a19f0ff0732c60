"""The pytest plugin's failures: a missing cassette and an unrecorded request fail with
the field diff and the commands that fix them, relative to where pytest runs; a
mismatch the code under test swallowed is reported at teardown, one the test failed
on is not reported twice.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import re

import pytest

from tests.support.plugin_project import PICKLE, cassette, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")


def test_none_without_a_cassette_fails_at_once_with_the_record_command(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = lines(result)
    assert (
        "MissingCassetteError: stream_replay: no cassette at tests/cassettes/test_chat/test_pickle.yaml, "
        "and mode 'none' only replays, so POST /v2/chat \"I'm Pickle Rick\" has no recorded answer." in out
    )
    assert "  How to fix: record it (with CO_API_KEY set; CO_API_URL for a local server):" in out
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=once" in out
    # where the request was made, in the user's code; not the SDK's and httpx's frames
    assert "The request was made at:" in out
    source = (pytester.path / "tests" / "test_chat.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "assert answer(" in text)
    assert f"  tests/test_chat.py:{line}: in test_pickle" in out
    assert not any("site-packages" in line for line in out)
    assert not cassette(pytester).exists()


def test_an_unrecorded_request_fails_with_the_field_diff_and_the_commands(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    answer(REQUESTS["citations"])
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = lines(result)
    assert (
        "NoMatchError: stream_replay: no recorded interaction in tests/cassettes/test_chat/test_pickle.yaml "
        "matches POST /v2/chat" in out
    )
    assert "  Closest recorded: interactions[0] POST /v2/chat (differs in: body)" in out
    assert "  body, recorded -> this request:" in out
    assert any(re.fullmatch(r"    messages\[0\]\.content: .*", line) for line in out)
    assert "  To record this request into the cassette, keeping what it holds:" in out
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=new_episodes" in out
    assert "  To record the test's cassette afresh:" in out
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=rewrite" in out


def test_the_record_command_is_relative_to_where_pytest_runs_and_keeps_the_dir(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE)
    (pytester.path / "elsewhere").mkdir()
    result = pytester.runpytest("--stream-replay-dir=elsewhere")
    out = lines(result)
    assert (
        "MissingCassetteError: stream_replay: no cassette at elsewhere/tests/test_chat/test_pickle.yaml, "
        "and mode 'none' only replays, so POST /v2/chat \"I'm Pickle Rick\" has no recorded answer." in out
    )
    assert "    pytest tests/test_chat.py::test_pickle --stream-replay-mode=once --stream-replay-dir=elsewhere" in out


def test_a_swallowed_mismatch_is_reported_again_at_teardown(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    assert answer_or_apologise(REQUESTS["citations"]) == "Sorry, something went wrong."
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    out = lines(result)
    assert "ERROR at teardown of test_pickle" in " ".join(out)
    assert (
        "stream_replay: the code under test caught the error of a request the cassette could not answer, so "
        "this test ran a path that production would not take. The error was:" in out
    )
    assert (
        "stream_replay: no recorded interaction in tests/cassettes/test_chat/test_pickle.yaml matches POST /v2/chat"
        in out
    )


def test_a_mismatch_the_test_itself_fails_on_is_not_reported_twice(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        """
@pytest.mark.stream_replay
def test_pickle():
    with pytest.raises(Exception) as caught:
        answer(REQUESTS["citations"])
    raise RuntimeError("wrapped") from caught.value
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "ERROR at teardown" not in result.stdout.str()
