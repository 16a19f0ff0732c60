"""``stream-replay serve`` as a process, for the tests that drive the command itself:
start it, read its lines without blocking forever, and kill what a test leaves running."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import IO

import pytest

from tests.support.corpus import ROOT


def start_cli(*args: str) -> subprocess.Popen[str]:
    """``python -m stream_replay.cli serve ARGS`` from the repository's root."""
    return subprocess.Popen(
        [sys.executable, "-m", "stream_replay.cli", "serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(stream: IO[str] | None, timeout: float = 60.0) -> str:
    """One line of ``stream``, or ``queue.Empty`` after ``timeout`` seconds."""
    assert stream is not None
    box: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: box.put(stream.readline()), daemon=True).start()
    return box.get(timeout=timeout)


@pytest.fixture
def serve_processes() -> Iterator[list[subprocess.Popen[str]]]:
    """A list to put started processes in: each still running is killed afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
