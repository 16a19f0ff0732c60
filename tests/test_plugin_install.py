"""The installed plugin is loaded by every pytest run, so it must cost next to nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["cohere", "httpx", "vcr", "deepdiff", "yaml", "pydantic"]


def _modules_after(code: str) -> dict[str, bool]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {[*HEAVY, 'pytest']!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    loaded = _modules_after("import stream_replay.pytest_plugin")
    assert {m for m in HEAVY if loaded[m]} == set()


def test_importing_the_library_never_imports_pytest_or_the_sdk() -> None:
    loaded = _modules_after("import stream_replay")
    assert not loaded["pytest"]
    assert {m for m in HEAVY if loaded[m]} == set()


def test_the_plugin_is_registered_and_declares_its_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.stream_replay(cassette=None, **options):*"])


def test_every_module_opts_out_of_assertion_rewriting() -> None:
    """pytest rewrites every module of a plugin's distribution on import, and where no
    bytecode is written (PYTHONDONTWRITEBYTECODE, read-only site-packages) it does so on
    every run: about 2 s for this package. Library asserts need no rewriting."""
    import ast
    from pathlib import Path

    import stream_replay

    package = Path(stream_replay.__file__).parent
    missing = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if "PYTEST_DONT_REWRITE" not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert missing == []
