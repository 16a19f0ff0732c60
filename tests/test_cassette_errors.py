"""Every unusable cassette file fails with one error type, ``CassetteError``, that says
where (file, line, place inside the cassette), what is wrong, and how to fix it.

The bad inputs are made from the real bundled cassettes by editing their text; the
expected line numbers are found by searching that text, never taken from the code.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream_replay.cassette import MAX_CASSETTE_BYTES, load_cassette, loads_cassette
from stream_replay.errors import CassetteError

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
MID_LINE_SAMPLES = 300


# --------------------------------------------------------------------------- helpers


def real_text(name: str) -> str:
    return (CASSETTES / name).read_text(encoding="utf-8")


def write(tmp_path: Path, data: str | bytes, name: str = "cassette.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def load_error(path: Path, **kwargs: int) -> CassetteError:
    """Load ``path``, which must fail with ``CassetteError``; return the error."""
    with pytest.raises(CassetteError) as info:
        load_cassette(path, **kwargs)
    return info.value


def load_or_use_error(path: Path) -> CassetteError:
    """Load ``path`` and use every stream's events: one of the two must fail.

    Line shapes and counts are checked when the file loads; the JSON inside a line
    and v1's type column are checked when the stream is first used (see
    stream_replay/cassette/eventblock.py). Either way it is the same error.
    """
    with pytest.raises(CassetteError) as info:
        for interaction in load_cassette(path).interactions:
            if interaction.response.stream is not None:
                list(interaction.response.stream.events)
    return info.value


def assert_well_formed(err: CassetteError, path: Path) -> None:
    """The parts every error message must have: file, problem, a way out."""
    text = str(err)
    assert err.path == path
    assert text.startswith(str(path))
    if err.line is not None:
        assert text.startswith(f"{path}:{err.line}: ")
    if err.place is not None:
        assert f": {err.place}: " in text
    assert err.problem and err.problem in text
    assert err.fix, "every cassette error must say how to fix it"
    assert f"\n  How to fix: {err.fix}" in text


def interaction_starts(lines: list[str]) -> list[int]:
    """0-based indexes of the lines that start each top-level interaction."""
    return [i for i, line in enumerate(lines) if line.startswith("- request:")]


def interaction_span(lines: list[str], index: int) -> range:
    starts = interaction_starts(lines)
    end = (
        starts[index + 1]
        if index + 1 < len(starts)
        else next(i for i, line in enumerate(lines) if line.startswith("end_of_cassette:"))
    )
    return range(starts[index], end)


def find_in(lines: list[str], span: range, prefix: str) -> int:
    """0-based index of the first line in ``span`` starting with ``prefix``."""
    for i in span:
        if lines[i].startswith(prefix):
            return i
    raise AssertionError(f"no line starting {prefix!r} in lines {span.start + 1}..{span.stop}")


def event_line_index(lines: list[str], interaction: int, event: int) -> int:
    """0-based index of line ``event`` of the events block of ``interaction``."""
    header = find_in(lines, interaction_span(lines, interaction), "      events: |")
    index = header + 1 + event
    assert lines[index].startswith("        "), "the events block is shorter than expected"
    return index


def top_line(lines: list[str], prefix: str) -> int:
    """1-based number of the first line starting with ``prefix``."""
    return next(i for i, line in enumerate(lines) if line.startswith(prefix)) + 1


# --------------------------------------------------------------------------- cut files


def cut_failures(tmp_path: Path, data: bytes, cuts: list[int]) -> list[str]:
    """Load each prefix ``data[:cut]``; describe every cut whose error is wrong.

    Each prefix must fail with a ``CassetteError`` naming the file and a line that
    exists in the cut file (when it is missing its end marker: the line where the
    cut is, which is where ``end_of_cassette: true`` belongs).
    """
    failures = []
    path = tmp_path / "cut.yaml"
    for cut in cuts:
        prefix = data[:cut]
        path.write_bytes(prefix)
        cut_line = prefix.count(b"\n") + 1  # the line holding the end of the cut file
        try:
            cassette = load_cassette(path)
        except CassetteError as err:
            assert_well_formed(err, path)
            if err.line is None or not 1 <= err.line <= cut_line:
                failures.append(
                    f"cut at byte {cut} (file ends on line {cut_line}): error at line {err.line}: {err.problem}"
                )
            elif err.place == "end_of_cassette" and err.line != cut_line:
                failures.append(f"cut at byte {cut}: end marker reported at line {err.line}, not {cut_line}")
        else:
            events = [len(i.response.stream.events) for i in cassette.interactions if i.response.stream]
            failures.append(f"cut at byte {cut} LOADED as a shorter cassette with {events} events")
    return failures


@pytest.mark.parametrize("name", ["v2_text.yaml", "v1_citations.yaml"])
def test_cut_at_every_line_boundary_is_refused(tmp_path: Path, name: str) -> None:
    data = (CASSETTES / name).read_bytes()
    boundaries = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    assert boundaries[-1] == len(data), "the real cassette ends with a newline"
    cuts = boundaries[:-1]  # every prefix ending at a newline, except the whole file
    assert len(cuts) == data.count(b"\n") - 1

    failures = cut_failures(tmp_path, data, cuts)
    assert not failures, f"{len(failures)} of {len(cuts)} cuts: " + "\n".join(failures[:10])


@pytest.mark.parametrize("name", ["v2_text.yaml", "v1_citations.yaml"])
def test_cut_in_the_middle_of_a_line_is_refused(tmp_path: Path, name: str) -> None:
    data = (CASSETTES / name).read_bytes()
    # Positions inside a line; the last byte (the final newline) is left out, since
    # dropping only that leaves the whole content in place.
    inside = [p for p in range(1, len(data) - 1) if data[p - 1] != ord("\n")]
    cuts = sorted(random.Random(f"cuts:{name}").sample(inside, MID_LINE_SAMPLES))
    assert len(cuts) == MID_LINE_SAMPLES

    failures = cut_failures(tmp_path, data, cuts)
    assert not failures, f"{len(failures)} of {len(cuts)} cuts: " + "\n".join(failures[:10])


# --------------------------------------------------------------------------- not a text file


@pytest.mark.parametrize("data", [b"", b"  \n\n\t\n   ", b"\n"], ids=["empty", "whitespace", "one-newline"])
def test_empty_file_is_not_an_empty_cassette(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path, data)
    err = load_error(path)
    assert_well_formed(err, path)
    assert "empty" in err.problem
    assert err.line is None  # there is no line to point at
    assert err.place is None


def test_png_header_is_refused_as_binary(tmp_path: Path) -> None:
    # The PNG signature holds "\r\n" and "\n" before its first NUL, which is on line 3.
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"
    path = write(tmp_path, png, "picture.yaml")
    err = load_error(path)
    assert_well_formed(err, path)
    assert "binary" in err.problem
    assert f"offset {png.index(0)}" in err.problem
    assert err.line == 3


def test_nul_byte_inside_a_real_cassette_names_its_line(tmp_path: Path) -> None:
    lines = real_text("v2_text.yaml").split("\n")
    target = top_line(lines, "recorded_at:")
    lines[target - 1] += "\x00"
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert "binary" in err.problem
    assert err.line == target


def test_non_utf8_bytes_name_the_byte_and_line(tmp_path: Path) -> None:
    text = real_text("v2_text.yaml")
    target = next(i for i, line in enumerate(text.split("\n")) if "Pickle Rick" in line) + 1
    data = text.encode().replace(b"Pickle Rick", b"Pickle R\xe9ck", 1)  # Latin-1, not UTF-8
    bad_offset = data.index(b"\xe9")
    path = write(tmp_path, data)
    err = load_error(path)
    assert_well_formed(err, path)
    assert "not UTF-8" in err.problem
    assert "0xe9" in err.problem
    assert f"offset {bad_offset}" in err.problem
    assert err.line == target


# --------------------------------------------------------------------------- wrong kind of file


@pytest.mark.parametrize(
    ("replacement", "found"),
    [("version: 2", "version 2"), ("version: '1'", "version '1'"), ("version: true", "version True")],
    ids=["2", "string-1", "bool"],
)
def test_wrong_version_is_never_guessed(tmp_path: Path, replacement: str, found: str) -> None:
    lines = real_text("v2_text.yaml").split("\n")
    target = top_line(lines, "version: 1")
    lines[target - 1] = replacement
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == "version"
    assert err.line == target
    assert found in err.problem
    assert "version 1" in err.problem  # the version this stream_replay reads


def test_missing_version_points_at_the_top_mapping(tmp_path: Path) -> None:
    lines = [line for line in real_text("v2_text.yaml").split("\n") if line != "version: 1"]
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == "version"
    assert "no version" in err.problem
    assert err.line == top_line(lines, "format:")  # the mapping that lacks the key


def test_wrong_format_name(tmp_path: Path) -> None:
    lines = real_text("v2_text.yaml").split("\n")
    target = top_line(lines, "format: stream-replay-cassette")
    lines[target - 1] = "format: some-other-cassette"
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == "format"
    assert err.line == target
    assert "'some-other-cassette'" in err.problem
    assert "'stream-replay-cassette'" in err.problem


def test_missing_format(tmp_path: Path) -> None:
    lines = [line for line in real_text("v2_text.yaml").split("\n") if line != "format: stream-replay-cassette"]
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == "format"
    assert "no 'format' key" in err.problem
    assert "format: stream-replay-cassette" in err.problem
    assert err.line == top_line(lines, "version:")  # where the top mapping now starts


VCRPY_CASSETTE = """\
interactions:
- request:
    body: '{"message":"hi","stream":true}'
    headers:
      content-type:
      - application/json
    method: POST
    uri: https://api.cohere.com/v1/chat
  response:
    body:
      string: '{"event_type":"stream-start"}'
    headers: {}
    status:
      code: 200
      message: OK
version: 1
"""


def test_vcrpy_cassette_points_to_the_importer(tmp_path: Path) -> None:
    path = write(tmp_path, VCRPY_CASSETTE, "test_chat.yaml")
    err = load_error(path)
    assert_well_formed(err, path)
    assert "vcrpy" in err.problem
    assert err.fix is not None
    assert "stream-replay import-vcr" in err.fix
    assert str(path) in err.fix  # the command can be pasted as it is
    assert err.line == 1


@pytest.mark.parametrize(
    "data",
    ["- one\n- two\n", "just a string\n"],
    ids=["list", "scalar"],
)
def test_top_level_that_is_not_a_mapping(tmp_path: Path, data: str) -> None:
    path = write(tmp_path, data)
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.line == 1
    assert "stream-replay-cassette" in err.problem
    assert "list" in err.problem or "text" in err.problem


def test_a_file_of_only_comments_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "# only a comment\n\n")
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.line == 1
    assert "only comments" in err.problem


def test_a_size_limit_that_is_not_a_number_is_an_error_not_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, real_text("v2_text.yaml"))
    monkeypatch.setenv("STREAM_REPLAY_MAX_CASSETTE_BYTES", "64MB")
    with pytest.raises(CassetteError, match="STREAM_REPLAY_MAX_CASSETTE_BYTES='64MB'"):
        load_cassette(path)


# --------------------------------------------------------------------------- missing keys


def _remove(lines: list[str], interaction: int, prefix: str) -> list[str]:
    index = find_in(lines, interaction_span(lines, interaction), prefix)
    return lines[:index] + lines[index + 1 :]


def _remove_events(lines: list[str], interaction: int) -> list[str]:
    header = find_in(lines, interaction_span(lines, interaction), "      events: |")
    end = header + 1
    while end < len(lines) and lines[end].startswith("        "):
        end += 1
    return lines[:header] + lines[end:]


def _remove_request(lines: list[str], interaction: int) -> list[str]:
    span = interaction_span(lines, interaction)
    response = find_in(lines, span, "  response:")
    return [*lines[: span.start], "- response:", *lines[response + 1 :]]


# (cassette, interaction, key to remove, place of the error, the line it must point at: a prefix
# searched for within that interaction after the edit)
MISSING_KEYS = [
    ("v2_text.yaml", 0, "status", "interactions[0].response", "  response:"),
    ("v1_citations.yaml", 2, "status", "interactions[2].response", "  response:"),
    ("v1_citations.yaml", 0, "status", "interactions[0].response", "  response:"),
    ("v2_text.yaml", 0, "method", "interactions[0].request", "- request:"),
    ("v1_citations.yaml", 1, "method", "interactions[1].request", "- request:"),
    ("v1_citations.yaml", 1, "url", "interactions[1].request", "- request:"),
    ("v2_text.yaml", 0, "event_count", "interactions[0].response.stream", "    stream:"),
    ("v1_citations.yaml", 2, "event_count", "interactions[2].response.stream", "    stream:"),
    ("v2_text.yaml", 0, "events", "interactions[0].response.stream", "    stream:"),
    ("v1_citations.yaml", 1, "events", "interactions[1].response.stream", "    stream:"),
    ("v1_citations.yaml", 2, "outcome", "interactions[2].response.stream", "    stream:"),
    ("v2_text.yaml", 0, "request", "interactions[0]", "- response:"),
    ("v1_citations.yaml", 1, "request", "interactions[1]", "- response:"),
]


@pytest.mark.parametrize(
    ("name", "interaction", "key", "place", "line_prefix"),
    MISSING_KEYS,
    ids=[f"{n.split('.')[0]}-{i}-{k}" for n, i, k, _, _ in MISSING_KEYS],
)
def test_missing_key_names_its_place(
    tmp_path: Path, name: str, interaction: int, key: str, place: str, line_prefix: str
) -> None:
    lines = real_text(name).split("\n")
    if key == "events":
        edited = _remove_events(lines, interaction)
    elif key == "request":
        edited = _remove_request(lines, interaction)
    else:
        indent = {"status": 4, "method": 4, "url": 4}.get(key, 6)
        edited = _remove(lines, interaction, " " * indent + f"{key}:")
    assert len(edited) < len(lines)

    path = write(tmp_path, "\n".join(edited))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == place
    assert f"missing key {key!r}" in err.problem
    # the line of the mapping that lacks the key, within the same interaction
    starts = [i for i, line in enumerate(edited) if line.startswith(("- request:", "- response:"))]
    span = range(starts[interaction], len(edited))
    assert err.line == find_in(edited, span, line_prefix) + 1


@pytest.mark.parametrize(
    ("name", "interaction", "delta"),
    [("v2_text.yaml", 0, -1), ("v2_text.yaml", 0, 1), ("v1_citations.yaml", 2, -1), ("v1_citations.yaml", 1, 5)],
)
def test_event_count_mismatch(tmp_path: Path, name: str, interaction: int, delta: int) -> None:
    lines = real_text(name).split("\n")
    span = interaction_span(lines, interaction)
    count_line = find_in(lines, span, "      event_count: ")
    real_count = int(lines[count_line].split(":")[1])
    header = find_in(lines, span, "      events: |")
    block = []
    for line in lines[header + 1 :]:
        if not line.startswith("        "):
            break
        block.append(line)
    assert len(block) == real_count  # the real file agrees with itself

    lines[count_line] = f"      event_count: {real_count + delta}"
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == f"interactions[{interaction}].response.stream.events"
    assert err.line == header + 1
    assert f"holds {real_count} events" in err.problem
    assert f"event_count says {real_count + delta}" in err.problem


# --------------------------------------------------------------------------- bad event lines


def _bad_offset(line: str) -> str:
    _, kind, payload = line.strip().split(" ", 2)
    return f"        abc {kind} {payload}"


def _negative_offset(line: str) -> str:
    _, kind, payload = line.strip().split(" ", 2)
    return f"        -0.5000 {kind} {payload}"


def _missing_payload(line: str) -> str:
    offset, kind, _ = line.strip().split(" ", 2)
    return f"        {offset} {kind}"


def _not_json(line: str) -> str:
    offset, kind, _ = line.strip().split(" ", 2)
    return f"        {offset} {kind} hello world"


def _truncated_json(line: str) -> str:
    offset, kind, payload = line.strip().split(" ", 2)
    return f"        {offset} {kind} {payload[:-3]}"  # starts with "{" but its end is gone


def _broken_raw(line: str) -> str:
    offset, kind, _ = line.strip().split(" ", 2)
    return f'        {offset} {kind} "event: {kind}\\ndata: {{}}'  # no closing quote


def _timed(line: str) -> str:
    _, kind, payload = line.strip().split(" ", 2)
    return f"        0.0500 {kind} {payload}"


def _just_a_word(line: str) -> str:
    return "        garbage"


BAD_LINES = {
    "bad-offset": (_bad_offset, "offset 'abc'"),
    "negative-offset": (_negative_offset, "offset '-0.5000'"),
    "missing-payload": (_missing_payload, "has no payload"),
    "not-json": (_not_json, "neither JSON"),
    "truncated-json": (_truncated_json, "JSON"),
    "broken-raw-string": (_broken_raw, "not a valid JSON string"),
    "timed-among-untimed": (_timed, "some events have a time offset"),
    "one-word": (_just_a_word, "cannot read event line"),
}


@pytest.mark.parametrize(("name", "interaction", "event"), [("v2_text.yaml", 0, 14), ("v1_citations.yaml", 2, 9)])
@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_malformed_event_line_names_event_and_file_line(
    tmp_path: Path, name: str, interaction: int, event: int, kind: str
) -> None:
    edit, words = BAD_LINES[kind]
    lines = real_text(name).split("\n")
    index = event_line_index(lines, interaction, event)
    lines[index] = edit(lines[index])
    path = write(tmp_path, "\n".join(lines))

    err = load_or_use_error(path)
    assert_well_formed(err, path)
    assert err.place == f"interactions[{interaction}].response.stream.events[{event}]"
    assert err.line == index + 1
    assert words in err.problem


def test_timed_first_line_then_untimed_blames_the_second(tmp_path: Path) -> None:
    lines = real_text("v2_text.yaml").split("\n")
    first = event_line_index(lines, 0, 0)
    lines[first] = _timed(lines[first])
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == "interactions[0].response.stream.events[1]"
    assert err.line == first + 2


def test_v1_type_column_must_match_event_type(tmp_path: Path) -> None:
    lines = real_text("v1_citations.yaml").split("\n")
    index = event_line_index(lines, 1, 3)
    offset, kind, payload = lines[index].strip().split(" ", 2)
    assert kind == "tool-calls-chunk"
    lines[index] = f"        {offset} text-generation {payload}"
    path = write(tmp_path, "\n".join(lines))
    err = load_or_use_error(path)
    assert_well_formed(err, path)
    assert err.place == "interactions[1].response.stream.events[3]"
    assert err.line == index + 1
    assert "'text-generation'" in err.problem


# --------------------------------------------------------------------------- unsafe YAML


def _os_system_tag(marker: Path) -> str:
    return f'!!python/object/apply:os.system ["echo hacked > {marker}"]'


TAGS = {
    "apply-os-system": (_os_system_tag, "python/object/apply:os.system"),
    "name-os-system": (lambda marker: "!!python/name:os.system", "python/name:os.system"),
    "object-main-x": (lambda marker: "!!python/object:__main__.X {}", "python/object:__main__.X"),
}
# Where the tag goes: (line prefix in v2_text.yaml, the text the value replaces)
TAG_SPOTS = {
    "meta": ("cohere_version: ", "5.11.4"),
    "status": ("    status: ", "200"),
    "header": ("      accept: ", "'*/*'"),
}


@pytest.mark.parametrize("spot", list(TAG_SPOTS))
@pytest.mark.parametrize("tag", list(TAGS))
def test_unsafe_yaml_tag_is_refused_and_never_run(tmp_path: Path, tag: str, spot: str) -> None:
    marker = tmp_path / "hacked.txt"
    make_tag, tag_name = TAGS[tag]
    prefix, value = TAG_SPOTS[spot]
    lines = real_text("v2_text.yaml").split("\n")
    target = top_line(lines, prefix)
    assert lines[target - 1] == prefix + value
    lines[target - 1] = prefix + make_tag(marker)
    path = write(tmp_path, "\n".join(lines))

    err = load_error(path)
    assert_well_formed(err, path)
    assert tag_name in err.problem
    assert "tag" in err.problem
    assert err.line == target
    assert not marker.exists(), "the YAML payload was executed"


def test_the_os_system_payload_is_live_under_an_unsafe_loader(tmp_path: Path) -> None:
    """Control for the test above: the same payload does run when a loader allows it,
    so 'the marker does not exist' there proves something."""
    marker = tmp_path / "hacked.txt"
    yaml.unsafe_load(f"value: {_os_system_tag(marker)}\n")
    assert marker.read_text().strip() == "hacked"


# --------------------------------------------------------------------------- size limit


def test_huge_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_REPLAY_MAX_CASSETTE_BYTES", raising=False)
    size = 100 * 1024 * 1024
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(b"format: stream-replay-cassette\nversion: 1\ninteractions: []\n")
        handle.truncate(size)  # sparse: no 100 MB actually written
    assert path.stat().st_size == size

    def no_reading(self: Path) -> bytes:
        raise AssertionError(f"{self} was read although it is over the limit")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    err = load_error(path)
    assert_well_formed(err, path)
    assert f"{size:,} bytes" in err.problem
    assert f"{MAX_CASSETTE_BYTES:,}-byte limit" in err.problem
    assert MAX_CASSETTE_BYTES == 64 * 1024 * 1024
    assert err.fix is not None
    assert "STREAM_REPLAY_MAX_CASSETTE_BYTES" in err.fix
    assert "max_bytes=" in err.fix


def test_max_bytes_is_an_inclusive_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAM_REPLAY_MAX_CASSETTE_BYTES", raising=False)
    path = write(tmp_path, (CASSETTES / "v2_text.yaml").read_bytes())
    size = path.stat().st_size

    assert len(load_cassette(path, max_bytes=size + 1).interactions) == 1  # just under
    assert len(load_cassette(path, max_bytes=size).interactions) == 1  # exactly at it
    err = load_error(path, max_bytes=size - 1)  # just over
    assert_well_formed(err, path)
    assert f"{size:,} bytes" in err.problem
    assert f"{size - 1:,}-byte limit" in err.problem


def test_size_limit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, (CASSETTES / "v1_text.yaml").read_bytes())
    size = path.stat().st_size

    monkeypatch.setenv("STREAM_REPLAY_MAX_CASSETTE_BYTES", str(size - 1))
    err = load_error(path)
    assert_well_formed(err, path)
    assert f"{size - 1:,}-byte limit" in err.problem

    monkeypatch.setenv("STREAM_REPLAY_MAX_CASSETTE_BYTES", str(size))
    assert len(load_cassette(path).interactions) == 1
    # max_bytes= wins over the environment
    assert len(load_cassette(path, max_bytes=size + 10).interactions) == 1
    monkeypatch.setenv("STREAM_REPLAY_MAX_CASSETTE_BYTES", str(size + 10))
    assert isinstance(load_error(path, max_bytes=size - 1), CassetteError)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "never_recorded.yaml"
    err = load_error(path)
    assert_well_formed(err, path)
    assert "no such cassette file" in err.problem


# --------------------------------------------------------------------------- YAML syntax


# Errors that PyYAML notices a line after the mistake: the line of the mistake is
# the one a user has to repair.
MISTAKE_BEFORE_NOTICE = {
    "unclosed-bracket": ("      x-endpoint-monthly-call-limit: '1000'", "      x-endpoint-monthly-call-limit: [1000"),
    "key-without-colon": ("version: 1", "version 1"),
}


@pytest.mark.parametrize("case", list(MISTAKE_BEFORE_NOTICE))
def test_yaml_error_names_the_line_of_the_mistake(tmp_path: Path, case: str) -> None:
    prefix, replacement = MISTAKE_BEFORE_NOTICE[case]
    lines = real_text("v2_text.yaml").split("\n")
    target = top_line(lines, prefix)
    lines[target - 1] = replacement
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert "not valid YAML" in err.problem
    assert err.line == target, f"the mistake is on line {target}; the error says line {err.line}"


@pytest.mark.parametrize(
    ("prefix", "replacement"),
    [
        ("    status: 200", "    status: 200: 201"),
        ("    status: 200", "\tstatus: 200"),
        ("version: 1", "version: @1"),
        ("version: 1", "version: *nowhere"),
    ],
    ids=["mapping-in-value", "tab-indent", "reserved-character", "undefined-alias"],
)
def test_yaml_syntax_error_names_its_line(tmp_path: Path, prefix: str, replacement: str) -> None:
    lines = real_text("v2_text.yaml").split("\n")
    target = top_line(lines, prefix)
    lines[target - 1] = replacement
    path = write(tmp_path, "\n".join(lines))
    err = load_error(path)
    assert_well_formed(err, path)
    assert "not valid YAML" in err.problem
    assert err.line == target


# --------------------------------------------------------------------------- in memory


def test_in_memory_text_errors_say_so() -> None:
    text = real_text("v2_text.yaml").replace("version: 1\n", "version: 2\n")
    with pytest.raises(CassetteError) as info:
        loads_cassette(text)
    err = info.value
    assert err.path is None
    assert str(err).startswith("<cassette>:")
    assert err.place == "version"


def replay_with_event_14(tmp_path: Path, edit: Callable[[str], str], fast: bool, seen: list[Any]) -> None:
    """Replay ``v2_text.yaml`` with its event 14's line edited, through ``replay_client``,
    into ``seen``; raises what the replay raises."""
    import json

    from stream_replay import replay_client

    lines = real_text("v2_text.yaml").split("\n")
    index = event_line_index(lines, 0, 14)
    lines[index] = edit(lines[index])
    cassette = load_cassette(write(tmp_path, "\n".join(lines)))
    body = json.loads(json.dumps(cassette.interactions[0].request.body.json))
    body.pop("stream")
    for event in replay_client(cassette, fast=fast).chat_stream(**body):
        seen.append(event)


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
def test_a_broken_payload_fails_the_replay_before_any_event_arrives(tmp_path: Path, fast: bool) -> None:
    seen: list[Any] = []
    with pytest.raises(CassetteError) as info:
        replay_with_event_14(tmp_path, lambda line: line[: line.rindex("}")], fast, seen)  # cut the closing brace
    assert seen == []
    assert info.value.line == event_line_index(real_text("v2_text.yaml").split("\n"), 0, 14) + 1
    assert info.value.place == "interactions[0].response.stream.events[14]"
    assert "not valid JSON" in info.value.problem


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
@pytest.mark.parametrize(
    ("depth", "refused"),
    [(63, False), (64, True), (200, True)],
    ids=["64-levels", "65-levels", "201-levels"],
)
def test_a_payload_nesting_deeper_than_64_levels_fails_the_replay(
    tmp_path: Path, fast: bool, depth: int, refused: bool
) -> None:
    """A payload that nests deeper than real events can (64 levels, the event's own
    object included) is refused with its line before any event arrives, on both paths;
    one that nests exactly 64 levels is replayed. Brackets inside strings do not count."""
    import json

    deep = json.loads("[" * depth + "]" * depth)

    def nest(line: str) -> str:
        prefix, payload = line.split(" {", 1)
        event = json.loads("{" + payload)
        event["quoted"] = "{[" * 100  # in a string: no nesting
        event["deep"] = deep
        return prefix + " " + json.dumps(event, separators=(",", ":"))

    seen: list[Any] = []
    if not refused:
        replay_with_event_14(tmp_path, nest, fast, seen)
        assert seen[14].model_dump()["deep"] == deep
        return
    with pytest.raises(CassetteError) as info:
        replay_with_event_14(tmp_path, nest, fast, seen)
    assert seen == []
    assert info.value.line == event_line_index(real_text("v2_text.yaml").split("\n"), 0, 14) + 1
    assert info.value.place == "interactions[0].response.stream.events[14]"
    assert "deeper than 64 levels" in info.value.problem


@pytest.mark.parametrize("fast", [False, True], ids=["sdk-path", "fast-path"])
def test_the_shortest_payload_nesting_deeper_than_64_levels_is_refused(tmp_path: Path, fast: bool) -> None:
    """The depth check passes over payloads too short to nest that deep (most events):
    the shortest JSON object that nests 65 levels (133 characters) is still refused,
    and the one a level shallower is read as it is."""
    from stream_replay.cassette.lines import parse_block

    def shortest(levels: int) -> str:
        return '{"":' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    assert len(shortest(65)) == 133
    assert [e.data for e in parse_block(f"- content-delta {shortest(64)}\n", ndjson=False)] == [shortest(64)]
    seen: list[Any] = []
    with pytest.raises(CassetteError) as info:
        replay_with_event_14(tmp_path, lambda line: line[: line.index(" {") + 1] + shortest(65), fast, seen)
    assert seen == []
    assert info.value.place == "interactions[0].response.stream.events[14]"
    assert "deeper than 64 levels" in info.value.problem


BAD_HEADERS = [
    ('"x a": v', "interactions[0].response.headers", "'x a' is not an HTTP header name"),
    ('"x-a\\nx-b": v', "interactions[0].response.headers", "'x-a\\nx-b' is not an HTTP header name"),
    ('x-a: "a\\x01b"', "interactions[0].response.headers.x-a", "line break or another control character"),
    ('x-a: "a\\nx-b: c"', "interactions[0].response.headers.x-a", "line break or another control character"),
    ("x-a: [v]", "interactions[0].response.headers.x-a", "a header value must be text"),
    ("x-a: true", "interactions[0].response.headers.x-a", "a header value must be text"),
]


@pytest.mark.parametrize(("line", "place", "problem"), BAD_HEADERS, ids=[b[0] for b in BAD_HEADERS])
def test_a_recorded_header_that_http_cannot_carry_is_refused_at_load(
    tmp_path: Path, line: str, place: str, problem: str
) -> None:
    """A header name that is not an HTTP token, or a value with a control character (which
    could inject a header) or that is not text, is refused naming its place; among
    headers that are all well formed."""
    text = real_text("v2_text.yaml")
    anchor = "      x-debug-trace-id: "
    assert text.count(anchor) == 1
    path = write(tmp_path, text.replace(anchor, f"      {line}\n{anchor}"))
    err = load_error(path)
    assert_well_formed(err, path)
    assert err.place == place
    assert problem in err.problem


def test_recorded_headers_are_read_as_text_with_lowercase_names(tmp_path: Path) -> None:
    """Names are lowercased; a number the YAML gives unquoted is its text."""
    text = real_text("v2_text.yaml")
    anchor = "      x-debug-trace-id: "
    path = write(tmp_path, text.replace(anchor, f"      X-Upper: Value\n      x-count: 5\n{anchor}"))
    headers = load_cassette(path).interactions[0].response.headers
    assert headers["x-upper"] == "Value" and headers["x-count"] == "5"
    assert "X-Upper" not in headers
    path = write(tmp_path, text.replace(anchor, f"      X-Upper: Value\n{anchor}"))
    headers = load_cassette(path).interactions[0].response.headers
    assert headers["x-upper"] == "Value" and "X-Upper" not in headers
