"""Project-wide pytest configuration: say which SDK and which data the run uses."""

from __future__ import annotations

from collections.abc import Iterator

# pytester's in-process runs snapshot sys.modules and drop what was imported during
# them. httpx imports httpcore on first use and keeps a map of its exception classes:
# if that first use fell inside such a run, httpcore would be imported again afterwards,
# with new classes the map does not know, and httpx would raise httpcore's exceptions
# unmapped. Importing it here keeps one httpcore for the whole session. PyYAML the same:
# stream_replay imports it only to write a cassette (or read one not plainly its own), and
# a second import of its Python half beside the one C half makes every dump fail.
import httpcore  # noqa: F401
import pytest
import yaml  # noqa: F401

from tests.support.corpus import CORPUS, have_corpus
from tests.support.wire_server import WireServer

# tests/support/plugin_project.py holds the fixtures the tests/test_plugin_*.py modules share
# (``upstream``, ``offline``): loaded here, since only the root conftest may load plugins.
pytest_plugins = ["pytester", "tests.support.plugin_project", "tests.support.serve_cli"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    import cohere

    corpus = f"{CORPUS} (present)" if have_corpus() else f"{CORPUS} (absent: corpus sweeps will skip)"
    return [f"cohere SDK {cohere.__version__}", f"shared corpus: {corpus}"]


@pytest.fixture
def wire_server() -> Iterator[WireServer]:
    """A real HTTP server on 127.0.0.1 speaking Cohere's wire protocol (see tests/support)."""
    with WireServer() as server:
        yield server
