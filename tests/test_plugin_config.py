"""The pytest plugin's configuration: the report header, where each setting came from,
precedence (ini < ``stream_replay_config`` fixture < marker < command line), a closer
marker overriding a module's key by key, and bad ini and marker values.

pytester runs of a user's project (``tests/support/plugin_project.py``) whose application
code builds its own ``cohere.ClientV2()``, against bundled real cassettes; every assertion is
on the lines pytest prints and on the files left behind."""

from __future__ import annotations

import pytest

from tests.support.plugin_project import BUILT_FIXTURE, DEFAULT_HEADER, PICKLE, lines, place, write_project

pytestmark = pytest.mark.usefixtures("offline")


def test_the_header_says_the_defaults(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE)
    result = pytester.runpytest("--collect-only")
    assert DEFAULT_HEADER in lines(result)


def test_the_header_names_where_each_setting_came_from(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE, ini="stream_replay_mode = new_episodes\nstream_replay_dir = recorded\n")
    result = pytester.runpytest("--collect-only")
    assert (
        "stream-replay: mode=new_episodes (stream_replay_mode in tox.ini), dir=recorded (stream_replay_dir in tox.ini)"
        in lines(result)
    )
    result = pytester.runpytest("--collect-only", "--stream-replay-mode=once", "--stream-replay-dir=elsewhere")
    assert "stream-replay: mode=once (--stream-replay-mode), dir=elsewhere (--stream-replay-dir)" in lines(result)


@pytest.mark.parametrize(
    ("ini", "fixture", "marker", "cli", "expected"),
    [
        (None, None, None, None, ("none", "default")),
        ("all", None, None, None, ("all", "stream_replay_mode in tox.ini")),
        ("all", "new_episodes", None, None, ("new_episodes", "stream_replay_config fixture")),
        ("all", "new_episodes", "once", None, ("once", "stream_replay marker of tests/test_chat.py::test_mode")),
        ("all", "new_episodes", "once", "rewrite", ("rewrite", "--stream-replay-mode")),
        (None, None, "once", "none", ("none", "--stream-replay-mode")),
    ],
)
def test_precedence_is_ini_then_fixture_then_marker_then_command_line(
    pytester: pytest.Pytester,
    ini: str | None,
    fixture: str | None,
    marker: str | None,
    cli: str | None,
    expected: tuple[str, str],
) -> None:
    marker_args = f"mode={marker!r}" if marker else ""
    fixture_code = (
        f"@pytest.fixture\ndef stream_replay_config():\n    return {{'mode': {fixture!r}, 'speed': 2}}\n"
        if fixture
        else ""
    )
    write_project(
        pytester,
        f"""
{fixture_code}
@pytest.mark.stream_replay({marker_args})
def test_mode(stream_replay):
    assert (stream_replay.mode, stream_replay.settings.source("mode")) == {expected!r}
""",
        ini=f"stream_replay_mode = {ini}\n" if ini else "",
    )
    result = pytester.runpytest(*([f"--stream-replay-mode={cli}"] if cli else []))
    result.assert_outcomes(passed=1)


def test_a_closer_marker_overrides_a_module_marker_key_by_key(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
pytestmark = pytest.mark.stream_replay(mode="once", speed=3)

@pytest.mark.stream_replay(speed=5)
def test_speed(stream_replay):
    assert stream_replay.mode == "once"
    assert stream_replay.settings["speed"] == 5.0
""",
    )
    pytester.runpytest().assert_outcomes(passed=1)


#: Every test of the project below once per set of options; the fast path counted per test.
PARAMETRIZED_CONFIG = (
    BUILT_FIXTURE
    + """

@pytest.fixture(params=["sdk-path", "fast"])
def stream_replay_config(request):
    return {"fast": request.param == "fast"}


def check(built, request):
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
    assert bool(built) == request.node.name.endswith("[fast]")
"""
)


def test_a_parametrized_config_fixture_runs_each_marked_test_once_per_set(pytester: pytest.Pytester) -> None:
    # A test that only carries the marker (on itself, its class or its module) gets the
    # stream_replay fixture at collection, before pytest parametrizes the fixtures it uses.
    place(pytester.path / "tests" / "cassettes" / "pickle.yaml", "pickle")
    write_project(
        pytester,
        PARAMETRIZED_CONFIG
        + """
@pytest.mark.stream_replay("pickle")
def test_marked(built, request):
    check(built, request)


@pytest.mark.stream_replay("pickle")
def test_asking_for_it_too(built, stream_replay, request):
    check(built, request)


@pytest.mark.stream_replay("pickle")
class TestMarkedClass:
    def test_method(self, built, request):
        check(built, request)

    @staticmethod
    def test_static(built, request):
        check(built, request)


class Base:
    def test_inherited(self, request):
        assert ("stream_replay" in request.fixturenames) == (type(self).__name__ == "TestMarkedSubclass")


@pytest.mark.stream_replay("pickle")
class TestMarkedSubclass(Base):
    pass


class TestPlainSubclass(Base):  # the same function, unmarked here: never served
    pass
""",
        ini="markers = other\n",
    )
    (pytester.path / "tests" / "test_module.py").write_text(
        "import pytest\nfrom test_chat import built, check, stream_replay_config\n\n"
        'pytestmark = [pytest.mark.other, pytest.mark.stream_replay("pickle")]\n\n\n'
        "def test_module_marked(built, request):\n    check(built, request)\n"
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=13)
    assert any("::TestPlainSubclass::test_inherited PASSED" in line for line in lines(result))
    tests = (
        "test_marked",
        "test_asking_for_it_too",
        "TestMarkedClass::test_method",
        "TestMarkedClass::test_static",
        "TestMarkedSubclass::test_inherited",
    )
    for name in (*tests, "test_module_marked"):
        for ids in ("sdk-path", "fast"):
            assert any(f"::{name}[{ids}] PASSED" in line for line in lines(result)), name


def test_a_bad_ini_mode_is_a_usage_error_naming_the_file(pytester: pytest.Pytester) -> None:
    write_project(pytester, PICKLE, ini="stream_replay_mode = onse\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: stream_replay: stream_replay_mode in tox.ini: mode='onse' is not a record mode. "
        "Use one of: none, once, new_episodes, all, rewrite." in result.stderr.lines
    )


def test_an_unknown_marker_option_is_named_with_the_test(pytester: pytest.Pytester) -> None:
    write_project(
        pytester,
        """
@pytest.mark.stream_replay(spead=2)
def test_typo():
    pass
""",
    )
    result = pytester.runpytest()
    assert result.ret != 0
    assert any(
        "stream_replay: stream_replay marker of tests/test_chat.py::test_typo: unknown option 'spead'." in line
        for line in result.stdout.lines + result.stderr.lines
    )
