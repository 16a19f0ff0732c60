"""The pytest plugin (entry point ``pytest11: stream_replay``).

It is imported by every pytest run in an environment where stream_replay is
installed, so it imports nothing heavy: no cohere, httpx, vcrpy or deepdiff here.
For now it declares the ``stream_replay`` marker; fixtures and record modes build on
the library (see README).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "stream_replay(cassette=None, **options): replay Cohere streams from a stream_replay cassette",
    )
