#!/usr/bin/env python3
"""Conformance against software nobody here wrote, offline.

A. **langchain-cohere's own streaming integration tests** (copied unchanged from its
   repository into ``tests/thirdparty/langchain_cohere``: see the README there), in a
   virtualenv of their own (langchain-cohere 0.5.1 needs ``cohere>=5.18,<6``), run:

   1. **vcrpy**: as upstream runs them, with pytest-recording replaying the upstream
      cassettes (``--record-mode=none --block-network``);
   2. **stream_replay default**: pytest-recording disabled (``-p no:recording``), the
      upstream cassettes converted by ``stream-replay import-vcr`` into the plugin's
      default layout (``<test dir>/cassettes/<module>/<test>.yaml``), and a conftest
      that gives every ``vcr``-marked test the ``stream_replay`` marker in
      ``pytest_collection_modifyitems``;
   3. **stream_replay migration setting**, only with ``--stream-replay-options``: the
      same, the options passed into every marker (e.g. ``drift=accept``; with
      ``drift=accept,cassette={name},dir=tests/integration_tests/cassettes`` the plugin
      reads the upstream vcrpy cassettes where they are, as README's "Moving from
      pytest-recording" says, plus the folder langchain-cohere keeps them in);
   4. **the same, fast=True**, with run 3: the same options and ``fast=True``. Each test's
      report counts the events the fast path built (``fast_events``): langchain-cohere
      streams through ``cohere.Client(...).v2.chat_stream``.

   ``--marker-hook trylast`` declares that hook ``@pytest.hookimpl(trylast=True)``, so it
   runs after the plugin's own collection hook (stream_replay 499f85e sent such tests to
   the network; 0a396cf serves markers added at any point before setup).

   In the stream_replay runs a guard in that conftest refuses every connection and name
   lookup other than loopback, so a request that escapes the plugin fails saying so.

B. **litellm's Cohere provider against ``stream-replay serve``**: litellm (pinned) in a
   second virtualenv (its ``aiohttp>=3.14.2`` breaks the vcrpy 8.1.1 that upstream's lock
   pins for A), driven by ``tests/thirdparty/litellm_driver.py`` over the bundled
   cassettes: v2 and v1, sync and async, compared with what the recording holds.

C. **haystack and llama-index through the plugin**: cohere-haystack's ``CohereChatGenerator``
   and llama-index's ``Cohere`` LLM (pinned, with the cohere 5.21.1 that llama-index's
   ``cohere<6`` installs) in a third virtualenv, driven by our own tests of their streaming
   (``tests/thirdparty/frameworks``): the libraries build their own clients, every test runs
   on the SDK path and with ``fast=True`` (a parametrized ``stream_replay_config``), and each
   test's report counts the events the fast path built and the drift the plugin reported.

Usage::

    python bench/conformance.py [--json] [--venv DIR] [--litellm-venv DIR] [--frameworks-venv DIR] [--keep]
                                [--stream-replay-options 'drift=accept'] [--project-ref HEAD]

Prints a table (or with ``--json`` one JSON document) of outcome counts per run, the
first line of each failure, import-vcr's result per cassette, and litellm's results.
Needs a reachable package index for the first run (the virtualenvs are reused when
``--venv`` / ``--litellm-venv`` / ``--frameworks-venv`` point at ones this script made with
the same pins).
Exit status: 0 when every step ran (whatever the tests' outcomes), 3 when a setup step
(venv, pip, build) failed. About 3-4 minutes with new virtualenvs on 2 cores, 40-60 s
reusing them. ``tests/test_thirdparty.py`` runs it (slow).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
THIRDPARTY = REPO / "tests" / "thirdparty"
LANGCHAIN_COPY = THIRDPARTY / "langchain_cohere"
LITELLM_DRIVER = THIRDPARTY / "litellm_driver.py"
NETWORK_GUARD = THIRDPARTY / "network_guard.py"
FRAMEWORKS = THIRDPARTY / "frameworks"

#: The upstream commit the copy comes from (tests/thirdparty/langchain_cohere/README.md).
UPSTREAM_COMMIT = "6833d1746886f3cb0fdbc4c1b4a18095264c512a"

#: Venv A: langchain-cohere and what the copied tests import, pinned to upstream's
#: libs/cohere/poetry.lock at that commit where it pins them.
LANGCHAIN_PINS = {
    "langchain-cohere": "0.5.1",  # the version of that commit
    "langchain-core": "1.3.3",
    "cohere": "5.18.0",  # langchain-cohere 0.5.1: cohere>=5.18,<6
    "pytest": "8.4.2",
    "pytest-recording": "0.13.4",
    "vcrpy": "8.1.1",
    "pytest-asyncio": "0.21.2",  # the copied async tests have no marker: asyncio_mode=auto (pytest.ini)
    "langchain-classic": "1.0.0",  # react_multi_hop/test_cohere_react_agent.py: AgentExecutor
    "langchain-community": "0.4.1",  # sql_agent/test_sql_agent.py: SQLDatabase
    "sqlalchemy": "2.0.43",
    "python-dotenv": "1.2.2",  # tests/conftest.py imports dotenv
    # vcrpy 8.1.1's aiohttp stubs need aiohttp.streams.AsyncStreamReaderMixin, gone in 3.14:
    # with the aiohttp 3.14 that pip picks today every vcr test errors at setup.
    "aiohttp": "3.13.4",
}

#: Venv B: litellm. cohere is stream_replay's own dependency, pinned here for repeatability.
LITELLM_PINS = {
    "litellm": "1.110.2",
    "cohere": "7.3.1",
}

#: Venv C: two frameworks that build their own cohere clients. llama-index-llms-cohere 0.9.0
#: asks for cohere<6, so pip's choice for both is the last 5.x.
FRAMEWORK_PINS = {
    "cohere-haystack": "11.0.0",
    "haystack-ai": "3.4.1",
    "llama-index-llms-cohere": "0.9.0",
    "llama-index-core": "0.14.25",
    "cohere": "5.21.1",
    "pytest": "9.2.0",
    "pytest-asyncio": "1.5.0",
}

#: The streamed tests: those whose cassette holds a text/event-stream (v2) or an
#: application/stream+json (v1) response. Node ids in the copied project.
STREAMED_TESTS = [
    "tests/integration_tests/test_chat_models.py::test_stream",
    "tests/integration_tests/test_chat_models.py::test_astream",
    "tests/integration_tests/test_chat_models.py::test_streaming_tool_call",
    "tests/integration_tests/test_chat_models.py::test_async_streaming_tool_call",
    "tests/integration_tests/test_chat_models.py::test_astream_with_vision",
    "tests/integration_tests/test_chat_models.py::test_stream_with_vision",
    "tests/integration_tests/react_multi_hop/test_cohere_react_agent.py::test_invoke_multihop_agent",
    "tests/integration_tests/sql_agent/test_sql_agent.py::test_sql_agent",
]
MODULES = sorted({nodeid.partition("::")[0] for nodeid in STREAMED_TESTS})

#: The other tests of the copied modules, deselected (``--deselect`` matches node id
#: prefixes: none of these is a prefix of a streamed test's id).
DESELECTED = {
    "test_abatch": "no vcr marker: needs the live API",
    "test_abatch_tags": "no vcr marker: needs the live API",
    "test_batch": "no vcr marker: needs the live API",
    "test_ainvoke": "no vcr marker: needs the live API",
    "test_invoke": "not streamed (application/json)",
    "test_invoke_tool_calls": "not streamed (application/json)",
    "test_invoke_multiple_tools": "not streamed (application/json)",
    "test_streaming_tool_call_no_tool_calls": "streams, but no vcr marker and no cassette: needs the live API (xfail)",
    "test_get_num_tokens_with_specified_model": "not streamed (tokenize)",
    "test_get_num_tokens_with_default_model": "not streamed (tokenize)",
    "test_tool_call_with_tool_results": "no vcr marker: needs the live API",
    "test_cohere_with_structured_output": "not streamed (application/json), 5 parameter sets",
    "test_invoke_with_vision_url": "not streamed (application/json)",
    "test_invoke_with_vision_base64": "not streamed (application/json)",
    "test_invoke_with_multiple_images": "not streamed (application/json)",
    "test_invoke_with_text_only_list": "not streamed (application/json)",
}
DESELECT_ARGS = [f"--deselect=tests/integration_tests/test_chat_models.py::{name}" for name in DESELECTED]

#: Where langchain-cohere's conftest puts every cassette (``vcr_cassette_dir``, relative
#: to the folder pytest runs in): one flat folder, ``<test name>.yaml``, whatever the
#: test's module or folder.
UPSTREAM_CASSETTE_DIR = "tests/integration_tests/cassettes"

#: The tests of tests/thirdparty/frameworks, each once per path (its conftest's
#: parametrized ``stream_replay_config``), and the bundled cassettes they replay.
FRAMEWORK_TESTS = [
    f"tests/test_frameworks.py::{name}[{path}]"
    for name in (
        "test_haystack_streams_the_recorded_text",
        "test_haystack_with_its_own_httpx_client",
        "test_haystack_streams_asynchronously",
        "test_haystack_streams_a_tool_call",
        "test_llama_index_streams_the_recorded_text",
        "test_llama_index_astream_chat_fails_as_in_production",
        "test_llama_index_llm_built_at_import",
    )
    for path in ("sdk", "fast")
]
FRAMEWORK_CASSETTES = ["v2_text.yaml", "v2_tool_calls.yaml", "v1_text.yaml"]

#: The bundled cassettes litellm is run against.
LITELLM_CASSETTES = ["v2_text.yaml", "v2_tool_calls.yaml", "v1_text.yaml", "v1_tool_calls.yaml"]

# ---------------------------------------------------------------------------------------
# HOOK for the third run, "stream_replay migration setting": options for every test's
# stream_replay marker, e.g. {"drift": "accept"}. None: no third run. The command line
# (--stream-replay-options 'drift=accept' or '{"drift": "accept"}') overrides it.
MIGRATION_OPTIONS: dict[str, Any] | None = None
# ---------------------------------------------------------------------------------------

PIP_TIMEOUT = 600
PYTEST_TIMEOUT = 300
DRIVER_TIMEOUT = 300

#: Loaded into the copied project's pytest runs (``-p conformance_report``): one JSON
#: record per test with its outcome and the exception it raised, if any.
REPORT_PLUGIN = '''\
"""Written by bench/conformance.py: each test's outcome and exception, as JSON."""
import json
import os

import pytest

RESULTS = {}
COLLECTED = []
DESELECTED = []


def _entry(nodeid):
    return RESULTS.setdefault(
        nodeid, {"outcome": None, "phase": None, "exception": None, "message": None, "fast_events": 0}
    )


# The events stream_replay's fast path builds, per test (its one builder, wrapped).
try:
    from stream_replay.replay import fast as _fast
except ImportError:
    _fast = None
RUNNING = []
if _fast is not None:
    _build = _fast._build

    def _counted(cls, *rest):
        if RUNNING:
            _entry(RUNNING[-1])["fast_events"] += 1
        return _build(cls, *rest)

    _fast._build = _counted


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    RUNNING.append(item.nodeid)
    try:
        yield
    finally:
        RUNNING.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    entry = _entry(item.nodeid)
    if call.excinfo is not None and entry["message"] is None and not call.excinfo.errisinstance(pytest.skip.Exception):
        entry["phase"] = call.when
        entry["exception"] = call.excinfo.type.__name__
        entry["message"] = call.excinfo.exconly()[:6000]
    if report.when == "call" or report.failed or report.skipped:
        if hasattr(report, "wasxfail"):
            state = "xpassed" if report.passed else "xfailed"
        elif report.when != "call" and report.failed:
            state = "error"
        else:
            state = report.outcome
        if entry["outcome"] in (None, "passed") or state == "error":
            entry["outcome"] = state


@pytest.hookimpl(trylast=True)
def pytest_deselected(items):
    DESELECTED.extend(item.nodeid for item in items)


def pytest_collection_finish(session):
    COLLECTED.extend(item.nodeid for item in session.items)


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["CONFORMANCE_REPORT"], "w", encoding="utf-8") as out:
        json.dump(
            {"exit_status": int(exitstatus), "collected": COLLECTED, "deselected": DESELECTED, "tests": RESULTS},
            out,
            indent=1,
        )
'''

#: The conftest the stream_replay runs add at the copied project's root.
STREAM_REPLAY_CONFTEST = '''\
"""Written by bench/conformance.py for its stream_replay runs; not upstream's.

Every test that pytest-recording's ``vcr`` marker marks gets our ``stream_replay``
marker instead (pytest-recording is disabled: ``-p no:recording``), and nothing but
loopback can be reached.
"""
import pytest
from network_guard import block_network  # copied beside this conftest

#: The options of every stream_replay marker ({}: the plugin's defaults).
OPTIONS = __OPTIONS__


def pytest_configure(config):
    config.addinivalue_line("markers", "vcr: pytest-recording's marker (pytest-recording is disabled in this run)")
    block_network("conformance")


def _options(item):
    """OPTIONS, with "{name}" in a "cassette" option replaced by the test's name."""
    options = dict(OPTIONS)
    if isinstance(options.get("cassette"), str):
        options["cassette"] = options["cassette"].replace("{name}", item.name)
    return options


__HOOKIMPL__def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("vcr") is not None:
            item.add_marker(pytest.mark.stream_replay(**_options(item)))
'''


def diff_lines(lines: list[str]) -> list[str]:
    """The "Closest recorded ... (differs in: ...)" line and the field diff under it, from
    a NoMatchError's message (the block after "..., recorded -> this request:")."""
    found: list[str] = []
    in_block = False
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if "differs in" in line:
            found.append(line.strip())
        elif line.rstrip().endswith("recorded -> this request:"):
            in_block = True
        elif in_block and indent > 2 and line.strip():
            found.append(line.strip())
        else:
            in_block = False
    return found[:12]


class SetupError(RuntimeError):
    """A step that has to work for any run to mean something (venv, pip, build)."""


def log(message: str) -> None:
    print(f"conformance: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for the copied suites: no credential, no tracing, a dummy key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CO_", "COHERE_", "LANGCHAIN_", "LANGSMITH_", "PYTEST_", "STREAM_REPLAY_", "VIRTUAL_ENV"))
        and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    env.update({"CO_API_KEY": "dummy", "PYTHONDONTWRITEBYTECODE": "1", "LANGSMITH_TRACING": "false"})
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------
# building and installing


def build_wheel(project: Path, ref: str | None, work: Path) -> Path:
    """A wheel of the project: its working tree, or ``git archive <ref>`` of it."""
    source = project
    if ref is not None:
        source = work / "project-src"
        source.mkdir()
        archive = subprocess.run(["git", "-C", str(project), "archive", ref], capture_output=True, timeout=120)
        if archive.returncode != 0:
            raise SetupError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True, timeout=120)
    out = work / "wheel"
    done = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)], timeout=PIP_TIMEOUT
    )
    wheels = sorted(out.glob("stream_replay-*.whl"))
    if done.returncode != 0 or not wheels:
        raise SetupError(f"building the stream_replay wheel failed:\n{_tail(done.stdout + done.stderr)}")
    return wheels[0]


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    return sorted(line for line in metadata.splitlines() if line.startswith("Requires-Dist:"))


def ensure_venv(folder: Path, pins: dict[str, str], wheel: Path, label: str) -> Path:
    """A venv in ``folder`` with the wheel and the pins; reused when its stamp matches."""
    python = folder / "bin" / "python"
    stamp_file = folder / ".conformance-stamp"
    stamp = hashlib.sha256(json.dumps([sys.version, sorted(pins.items()), _requires(wheel)]).encode()).hexdigest()
    started = time.monotonic()
    if python.exists() and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        log(f"{label}: reusing {folder}; reinstalling stream_replay only")
        done = run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
            timeout=PIP_TIMEOUT,
        )
        if done.returncode != 0:
            raise SetupError(f"{label}: pip install {wheel.name} failed:\n{_tail(done.stdout + done.stderr)}")
        return python
    if folder.exists() and any(folder.iterdir()):
        if not stamp_file.exists():  # never delete what this script did not make
            raise SetupError(f"{label}: {folder} exists and was not made by this script: give a new or empty folder")
        shutil.rmtree(folder)
    log(f"{label}: creating {folder}")
    done = run([sys.executable, "-m", "venv", str(folder)], timeout=120)
    if done.returncode != 0:
        raise SetupError(f"{label}: python -m venv failed:\n{_tail(done.stdout + done.stderr)}")
    stamp_file.write_text("incomplete\n")  # ours, to be replaced by the stamp once installed
    requirements = [str(wheel), *(f"{name}=={version}" for name, version in pins.items())]
    log(f"{label}: pip install {' '.join(requirements[1:])} + {wheel.name}")
    done = run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--only-binary",
            ":all:",
            *requirements,
        ],
        timeout=PIP_TIMEOUT,
    )
    if done.returncode != 0:
        raise SetupError(f"{label}: pip install failed:\n{_tail(done.stdout + done.stderr)}")
    stamp_file.write_text(stamp + "\n")
    log(f"{label}: installed in {time.monotonic() - started:.0f} s")
    return python


def installed_versions(python: Path, names: list[str]) -> dict[str, str | None]:
    code = (
        "import json, sys\nfrom importlib.metadata import version, PackageNotFoundError\nout = {}\n"
        "for n in sys.argv[1:]:\n    try: out[n] = version(n)\n    except PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))"
    )
    done = run([str(python), "-c", code, *names], timeout=60)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------------------------------
# A. langchain-cohere


def copy_project(work: Path, name: str) -> Path:
    return copy_suite(LANGCHAIN_COPY, work / name)


def copy_suite(source: Path, project: Path) -> Path:
    """A copy of the test project ``source`` at ``project``, with the report plugin and
    the network guard beside its tests."""
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    (project / "conformance_report.py").write_text(REPORT_PLUGIN, encoding="utf-8")
    shutil.copyfile(NETWORK_GUARD, project / NETWORK_GUARD.name)
    return project


def run_suite(
    python: Path,
    project: Path,
    name: str,
    extra_args: list[str],
    *,
    selection: tuple[str, ...] = (*MODULES, *DESELECT_ARGS),
    expected: list[str] = STREAMED_TESTS,
) -> dict[str, Any]:
    """Run the ``selection`` of the copied project (by default langchain-cohere's streamed
    tests); the per-test report, the counts, and whether exactly ``expected`` ran."""
    report = project / f"report-{name}.json"
    cmd = [
        str(python), "-m", "pytest", "-p", "conformance_report", "-p", "no:cacheprovider", "-W", "ignore", "-q",
        *extra_args, *selection,
    ]  # fmt: skip
    # (haystack's telemetry would try to reach PostHog: the network guard refuses it anyway)
    env = clean_env(PYTHONPATH=str(project), CONFORMANCE_REPORT=str(report), HAYSTACK_TELEMETRY_ENABLED="False")
    started = time.monotonic()
    try:
        done = run(cmd, cwd=project, env=env, timeout=PYTEST_TIMEOUT)
        output = done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        output = f"timed out after {PYTEST_TIMEOUT} s\n{exc.stdout or ''}"
        done = None
    seconds = round(time.monotonic() - started, 2)
    (project / f"pytest-{name}.log").write_text(output, encoding="utf-8")
    if done is None or not report.exists():
        return {
            "ran": False, "seconds": seconds, "command": cmd, "counts": None, "tests": {},
            "problem": _tail(output), "summary": _tail(output, 1),
        }  # fmt: skip
    data = json.loads(report.read_text(encoding="utf-8"))
    tests = {}
    for nodeid, entry in data["tests"].items():
        message = entry.get("message") or ""
        lines = message.splitlines()
        entry["first_line"] = lines[0] if lines else ""
        entry["fields"] = diff_lines(lines)
        tests[nodeid] = entry
    counts = {key: 0 for key in ("passed", "failed", "xfailed", "xpassed", "errors", "skipped")}
    for entry in tests.values():
        outcome = entry["outcome"] or "error"
        counts["errors" if outcome == "error" else outcome] += 1
    return {
        "ran": True,
        "seconds": seconds,
        "command": cmd,
        "exit_status": data["exit_status"],
        "selection_ok": sorted(data["collected"]) == sorted(expected),
        "collected": data["collected"],
        "deselected": len(data["deselected"]),
        "counts": counts,
        "tests": tests,
        "summary": _tail(output, 1),
        "plugin_lines": [line for line in output.splitlines() if line.startswith("stream-replay:")],
        "drift": drift_report(output),
    }


def drift_report(output: str) -> dict[str, list[str]]:
    """The plugin's report of the requests answered despite drift: per test, the fields
    that differ (``messages[0].content: 'a' -> [...]``)."""
    found: dict[str, list[str]] = {}
    fields: list[str] | None = None
    for line in output.splitlines():
        if line.endswith("(drift accepted):"):
            fields = found.setdefault(line.split(": POST ", 1)[0], [])
        elif fields is not None and line.startswith("    ") and " -> " in line:
            fields.append(line.strip())
        else:
            fields = None
    return found


def import_cassettes(python: Path, project: Path) -> dict[str, Any]:
    """``stream-replay import-vcr`` on each streamed test's cassette, one call per file,
    placed where the plugin looks by default. The result per cassette."""
    cli = python.parent / "stream-replay"
    staging = project / "imported"
    results: dict[str, Any] = {}
    for nodeid in STREAMED_TESTS:
        module_path, _, test = nodeid.partition("::")
        source = project / UPSTREAM_CASSETTE_DIR / f"{test}.yaml"
        done = run([str(cli), "import-vcr", str(source), "-o", str(staging), "--force"], timeout=120, env=clean_env())
        converted = staging / source.name
        module = project / module_path
        target = module.parent / "cassettes" / module.stem / f"{test}.yaml"
        entry: dict[str, Any] = {
            "source": source.relative_to(project).as_posix(),
            "target": target.relative_to(project).as_posix(),
            "ok": done.returncode == 0 and converted.exists(),
        }
        out_lines = [line for line in done.stdout.splitlines() if line.strip()]
        err_lines = [line for line in done.stderr.splitlines() if line.strip()]
        if entry["ok"]:
            entry["line"] = out_lines[0].split(": ", 1)[-1] if out_lines else ""
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(converted, target)
        else:
            entry["line"] = err_lines[-1] if err_lines else f"exit status {done.returncode}"
        results[source.name] = entry
    return results


def write_stream_replay_conftest(project: Path, options: dict[str, Any], hook: str) -> None:
    hookimpl = "@pytest.hookimpl(trylast=True)\n" if hook == "trylast" else ""
    text = STREAM_REPLAY_CONFTEST.replace("__OPTIONS__", repr(options)).replace("__HOOKIMPL__", hookimpl)
    (project / "conftest.py").write_text(text, encoding="utf-8")


def section_langchain(work: Path, python: Path, args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    log("A1: vcrpy (pytest-recording, --record-mode=none --block-network)")
    project = copy_project(work, "lc-vcrpy")
    runs["vcrpy"] = run_suite(python, project, "vcrpy", ["--record-mode=none", "--block-network"])
    runs["vcrpy"]["project"] = str(project)

    log("A2: stream_replay default (-p no:recording, cassettes from import-vcr)")
    project = copy_project(work, "lc-stream-replay")
    imported = import_cassettes(python, project)
    write_stream_replay_conftest(project, {}, args.marker_hook)
    runs["stream_replay_default"] = run_suite(python, project, "default", ["-p", "no:recording"])
    runs["stream_replay_default"]["project"] = str(project)

    if args.stream_replay_options is not None:
        log(f"A3: stream_replay migration setting, marker options {args.stream_replay_options!r}")
        project = copy_project(work, "lc-stream-replay-migration")
        import_cassettes(python, project)
        write_stream_replay_conftest(project, args.stream_replay_options, args.marker_hook)
        runs["stream_replay_migration"] = run_suite(python, project, "migration", ["-p", "no:recording"])
        runs["stream_replay_migration"]["options"] = args.stream_replay_options
        runs["stream_replay_migration"]["project"] = str(project)

        fast = {**args.stream_replay_options, "fast": True}
        log(f"A4: the same with the fast path, marker options {fast!r}")
        project = copy_project(work, "lc-stream-replay-migration-fast")
        import_cassettes(python, project)
        write_stream_replay_conftest(project, fast, args.marker_hook)
        runs["stream_replay_migration_fast"] = run_suite(python, project, "migration-fast", ["-p", "no:recording"])
        runs["stream_replay_migration_fast"]["options"] = fast
        runs["stream_replay_migration_fast"]["project"] = str(project)
    return {
        "upstream_commit": UPSTREAM_COMMIT,
        "streamed_tests": STREAMED_TESTS,
        "deselected": DESELECTED,
        "marker_hook": args.marker_hook,
        "import_vcr": imported,
        "runs": runs,
    }


# ---------------------------------------------------------------------------------------
# B. litellm


def section_litellm(work: Path, python: Path) -> dict[str, Any]:
    log("B: litellm against stream-replay serve")
    out = work / "litellm.json"
    cassettes = [str(REPO / "cassettes" / name) for name in LITELLM_CASSETTES]
    started = time.monotonic()
    try:
        done = run(
            [str(python), str(LITELLM_DRIVER), *cassettes, "--out", str(out)],
            timeout=DRIVER_TIMEOUT,
            env=clean_env(LITELLM_LOCAL_MODEL_COST_MAP="True"),
            cwd=work,
        )
    except subprocess.TimeoutExpired:
        return {"ran": False, "problem": f"the driver timed out after {DRIVER_TIMEOUT} s"}
    seconds = round(time.monotonic() - started, 2)
    if done.returncode != 0 or not out.exists():
        return {"ran": False, "seconds": seconds, "problem": _tail(done.stdout + done.stderr)}
    document = json.loads(out.read_text(encoding="utf-8"))
    for case in document["cases"]:
        for request in case["requests"]:
            request.pop("sent_body", None)
    document.update(ran=True, seconds=seconds)
    return document


# ---------------------------------------------------------------------------------------
# C. haystack and llama-index


def section_frameworks(work: Path, python: Path) -> dict[str, Any]:
    log("C: haystack and llama-index through the stream_replay plugin, SDK path and fast path")
    project = copy_suite(FRAMEWORKS, work / "frameworks")
    cassettes = project / "tests" / "cassettes"
    cassettes.mkdir(parents=True, exist_ok=True)
    for name in FRAMEWORK_CASSETTES:
        shutil.copyfile(REPO / "cassettes" / name, cassettes / name)
    result = run_suite(python, project, "frameworks", [], selection=(), expected=FRAMEWORK_TESTS)
    result["project"] = str(project)
    return result


# ---------------------------------------------------------------------------------------
# output


RUN_TITLES = {
    "vcrpy": "vcrpy (pytest-recording)",
    "stream_replay_default": "stream_replay default",
    "stream_replay_migration": "stream_replay migration setting",
    "stream_replay_migration_fast": "the same, fast=True",
}
COLUMNS = ("passed", "failed", "xfailed", "xpassed", "errors", "skipped")


def short_id(nodeid: str) -> str:
    path, _, name = nodeid.partition("::")
    return f"{Path(path).name}::{name}"


def print_table(result: dict[str, Any]) -> None:
    out = sys.stdout
    lc = result.get("langchain_cohere")
    if lc is not None:
        out.write(
            f"\nA. langchain-cohere {LANGCHAIN_PINS['langchain-cohere']}: its {len(STREAMED_TESTS)} streamed "
            f"integration tests (copied from {UPSTREAM_COMMIT[:7]})\n\n"
        )
        width = max(len(t) for t in RUN_TITLES.values())
        out.write(f"  {'suite':<{width}}  " + "  ".join(f"{c:>7}" for c in COLUMNS) + "  seconds\n")
        for key, run_result in lc["runs"].items():
            title = RUN_TITLES.get(key, key)
            if run_result["counts"] is None:
                out.write(f"  {title:<{width}}  did not run: {run_result['problem'].splitlines()[-1]}\n")
                continue
            counts = run_result["counts"]
            out.write(
                f"  {title:<{width}}  "
                + "  ".join(f"{counts[c]:>7}" for c in COLUMNS)
                + f"  {run_result['seconds']:>7}\n"
            )
            if not run_result["selection_ok"]:
                out.write(
                    f"    !! collected {run_result['collected']} instead of the {len(STREAMED_TESTS)} streamed tests\n"
                )
        # per test, side by side
        keys = list(lc["runs"])
        out.write("\n  per test: " + " | ".join(RUN_TITLES.get(k, k) for k in keys) + "\n")
        for nodeid in STREAMED_TESTS:
            cells = [(lc["runs"][k]["tests"].get(nodeid) or {}).get("outcome") or "-" for k in keys]
            out.write(f"    {short_id(nodeid):<62} " + " | ".join(f"{c:<8}" for c in cells) + "\n")
        fast_run = lc["runs"].get("stream_replay_migration_fast")
        if fast_run is not None and fast_run["counts"] is not None:
            built = {short_id(n): e.get("fast_events", 0) for n, e in fast_run["tests"].items()}
            out.write("\n  events the fast path built, per test (the same, fast=True):\n")
            for name, count in built.items():
                out.write(f"    {name:<62} {count}\n")
        # failures (and what each xfail raised)
        for key in keys:
            run_result = lc["runs"][key]
            shown = [
                (nodeid, entry)
                for nodeid, entry in run_result["tests"].items()
                if entry["outcome"] in ("failed", "error", "xfailed") and entry.get("first_line")
            ]
            if not shown:
                continue
            out.write(f"\n  {RUN_TITLES.get(key, key)}: failures (and the exception behind each xfail)\n")
            for nodeid, entry in shown:
                out.write(f"    {entry['outcome']:<7} {short_id(nodeid)}\n")
                out.write(f"            {entry['first_line'][:200]}\n")
                for line in entry["fields"][:6]:
                    out.write(f"              {line[:160]}\n")
        out.write("\n  import-vcr of the copied cassettes (into the plugin's default layout):\n")
        for name, entry in lc["import_vcr"].items():
            status = "ok    " if entry["ok"] else "FAILED"
            out.write(f"    {status} {name:<40} {entry['line'][:110]}\n")
            if entry["ok"]:
                out.write(f"           -> {entry['target']}\n")
    ll = result.get("litellm")
    if ll is not None:
        out.write(f"\nB. litellm {LITELLM_PINS['litellm']} against stream-replay serve (bundled cassettes)\n\n")
        if not ll.get("ran"):
            out.write(f"  did not run: {ll.get('problem')}\n")
        else:
            for case in ll["cases"]:
                verdict = "agrees with the recording" if case["agrees"] else case["differences"][0][:150]
                missed = [r for r in case["requests"] if r["status"] == 404]
                if not case["agrees"] and missed:
                    error = case["got"]["error"]["type"]
                    verdict = f"{error} (serve: no match; body: {'; '.join(missed[0]['body_drift'])})"[:150]
                served = ", ".join(f"{r['status']}" for r in case["requests"]) or "no request"
                out.write(
                    f"  {case['cassette']:<19} {case['serving']:<18} {case['mode']:<5} {case['model']:<26} "
                    f"HTTP {served:<4} {verdict}\n"
                )
                for extra in case["differences"][1:]:
                    out.write(f"  {'':<71}{extra[:150]}\n")
            out.write("\n  request-body drift (recorded -> sent by litellm), per cassette:\n")
            seen = set()
            for case in ll["cases"]:
                if case["cassette"] in seen or case["serving"] != "as recorded":
                    continue
                seen.add(case["cassette"])
                drift = case["requests"][0]["body_drift"] if case["requests"] else ["(no request reached the server)"]
                accept = case["requests"][0]["accept"] if case["requests"] else None
                out.write(f"    {case['cassette']:<19} Accept: {accept}; body: {'; '.join(drift) or 'no drift'}\n")
                for note in case["notes"]:
                    out.write(f"    {'':<19} note: {note}\n")
    fw = result.get("frameworks")
    if fw is not None:
        out.write(
            f"\nC. cohere-haystack {FRAMEWORK_PINS['cohere-haystack']} and llama-index-llms-cohere "
            f"{FRAMEWORK_PINS['llama-index-llms-cohere']} (cohere {FRAMEWORK_PINS['cohere']}) through the "
            "stream_replay plugin\n\n"
        )
        if fw["counts"] is None:
            out.write(f"  did not run: {fw['problem'].splitlines()[-1]}\n")
        else:
            out.write(f"  {fw['summary']}\n")
            for nodeid, entry in fw["tests"].items():
                outcome = entry["outcome"] or "error"
                out.write(f"    {outcome:<7} {short_id(nodeid):<70} fast path: {entry['fast_events']}\n")
                if entry["outcome"] in ("failed", "error") and entry.get("first_line"):
                    out.write(f"            {entry['first_line'][:200]}\n")
            out.write("\n  request-body drift the plugin reported (recorded -> sent), per test:\n")
            for nodeid, fields in fw["drift"].items():
                out.write(f"    {short_id(nodeid)}: {'; '.join(fields)[:150]}\n")
    out.write(f"\nwall time: {result['wall_seconds']:.1f} s\n")


def parse_options(text: str) -> dict[str, Any]:
    """``'{"drift": "accept"}'`` or ``drift=accept,allow_repeats=true`` (values as JSON when they parse)."""
    text = text.strip()
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError("--stream-replay-options: expected a JSON object")
        return value
    options: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--stream-replay-options: {part!r} is not KEY=VALUE")
        try:
            options[key.strip()] = json.loads(raw)
        except ValueError:
            options[key.strip()] = raw.strip()
    return options


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--venv", type=Path, help="the langchain-cohere venv (made, or reused if made with these pins)")
    parser.add_argument("--litellm-venv", type=Path, help="the litellm venv (made, or reused likewise)")
    parser.add_argument("--frameworks-venv", type=Path, help="the haystack and llama-index venv (likewise)")
    parser.add_argument("--work", type=Path, help="working folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (logs, copied projects)")
    parser.add_argument("--project", type=Path, default=REPO, help="the stream_replay source to install")
    parser.add_argument("--project-ref", help="install `git archive REF` of --project instead of its working tree")
    parser.add_argument(
        "--stream-replay-options",
        type=parse_options,
        default=MIGRATION_OPTIONS,
        metavar="OPTIONS",
        help="run 3, 'stream_replay migration setting': these options in every marker "
        "('drift=accept' or a JSON object); in a 'cassette' option, {name} is the test's name "
        "(e.g. 'drift=accept,cassette={name},dir=tests/integration_tests/cassettes' replays "
        "the upstream vcrpy cassettes where they are)",
    )
    parser.add_argument(
        "--marker-hook",
        choices=("plain", "trylast"),
        default="plain",
        help="how the added conftest's pytest_collection_modifyitems is declared (default: plain, as users write it)",
    )
    parser.add_argument("--skip-langchain", action="store_true")
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--skip-frameworks", action="store_true")
    args = parser.parse_args(argv)

    started = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="stream-replay-conformance-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"work": str(work)}
    status = 0
    try:
        wheel = build_wheel(args.project.resolve(), args.project_ref, work)
        result["wheel"] = wheel.name
        result["pins"] = {
            "langchain_cohere_venv": LANGCHAIN_PINS,
            "litellm_venv": LITELLM_PINS,
            "frameworks_venv": FRAMEWORK_PINS,
        }
        if not args.skip_langchain:
            python = ensure_venv(
                args.venv or work / "venv-langchain", LANGCHAIN_PINS, wheel, "venv A (langchain-cohere)"
            )
            result["versions_langchain_venv"] = installed_versions(
                python, [*LANGCHAIN_PINS, "stream-replay", "pydantic", "httpx", "pyyaml"]
            )
            result["langchain_cohere"] = section_langchain(work, python, args)
        if not args.skip_litellm:
            python = ensure_venv(args.litellm_venv or work / "venv-litellm", LITELLM_PINS, wheel, "venv B (litellm)")
            result["versions_litellm_venv"] = installed_versions(
                python, [*LITELLM_PINS, "stream-replay", "httpx", "aiohttp", "openai"]
            )
            result["litellm"] = section_litellm(work, python)
        if not args.skip_frameworks:
            folder = args.frameworks_venv or work / "venv-frameworks"
            python = ensure_venv(folder, FRAMEWORK_PINS, wheel, "venv C (haystack, llama-index)")
            result["versions_frameworks_venv"] = installed_versions(python, [*FRAMEWORK_PINS, "stream-replay", "httpx"])
            result["frameworks"] = section_frameworks(work, python)
    except SetupError as exc:
        result["setup_error"] = str(exc)
        status = 3
    except subprocess.TimeoutExpired as exc:
        result["setup_error"] = f"timed out: {' '.join(map(str, exc.cmd))[:200]} after {exc.timeout} s"
        status = 3
    if args.keep or args.work is not None:
        log(f"working folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
        result["work"] = None
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        if "setup_error" in result:
            print(f"conformance: setup failed: {result['setup_error']}")
        print_table(result)
    return status


if __name__ == "__main__":
    sys.exit(main())
