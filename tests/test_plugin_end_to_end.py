"""A new user, end to end: a throwaway project outside the repository, the package
installed into a fresh virtual environment with pip, application code that calls
``cohere.ClientV2().chat_stream(...)`` internally, a test for it. Run once with
``--stream-replay-mode=once`` against ``stream-replay serve`` (the installed command,
a real HTTP server on 127.0.0.1 streaming real recorded bytes at their recorded pace)
through ``CO_API_URL``; then offline, in the default mode, with no server and no key:
it passes with identical output."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import cohere
import pytest

from tests.support.corpus import CASSETTES
from tests.support.plugin_project import answer_of, source

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-end-to-end-canary-0123456789abcdef012345"

# A fresh virtual environment and a pip install: tens of seconds.
pytestmark = pytest.mark.slow

APP = """
import cohere


def reply(text):
    co = cohere.ClientV2()
    parts = []
    for event in co.chat_stream(model="command-r", messages=[{"role": "user", "content": text}]):
        if event.type == "content-delta":
            parts.append(event.delta.message.content.text)
    return "".join(parts)
"""

TEST = """
import pytest

from chat_app import reply


@pytest.mark.stream_replay
def test_reply():
    text = reply("I'm Pickle Rick")
    print("REPLY:", repr(text))
    assert "Pickle Rick" in text
"""


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _read_line(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
    box: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: box.put(stdout.readline()), daemon=True).start()
    return box.get(timeout=timeout)


def _replies(output: str) -> list[str]:
    return [line[line.index("REPLY:") :] for line in output.splitlines() if "REPLY:" in line]


EXAMPLES = "import stream_replay.examples as e; print(e.path('v2_text')); assert 'v1_tool_calls' in e.names()"

#: What pip says when it cannot reach a package index (PIP_NO_INDEX=1, no network).
_NO_INDEX = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def _no_index(stderr: str) -> bool:
    return bool(os.environ.get("PIP_NO_INDEX")) or any(marker in stderr for marker in _NO_INDEX)


def test_a_new_user_records_once_then_replays_offline(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "chat_app.py").write_text(APP)
    (project / "test_chat_app.py").write_text(TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CO_API", "PYTEST", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(project)

    venv = tmp_path / "venv"
    bin_dir = venv / "bin"
    made = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env, 300)
    assert made.returncode == 0, made.stderr
    # The SDK version this suite runs against, so the oldest-SDK CI run tests the oldest SDK.
    install = _run(
        [str(bin_dir / "pip"), "install", "-q", str(ROOT), f"cohere=={cohere.__version__}"], tmp_path, env, 900
    )
    if install.returncode != 0 and _no_index(install.stderr):
        said = [line for line in install.stderr.splitlines() if "ERROR" in line or any(m in line for m in _NO_INDEX)]
        pytest.skip(f"needs a package index to install the project's dependencies ({(said or ['pip failed'])[0]})")
    assert install.returncode == 0, install.stderr[-3000:]
    # the example cassettes the README names travel in the wheel
    examples = _run([str(bin_dir / "python"), "-c", EXAMPLES], tmp_path, env, 60)
    assert examples.returncode == 0, examples.stderr
    assert "site-packages/stream_replay/_examples/v2_text.yaml" in examples.stdout

    server = subprocess.Popen(
        [str(bin_dir / "stream-replay"), "serve", str(CASSETTES / "v2_text.yaml"), "--port", "0"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _read_line(server).split()[-1]
        assert url.startswith("http://127.0.0.1:"), url
        recording = _run(
            [str(bin_dir / "pytest"), "-s", "-p", "no:cacheprovider", "--stream-replay-mode=once"],
            project,
            {**env, "CO_API_URL": url, "CO_API_KEY": KEY},
            300,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        for pipe in (server.stdout, server.stderr):
            if pipe is not None:
                pipe.close()
    assert recording.returncode == 0, recording.stdout[-3000:] + recording.stderr[-3000:]
    summary = "stream-replay: 0 cassettes replayed, 1 recorded (1 interaction), 0 unplayed interactions"
    assert summary in recording.stdout

    cassette = project / "cassettes" / "test_chat_app" / "test_reply.yaml"
    assert cassette.exists()
    assert KEY not in cassette.read_text()

    offline = _run([str(bin_dir / "pytest"), "-s", "-p", "no:cacheprovider"], project, env, 300)
    assert offline.returncode == 0, offline.stdout[-3000:] + offline.stderr[-3000:]
    assert "stream-replay: mode=none (default), dir=cassettes/ beside each test file (default)" in offline.stdout
    assert "stream-replay: 1 cassette replayed, 0 recorded, 0 unplayed interactions" in offline.stdout
    # identical output, and it is what the API said when it was recorded
    assert _replies(offline.stdout) == _replies(recording.stdout) == [f"REPLY: {answer_of(source('pickle'), 0)!r}"]
