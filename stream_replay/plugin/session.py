"""One test's cassette: what the ``stream_replay`` fixture gives, and what answers
every Cohere request the test makes.

What answers is decided at the test's first use (a client built, a request sent),
from the record mode and the cassette on disk:

- ``replay``: the cassette, nothing else (``none``; ``once`` with a cassette this run
  did not create). An unmatched request fails with the diff and the record command.
- ``missing``: ``none`` without a cassette; every request fails saying so.
- ``hybrid``: replay what matches, record the rest (``new_episodes``; ``once`` and
  ``rewrite`` for a cassette this run is writing).
- ``record``: everything goes to the API and into the cassette (``all``).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ..cassette import Cassette, Interaction, load_cassette
from ..errors import MissingCassetteError, NoMatchError, StreamReplayError
from ..recording.client import SDK_TIMEOUT
from ..recording.recorder import Recorder
from ..recording.writer import folder_lock
from ..replay.client import PLACEHOLDER_KEY
from ..replay.matching import DEFAULT_MATCH_ON, RequestView, view
from ..replay.transport import ReplayTransport
from .claims import RunClaims
from .patching import SdkPatch
from .settings import Settings
from .stats import UseRecord

_CACHE_SIZE = 256
_cache: OrderedDict[Path, tuple[int, int, Cassette]] = OrderedDict()
_cache_lock = threading.Lock()


def load_cached(path: Path) -> Cassette:
    """``load_cassette``, parsed once per run while the file is unchanged (cassettes are
    immutable; each test's transport keeps its own play counts)."""
    stat = path.stat()
    with _cache_lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == stat.st_mtime_ns and hit[1] == stat.st_size:
            _cache.move_to_end(path)
            return hit[2]
    cassette = load_cassette(path)
    with _cache_lock:
        _cache[path] = (stat.st_mtime_ns, stat.st_size, cassette)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return cassette


def request_summary(request: RequestView) -> str:
    """``POST /v2/chat "What is the capital of France?"``: the route and the last message."""
    body = request.body
    text: Any = None
    if isinstance(body, dict):
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            text = messages[-1].get("content")
        elif isinstance(body.get("message"), str):
            text = body["message"]
    if isinstance(text, str):
        short = text if len(text) <= 60 else text[:57] + "..."
        return f"{request.describe()} {short!r}"
    return request.describe()


class StreamReplay:
    """The ``stream_replay`` fixture: this test's cassette, and genuine clients for it.

    ``client(cls=cohere.ClientV2, **kwargs)`` builds a client of any of the four
    classes that replays or records per the mode; clients the code under test builds
    itself during the test behave the same.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        cassette_path: Path,
        display: str,
        nodeid: str,
        command: Callable[[str], str],
        claims: RunClaims,
    ) -> None:
        self.settings = settings
        self.mode = settings.mode
        self.cassette_path = cassette_path
        self.display = display
        self.nodeid = nodeid
        self._command = command
        self._claims = claims
        self._kind: str | None = None
        self._replay: ReplayTransport | None = None
        self._recorder: Recorder | None = None
        self._missing: list[MissingCassetteError] = []
        self._sync_http: httpx.Client | None = None
        self._async_http: httpx.AsyncClient | None = None
        self._lock = threading.RLock()
        self._route = _Route(self)
        self._held = contextlib.ExitStack()
        self._patch = SdkPatch(self)

    # ------------------------------------------------------------------ public

    def client(self, cls: type[Any] | None = None, **kwargs: Any) -> Any:
        """A genuine ``cls`` (default ``cohere.ClientV2``) served by this test's cassette."""
        import cohere

        chosen: type[Any] = cls if cls is not None else cohere.ClientV2
        if not (isinstance(chosen, type) and issubclass(chosen, (cohere.Client, cohere.AsyncClient))):
            raise TypeError(f"client must be cohere.ClientV2, AsyncClientV2, Client or AsyncClient, got {chosen!r}")
        return chosen(**kwargs)  # the constructor patch serves it, as any client built in the test

    @property
    def cassette(self) -> Cassette | None:
        """The cassette being replayed from, as loaded (None when there is none)."""
        self._resolve()
        return self._replay.cassette if self._replay is not None else None

    @property
    def played(self) -> list[int]:
        """Indexes of the recorded interactions this test has replayed."""
        return [i for i, n in enumerate(self._replay.play_counts) if n] if self._replay is not None else []

    @property
    def recorded(self) -> list[Interaction]:
        """Interactions this test has recorded (in the recording modes)."""
        return list(self._recorder.recorded) if self._recorder is not None else []

    @property
    def mismatches(self) -> list[NoMatchError]:
        """Every request this test made that the cassette could not answer."""
        found: list[NoMatchError] = list(self._missing)
        if self._replay is not None:
            found.extend(self._replay.mismatches)
        return found

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._patch.start()

    def finish(self) -> tuple[UseRecord | None, list[BaseException]]:
        """Undo the patches, save what is open; the test's record and its errors."""
        self._patch.stop()
        errors: list[BaseException] = []
        try:
            if self._recorder is not None:
                self._recorder.close()
        except StreamReplayError as exc:
            errors.append(exc)
        finally:
            self._held.close()
        if self._sync_http is not None:
            self._sync_http.close()
        return self._record(), errors

    def _record(self) -> UseRecord | None:
        if self._kind is None:
            return None
        replay = self._replay
        loaded = len(replay.cassette.interactions) if replay is not None else 0
        played = self.played
        requests = {}
        if replay is not None:
            views = replay.recorded_views()
            requests = {str(i): request_summary(views[i]) for i in range(loaded) if i not in played}
        return UseRecord(
            cassette=self.display,
            test=self.nodeid,
            loaded=loaded,
            played=played,
            recorded=list(self._recorder.recorded_indexes) if self._recorder is not None else [],
            report_unplayed=bool(self.settings["report_unplayed"]),
            requests=requests,
        )

    # ---------------------------------------------------------------- deciding

    def _resolve(self) -> str:
        with self._lock:
            if self._kind is None:
                self._kind = self._decide()
                path = self.cassette_path
                if self._kind == "hybrid":
                    # Wait for a test of another worker recording into it, then replay
                    # what it recorded: one request is recorded once.
                    self._held.enter_context(self._claims.held(path))
                if self._kind in ("replay", "hybrid") and path.exists():
                    settings = self.settings
                    self._replay = ReplayTransport(
                        load_cached(path).with_path(Path(self.display)),
                        speed=settings["speed"],
                        match_on=settings["match_on"] or DEFAULT_MATCH_ON,
                        ignore_fields=settings["ignore_fields"],
                        allow_repeats=settings["allow_repeats"],
                        faults=settings["faults"],
                    )
                    self._replay.mismatch_hint = (
                        "  To record this request into the cassette, keeping what it holds:\n"
                        f"    {self._command('new_episodes')}\n"
                        "  To record the test's cassette afresh:\n"
                        f"    {self._command('rewrite')}"
                    )
                if self._kind in ("hybrid", "record"):
                    key = os.environ.get("CO_API_KEY")
                    self._recorder = Recorder(
                        path,
                        [key] if key else [],
                        async_=httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)),
                    )
            return self._kind

    def _decide(self) -> str:
        path = self.cassette_path
        mode = self.mode
        if mode == "none":
            return "replay" if path.exists() else "missing"
        if mode == "all":
            return "record"
        if mode == "new_episodes":
            return "hybrid"
        with folder_lock(path):  # the claim and what it decides, as one step for every worker
            if mode == "rewrite":
                if self._claims.claim("rewrite", path):
                    path.unlink(missing_ok=True)
                return "hybrid"
            # once
            if path.exists() and not self._claims.claimed("once", path):
                return "replay"
            self._claims.claim("once", path)
            return "hybrid"

    # --------------------------------------------------------- the SDK patches

    def sync_http(self) -> httpx.Client:
        with self._lock:
            if self._sync_http is None:
                self._sync_http = httpx.Client(transport=self._route, trust_env=False, timeout=SDK_TIMEOUT)
            return self._sync_http

    def async_http(self) -> httpx.AsyncClient:
        with self._lock:
            if self._async_http is None:
                self._async_http = httpx.AsyncClient(transport=self._route, trust_env=False, timeout=SDK_TIMEOUT)
            return self._async_http

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any], asynchronous: bool) -> None:
        """A client is being built in the test: give it this test's httpx client."""
        if kwargs.get("httpx_client") is None:
            kwargs["httpx_client"] = self.async_http() if asynchronous else self.sync_http()
        kind = self._resolve()
        key = args[0] if args else kwargs.get("api_key")
        if kind in ("replay", "missing"):
            if key is None and not os.environ.get("CO_API_KEY") and not args:
                kwargs["api_key"] = PLACEHOLDER_KEY  # nothing leaves the process; no key is needed
        elif isinstance(key, str) and self._recorder is not None:
            self._recorder.writer.add_secret(key)

    def adopt(self, client: Any) -> None:
        """A client was built in the test: give it the fast path when asked and possible."""
        if self.settings["fast"] and self._kind == "replay" and self._replay is not None:
            from ..replay.fast import install_fast_path
            from ..replay.sdk import client_api, is_async_client

            cls = type(client)
            install_fast_path(client, self._replay, client_api(cls), is_async_client(cls))

    # ---------------------------------------------------------------- answering

    def _missing_error(self, request: httpx.Request) -> MissingCassetteError:
        incoming = view(request.method, str(request.url), request.content)
        error = MissingCassetteError(
            f"stream_replay: no cassette at {self.display}, and mode 'none' only replays, so "
            f"{request_summary(incoming)} has no recorded answer.\n"
            "  How to fix: record it (with CO_API_KEY set; CO_API_URL for a local server):\n"
            f"    {self._command('once')}",
            cassette=self.cassette_path,
        )
        self._missing.append(error)
        return error

    def answer(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        kind = self._resolve()
        request.read()
        if kind == "missing":
            raise self._missing_error(request)
        if self._replay is not None:
            if kind == "replay":
                return self._replay.handle_request(request)
            index = self._replay.try_claim(view(request.method, str(request.url), request.content))
            if index is not None:
                return self._replay.respond(index, request, asynchronous=False, started=started)
        assert self._recorder is not None
        return self._recorder.transport.handle_request(request)

    async def answer_async(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        kind = self._resolve()
        await request.aread()
        if kind == "missing":
            raise self._missing_error(request)
        if self._replay is not None:
            if kind == "replay":
                return await self._replay.handle_async_request(request)
            index = self._replay.try_claim(view(request.method, str(request.url), request.content))
            if index is not None:
                return self._replay.respond(index, request, asynchronous=True, started=started)
        assert self._recorder is not None
        return await self._recorder.transport.handle_async_request(request)


class _Route(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The httpx transport of every client in the test: asks the test what answers."""

    def __init__(self, owner: StreamReplay) -> None:
        self.owner = owner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.owner.answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.owner.answer_async(request)
