"""``stream-replay serve``: cassettes served over real HTTP to any Cohere client.

``ReplayServer`` is a Cohere-compatible HTTP/1.1 server on 127.0.0.1 that answers
requests from one or more cassettes: ``/v2/chat`` streams as SSE and ``/v1/chat``
streams as NDJSON, one event per HTTP chunk at the recorded pace; non-streamed chat;
any other recorded endpoint (``GET /v1/models``...); recorded HTTP errors with their
status, their kept headers and their body. Point a client at it with
``CO_API_URL=http://127.0.0.1:PORT`` (set before Python starts: the SDK reads it on
import) or ``base_url=``; no API key is checked.

How it behaves, and why:

- **One player per cassette, one responder.** Each cassette file gets its own
  ``Player`` (which interaction answers); the server writes what the ``Responder``
  builds for that interaction onto the socket, so matching, pacing, faults and
  recorded failures are exactly those of in-process replay. A folder stands for
  every ``*.yaml`` in it, recursively, in sorted order.
- **Routing.** A request goes to the first cassette (in the order given) holding an
  *unplayed* interaction that matches it; if every match was played already, to the
  first cassette with any match (see repeats). So an identical request recorded in
  two cassettes gets each recorded answer once, in order, before any repeats. The
  request is prepared for matching (``ignore_fields``, ``ignore_patterns``) once, not
  once per cassette.
- **Repeats.** A dev server sees the same request many times (a UI reloads), so the
  players use ``allow_repeats=True``: matching interactions are still answered in
  recorded order first, then the first matching one answers again, forever.
- **No match.** An unmatched request gets HTTP 404, ``content-type:
  application/json``, ``x-stream-replay: no-match`` (so that no recorder keeps it as
  the API's answer), body ``{"message": "..."}`` in the words of ``Player.explain``:
  "Closest recorded: interactions[N] ..." and the field diff. The SDK raises its own
  ``NotFoundError`` carrying it. The explanation is bounded, because anyone can send
  anything: every recorded request is ranked cheaply (the failing matchers other than
  the body, then how many top-level body fields differ), only the
  ``explain_candidates`` nearest are compared field by field, none once
  ``explain_seconds`` have passed, and a body over ``explain_body_bytes`` (either
  side) is not diffed at all (the message says so: "this request's body is 13.0 MiB:
  field diff skipped"). Nothing of a request is kept once it is answered: the players'
  ``mismatches`` and ``drifts`` lists (kept for the pytest plugin's report) stay empty.
- **Recorded failures.** A ``failed`` stream sends its recorded events, then the
  connection is closed abruptly, without the chunked terminator ``0\\r\\n\\r\\n``: an
  httpx client (the SDK) raises ``httpx.RemoteProtocolError`` ("peer closed connection
  without sending complete message body"), as it did live when the connection broke.
  A server cannot make a client raise another type, so a recorded ``ReadTimeout`` (say)
  ends the same way; in-process replay raises the recorded type itself. A
  ``stopped`` stream (the consumer stopped reading when it was recorded, so what came
  next is unknown) ends the same way rather than pretending the stream ended there.
  A ``truncated`` stream ends its HTTP body normally, exactly as recorded.
- **Checked at start.** Every cassette is loaded, and every stream encoded, before the
  server listens: a broken cassette stops it with one line naming the file and line.
  A recorded response header that cannot be written safely (a name that is not an
  HTTP token; CR, LF or another control character, or a non-ASCII character in the
  value) is left out of every answer, and said once per interaction: a cassette
  cannot inject headers, even one built in memory.
- **Limits.** A request body over ``max_body_bytes`` (16 MiB) gets 413, decided from
  its ``Content-Length`` (or, chunked, as soon as the running total passes it) without
  reading the body. The request line and headers must arrive within
  ``header_timeout`` (10 s) of the connection's first byte (or, kept alive, of the
  request's first byte); a kept-alive connection idle for ``idle_timeout`` (30 s) is
  closed; a body must arrive within ``body_timeout`` (60 s), never pausing longer than
  ``header_timeout``; a client that takes nothing of an answer for ``idle_timeout`` is
  dropped. Each wait is a socket timeout on that read or write: a paced stream is
  writing, and nothing limits how long it takes.
- **Strict framing.** ``Transfer-Encoding`` must be exactly ``chunked`` (any other
  coding: 501), never with ``Content-Length`` (400); one ``Content-Length`` of digits
  (400 otherwise); chunk sizes in hexadecimal, each chunk followed by CRLF (400). Every
  error the server makes itself is JSON ``{"message": "stream-replay: ..."}``; after a
  refused request the connection is closed.
- **Not loopback.** Listening on any other address (``--host 0.0.0.0``) is allowed,
  with a warning: every host that can reach the machine can read the cassettes.
- **Stopping.** ``stream-replay serve`` prints one line with its URL, logs one line per
  request on stderr, and stops with exit code 0 and one line saying why: on Ctrl-C at
  once (a stream in progress is cut), on SIGTERM after letting responses in progress
  end (up to 5 s; a second signal cuts them).
- **HTTP.** ``http.server.ThreadingHTTPServer`` (daemon threads, keep-alive); each
  event is written as one chunk and flushed at once, with Nagle's algorithm off.
  Non-streamed bodies carry a ``Content-Length``. ``shutdown()`` stops listening and
  closes every open connection.
- **Matching** is in-process replay's (method, route, query, JSON body by default; the
  host never matters), with the same options: ``match_on``, ``ignore_fields``,
  ``ignore_patterns``, ``drift`` (``--match-on``, ``--ignore-field``,
  ``--ignore-pattern``, ``--drift``). A 404's "How to fix" names the flags.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import ipaddress
import json
import math
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from ..analysis.jsondiff import differences
from ..cassette import Cassette, load_cassette
from ..errors import CassetteError, StreamReplayError, StreamReplayWarning
from ..recording.policy import MARK_HEADER, NO_MATCH
from .faults import Fault
from .matching import DEFAULT_MATCH_ON, Matcher, Matching, RequestView, view
from .player import Closest, Drift, Lookup, Player
from .responses import Responder

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: The way out of a 404, in serve's own words.
SERVE_IGNORE_HINT = (
    "if a field varies between runs, restart serve with --ignore-field PATH or --ignore-pattern REGEX "
    "(or --drift accept to answer from the recording that matches but for the body)"
)
#: The way out of a 413.
MAX_BODY_HINT = "restart serve with --max-body-mb N (from Python: ReplayServer(max_body_bytes=N))"

#: The defaults of ``ReplayServer``'s limits (see the module docstring).
MAX_BODY_BYTES = 16 * 1024 * 1024
HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
BODY_TIMEOUT = 60.0
#: How long ``serve`` lets responses in progress end after SIGTERM.
SIGTERM_GRACE = 5.0

#: Response headers the server writes itself, never copied from a recording.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NOT_WRITABLE = re.compile(r"[^\t\x20-\x7e]")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LINE = 4096  # the longest chunk-size or trailer line read
_TRAILERS = 100  # the most trailer lines read
_LINGER_SECONDS = 1.0  # after refusing a request: how long to read (and drop) what the client still sends
_LINGER_BYTES = 64 * 1024 * 1024
_ERROR_WRITE_TIMEOUT = 2.0  # for writing an error answer, whatever the phase
_RANKING_LIMIT = 200  # body differences counted, at most, when ranking recordings
_LOG_PATH = 300  # characters of a request target shown in a log line


def cassette_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The cassette files ``paths`` stand for: files as given, folders as every
    ``*.yaml`` in them (recursively, sorted); each file once. Raises ``CassetteError``
    naming a path that does not exist or a folder without cassettes."""
    files: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.yaml") if p.is_file())
            if not found:
                raise CassetteError("no cassettes (*.yaml) in this folder", path=path)
        elif path.is_file():
            found = [path]
        elif path.exists():
            raise CassetteError("neither a cassette file nor a folder", path=path)
        else:
            raise CassetteError("no such file or folder", path=path)
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files


def header_problem(name: object, value: object) -> str | None:
    """Why a response header cannot be written as it is (None: it can): a name that is
    not an HTTP token, a value holding CR, LF, another control character or a
    character that is not ASCII (the SDK's httpx accepts no other)."""
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        return "its name is not an HTTP token"
    if not isinstance(value, str):
        return "its value is not text"
    found = _NOT_WRITABLE.search(value)
    if found is None:
        return None
    char = found.group()
    if char in "\r\n":
        return "its value holds CR or LF, which would start another header"
    if ord(char) < 0x20 or char == "\x7f":
        return f"its value holds the control character {char!r}"
    return f"its value holds {char!r}, which is not ASCII"


@dataclass(frozen=True)
class _Answer:
    """What to send back: a transport's response, or a JSON error of the server's own."""

    status: int
    headers: list[tuple[str, str]]
    response: httpx.Response | None = None
    body: bytes = b""
    streamed: bool = False
    note: str = ""


class _NotKept(list[Any]):
    """A list that keeps nothing: the players' ``mismatches`` and ``drifts`` in a server,
    which would otherwise grow with every request (they are the pytest plugin's report)."""

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Iterable[Any]) -> None:
        pass

    def insert(self, index: Any, item: Any) -> None:
        pass


class ReplayServer:
    """A Cohere-compatible HTTP server replaying ``cassettes`` (see the module docstring).

    ``cassettes``: cassette files, folders of them, or loaded ``Cassette`` objects.
    ``speed``: 1.0 the recorded pace (the default), N times faster, 0 or None instant.
    ``port=0`` picks a free port; ``url`` says which. ``log``: where one line per
    request goes (None: nowhere; notices, such as a header left out or a non-loopback
    address, are then ``StreamReplayWarning``\\ s).

    Limits: ``max_body_bytes`` (16 MiB; over it, 413), ``header_timeout`` (10 s for a
    request line and headers), ``idle_timeout`` (30 s for a kept-alive connection, or
    a client taking nothing of an answer), ``body_timeout`` (60 s for a body).

    The socket is bound on construction. ``serve_forever()`` serves in the calling
    thread until ``shutdown()`` (from another thread) or Ctrl-C; as a context manager
    the server runs in a background thread and is shut down on exit.
    """

    #: The bounds of a 404's explanation (see the module docstring).
    explain_candidates = 8
    explain_body_bytes = 1024 * 1024
    explain_seconds = 0.1

    def __init__(
        self,
        cassettes: Sequence[str | os.PathLike[str] | Cassette],
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float | None = 1.0,
        *,
        log: TextIO | None = None,
        faults: Sequence[Fault] = (),
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        ignore_fields: Sequence[str] = (),
        ignore_patterns: Sequence[str | re.Pattern[str]] = (),
        drift: Drift = "fail",
        max_body_bytes: int = MAX_BODY_BYTES,
        header_timeout: float = HEADER_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        for name, limit in (
            ("max_body_bytes", max_body_bytes),
            ("header_timeout", header_timeout),
            ("idle_timeout", idle_timeout),
            ("body_timeout", body_timeout),
        ):
            if not (isinstance(limit, (int, float)) and limit > 0 and math.isfinite(limit)):
                raise ValueError(f"{name} must be a positive number, got {limit!r}")
        self.max_body_bytes = int(max_body_bytes)
        self.header_timeout = float(header_timeout)
        self.idle_timeout = float(idle_timeout)
        self.body_timeout = float(body_timeout)
        self.log = log
        self._log_lock = threading.Lock()
        loaded: list[Cassette] = []
        paths: list[str | os.PathLike[str]] = []
        for item in cassettes:
            if isinstance(item, Cassette):
                loaded.append(item)
            else:
                paths.append(item)
        loaded.extend(load_cassette(file) for file in cassette_files(paths))
        if not loaded:
            raise ValueError("no cassette to serve")
        loaded = [self._writable(cassette) for cassette in loaded]
        self.players = [
            Player(
                c,
                match_on=match_on,
                ignore_fields=ignore_fields,
                ignore_patterns=ignore_patterns,
                allow_repeats=True,
                drift=drift,
                ignore_hint=SERVE_IGNORE_HINT,
                on_drift=self._log,
            )
            for c in loaded
        ]
        for player in self.players:
            player.mismatches = _NotKept()
            player.drifts = _NotKept()
        #: Every player matches alike: a request is prepared once, with this.
        self.matching: Matching = self.players[0].matching
        self.responder = Responder(speed or None, faults)
        for cassette in loaded:  # encode every stream now: a broken event fails here
            for interaction in cassette.interactions:
                if interaction.response.stream is not None:
                    self.responder.chunks(interaction.response.stream)
        # the size of each recorded request body, to know which can be diffed
        self._recorded_sizes = [[len(i.request.body.to_bytes()) for i in c.interactions] for c in loaded]
        self._lock = threading.Lock()
        self._connections_lock = threading.Lock()
        self._connections: dict[socket.socket, bool] = {}  # open connection -> answering a request
        self._dropped_headers: set[str] = set()
        self._serving = False
        self._closed = False
        self._closing = False
        self._cut = False
        self._thread: threading.Thread | None = None
        self.httpd = _HTTPServer((host, port), _Handler, self)
        bound = str(self.httpd.server_address[0])
        if not _is_loopback(bound):
            self._notice(f"serving on {bound}: every host that can reach this machine can read your cassettes")

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def cassettes(self) -> list[Cassette]:
        return [p.cassette for p in self.players]

    @property
    def interaction_count(self) -> int:
        return sum(len(p.cassette.interactions) for p in self.players)

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        """Serve until ``shutdown()`` is called from another thread (or Ctrl-C)."""
        self._serving = True
        self._run(poll_interval)

    def _run(self, poll_interval: float) -> None:
        try:
            self.httpd.serve_forever(poll_interval=poll_interval)
        finally:
            self._serving = False

    def start(self) -> ReplayServer:
        """Serve in a background (daemon) thread; returns self."""
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(target=self._run, args=(0.05,), name="stream-replay-serve", daemon=True)
            self._thread.start()
        return self

    def shutdown(self, grace: float = 0.0) -> tuple[int, int]:
        """Stop serving: stop listening, close idle connections, give the responses in
        progress up to ``grace`` seconds to end (``cut()`` ends the wait), then close
        every connection, cutting what still runs. Returns how many responses in
        progress ended within the grace, and how many were cut. Idempotent; never call
        it from a request handler."""
        if self._closed:
            return 0, 0
        self._closed = True
        self._closing = True  # a response that ends now closes its connection
        if self._serving:  # False once serve_forever has ended (e.g. Ctrl-C in it)
            self.httpd.shutdown()
        self.httpd.server_close()
        busy = self._close_connections(idle_only=True)
        deadline = time.monotonic() + grace
        while self._close_connections(idle_only=True, count_only=True) and not self._cut:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        cut = self._close_connections(idle_only=False)
        if self._thread is not None:
            self._thread.join(timeout=5)
        return max(0, busy - cut), cut

    def cut(self) -> None:
        """End the grace of a ``shutdown`` in progress (from a signal handler, say)."""
        self._cut = True

    def _close_connections(self, *, idle_only: bool, count_only: bool = False) -> int:
        """Close the idle connections (or all), unless ``count_only``; returns how many
        connections were answering a request."""
        with self._connections_lock:
            connections = list(self._connections.items())
        busy = sum(1 for _, answering in connections if answering)
        if not count_only:
            for connection, answering in connections:  # an in-flight stream ends; an idle keep-alive closes
                if answering and idle_only:
                    continue
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        return busy

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections[connection] = False
            else:
                self._connections.pop(connection, None)

    def _answering(self, connection: socket.socket, answering: bool) -> None:
        with self._connections_lock:
            if connection in self._connections:
                self._connections[connection] = answering

    def _log(self, line: str) -> None:
        if self.log is not None:
            with self._log_lock:
                self.log.write(f"stream-replay: {line}\n")
                self.log.flush()

    def _notice(self, text: str) -> None:
        """Something the user should know: a log line, or without a log a warning
        (pointing at the caller's line that made the server)."""
        if self.log is not None:
            self._log(f"warning: {text}")
            return
        level, frame = 1, sys._getframe(0)  # stacklevel 1 is this frame
        while frame is not None and frame.f_globals.get("__name__") == __name__:
            level, frame = level + 1, frame.f_back  # type: ignore[assignment]
        warnings.warn(StreamReplayWarning(f"stream-replay: {text}"), stacklevel=level)

    def _writable(self, cassette: Cassette) -> Cassette:
        """``cassette`` without the recorded response headers that cannot be written
        safely (each said once)."""
        interactions = []
        for index, interaction in enumerate(cassette.interactions):
            headers = interaction.response.headers
            problems = {name: header_problem(name, value) for name, value in headers.items()}
            if any(problems.values()):
                for name, problem in problems.items():
                    if problem is not None:
                        self._notice(
                            f"{cassette.label} interactions[{index}]: the recorded response header "
                            f"{_printable(str(name))!r} is left out of its answers: {problem}"
                        )
                kept = {name: value for name, value in headers.items() if problems[name] is None}
                interaction = dataclasses.replace(
                    interaction, response=dataclasses.replace(interaction.response, headers=kept)
                )
            interactions.append(interaction)
        if all(a is b for a, b in zip(interactions, cassette.interactions, strict=True)):
            return cassette
        return dataclasses.replace(cassette, interactions=tuple(interactions))

    # ------------------------------------------------------------------ answering

    def answer(self, request: httpx.Request) -> _Answer:
        """Which recorded response answers ``request`` (marked played), or the 404."""
        started = time.monotonic()
        size = len(request.content)
        incoming = view(request.method, str(request.url), request.content)
        prepared = self.matching.prepare(incoming)
        with self._lock:
            chosen, drifted = self._choose(prepared)
            if chosen is not None:
                chosen[0].mark(chosen[1])
        if chosen is None:
            body = json.dumps({"message": self._no_match(incoming, prepared, size)}).encode()
            # marked: no recorder (ours, vcrpy through our serializer) keeps it as the API's answer
            headers = [("content-type", "application/json"), (MARK_HEADER, NO_MATCH)]
            return _Answer(404, headers, body=body, note="no recorded match")
        player, index = chosen
        if drifted:
            self._report_drift(player, incoming, index, size)
        response = self.responder.respond(
            player.cassette, index, request, asynchronous=False, started=started, release=lambda: player.release(index)
        )
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _FRAMING_HEADERS]
        stream = player.cassette.interactions[index].response.stream
        note = f"{player.cassette.label} interactions[{index}]"
        if stream is None:
            return _Answer(response.status_code, headers, body=response.read(), note=note)
        note += f", {len(stream.events)} events"
        return _Answer(response.status_code, headers, response=response, streamed=True, note=note)

    def _choose(self, prepared: RequestView) -> tuple[tuple[Player, int] | None, bool]:
        """The first cassette holding an unplayed match, else the first with any match;
        with ``drift="accept"`` and no match at all, the same by everything but the body
        (then True: it drifted)."""
        chosen = self._route(prepared, drifting=False)
        if chosen is None:
            chosen = self._route(prepared, drifting=True)
            return chosen, chosen is not None
        return chosen, False

    def _route(self, prepared: RequestView, *, drifting: bool) -> tuple[Player, int] | None:
        repeat: tuple[Player, int] | None = None
        for player in self.players:
            matching = player.loose if drifting else player.matching
            if matching is None:
                continue
            lookup = player.lookup(prepared, matching, prepared=True)
            if lookup.unplayed is not None:
                return player, lookup.unplayed
            if repeat is None and lookup.played is not None:
                repeat = (player, lookup.played)
        return repeat

    def _report_drift(self, player: Player, incoming: RequestView, index: int, size: int) -> None:
        if size <= self.explain_body_bytes:
            player.report_drift(incoming, index)
        else:
            self._log(
                f"stream_replay: {incoming.describe()} was answered by interactions[{index}] of "
                f"{player.cassette.label}, recorded with another body (drift accepted); this request's body "
                f"is {_size(size)}: field diff skipped"
            )

    def _no_match(self, incoming: RequestView, prepared: RequestView, size: int) -> str:
        """Why nothing answers: the explanation of the cassette whose recorded request is
        nearest, bounded in the work it does (see the module docstring)."""
        started = time.monotonic()
        ranked: list[tuple[int, int, bool, int, int, list[str]]] = []
        big = size > self.explain_body_bytes
        for position, player in enumerate(self.players):
            for index, recorded in enumerate(player.views()):
                failed = player.matching.failures(recorded, prepared)
                others = sum(1 for name in failed if name != "body")
                fields = _top_level_differences(recorded.body, prepared.body) if "body" in failed else 0
                ranked.append((others, fields, recorded.route != prepared.route, position, index, failed))
        if not ranked:
            return self.players[0].explain(incoming, Lookup(None, None), prepared=prepared)
        ranked.sort(key=lambda entry: entry[:5])
        best: tuple[tuple[int, int, int, bool, int, int], list[str]] | None = None
        for rank, (others, top_level, other_route, position, index, failed) in enumerate(ranked):
            if rank >= self.explain_candidates or (rank and time.monotonic() - started > self.explain_seconds):
                break  # the nearest so far answers: one field diff more at most, of a bounded size
            fields = len(failed)
            if "body" in failed:
                if big or self._recorded_sizes[position][index] > self.explain_body_bytes:
                    fields += _RANKING_LIMIT  # unknown: after every body compared
                else:
                    recorded = self.players[position].views()[index]
                    fields += len(differences(recorded.body, prepared.body, limit=_RANKING_LIMIT)) - 1
            key = (others, fields, top_level, other_route, position, index)
            if best is None or key < best[0]:
                best = (key, failed)
        assert best is not None
        (_, fields, _, _, position, index), failed = best
        note = None
        if "body" in failed:
            recorded_size = self._recorded_sizes[position][index]
            if big:
                note = (
                    f"this request's body is {_size(size)}: field diff skipped "
                    f"(serve diffs bodies up to {_size(self.explain_body_bytes)})"
                )
            elif recorded_size > self.explain_body_bytes:
                note = (
                    f"the recorded body is {_size(recorded_size)}: field diff skipped "
                    f"(serve diffs bodies up to {_size(self.explain_body_bytes)})"
                )
        closest = Closest(index, failed, fields)
        return self.players[position].explain(
            incoming, Lookup(None, None), prepared=prepared, closest=closest, body_note=note
        )


_ABSENT = object()


def _top_level_differences(recorded: Any, incoming: Any) -> int:
    """How many top-level fields of two bodies differ: a cheap first ranking (the work
    is the recorded body's top level, and C-level comparisons)."""
    if isinstance(recorded, dict) and isinstance(incoming, dict):
        shared = sum(1 for key in recorded if key in incoming)
        changed = sum(1 for key, value in recorded.items() if incoming.get(key, _ABSENT) != value)
        return changed + len(incoming) - shared
    return 0 if recorded == incoming else 1


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB".replace(".0 ", " ")
    return f"{count / (1024 * 1024):.1f} MiB".replace(".0 ", " ")


def _printable(text: str) -> str:
    """``text`` for a log line: control characters escaped, cut to a readable length."""
    cut = text[:_LOG_PATH]
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    return shown + ("…" if len(text) > _LOG_PATH else "")


def _too_large(limit: int, length: int | None) -> str:
    """A 413's message (``length``: None for a chunked body, whose length is unknown)."""
    bound = f"serve's limit of {_size(limit)} ({limit} bytes)"
    if length is None:
        what = f"the chunked request body passed {bound}"
    else:
        what = f"the request body is {_size(length)} ({length} bytes), over {bound}"
    return f"{what}; to accept larger bodies, {MAX_BODY_HINT}"


class _Refused(Exception):
    """A request the server answers with an error of its own, then closes the connection."""

    def __init__(self, status: int, message: str, note: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.note = note


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops a burst of connections (each retried 1 s later)

    def __init__(self, address: tuple[str, int], handler: type[_Handler], replay: ReplayServer) -> None:
        self.replay = replay
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can
        # stall on a machine without DNS; the name is never used.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError) or self.replay._closed:
            return  # a client went away, or the server is closing its connections
        super().handle_error(request, client_address)


class _Reads(io.RawIOBase):
    """A connection's socket reads, each waiting at most until the deadline of what is
    being read: a request's line and headers ``header_timeout`` after its first byte
    (the connection's opening, for its first request), the next request on a kept-alive
    connection ``idle_timeout``, a body ``body_timeout`` with no pause over
    ``header_timeout``. A read past its deadline raises ``TimeoutError`` and ``expired``
    says which wait it was."""

    def __init__(self, sock: socket.socket, replay: ReplayServer, on_first_byte: Callable[[], None]) -> None:
        super().__init__()
        self.sock = sock
        self.replay = replay
        self.on_first_byte = on_first_byte
        self.opened = time.monotonic()
        self.phase = "head"
        self.deadline = math.inf
        self.pause: float | None = None
        self.received = 0  # bytes received since the request was awaited
        self.expired: str | None = None

    def readable(self) -> bool:
        return True

    def await_request(self, first: bool) -> None:
        self.received, self.expired, self.pause = 0, None, None
        if first:
            self.phase, self.deadline = "head", self.opened + self.replay.header_timeout
        else:
            self.phase, self.deadline = "idle", time.monotonic() + self.replay.idle_timeout

    def await_body(self) -> None:
        self.phase, self.deadline = "body", time.monotonic() + self.replay.body_timeout
        self.pause = self.replay.header_timeout

    def readinto(self, buffer: WriteableBuffer) -> int:
        wait = self.deadline - time.monotonic()
        if self.pause is not None:
            wait = min(wait, self.pause)
        if wait <= 0:
            self.expired = self.phase
            raise TimeoutError(f"no data within the {self.phase} timeout")
        self.sock.settimeout(wait)
        try:
            count = self.sock.recv_into(buffer)
        except TimeoutError:
            self.expired = self.phase
            raise
        if count and self.received == 0 and self.phase in ("idle", "head"):
            if self.phase == "idle":  # the request starts now: its head is due header_timeout from here
                self.phase, self.deadline = "head", time.monotonic() + self.replay.header_timeout
            self.on_first_byte()
        self.received += count
        return count


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer
    reads: _Reads

    def setup(self) -> None:
        replay = self.server.replay
        super().setup()
        self.connection.settimeout(replay.header_timeout)  # until each read or write sets its own
        self.rfile.close()  # replaced by reads that keep to the deadlines (the socket stays open)
        self.reads = _Reads(self.connection, replay, lambda: replay._answering(self.connection, True))
        self.rfile = io.BufferedReader(self.reads)
        self._first = True
        replay._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.replay._track(self.connection, False)

    def handle(self) -> None:
        # a client that goes away, or the server closing the connection, is not an error
        with contextlib.suppress(ConnectionError):
            super().handle()

    def handle_one_request(self) -> None:
        replay = self.server.replay
        if replay._closing:
            self.close_connection = True
            return
        self.reads.await_request(self._first)
        self._first = False
        try:
            super().handle_one_request()  # a read past its deadline ends it, closing the connection
        finally:
            replay._answering(self.connection, False)
        if self.reads.expired == "head" and self.reads.received:
            self.close_connection = True
            self._refuse(
                408,
                f"no complete request line and headers within {replay.header_timeout:g} s (header_timeout)",
                "request head timed out",
                linger=False,
            )

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is written by _respond instead

    def do_POST(self) -> None:
        try:
            self._respond()
        finally:  # answered: as soon as possible, for shutdown's count of responses in progress
            self.server.replay._answering(self.connection, False)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    # ------------------------------------------------------------------ reading

    def handle_expect_100(self) -> bool:
        try:  # refuse before the client sends a body that would be refused
            self._framing()
        except _Refused as refused:
            self._refuse(refused.status, refused.message, refused.note, linger=False)
            return False
        return super().handle_expect_100()

    def _framing(self) -> tuple[bool, int]:
        """Whether the body is chunked, else its length; ``_Refused`` for ambiguous or
        malformed framing, or a ``Content-Length`` over the limit."""
        codings = self.headers.get_all("transfer-encoding") or []
        lengths = self.headers.get_all("content-length") or []
        if codings and lengths:
            raise _Refused(
                400,
                "the request has both Transfer-Encoding and Content-Length: send one of them",
                "ambiguous framing",
            )
        if codings:
            names = [part.strip().lower() for value in codings for part in value.split(",")]
            if names == ["chunked"]:
                return True, 0
            shown = ", ".join(value.strip() for value in codings)[:100]
            if not all(names) or names.count("chunked") > 1 or ("chunked" in names and names[-1] != "chunked"):
                # malformed (RFC 9112: chunked is last, once); any other coding is only not implemented
                raise _Refused(
                    400, f"Transfer-Encoding {shown!r}: chunked must be the only coding", "bad Transfer-Encoding"
                )
            raise _Refused(
                501,
                f"Transfer-Encoding {shown!r} is not supported: send the body with Content-Length, "
                "or with Transfer-Encoding: chunked",
                "unsupported Transfer-Encoding",
            )
        if len(lengths) > 1:
            shown = ", ".join(repr(value) for value in lengths)[:100]
            raise _Refused(
                400, f"the request has {len(lengths)} Content-Length headers ({shown}): send one", "bad Content-Length"
            )
        if not lengths:
            return False, 0
        text = lengths[0].strip()
        if not (text.isascii() and text.isdigit()):
            raise _Refused(400, f"Content-Length {lengths[0][:40]!r} is not a number of bytes", "bad Content-Length")
        length = int(text) if len(text) <= 18 else 10**18  # not converted: refused as too large below
        limit = self.server.replay.max_body_bytes
        if length > limit:
            raise _Refused(413, _too_large(limit, length), "body over the limit")
        return False, length

    def _read_body(self) -> bytes:
        chunked, length = self._framing()
        if chunked:
            return self._read_chunks(self.server.replay.max_body_bytes)
        if length == 0:
            return b""
        body = self.rfile.read(length)
        if len(body) < length:
            raise _Refused(400, f"the body ended after {len(body)} of its {length} bytes", "body cut short")
        return body

    def _read_chunks(self, limit: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_LINE + 1)
            if not line.endswith(b"\n"):
                if len(line) > _LINE:
                    raise _Refused(400, f"a chunk-size line is longer than {_LINE} bytes", "bad chunk size")
                raise _Refused(400, "the chunked body ended before its last chunk", "body cut short")
            size = line.split(b";", 1)[0].strip(b" \t\r\n")
            if not _CHUNK_SIZE.fullmatch(size):
                shown = line[:40].decode("latin-1")
                raise _Refused(
                    400, f"malformed chunk size {shown!r}: a chunk starts with its size in hexadecimal", "bad chunk"
                )
            count = int(size, 16)
            if count == 0:
                self._read_trailers()
                return b"".join(parts)
            total += count
            if total > limit:
                raise _Refused(413, _too_large(limit, None), "body over the limit")
            data = self.rfile.read(count)
            if len(data) < count:
                raise _Refused(400, "the chunked body ended inside a chunk", "body cut short")
            parts.append(data)
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Refused(
                    400, f"a chunk of {count} bytes is not followed by CRLF: its size is not its length", "bad chunk"
                )

    def _read_trailers(self) -> None:
        for _ in range(_TRAILERS + 1):
            line = self.rfile.readline(_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return
            if not line.endswith(b"\n"):
                raise _Refused(400, "the chunked body ended before the blank line after its last chunk", "bad chunk")
        raise _Refused(400, f"more than {_TRAILERS} trailer lines after the last chunk", "bad chunk")

    # ------------------------------------------------------------------ answering

    def _respond(self) -> None:
        replay = self.server.replay
        replay._answering(self.connection, True)  # also for a request read from the buffer, without a socket read
        self.reads.await_body()
        try:
            body = self._read_body()
        except _Refused as refused:
            self._refuse(refused.status, refused.message, refused.note, linger=True)
            return
        except TimeoutError:
            self._refuse(
                408,
                f"the request body did not arrive within {replay.body_timeout:g} s, or paused for "
                f"{replay.header_timeout:g} s (body_timeout, header_timeout)",
                "request body timed out",
                linger=False,
            )
            return
        self.connection.settimeout(replay.idle_timeout)  # from here on, the writes' wait
        try:
            if not self.path.startswith("/"):
                raise ValueError(f"unsupported request target {self.path!r}")
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            request = httpx.Request(self.command, replay.url + self.path, headers=headers, content=body)
        except (ValueError, httpx.InvalidURL) as exc:
            self.close_connection = True
            self._send(400, [("content-type", "application/json")], json.dumps({"message": str(exc)}).encode())
            return
        del body
        try:
            answer = replay.answer(request)
        except Exception as exc:  # a bug: say so to the client too, rather than hang up
            replay._log(f"{self._what()} -> 500\n{traceback.format_exc().rstrip()}")
            message = f"stream-replay: internal error: {type(exc).__name__}: {exc}"
            self._send(500, [("content-type", "application/json")], json.dumps({"message": message}).encode())
            return
        del request
        what = f"{self._what()} -> {answer.status} ({answer.note})"
        replay._log(what)  # before answering: the line is there once the client has its answer
        if not answer.streamed or answer.response is None:
            self._send(answer.status, answer.headers, answer.body)
            return
        self.send_response(answer.status)
        self._write_headers(answer.headers)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        stream = answer.response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        try:
            for chunk in stream:
                if chunk:  # an empty chunk would end the body
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
        except (httpx.HTTPError, StreamReplayError) as exc:
            # the recording failed (or stopped) here: end the connection, not the body
            replay._log(f"{what}: closed mid-stream as recorded ({type(exc).__name__})")
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except TimeoutError:
            replay._log(f"{what}: closed: the client took nothing for {replay.idle_timeout:g} s (idle_timeout)")
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_headers(self, headers: list[tuple[str, str]]) -> None:
        replay = self.server.replay
        for name, value in headers:
            problem = header_problem(name, value)
            if problem is None:
                self.send_header(name, value)
                continue
            key = f"{name!r}: {problem}"
            with replay._connections_lock:
                first = key not in replay._dropped_headers and len(replay._dropped_headers) < 100
                replay._dropped_headers.add(key)
            if first:
                replay._log(f"the response header {_printable(str(name))!r} is left out: {problem}")
        if replay._closing:
            self.send_header("connection", "close")

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        self._write_headers(headers)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own refusals (a request line or header too long, too many
        # headers, an unsupported method or version): JSON like every other error
        text = message or self.responses.get(code, ("error",))[0]
        self._refuse(code, text[:200], text[:80], linger=True)

    def _refuse(self, status: int, message: str, note: str, *, linger: bool) -> None:
        """Answer ``status`` with ``{"message": "stream-replay: ..."}`` and close the
        connection; with ``linger``, first read (and drop) what the client still sends,
        for a moment, so that it reads the answer rather than a reset."""
        self.close_connection = True
        self.server.replay._log(f"{self._what()} -> {status} ({note})")
        body = json.dumps({"message": f"stream-replay: {message}"}).encode()
        phrase = self.responses.get(status, ("Error",))[0]
        head = (
            f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            self.connection.settimeout(_ERROR_WRITE_TIMEOUT)
            self.wfile.write(head.encode("ascii") + body)
            self.wfile.flush()
            if linger:
                self._linger()

    def _linger(self) -> None:
        sock = self.connection
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + _LINGER_SECONDS
        scratch = bytearray(64 * 1024)
        drained = 0
        while drained < _LINGER_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            count = sock.recv_into(scratch)
            if not count:
                return
            drained += count

    def _what(self) -> str:
        """The request, for a log line."""
        command = getattr(self, "command", None) or "-"
        path = getattr(self, "path", None) or "-"
        return f"{_printable(command)} {_printable(path)}"


class _Terminated(BaseException):
    """SIGTERM arrived (raised by ``serve``'s handler, like ``KeyboardInterrupt``, and
    like it not an ``Exception``: the signal can land while the main thread is inside
    socketserver's ``process_request``, whose ``except Exception`` would log it and
    serve on)."""


def serve(
    paths: Sequence[str | os.PathLike[str]],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float = 1.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
    faults: Sequence[str] = (),
    match_on: Sequence[str] = DEFAULT_MATCH_ON,
    ignore_fields: Sequence[str] = (),
    ignore_patterns: Sequence[str] = (),
    drift: Drift = "fail",
    max_body_bytes: int = MAX_BODY_BYTES,
    header_timeout: float = HEADER_TIMEOUT,
    idle_timeout: float = IDLE_TIMEOUT,
    grace: float = SIGTERM_GRACE,
) -> int:
    """The ``stream-replay serve`` command: serve until Ctrl-C or SIGTERM. Returns the
    exit code: 0 once stopped (one line on ``err`` says why), 2 (one line on ``err``)
    for a bad cassette, path, address or limit. Ctrl-C cuts the responses in progress;
    SIGTERM gives them up to ``grace`` seconds to end (a second signal cuts them)."""
    stdout = out or sys.stdout
    stderr = err or sys.stderr
    try:
        from .faults import parse

        server = ReplayServer(
            paths,
            host,
            port,
            speed,
            log=stderr,
            faults=[parse(spec) for spec in faults],
            match_on=match_on,
            ignore_fields=ignore_fields,
            ignore_patterns=ignore_patterns,
            drift=drift,
            max_body_bytes=max_body_bytes,
            header_timeout=header_timeout,
            idle_timeout=idle_timeout,
        )
    except (StreamReplayError, ValueError, OSError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) and exc.filename is not None:
            text = f"{exc.filename}: {exc.strerror or text}"
        elif isinstance(exc, OSError):
            text = f"cannot listen on {host}:{port}: {exc.strerror or text}"
        stderr.write(f"stream-replay: {text}\n")
        stderr.flush()
        return 2
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stopping:  # a second signal while stopping: cut the responses in progress now
            server.cut()
            return
        stopping.append(signum)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise _Terminated

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            previous[stop_signal] = signal.signal(stop_signal, on_signal)
    reason = "shut down"
    cut_wait = 0.0
    try:
        count = len(server.players)
        interactions = server.interaction_count
        stdout.write(
            f"stream-replay: serving {count} cassette{'s' if count != 1 else ''} "
            f"({interactions} interaction{'s' if interactions != 1 else ''}) on {server.url}\n"
        )
        stdout.flush()
        server.serve_forever()
    except KeyboardInterrupt:
        reason = "Ctrl-C"
    except _Terminated:
        reason, cut_wait = "SIGTERM", grace
    finally:
        stopping.append(0)  # from here on, any stop signal cuts at once
        try:
            finished, cut = server.shutdown(cut_wait)
        finally:
            for stop_signal, handler in previous.items():
                signal.signal(stop_signal, handler)
    line = f"stream-replay: stopped ({reason})"
    if finished:
        line += f"; {_count(finished, 'response')} in progress ended first"
    if cut:
        why = "at a second signal" if server._cut else (f"after {grace:g} s" if cut_wait else "")
        line += f"; cut {_count(cut, 'response')} still running {why}".rstrip()
    stderr.write(line + "\n")
    stderr.flush()
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


__all__ = ["MAX_BODY_BYTES", "ReplayServer", "cassette_files", "header_problem", "serve"]
