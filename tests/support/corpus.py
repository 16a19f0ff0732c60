"""Where the shared corpus of real Cohere streams is, and what the project bundles from it.

The corpus (``../shared/corpus``, recorded from the live API by langchain-cohere, MIT)
is on CI and developers' machines, not in a user's clone: tests that sweep it skip,
saying so, when it is absent. The curated cassettes in ``cassettes/`` are converted
from it and are always there.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from stream_replay import Cassette

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
CORPUS = Path(os.environ.get("STREAM_REPLAY_CORPUS", ROOT.parent / "shared" / "corpus"))
VCRPY_DIR = CORPUS / "vcrpy" / "langchain-cohere"
STREAMS_DIR = CORPUS / "streams"

#: The bundled cassettes: name -> the corpus vcrpy cassette it was converted from.
CURATED = {
    "v2_text": "test_stream__ee107c1e",
    "v2_tool_calls": "test_streaming_tool_call__de4a146c",
    "v2_citations": "test_langchain_tool_calling_agent__bc00500e",
    "v2_agent": "test_single_csv__99f77715",
    "v2_error_finish": "test_sql_agent__c0d83896",
    "v2_http_422": "test_streaming_tool_call__0f061b65",
    "v1_text": "test_stream__d3e0b7bb",
    "v1_tool_calls": "test_streaming_tool_call__8109c084",
    "v1_citations": "test_langchain_tool_calling_agent__b3b2fd72",
}
#: The bundled cassettes whose chat streams all complete (every one but the HTTP errors).
STREAMING = [name for name in CURATED if name != "v2_http_422"]


def chat_kwargs(cassette: Cassette, index: int = 0) -> dict[str, Any]:
    """``chat_stream``'s keyword arguments that send interaction ``index``'s recorded request."""
    body = cassette.interactions[index].request.body.json
    assert isinstance(body, dict)
    return {k: v for k, v in body.items() if k != "stream"}


def have_corpus() -> bool:
    return VCRPY_DIR.is_dir() and STREAMS_DIR.is_dir()


needs_corpus = pytest.mark.skipif(
    not have_corpus(),
    reason=f"the shared corpus of real streams is not at {CORPUS} (set STREAM_REPLAY_CORPUS); "
    "this sweep runs on CI and developer machines",
)


def vcrpy_cassettes() -> list[Path]:
    return sorted(VCRPY_DIR.glob("*.yaml")) if have_corpus() else []


def stream_rows() -> list[dict[str, str]]:
    """The corpus index: one row per recorded stream (file, api, path, commit, license...)."""
    if not have_corpus():
        return []
    with open(STREAMS_DIR / "INDEX.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def attribution(stem: str) -> dict[str, str]:
    """Provenance of a corpus vcrpy cassette, from the corpus index."""
    for row in stream_rows():
        if row["file"].split("/", 1)[1].startswith(f"langchain-cohere__{stem}"):
            return {
                "repository": f"github.com/{row['source_repo']}",
                "path": row["path"],
                "commit": row["commit"],
                "license": row["license"],
                "copyright": "LangChain, Inc.",
                "recorded_from": "the live Cohere API",
            }
    # A cassette whose streams all duplicate earlier ones has no row of its own:
    # name its blob (the file name's suffix) in the same upstream file.
    test, _, blob = stem.rpartition("__")
    for row in stream_rows():
        if row["path"].endswith(f"/{test}.yaml"):
            return {
                "repository": f"github.com/{row['source_repo']}",
                "path": row["path"],
                "blob": blob,
                "license": row["license"],
                "copyright": "LangChain, Inc.",
                "recorded_from": "the live Cohere API",
            }
    raise KeyError(stem)
