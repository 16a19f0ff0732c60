"""The README's example test runs as written."""

from __future__ import annotations

import re
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
