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
