"""The plugin's pure parts: the configuration resolver, cassette paths and names, the
record command, and the run's figures."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from stream_replay.plugin.claims import RunClaims
from stream_replay.plugin.paths import MAX_NAME, cassette_name, cassette_path, name_without_ids, record_command
from stream_replay.plugin.settings import MODES, ConfigError, resolve
from stream_replay.plugin.stats import RunStats, UseRecord


def test_later_layers_win_and_remember_their_source() -> None:
    settings = resolve(
        [
            ("ini", {"mode": "all", "dir": "a"}),
            ("fixture", {"mode": "once", "speed": 2}),
            ("marker", {"speed": 0.5}),
            ("cli", {"dir": "b"}),
        ]
    )
    assert (settings.mode, settings["dir"], settings["speed"], settings["fast"]) == ("once", "b", 0.5, False)
    assert [settings.source(k) for k in ("mode", "dir", "speed", "fast")] == ["fixture", "cli", "marker", "default"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"mode": "always"}, "stream_replay: here: mode='always' is not a record mode. Use one of: "),
        ({"speed": -1}, "stream_replay: here: speed=-1: expected None (instant)"),
        ({"speed": True}, "stream_replay: here: speed=True: expected None"),
        ({"speed": float("nan")}, "stream_replay: here: speed=nan: expected None"),
        ({"fast": "yes"}, "stream_replay: here: fast='yes': expected True or False."),
        ({"match_on": "body"}, "stream_replay: here: match_on='body': expected a list"),
        ({"ignore_fields": [1]}, "stream_replay: here: ignore_fields=[1]: expected a list of field paths"),
        ({"cassette": ""}, "stream_replay: here: cassette='': the path is empty."),
        (
            {"speeed": 1},
            "stream_replay: here: unknown option 'speeed'. Known options: allow_repeats, before_record, cassette,",
        ),
    ],
)
def test_a_bad_value_names_its_source_and_the_way_out(options: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve([("here", options)])
    assert str(caught.value).startswith(expected)


def test_every_mode_has_a_one_line_contract_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for mode in MODES:
        assert f"| `{mode}` |" in readme, mode


def test_names_keep_plain_ids_and_hash_the_ones_they_change() -> None:
    assert cassette_name("test_chat") == "test_chat"
    assert cassette_name("test_chat[v2-short]") == "test_chat[v2-short]"
    assert cassette_name("test_chat", "TestApi") == "TestApi.test_chat"
    changed = {cassette_name(f"test_p[{ident}]") for ident in ("a b", "a/b", "a_b", "a:b", "日本")}
    assert len(changed) == 5
    assert all(name.isascii() and "/" not in name and " " not in name for name in changed)


def test_a_name_loses_only_the_ids_at_the_positions_given() -> None:
    assert name_without_ids("test_x[sdk]", "test_x", ["sdk"], (0,)) == "test_x"
    assert name_without_ids("test_x[v2-a-fast]", "test_x", ["v2-a", "fast"], (1,)) == "test_x[v2-a]"
    assert name_without_ids("test_x[fast-v2-a]", "test_x", ["fast", "v2-a"], (0,)) == "test_x[v2-a]"
    assert name_without_ids("test_x[a-b-c]", "test_x", ["a", "b", "c"], (0, 2)) == "test_x[b]"
    # not made of the name and those ids (another plugin renamed the test): kept whole
    assert name_without_ids("test_x[renamed]", "test_x", ["sdk"], (0,)) == "test_x[renamed]"


def test_over_long_names_are_cut_with_a_hash_and_stay_unique() -> None:
    first = cassette_name("test_p[" + "x" * 300 + "1]")
    second = cassette_name("test_p[" + "x" * 300 + "2]")
    assert len(first) == len(second) == MAX_NAME
    assert first != second
    assert len((first + ".yaml").encode()) < 255


def test_default_path_is_beside_the_test_file(tmp_path: Path) -> None:
    test_file = tmp_path / "tests" / "api" / "test_chat.py"
    common = {"test_file": test_file, "rootdir": tmp_path, "node_name": "test_hi", "class_name": None}
    assert cassette_path(**common, directory=None, cassette=None) == (
        tmp_path / "tests" / "api" / "cassettes" / "test_chat" / "test_hi.yaml"
    )
    # a configured folder: the test file's path under rootdir, so two test_chat.py never share
    assert cassette_path(**common, directory=tmp_path / "rec", cassette=None) == (
        tmp_path / "rec" / "tests" / "api" / "test_chat" / "test_hi.yaml"
    )
    assert cassette_path(**common, directory=None, cassette="shared/greeting") == (
        tmp_path / "tests" / "api" / "cassettes" / "shared" / "greeting.yaml"
    )
    assert cassette_path(**common, directory=None, cassette=str(tmp_path / "x.yml")) == tmp_path / "x.yml"


def test_the_record_command_is_quoted_for_the_shell(tmp_path: Path) -> None:
    command = record_command(
        nodeid="tests/test_chat.py::test_p[a b]",
        test_file=tmp_path / "tests" / "test_chat.py",
        invocation_dir=tmp_path / "tests",
        mode="once",
        directory_option="my cassettes",
    )
    assert shlex.split(command) == [
        "pytest",
        "test_chat.py::test_p[a b]",
        "--stream-replay-mode=once",
        "--stream-replay-dir=my cassettes",
    ]


def _use(test: str, loaded: int, played: list[int], recorded: list[int] | None = None, **kw: object) -> UseRecord:
    record = UseRecord(
        cassette="c.yaml",
        test=test,
        loaded=loaded,
        played=played,
        recorded=recorded or [],
        report_unplayed=bool(kw.get("report", True)),
        requests={str(i): f"req {i}" for i in range(loaded) if i not in played},
    )
    return record


def test_an_interaction_is_unplayed_only_if_no_test_played_or_recorded_it() -> None:
    stats = RunStats()
    assert stats.summary() is None
    stats.add([_use("t1", 3, [0]), _use("t2", 3, [1])])
    assert [(c, i) for c, i, _, _ in stats.unplayed()] == [("c.yaml", 2)]
    assert stats.summary() == "stream-replay: 1 cassette replayed, 0 recorded, 1 unplayed interaction"
    stats.add([_use("t3", 2, [], recorded=[2])])  # recorded this run: not stale
    assert stats.unplayed() == []
    assert stats.summary() == "stream-replay: 1 cassette replayed, 1 recorded (1 interaction), 0 unplayed interactions"


def test_one_test_opting_out_silences_its_cassette() -> None:
    stats = RunStats()
    stats.add([_use("t1", 2, [0]), _use("t2", 2, [0], report=False)])
    assert stats.unplayed() == []


def test_a_claim_is_won_once_per_run(tmp_path: Path) -> None:
    claims = RunClaims(tmp_path / "claims")
    cassette = tmp_path / "c.yaml"
    assert not claims.claimed("once", cassette)
    assert claims.claim("once", cassette) is True
    assert claims.claim("once", cassette) is False
    assert claims.claimed("once", cassette)
    assert not claims.claimed("rewrite", cassette)


@pytest.mark.parametrize(
    ("cassette", "problem"),
    [
        ("../../outside", "must stay inside it ('..' leaves it)"),
        ("shared/../../x", "must stay inside it ('..' leaves it)"),
        ("bad\x00name", "cannot hold a NUL character"),
    ],
)
def test_a_marker_cassette_cannot_escape_the_cassette_folder(cassette: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")) as caught:
        resolve([("stream_replay marker of t.py::test_x", {"cassette": cassette})])
    assert "stream_replay marker of t.py::test_x" in str(caught.value)


def test_an_absolute_marker_cassette_is_taken_as_given(tmp_path: Path) -> None:
    chosen = tmp_path / "elsewhere" / "x.yaml"
    assert resolve([("marker", {"cassette": str(chosen)})])["cassette"] == str(chosen)


def test_a_long_marker_cassette_name_is_shortened_like_a_test_name(tmp_path: Path) -> None:
    common = {"test_file": tmp_path / "tests" / "test_a.py", "rootdir": tmp_path, "node_name": "t", "class_name": None}
    long_name = "x" * 300
    path = cassette_path(**common, directory=None, cassette=f"shared/{long_name}")  # type: ignore[arg-type]
    assert path.parent == tmp_path / "tests" / "cassettes" / "shared"
    assert path.suffix == ".yaml" and len(path.name) <= MAX_NAME + 5
    other = cassette_path(**common, directory=None, cassette=f"shared/{long_name}y")  # type: ignore[arg-type]
    assert other != path  # a hash keeps two long names apart
    path.parent.mkdir(parents=True)
    path.write_text("fits")  # the file system takes it
