"""The pytest plugin's matching options and where its marker may come from (issue 12).

- ``ignore_fields`` / ``ignore_patterns`` in the marker; a mismatch's "How to fix"
  names the marker options, not ``replay_client``'s;
- ``drift="accept"`` (marker, ini ``stream_replay_drift``, ``--stream-replay-drift``)
  replays a request whose body drifted and reports, per test, which fields drifted, in a
  section of its own and in the summary line: never a quiet pass;
- a marker added by a conftest's ``pytest_collection_modifyitems``, by a ``-p`` plugin's
  hook, or by ``request.applymarker`` in a fixture serves the test: no request reaches
  the network (the ``offline`` fixture leaves no key and no server to reach); one added
  in the test's body comes too late, and the run warns that it served nothing.

pytester runs of a user's project (``tests/support/plugin_project.py``) against bundled
real cassettes."""

from __future__ import annotations

import pytest

from tests.support.plugin_project import cassette, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")

#: The recorded "pickle" request ("I'm Pickle Rick"), drifted: another model name and
#: another name in the prompt (a value that varies between runs, as a date or an id does).
DRIFTED = """
import copy

def drifted():
    request = copy.deepcopy(REQUESTS["pickle"])
    request["model"] = "command-r-08-2024"
    request["messages"][0]["content"] = request["messages"][0]["content"].replace("Rick", "Morty")
    return request
"""


def test_ignore_fields_and_patterns_in_the_marker_replay_a_drifted_request(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        DRIFTED
        + """
@pytest.mark.stream_replay(ignore_fields=["model"], ignore_patterns=[r"Pickle \\w+"])
def test_pickle():
    assert answer(drifted()) == ANSWERS["pickle"]
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)


def test_the_hint_names_the_marker_options(pytester: pytest.Pytester) -> None:
    place(cassette(pytester), "pickle")
    write_project(
        pytester,
        DRIFTED
        + """
@pytest.mark.stream_replay
def test_pickle():
    answer(drifted())
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = "\n".join(lines(result))
    assert "model: 'command-r' -> 'command-r-08-2024'" in out
    assert "messages[0].content: \"I'm Pickle Rick\" -> \"I'm Pickle Morty\"" in out
    assert "give the test's stream_replay marker (or the stream_replay_config fixture) ignore_fields=[...]" in out
    assert "pass ignore_fields" not in out


@pytest.mark.parametrize(
    ("where", "ini", "args"),
    [
        ("marker", "", ()),
        ("ini", "stream_replay_drift = accept\n", ()),
        ("command line", "", ("--stream-replay-drift=accept",)),
    ],
)
def test_drift_accept_replays_and_reports_each_drifted_field_per_test(
    pytester: pytest.Pytester, where: str, ini: str, args: tuple[str, ...]
) -> None:
    place(cassette(pytester), "pickle")
    marker = '@pytest.mark.stream_replay(drift="accept")' if where == "marker" else "@pytest.mark.stream_replay"
    write_project(
        pytester,
        DRIFTED
        + f"""
{marker}
def test_pickle():
    assert answer(drifted()) == ANSWERS["pickle"]
""",
        ini=ini,
    )
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    out = lines(result)
    assert any("stream-replay: requests answered despite drift (drift=accept)" in line for line in out)
    report = "\n".join(out)
    assert (
        "tests/test_chat.py::test_pickle: POST /v2/chat was answered by interactions[0] of "
        "tests/cassettes/test_chat/test_pickle.yaml, recorded with another body (drift accepted):" in report
    )
    assert "    model: 'command-r' -> 'command-r-08-2024'" in out
    assert any(line.startswith("    messages[0].content") for line in out)
    assert (
        "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions, 1 request answered despite drift"
        in out
    )


def test_a_bad_drift_value_is_a_usage_error_naming_its_source(pytester: pytest.Pytester) -> None:
    write_project(pytester, "\ndef test_nothing():\n    pass\n", ini="stream_replay_drift = sometimes\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "stream_replay: stream_replay_drift in tox.ini: drift='sometimes': expected 'fail'" in result.stderr.str()


CONFTEST_HOOK = """
import pytest

def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("vcr"):
            item.add_marker(pytest.mark.stream_replay)
"""

PLUGIN_HOOK = """
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if item.name.startswith("test_served"):
            item.add_marker(pytest.mark.stream_replay)
"""

FIXTURE_MARKER = """
import pytest

@pytest.fixture
def served(request):
    request.applymarker(pytest.mark.stream_replay)
"""


@pytest.mark.parametrize("how", ["conftest hook", "-p plugin hook", "fixture applymarker"])
def test_a_marker_added_after_collection_serves_the_test(pytester: pytest.Pytester, how: str) -> None:
    args: tuple[str, ...] = ()
    if how == "conftest hook":
        pytester.makeconftest(CONFTEST_HOOK)
        test = '@pytest.mark.vcr\ndef test_pickle():\n    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]\n'
        ini = "markers = vcr: a pytest-recording marker\n"
        args = ("-p", "no:recording")  # moving off pytest-recording: it would load our cassette too
    elif how == "-p plugin hook":
        pytester.makepyfile(marking_plugin=PLUGIN_HOOK)
        args = ("-p", "marking_plugin")
        test = 'def test_served_pickle():\n    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]\n'
        ini = ""
    else:
        pytester.makeconftest(FIXTURE_MARKER)
        test = 'def test_pickle(served):\n    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]\n'
        ini = ""
    name = "test_served_pickle" if how == "-p plugin hook" else "test_pickle"
    place(cassette(pytester, name), "pickle")
    write_project(pytester, "\n" + test, ini=ini)
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in lines(result)
    assert "while the test ran" not in result.stdout.str()


def test_a_marker_added_in_the_test_body_is_said_to_serve_nothing(pytester: pytest.Pytester) -> None:
    # Too late: the test's fixtures are set up. Offline, its request fails; with a key it
    # would reach the API. The run says why, in the test's warnings.
    place(cassette(pytester, "test_pickle"), "pickle")
    write_project(
        pytester,
        """
def test_pickle(request):
    request.applymarker(pytest.mark.stream_replay)
    with pytest.raises(Exception) as raised:
        answer(REQUESTS["pickle"])
    assert "stream_replay" not in str(raised.value)  # not a cassette's refusal: nothing served it
""",
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*StreamReplayWarning: stream_replay: the stream_replay marker was added to "
            "tests/test_chat.py::test_pickle while the test ran, after its fixtures were set up, "
            "so no cassette served it*",
            "*How to fix: mark the test before it runs*",
        ]
    )
    assert "cassette replayed" not in result.stdout.str()
