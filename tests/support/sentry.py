"""The real Sentry SDK (``sentry-sdk`` 2.75.0, MIT) as the tests use it: in a process of
its own, because its integrations patch httpx and the cohere SDK for the life of the
process (and set themselves up once per process).

``program(options)`` is the start of such a program (a test runs it with ``python -c``,
or writes it as a pytester project's conftest): it initialises Sentry with a transport
that keeps what it would send, tracing every transaction, with ``options`` added to
``sentry_sdk.init``'s arguments, and defines ``captured_spans()``: every span sent since
the last call, each a dict of what does not vary from run to run (its ``op``,
``description``, ``origin``, ``status`` and ``data`` less the thread's id and name).
``NOTES`` goes on to keep what stream_replay logs (its notes, in ``notes``); ``run``
runs such a program and gives what it printed last, as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

PROGRAM = """
import sentry_sdk
from sentry_sdk.transport import Transport
{imports}
ENVELOPES = []


class Captured(Transport):
    def capture_envelope(self, envelope):
        ENVELOPES.append(envelope)


sentry_sdk.init(dsn="http://key@127.0.0.1:9/1", transport=Captured, traces_sample_rate=1.0, {options})

STEADY = ("op", "description", "origin", "status", "data")


def captured_spans():
    sentry_sdk.flush()
    spans = []
    for envelope in ENVELOPES:
        for item in envelope.items:
            payload = item.payload.json
            if payload and payload.get("type") == "transaction":
                for span in payload["spans"]:
                    steady = {{key: span.get(key) for key in STEADY}}
                    steady["data"] = {{
                        key: value for key, value in (span.get("data") or {{}}).items() if not key.startswith("thread.")
                    }}
                    spans.append(steady)
    ENVELOPES.clear()
    return spans
"""


def program(options: str = "", imports: str = "") -> str:
    """The start of a program that traces with Sentry: ``options`` are Python keyword
    arguments added to ``sentry_sdk.init``'s (none: its default integrations, httpx's and
    cohere's among them), ``imports`` the lines they need."""
    return PROGRAM.format(options=options, imports=imports)


NOTES = """
import logging

notes = []
handler = logging.Handler()
handler.emit = lambda record: notes.append(record.getMessage())
logging.getLogger("stream_replay").addHandler(handler)
"""


def run(source: str) -> Any:
    """The JSON value a program (``program()`` and what follows) prints on its last line,
    run with this Python from the repository's root."""
    pytest.importorskip("sentry_sdk", reason="sentry-sdk is a test requirement (pyproject's test extra)")
    done = subprocess.run(
        [sys.executable, "-c", source], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
