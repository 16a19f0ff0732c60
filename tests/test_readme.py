"""The README's example test runs as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_example_test_passes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if "def test_my_chat_ui_prints_the_answer" in b)
    monkeypatch.chdir(README.parent)
    namespace: dict[str, object] = {}
    exec(compile(example, str(README), "exec"), namespace)
    test = namespace["test_my_chat_ui_prints_the_answer"]
    assert callable(test)
    test(capsys)


def _plugin_example() -> tuple[str, str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if "@pytest.mark.stream_replay\ndef test_reply" in b)
    app, test = example.split("# test_app.py\n")
    return app, test


def _project(pytester: pytest.Pytester, test: str) -> None:
    app, _ = _plugin_example()
    pytester.makepyfile(app=app, test_app=test)
    pytester.makeini("[pytest]\npythonpath = .\nasyncio_default_fixture_loop_scope = function\n")
    target = pytester.path / "cassettes" / "test_app" / "test_reply.yaml"
    target.parent.mkdir(parents=True)
    target.write_text((README.parent / "cassettes" / "v2_text.yaml").read_text())


def test_the_readme_plugin_example_replays_offline(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    _, test = _plugin_example()
    _project(pytester, test)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in result.stdout.lines


def test_the_readme_mismatch_message_is_what_pytest_prints(pytester: pytest.Pytester) -> None:
    text = README.read_text()
    shown = re.search(r"  ```\n  (NoMatchError: .*?)  ```", text, re.S)
    assert shown is not None
    expected = [line[2:] for line in ("  " + shown.group(1)).splitlines() if line.strip() and line.strip() != "..."]
    _, test = _plugin_example()
    _project(pytester, test.replace('reply("I\'m Pickle Rick")', 'reply("Hello")'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    printed = [line.rstrip() for line in result.stdout.lines]
    missing = [line for line in expected if line not in printed]
    assert missing == []


def _migration_steps() -> tuple[str, str]:
    """The ini and conftest blocks of README, 'Moving from pytest-recording', as written."""
    text = README.read_text()
    section = text[text.index("### Moving from pytest-recording") : text.index("### Keeping your vcrpy")]
    ini = re.search(r"```ini\n(.*?)```", section, re.S)
    conftest = re.search(r"```python\n(.*?)```", section, re.S)
    assert ini is not None and conftest is not None
    return textwrap.dedent(ini.group(1)), textwrap.dedent(conftest.group(1))


PYTEST_RECORDING_SUITE = """
import copy

import cohere
import pytest

REQUEST = {request}


def answer(request):
    co = cohere.ClientV2()
    return "".join(
        e.delta.message.content.text for e in co.chat_stream(**request) if e.type == "content-delta"
    )


@pytest.mark.vcr
def test_reply():
    assert answer(REQUEST).startswith("Hi there!")


@pytest.mark.vcr
def test_reply_with_a_newer_model():
    drifted = copy.deepcopy(REQUEST)
    drifted["model"] = "command-r-08-2024"
    assert answer(drifted).startswith("Hi there!")
"""


def test_the_migration_from_pytest_recording_works_word_for_word(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pytest-recording suite (vcrpy cassettes at pytest-recording's default paths) passes
    under pytest-recording, then, after the README's steps as written, through the plugin,
    with each drifted field reported for its test."""
    import json

    from stream_replay import load_cassette
    from stream_replay.vcr.exporter import export_vcr

    monkeypatch.setenv("CO_API_KEY", "dummy-key-for-the-sdk")
    cassette = load_cassette(README.parent / "cassettes" / "v2_text.yaml")
    request = {k: v for k, v in cassette.interactions[0].request.body.json.items() if k != "stream"}
    pytester.makepyfile(test_chat=PYTEST_RECORDING_SUITE.format(request=json.dumps(request)))
    for name in ("test_reply", "test_reply_with_a_newer_model"):
        export_vcr(cassette, pytester.path / "cassettes" / "test_chat" / f"{name}.yaml")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    before = pytester.runpytest("--record-mode=none", "--block-network")
    before.assert_outcomes(passed=2)  # vcrpy never compares bodies

    ini, conftest = _migration_steps()
    pytester.makeini(ini + "asyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(conftest)
    after = pytester.runpytest()
    after.assert_outcomes(passed=2)
    out = [line.rstrip() for line in after.stdout.lines]
    assert any("stream-replay: requests answered despite drift (drift=accept)" in line for line in out)
    drifted = "test_chat.py::test_reply_with_a_newer_model: POST /v2/chat was answered"
    assert any(line.startswith(drifted) for line in out)
    assert "    model: 'command-r' -> 'command-r-08-2024'" in out
    assert not any(line.startswith("test_chat.py::test_reply: ") for line in out)  # no drift, nothing said
    assert (
        "stream-replay: 2 cassettes replayed, 0 recorded, 0 unplayed interactions, 1 request answered despite drift"
        in out
    )


def test_the_readme_fault_parametrize_example_injects_each_set(pytester: pytest.Pytester) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    example = next(b for b in blocks if "@faults.parametrize(" in b)
    pytester.makepyfile(test_ui=example)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    target = pytester.path / "cassettes" / "pickle.yaml"
    target.parent.mkdir(parents=True)
    target.write_text((README.parent / "cassettes" / "v2_text.yaml").read_text())
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    out = "\n".join(result.stdout.lines)
    for case in ("disconnect@3", "http_429", "no-fault"):
        assert f"test_the_ui_apologises_exactly_when_the_stream_fails[{case}] PASSED" in out
    # each case saw its fault: the faulted ones would get the whole answer otherwise, and fail
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in out


def test_the_readme_parametrized_config_runs_each_test_on_both_paths(pytester: pytest.Pytester) -> None:
    fixture = textwrap.dedent(_block('@pytest.fixture(params=["sdk", "fast"])'))
    _, test = _plugin_example()
    _project(pytester, test)  # the test's one cassette, test_reply.yaml, as that section says
    pytester.makeconftest("import pytest\n\n" + fixture)
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_reply[[]sdk[]] PASSED*", "*test_reply[[]fast[]] PASSED*"])
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in result.stdout.lines


def test_the_table_of_contents_lists_every_section_in_order() -> None:
    text = README.read_text()
    contents = text[text.index("## Contents") : text.index("## Quick start")]
    listed = re.findall(r"^ *- \[(.+?)\]\(#([\w-]+)\)$", contents, re.M)
    headings = [h for h in re.findall(r"^#{2,3} (.+)$", text, re.M) if h != "Contents"]
    assert [title for title, _ in listed] == [h.replace("`", "") for h in headings]


def test_the_example_cassettes_named_in_the_readme_exist_where_it_says() -> None:
    from stream_replay import examples

    named = set(re.findall(r"cassettes/(v[12]_\w+)\.yaml", README.read_text()))
    assert named and named <= set(examples.names())
    assert examples.path("v2_text") == examples.folder() / "v2_text.yaml"
    with pytest.raises(FileNotFoundError, match="the examples are: v1_citations"):
        examples.path("v3_nothing")


def _block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if marker in b)


def _property_project(pytester: pytest.Pytester, test: str) -> pytest.RunResult:
    pytester.makeconftest(_block('settings.register_profile("streams"'))
    pytester.makepyfile(test_streams=test)
    return pytester.runpytest("-p", "no:cacheprovider")


def test_the_readme_chat_ui_property_test_finds_the_thinking_bug(pytester: pytest.Pytester) -> None:
    result = _property_project(pytester, _block("def test_the_ui_shows_the_answer"))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "TypeError: sequence item 0: expected str instance, NoneType found" in out
    assert '"content":{"type":"thinking","thinking":""}' in out  # the shrunk stream: thinking first


def test_the_readme_chat_ui_helper_passes_every_recorded_stream() -> None:
    """The README says the corpus never shows the bug: every real v2 stream passes."""
    from stream_replay import replay_client
    from stream_replay.strategies import expected
    from tests.support.corpus import STREAMS_DIR, have_corpus

    if not have_corpus():
        pytest.skip("the shared corpus (../shared/corpus) is not here")
    namespace: dict[str, object] = {}
    exec(compile(_block("def test_the_ui_shows_the_answer").split("@given")[0], str(README), "exec"), namespace)
    stream_chat = namespace["stream_chat"]
    from stream_replay.cassette import Body, Cassette, Interaction, Request, Response, Stream
    from stream_replay.wire import decode

    bodies = sorted(STREAMS_DIR.joinpath("v2").glob("*.sse"))
    for body in bodies:
        stream = Stream("sse", tuple(decode(body.read_bytes(), "sse")))
        request = Request("POST", "https://api.cohere.com/v2/chat", {}, Body())
        cassette = Cassette((Interaction(request, Response(200, {}, stream=stream)),))
        co = replay_client(cassette)
        shown = stream_chat(co, [{"role": "user", "content": "?"}])  # type: ignore[operator]
        assert shown == expected(cassette).text, body.name
    assert len(bodies) == 69


def test_the_readme_rag_snippet_misses_citations_and_the_tool_loop_holds(pytester: pytest.Pytester) -> None:
    from stream_replay.sdk import _union_members, event_classes

    result = _property_project(pytester, _block("def test_every_citation_reaches_the_reader"))
    out = result.stdout.str()
    assert "FAILED test_streams.py::test_every_citation_reaches_the_reader" in out
    assert "- citation-start {" in out
    [delta] = _union_members(event_classes("v2")["tool-call-delta"].model_fields["delta"].annotation)
    if "message" not in delta.model_fields:
        # as the README says: before cohere 5.13.5 the models put a tool call's delta under
        # another name, and the wire's delta.message arrives as a plain dict
        result.assert_outcomes(failed=2)
        assert "AttributeError: 'dict' object has no attribute 'tool_calls'" in out
    else:
        result.assert_outcomes(failed=1, passed=1)
