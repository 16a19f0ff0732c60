"""Every test runs twice: through the SDK's own parse (``sdk``) and with stream_replay's
fast path (``fast``), from the same cassette. Nothing but loopback can be reached."""

from __future__ import annotations

from typing import Any

import pytest
from network_guard import block_network  # copied into the project by bench/conformance.py


def pytest_configure(config: pytest.Config) -> None:
    block_network("conformance")


@pytest.fixture(params=["sdk", "fast"])
def stream_replay_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"fast": request.param == "fast"}
