"""A user's project for the plugin's pytester tests: application code that builds its
own ``cohere.ClientV2()`` and streams, real requests taken from bundled cassettes, and
the answers those recordings hold (read from the cassette's JSON, not through the SDK
or stream_replay's replay). Also what those tests share: the stand-in for the API that
recording modes talk to (``upstream``, a real ``ReplayServer``), the ``offline`` fixture,
where a test's cassette lands and the lines pytest printed.

The root ``conftest.py`` loads this module as a plugin, so its two fixtures are
available everywhere; ``offline`` is not autouse: each ``tests/test_plugin_*.py``
module that runs a user's project asks for it with ``pytest.mark.usefixtures``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream_replay import Cassette, load_cassette, save_cassette
from stream_replay.serve import ReplayServer
from tests.support.corpus import CASSETTES, chat_kwargs

#: The API key recording modes send to ``upstream``: it must never reach a cassette.
KEY = "sk-plugin-canary-0123456789abcdef0123456789"
DEFAULT_HEADER = "stream-replay: mode=none (default), dir=cassettes/ beside each test file (default)"

#: Application code as a user writes it: the client is built inside, the base URL
#: comes from the environment when set (a local server), the text is the content deltas.
APP = """
import os

import cohere


def client():
    upstream = os.environ.get("UPSTREAM")
    return cohere.ClientV2(base_url=upstream) if upstream else cohere.ClientV2()


def answer(request):
    text = []
    for event in client().chat_stream(**request):
        if event.type == "content-delta":
            text.append(event.delta.message.content.text)
    return "".join(text)


def answer_or_apologise(request):
    try:
        return answer(request)
    except Exception:
        return "Sorry, something went wrong."


async def answer_async(request):
    upstream = os.environ.get("UPSTREAM")
    co = cohere.AsyncClientV2(base_url=upstream) if upstream else cohere.AsyncClientV2()
    text = []
    async for event in co.chat_stream(**request):
        if event.type == "content-delta":
            text.append(event.delta.message.content.text)
    return "".join(text)
"""

HEADER = """
import json
import pathlib

import pytest

from app import answer, answer_async, answer_or_apologise

HERE = pathlib.Path(__file__).parent
REQUESTS = json.loads((HERE / "requests.json").read_text())
ANSWERS = json.loads((HERE / "answers.json").read_text())
"""

#: A fixture of a user's project: the classes of the events stream_replay's fast path
#: builds during the test (its one builder, counted). The module is found by its name in
#: ``sys.modules``, as the plugin's own import finds it: an earlier in-process pytester run
#: may have dropped it from there while the package's ``fast`` attribute still names it.
BUILT_FIXTURE = """
@pytest.fixture
def built(monkeypatch):
    import importlib

    fast = importlib.import_module("stream_replay.replay.fast")

    events = []
    build = fast._build
    monkeypatch.setattr(fast, "_build", lambda cls, *rest: events.append(cls) or build(cls, *rest))
    return events
"""

PICKLE = """
@pytest.mark.stream_replay
def test_pickle():
    assert answer(REQUESTS["pickle"]) == ANSWERS["pickle"]
"""


def answer_of(cassette: Cassette, index: int) -> str:
    stream = cassette.interactions[index].response.stream
    assert stream is not None and stream.format == "sse"
    text = []
    for event in stream.events:
        if event.name == "content-delta" and event.data is not None:
            text.append(json.loads(event.data)["delta"]["message"]["content"]["text"])
    return "".join(text)


#: Named requests: (bundled cassette, interaction).
SOURCES = {"pickle": ("v2_text", 0), "citations": ("v2_citations", 0), "citations2": ("v2_citations", 1)}


def source(name: str) -> Cassette:
    return load_cassette(CASSETTES / f"{SOURCES[name][0]}.yaml")


def write_project(pytester: pytest.Pytester, tests: str, ini: str = "") -> None:
    """app.py, the requests and their recorded answers, a test module, an ini file."""
    pytester.makepyfile(app=APP)
    requests = {}
    answers = {}
    for name, (stem, index) in SOURCES.items():
        cassette = load_cassette(CASSETTES / f"{stem}.yaml")
        requests[name] = chat_kwargs(cassette, index)
        answers[name] = answer_of(cassette, index)
    folder = pytester.path / "tests"
    folder.mkdir(exist_ok=True)
    (folder / "requests.json").write_text(json.dumps(requests))
    (folder / "answers.json").write_text(json.dumps(answers))
    (folder / "test_chat.py").write_text(HEADER + tests)
    pytester.makeini(
        "[pytest]\npythonpath = .\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = ignore::DeprecationWarning\n" + ini
    )


def place(path: Path, *names: str) -> Path:
    """A cassette at ``path`` holding the named recorded interactions, in order."""
    interactions = []
    meta = None
    for name in names:
        cassette = source(name)
        meta = meta or cassette.meta
        interactions.append(cassette.interactions[SOURCES[name][1]])
    assert meta is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    save_cassette(Cassette(tuple(interactions), meta), path, overwrite=True)
    return path


def requests_in(path: Path) -> list[str]:
    """Which named request each interaction of the cassette at ``path`` answers, in order."""
    known = {json.dumps(chat_kwargs(source(name), SOURCES[name][1]), sort_keys=True): name for name in SOURCES}
    cassette = load_cassette(path)
    return [
        known.get(json.dumps(chat_kwargs(cassette, i), sort_keys=True), "?") for i in range(len(cassette.interactions))
    ]


def cassette(pytester: pytest.Pytester, name: str = "test_pickle") -> Path:
    return pytester.path / "tests" / "cassettes" / "test_chat" / f"{name}.yaml"


def lines(result: pytest.RunResult) -> list[str]:
    return [line.rstrip() for line in result.stdout.lines]


class Upstream:
    """The stand-in for the API: counts the requests that reach it."""

    def __init__(self, server: ReplayServer, log: io.StringIO) -> None:
        self.server = server
        self.log = log
        self.url = server.url

    @property
    def hits(self) -> int:
        return len([line for line in self.log.getvalue().splitlines() if line.strip()])


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    log = io.StringIO()
    sources = [CASSETTES / "v2_text.yaml", CASSETTES / "v2_citations.yaml"]
    with ReplayServer(sources, speed=20.0, log=log) as server:
        monkeypatch.setenv("UPSTREAM", server.url)
        monkeypatch.setenv("CO_API_KEY", KEY)
        yield Upstream(server, log)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key and no upstream unless a test asks for ``upstream``: replay needs neither."""
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("UPSTREAM", raising=False)
