"""Conformance against software nobody here wrote: ``bench/conformance.py --json``.

langchain-cohere's own streaming integration tests (copied in tests/thirdparty/langchain_cohere)
under pytest-recording and under the stream_replay plugin, litellm's Cohere provider against
``stream-replay serve``, and haystack's and llama-index's Cohere components through the plugin
on both paths (tests/thirdparty/frameworks), each in a virtualenv of its own with pinned versions.
Slow (about 4 minutes the first time; the virtualenvs are kept in pytest's cache folder and reused
when their pins have not changed), and it needs the package index: without one it skips, saying so.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "bench" / "conformance.py"

#: What a network failure of pip looks like: skip, never fail, for these.
NETWORK_TROUBLE = (
    "ConnectionError",
    "ConnectTimeout",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ReadTimeoutError",
    "timed out",
)

#: Run 3: the README's migration ("Moving from pytest-recording"): every vcr test gets
#: stream_replay(<test name>, drift="accept"), reading langchain-cohere's vcrpy cassettes where
#: its conftest keeps them (one flat folder, hence the dir).
MIGRATION = "drift=accept,cassette={name},dir=tests/integration_tests/cassettes"


def _conformance() -> Any:
    spec = importlib.util.spec_from_file_location("conformance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _index_unreachable(folder: Path, requirement: str) -> str | None:
    """Why pip cannot fetch ``requirement`` (None: it can), asked with short timeouts."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
        "--timeout", "15", "--retries", "0", "--disable-pip-version-check", "-q", "-d", str(folder), requirement,
    ]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"pip download {requirement} did not answer within 120 s"
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        return f"pip download {requirement} failed: {lines[-1] if lines else done.returncode}"
    return None


def _cache(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("stream-replay-conformance")) if cache is not None else tmp_path


def _network_free(message: str | None) -> bool:
    text = message or ""
    return "network blocked" not in text and "ConnectError" not in text


@pytest.mark.slow
def test_langchain_cohere_and_litellm_conformance(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    conformance = _conformance()
    probe = f"langchain-cohere=={conformance.LANGCHAIN_PINS['langchain-cohere']}"
    reason = _index_unreachable(tmp_path / "probe", probe)
    if reason is not None:
        pytest.skip(f"no package index reachable for the conformance virtualenvs: {reason}")
    cache = _cache(request, tmp_path)
    cmd = [
        sys.executable, str(SCRIPT), "--json",
        "--venv", str(cache / "venv-langchain"), "--litellm-venv", str(cache / "venv-litellm"),
        "--frameworks-venv", str(cache / "venv-frameworks"),
        "--stream-replay-options", MIGRATION,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=2400, stdin=subprocess.DEVNULL, cwd=REPO)
    assert done.stdout.strip(), f"no JSON from {SCRIPT.name} (exit {done.returncode}):\n{done.stderr[-3000:]}"
    result = json.loads(done.stdout)
    problem = result.get("setup_error")
    if problem is not None and any(marker in problem for marker in NETWORK_TROUBLE):
        pytest.skip(f"the package index failed during setup: {problem.splitlines()[-1]}")
    assert problem is None, problem
    assert done.returncode == 0, done.stderr[-3000:]

    # A. langchain-cohere's 8 streamed integration tests
    lc = result["langchain_cohere"]
    assert all(entry["ok"] for entry in lc["import_vcr"].values()), lc["import_vcr"]
    vcrpy = lc["runs"]["vcrpy"]
    assert vcrpy["ran"] and vcrpy["selection_ok"], vcrpy.get("problem") or vcrpy.get("collected")
    expected = {"passed": 7, "failed": 0, "xfailed": 1, "xpassed": 0, "errors": 0, "skipped": 0}
    assert vcrpy["counts"] == expected, vcrpy["tests"]
    upstream_xfail = {
        nodeid: entry["exception"] for nodeid, entry in vcrpy["tests"].items() if entry["outcome"] == "xfailed"
    }

    default = lc["runs"]["stream_replay_default"]
    assert default["ran"] and default["selection_ok"], default.get("problem") or default.get("collected")
    assert sum(default["counts"].values()) == 8
    for nodeid, entry in default["tests"].items():
        # nothing escapes the plugin to the network (the conftest's guard would say so) ...
        assert _network_free(entry["message"]), f"{nodeid} went for the network:\n{entry['message']}"
        if entry["outcome"] in ("failed", "error"):
            # ... and a request the converted cassette does not hold names the fields that differ
            assert "differs in" in (entry["message"] or ""), f"{nodeid}:\n{entry['message']}"
            fields = [line for line in entry["fields"] if "differs in" not in line]
            assert fields, f"{nodeid}: no differing field named:\n{entry['message']}"

    migration = lc["runs"]["stream_replay_migration"]
    assert migration["ran"] and migration["selection_ok"], migration.get("problem")
    assert migration["counts"] == expected, migration["tests"]
    migration_xfail = {n: e["exception"] for n, e in migration["tests"].items() if e["outcome"] == "xfailed"}
    assert migration_xfail == upstream_xfail, "the xfail fails for another reason than under vcrpy"

    # ... and with fast=True: the same outcomes, every test's events built by the fast path
    # (langchain-cohere streams through cohere.Client(...).v2.chat_stream)
    fast = lc["runs"]["stream_replay_migration_fast"]
    assert fast["ran"] and fast["selection_ok"], fast.get("problem")
    assert {n: e["outcome"] for n, e in fast["tests"].items()} == {
        n: e["outcome"] for n, e in migration["tests"].items()
    }, fast["tests"]
    fast_xfail = {n: e["exception"] for n, e in fast["tests"].items() if e["outcome"] == "xfailed"}
    assert fast_xfail == upstream_xfail, "the xfail fails for another reason than under vcrpy"
    unbuilt = [n for n, e in fast["tests"].items() if not e["fast_events"]]
    assert unbuilt == [], f"the fast path built no event in {unbuilt}"
    assert all(e["fast_events"] == 0 for e in migration["tests"].values())  # the counter counts only fast=True

    # B. litellm against stream-replay serve
    litellm = result["litellm"]
    assert litellm["ran"], litellm.get("problem")
    as_recorded = [case for case in litellm["cases"] if case["serving"] == "as recorded"]
    assert len(as_recorded) == 8  # 4 cassettes, sync and async
    for case in litellm["cases"]:
        error = case["got"].get("error") or {}
        assert _network_free(error.get("message")), case
    for case in as_recorded:
        name = f"{case['cassette']} ({case['mode']})"
        if case["api"] == "v2":
            # JSON-only Accept: serve answers JSON lines, and litellm assembles what was recorded
            assert case["agrees"], f"{name}: {case['differences']}"
        elif not case["agrees"]:
            assert "differs in" in case["got"]["error"]["message"], f"{name}: {case['got']['error']}"

    # C. haystack and llama-index, building their own clients, on both paths
    frameworks = result["frameworks"]
    assert frameworks["ran"] and frameworks["selection_ok"], frameworks.get("problem") or frameworks.get("collected")
    assert frameworks["counts"]["passed"] == len(frameworks["tests"]) == 14, frameworks["tests"]
    cassettes = REPO / "cassettes"
    for nodeid, entry in frameworks["tests"].items():
        name = nodeid.split("::")[1]
        if name.endswith("[sdk]") or "astream_chat_fails" in name or "built_at_import" in name:
            # the fast path serves only clients built in the test; the astream test sends nothing
            assert entry["fast_events"] == 0, nodeid
            continue
        source = "v2_tool_calls" if "tool_call" in name else "v2_text" if "haystack" in name else "v1_text"
        # every event the SDK yields (all but v2's [DONE]) was built by the fast path
        assert entry["fast_events"] == _stream_events(cassettes / f"{source}.yaml"), nodeid
    # the libraries' requests are not the recorded ones; the plugin names what differs
    drift = {nodeid.split("::")[1]: fields for nodeid, fields in frameworks["drift"].items()}
    assert drift["test_haystack_streams_the_recorded_text[fast]"] == [
        "messages[0].content: \"I'm Pickle Rick\" -> [{'type': 'text', 'text': \"I'm Pickle Rick\"}]"
    ]
    assert drift["test_llama_index_streams_the_recorded_text[sdk]"] == ["model: (not recorded) -> 'command-r'"]


def _stream_events(path: Path) -> int:
    """How many events of the cassette's first stream the SDK yields (v2's [DONE] is not one)."""
    cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
    lines = cassette["interactions"][0]["response"]["stream"]["events"].splitlines()
    return sum(1 for line in lines if not line.endswith("[DONE]"))
