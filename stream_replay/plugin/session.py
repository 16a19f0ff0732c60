"""One test's cassette: what the ``stream_replay`` fixture gives, and what answers
every Cohere request the test makes.

What answers is decided at the test's first use (a client built, a request sent),
from the record mode and the cassette on disk (a ``Use``):

- ``REPLAY``: the cassette, nothing else (``none``; ``once`` with a cassette this run
  did not create). An unmatched request fails with the diff and the record command.
- ``MISSING``: ``none`` without a cassette; every request fails saying so.
- ``HYBRID``: replay what matches, record the rest (``new_episodes``; ``once`` and
  ``rewrite`` for a cassette this run is writing).
- ``RECORD``: everything goes to the API and into the cassette (``all``).

Which recorded interaction answers is the replay ``Player``'s answer; the response is
the ``Responder``'s, exactly as for ``replay_client`` and ``serve``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import copy
import enum
import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ..cassette import Cassette, Interaction, as_cassette, load_cassette
from ..cassette.files import folder_lock
from ..errors import MissingCassetteError, NoMatchError, StreamReplayError, VcrpyCassetteError
from ..replay.client import PLACEHOLDER_KEY
from ..replay.handover import Respond, ahanded_over, handed_over
from ..replay.matching import DEFAULT_MATCH_ON, RequestView, view
from ..replay.player import Player
from ..replay.responses import Responder
from ..sdk import SDK_TIMEOUT, client_class, env_api_key, needs_key, sdk_base_url
from .claims import RunClaims
from .patching import SdkPatch
from .settings import Settings
from .stats import UseRecord

if TYPE_CHECKING:
    from ..recording.recorder import Recorder
    from ..replay.fast import Source

#: The last cassette loaded, while its file is unchanged: (path, mtime, size, cassette).
_last: tuple[Path, int, int, Cassette] | None = None
_last_lock = threading.Lock()


def load_cached(path: Path) -> Cassette:
    """``load_cassette``, parsed once for a run of tests using the same file in a row
    (the cases of a parametrized test) while it is unchanged: cassettes are immutable,
    and each test's player keeps its own play counts. Only the last one is kept: a
    suite whose tests each have their own cassette keeps none of them alive (every
    cassette kept a while is promoted by the garbage collector, and full collections
    over them cost more than parsing again). A vcrpy cassette (a pytest-recording
    suite's) is read as it is, converted in memory."""
    global _last
    stat = path.stat()
    with _last_lock:
        last = _last
    if last is not None and last[:3] == (path, stat.st_mtime_ns, stat.st_size):
        return last[3]
    try:
        cassette = load_cassette(path)
    except VcrpyCassetteError:
        # A pytest-recording suite moving over: its cassettes are read as they are.
        from ..vcr.importer import read_vcr

        cassette = read_vcr(path)
    with _last_lock:
        _last = (path, stat.st_mtime_ns, stat.st_size, cassette)
    return cassette


def _record_hint(command: Callable[[str], str]) -> str:
    return (
        "  To record this request into the cassette, keeping what it holds:\n"
        f"    {command('new_episodes')}\n"
        "  To record the test's cassette afresh:\n"
        f"    {command('rewrite')}"
    )


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


class Use(enum.Enum):
    """What answers a test's requests (see the module docstring)."""

    REPLAY = "replay"
    MISSING = "missing"
    HYBRID = "hybrid"
    RECORD = "record"


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
        self._use: Use | None = None
        self._player: Player | None = None
        self._responder = Responder(settings["speed"], settings["faults"])
        #: What the run's summary says once: why the fast path stepped aside for a client (a
        #: wrapped SDK method), a cassette serving under the name it had before.
        self.notes: list[str] = []
        #: The requests answered despite drift (``drift="accept"``), each with its fields.
        self.drifts: list[str] = []
        #: Answers a recording left out of the cassette (``record_errors``), and why.
        self.skipped: list[str] = []
        self._recorder: Recorder | None = None
        self._missing: list[MissingCassetteError] = []
        self._sync_http: httpx.Client | None = None
        self._async_http: httpx.AsyncClient | None = None
        self._lock = threading.RLock()
        self._ended = False
        self._route = _Route(self)
        self._held = contextlib.ExitStack()
        self._patch = SdkPatch()

    # ------------------------------------------------------------------ public

    def client(self, cls: type[Any] | None = None, **kwargs: Any) -> Any:
        """A genuine ``cls`` (default ``cohere.ClientV2``) served by this test's cassette."""
        return client_class(cls)(**kwargs)  # the constructor patch serves it, as any client built in the test

    @property
    def cassette(self) -> Cassette | None:
        """The cassette being replayed from, as loaded (None when there is none)."""
        self._resolve()
        return self._player.cassette if self._player is not None else None

    @property
    def played(self) -> list[int]:
        """Indexes of the recorded interactions this test has replayed."""
        return self._player.played() if self._player is not None else []

    @property
    def recorded(self) -> list[Interaction]:
        """Interactions this test has recorded (in the recording modes)."""
        return list(self._recorder.recorded) if self._recorder is not None else []

    @property
    def mismatches(self) -> list[NoMatchError]:
        """Every request this test made that the cassette could not answer."""
        found: list[NoMatchError] = list(self._missing)
        if self._player is not None:
            found.extend(self._player.mismatches)
        return found

    @contextlib.contextmanager
    def use_cassette(
        self, cassette: Cassette | str | os.PathLike[str], *, faults: Sequence[Any] | None = None
    ) -> Iterator[Player]:
        """Inside the block, the test's requests are answered from ``cassette`` (a value,
        such as one a ``stream_replay.strategies`` strategy drew, or a path) instead of
        the test's cassette, with the test's matching settings and speed, and its faults
        unless ``faults=`` gives others. Replay only: nothing is recorded. With ``fast``,
        a client built in the test takes the fast path to whichever cassette is being
        used at each call. A request the cassette cannot answer raises where it is made;
        if the code under test catches it, it is raised again when the block ends.
        """
        player = self._new_player(as_cassette(cassette))
        responder = Responder(self.settings["speed"], self.settings["faults"] if faults is None else faults)
        with self._lock:
            saved = (self._use, self._player, self._responder)
            self._use, self._player, self._responder = Use.REPLAY, player, responder
        try:
            yield player
        finally:
            with self._lock:
                self._use, self._player, self._responder = saved
        if player.mismatches:
            # The code under test caught it: say so here, inside the example that made the
            # request (a property test shrinks it), not at teardown.
            raise player.mismatches[0]

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self._patch.start(self)

    def finish(self) -> tuple[UseRecord | None, list[BaseException]]:
        """Undo the patches, save what is open; the test's record and its errors."""
        self._patch.stop()
        self._ended = True
        errors: list[BaseException] = []
        try:
            if self._recorder is not None:
                self._recorder.close()
        except StreamReplayError as exc:
            errors.append(exc)
        finally:
            self._held.close()
        # The test's httpx clients stay open: their transport (``_Route``) holds nothing to
        # release, and a client the code under test kept then gets the route's refusal,
        # which says what happened, rather than httpx's "the client has been closed".
        return self._record(), errors

    def _record(self) -> UseRecord | None:
        if self._use is None:
            return None
        player = self._player
        loaded = len(player.cassette.interactions) if player is not None else 0
        played = self.played
        requests = {}
        if player is not None:
            views = player.views()
            requests = {str(i): request_summary(views[i]) for i in range(loaded) if i not in played}
        # Tuples: a record is kept for the whole run, and an empty tuple is no object of
        # its own, nor one the garbage collector walks (six lists a test were).
        return UseRecord(
            cassette=self.display,
            test=self.nodeid,
            loaded=loaded,
            played=tuple(played),
            recorded=tuple(self._recorder.recorded_indexes) if self._recorder is not None else (),
            report_unplayed=bool(self.settings["report_unplayed"]),
            requests=requests,
            notes=tuple(self.notes),
            drifts=tuple(self.drifts),
            skipped=tuple(self.skipped),
            error_answers=tuple(self._error_answers()),
        )

    def _error_answers(self) -> list[str]:
        """Each error answer this test recorded: ``interactions[i] POST /v2/chat -> HTTP 422``."""
        recorder = self._recorder
        if recorder is None:
            return []
        return [
            f"{self.display}: interactions[{index}] {i.request.method} {i.request.url} -> HTTP {i.response.status}"
            for i, index in zip(recorder.recorded, recorder.recorded_indexes, strict=True)
            if i.response.status >= 400
        ]

    def replayed_unwanted_errors(self) -> list[str]:
        """Error answers this test replayed that a recording made now would leave out
        (a 401 or a 429 recorded by an earlier version, or by record_errors='all')."""
        from ..recording.policy import skip_reason

        player = self._player
        if player is None:
            return []
        found = []
        for index in player.played():
            response = player.cassette.interactions[index].response
            if response.status >= 400 and skip_reason(response.status, {}, "deterministic") is not None:
                found.append(f"{self.display}: interactions[{index}] is a recorded HTTP {response.status}")
        return found

    # ---------------------------------------------------------------- deciding

    def _resolve(self) -> Use:
        with self._lock:
            if self._use is None:
                self._use = self._decide()
                path = self.cassette_path
                if self._use is Use.HYBRID:
                    # Wait for a test of another worker recording into it, then replay
                    # what it recorded: one request is recorded once.
                    self._held.enter_context(self._claims.held(path))
                if self._use in (Use.REPLAY, Use.HYBRID) and path.exists():
                    self._player = self._new_player(load_cached(path).with_path(Path(self.display)))
                if self._use in (Use.HYBRID, Use.RECORD):
                    from ..cassette.redaction import Redaction

                    key = os.environ.get("CO_API_KEY")
                    from ..recording.recorder import Recorder

                    self._recorder = Recorder(
                        path,
                        [key] if key else [],
                        async_=httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)),
                        record_errors=self.settings["record_errors"],
                        on_skip=self.skipped.append,
                        redaction=Redaction.of(
                            self.settings["redact_fields"],
                            self.settings["redact_patterns"],
                            self.settings["before_record"],
                        ),
                    )
            return self._use

    def _new_player(self, cassette: Cassette) -> Player:
        settings = self.settings
        return Player(
            cassette,
            match_on=settings["match_on"] or DEFAULT_MATCH_ON,
            ignore_fields=settings["ignore_fields"],
            ignore_patterns=settings["ignore_patterns"],
            allow_repeats=settings["allow_repeats"],
            drift=settings["drift"],
            on_drift=self.drifts.append,
            ignore_hint=(
                "if a field varies between runs, give the test's stream_replay marker (or the "
                "stream_replay_config fixture) ignore_fields=[...] or ignore_patterns=[...]"
            ),
            hint=functools.partial(_record_hint, self._command),  # worded when a request misses
        )

    def _decide(self) -> Use:
        path = self.cassette_path
        mode = self.mode
        if mode == "none":
            return Use.REPLAY if path.exists() else Use.MISSING
        if mode == "all":
            return Use.RECORD
        if mode == "new_episodes":
            return Use.HYBRID
        with folder_lock(path):  # the claim and what it decides, as one step for every worker
            if mode == "rewrite":
                if self._claims.claim("rewrite", path):
                    path.unlink(missing_ok=True)
                return Use.HYBRID
            # once
            if path.exists() and not self._claims.claimed("once", path):
                return Use.REPLAY
            self._claims.claim("once", path)
            return Use.HYBRID

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

    def route(self, client: Any, asynchronous: bool) -> Any:
        """The httpx client that sends ``client``'s request in this test: the test's own
        client for its own requests (or for anything that is not an httpx client); for a
        client the code under test gave its cohere client (``httpx_client=``), or one built
        before the test, a copy of it whose transport is the test's. Its event hooks, auth,
        headers, cookies and ``send`` run as they would in production; its transport (and
        its mounts: proxies) never do, so nothing reaches the network. A copy per request:
        it shares the client's hooks and cookies, and sees the client's state as it is
        (a closed client refuses, as httpx does).
        """
        ours = self.async_http() if asynchronous else self.sync_http()
        if client is ours or not isinstance(client, httpx.AsyncClient if asynchronous else httpx.Client):
            return ours
        if _explicit(client):
            return client
        routed = copy.copy(client)
        routed._transport = self._route
        routed._mounts = {}
        return routed

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any], asynchronous: bool) -> None:
        """A client is being built in the test: give it this test's httpx client."""
        if kwargs.get("httpx_client") is None:
            kwargs["httpx_client"] = self.async_http() if asynchronous else self.sync_http()
        use = self._resolve()
        key = args[0] if args else kwargs.get("api_key")
        if key is None and not args:
            key = env_api_key()  # what the SDK will take from the environment
            if key is None and (use in (Use.REPLAY, Use.MISSING) or not needs_key(sdk_base_url(kwargs))):
                # Replaying, nothing leaves the process; recording, the target is not Cohere's
                # API (CO_API_URL or base_url= naming stream-replay serve, a proxy...): no key needed.
                kwargs["api_key"] = PLACEHOLDER_KEY
        if isinstance(key, str) and self._recorder is not None:
            self._recorder.writer.add_secret(key)

    def adopt(self, client: Any) -> None:
        """A client was built in the test: give it the fast path when asked and possible."""
        if self.settings["fast"] and self._use is Use.REPLAY and self._player is not None:
            from ..replay.fast import install_fast_path

            note = install_fast_path(client, self._player, self._responder, source=self._fast_source())
            if note is not None and note not in self.notes:
                self.notes.append(note)

    def _fast_source(self) -> Source:
        """What answers a fast call now: inside a ``use_cassette`` block, its cassette;
        nothing once the test has ended (the SDK path then serves whichever test runs).
        It holds the test weakly, so a client the code under test keeps (cohere's
        clients are reference cycles) does not keep the test's cassette alive."""
        test = weakref.ref(self)
        idle = self._responder

        def answering() -> tuple[Player | None, Responder]:
            live = _running(test)
            if live is None:
                return None, idle
            with live._lock:
                return (live._player if live._use is Use.REPLAY else None), live._responder

        return answering

    # ---------------------------------------------------------------- answering

    def command(self, mode: str) -> str:
        """The command that runs this test in ``mode``."""
        return self._command(mode)

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

    def _replayed(self, request: httpx.Request, use: Use, started: float, asynchronous: bool) -> Respond | None:
        """What gives the recorded answer, or None when the request is to be recorded."""
        if use is Use.MISSING:
            raise self._missing_error(request)
        player = self._player
        if player is None:
            return None
        incoming = view(request.method, str(request.url), request.content)
        index = player.play(incoming) if use is Use.REPLAY else player.try_play(incoming)
        if index is None:
            return None
        return self._responder.answer(player, index, request, asynchronous=asynchronous, started=started)

    def answer(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        use = self._resolve()
        request.read()
        replayed = self._replayed(request, use, started, asynchronous=False)
        if replayed is not None:
            return handed_over(request, replayed)
        assert self._recorder is not None
        return self._recorder.transport.handle_request(request)

    async def answer_async(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        use = self._resolve()
        await request.aread()
        replayed = self._replayed(request, use, started, asynchronous=True)
        if replayed is not None:
            return await ahanded_over(request, replayed)
        assert self._recorder is not None
        return await self._recorder.transport.handle_async_request(request)


def _running(test: weakref.ref[StreamReplay]) -> StreamReplay | None:
    """The test a weak reference names, while it runs; None once it has ended (or is gone)."""
    live = test()
    return live if live is not None and not live._ended else None


def _explicit(client: Any) -> bool:
    """A client from ``replay_client`` or ``record_client``: it keeps its own cassette.
    (Imported here, not when the patch is made: a replaying run never loads recording.)"""
    from ..recording.transport import RecordingTransport
    from ..replay.transport import ReplayTransport

    return isinstance(getattr(client, "_transport", None), (ReplayTransport, RecordingTransport))


class _Route(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The httpx transport of every client in the test: asks the test what answers.

    It holds the test weakly, so a client the code under test keeps does not keep the
    test's cassette alive; used after its test ended, it refuses (it never answers from
    a finished test's cassette, and never reaches the network).
    """

    def __init__(self, owner: StreamReplay) -> None:
        self._owner = weakref.ref(owner)
        self._nodeid = owner.nodeid

    def _test(self) -> StreamReplay:
        owner = _running(self._owner)
        if owner is None:
            raise StreamReplayError(
                f"stream_replay: a cohere client built in {self._nodeid} was used after that test ended, "
                "so no cassette answers it.\n"
                "  How to fix: build the client inside the test that uses it (or in a fixture of the same "
                "scope), or give it its own cassette with stream_replay.replay_client"
            )
        return owner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._test().answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._test().answer_async(request)
