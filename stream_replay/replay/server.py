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
  two cassettes gets each recorded answer once, in order, before any repeats.
- **Repeats.** A dev server sees the same request many times (a UI reloads), so the
  players use ``allow_repeats=True``: matching interactions are still answered in
  recorded order first, then the first matching one answers again, forever.
- **No match.** An unmatched request gets HTTP 404, ``content-type:
  application/json``, ``x-stream-replay: no-match`` (so that no recorder keeps it as
  the API's answer), body ``{"message": "..."}`` holding the ``NoMatchError`` text
  of the cassette whose closest request is nearest (fewest differing matchers, then
  the smallest body distance): "Closest recorded: interactions[N] ..." and the field
  diff. The SDK raises its own ``NotFoundError`` carrying it.
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
- **Stopping.** ``stream-replay serve`` prints one line with its URL, logs one line per
  request on stderr, and stops on Ctrl-C with exit code 0.
- **HTTP.** ``http.server.ThreadingHTTPServer`` (daemon threads, keep-alive); request
  bodies read by ``Content-Length`` (or chunked); each event is written as one chunk
  and flushed at once, with Nagle's algorithm off. Non-streamed bodies carry a
  ``Content-Length``. ``shutdown()`` stops listening and closes every open
  connection.
- **Matching** is in-process replay's (method, route, query, JSON body by default; the
  host never matters), with the same options: ``match_on``, ``ignore_fields``,
  ``ignore_patterns``, ``drift`` (``--match-on``, ``--ignore-field``,
  ``--ignore-pattern``, ``--drift``). A 404's "How to fix" names the flags.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import httpx

from ..cassette import Cassette, load_cassette
from ..errors import CassetteError, StreamReplayError
from ..recording.policy import MARK_HEADER, NO_MATCH
from .faults import Fault
from .matching import DEFAULT_MATCH_ON, Matcher, RequestView, view
from .player import Drift, Player
from .responses import Responder

#: The way out of a 404, in serve's own words.
SERVE_IGNORE_HINT = (
    "if a field varies between runs, restart serve with --ignore-field PATH or --ignore-pattern REGEX "
    "(or --drift accept to answer from the recording that matches but for the body)"
)

#: Response headers the server writes itself, never copied from a recording.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


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


@dataclass(frozen=True)
class _Answer:
    """What to send back: a transport's response, or a JSON error of the server's own."""

    status: int
    headers: list[tuple[str, str]]
    response: httpx.Response | None = None
    body: bytes = b""
    streamed: bool = False
    note: str = ""


class ReplayServer:
    """A Cohere-compatible HTTP server replaying ``cassettes`` (see the module docstring).

    ``cassettes``: cassette files, folders of them, or loaded ``Cassette`` objects.
    ``speed``: 1.0 the recorded pace (the default), N times faster, 0 or None instant.
    ``port=0`` picks a free port; ``url`` says which. ``log``: where one line per
    request goes (None: nowhere).

    The socket is bound on construction. ``serve_forever()`` serves in the calling
    thread until ``shutdown()`` (from another thread) or Ctrl-C; as a context manager
    the server runs in a background thread and is shut down on exit.
    """

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
    ) -> None:
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
        self.responder = Responder(speed or None, faults)
        for cassette in loaded:  # encode every stream now: a broken event fails here
            for interaction in cassette.interactions:
                if interaction.response.stream is not None:
                    self.responder.chunks(interaction.response.stream)
        self.log = log
        self._lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._serving = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.httpd = _HTTPServer((host, port), _Handler, self)

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

    def shutdown(self) -> None:
        """Stop serving, close the listening socket and every open connection. Idempotent;
        never call it from a request handler."""
        if self._closed:
            return
        self._closed = True
        if self._serving:  # False once serve_forever has ended (e.g. Ctrl-C in it)
            self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # an in-flight stream ends; an idle keep-alive closes
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _log(self, line: str) -> None:
        if self.log is not None:
            with self._log_lock:
                self.log.write(f"stream-replay: {line}\n")
                self.log.flush()

    # ------------------------------------------------------------------ answering

    def answer(self, request: httpx.Request) -> _Answer:
        """Which recorded response answers ``request`` (marked played), or the 404."""
        started = time.monotonic()
        incoming = view(request.method, str(request.url), request.content)
        with self._lock:
            chosen = self._choose(incoming)
            if chosen is not None:
                chosen[0].mark(chosen[1])
        if chosen is None:
            body = json.dumps({"message": self._no_match(incoming)}).encode()
            # marked: no recorder (ours, vcrpy through our serializer) keeps it as the API's answer
            headers = [("content-type", "application/json"), (MARK_HEADER, NO_MATCH)]
            return _Answer(404, headers, body=body, note="no recorded match")
        player, index = chosen
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

    def _choose(self, incoming: RequestView) -> tuple[Player, int] | None:
        """The first cassette holding an unplayed match, else the first with any match;
        with ``drift="accept"`` and no match at all, the same by everything but the body."""
        chosen = self._route(incoming, drifting=False)
        if chosen is None:
            chosen = self._route(incoming, drifting=True)
            if chosen is not None:
                chosen[0].report_drift(incoming, chosen[1])
        return chosen

    def _route(self, incoming: RequestView, *, drifting: bool) -> tuple[Player, int] | None:
        repeat: tuple[Player, int] | None = None
        for player in self.players:
            if drifting and player.loose is None:
                continue
            lookup = player.lookup(incoming, player.loose if drifting else None)
            if lookup.unplayed is not None:
                return player, lookup.unplayed
            if repeat is None and lookup.played is not None:
                repeat = (player, lookup.played)
        return repeat

    def _no_match(self, incoming: RequestView) -> str:
        """The mismatch explanation of the cassette whose closest request is nearest."""
        ranked = []
        for position, player in enumerate(self.players):
            closest = player.closest(incoming)
            if closest is not None:
                ranked.append(((closest.fields, position), player))
        nearest = min(ranked, key=lambda item: item[0])[1] if ranked else self.players[0]
        return nearest.explain(incoming)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.replay._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.replay._track(self.connection, False)

    def handle(self) -> None:
        # a client that goes away, or the server closing the connection, is not an error
        with contextlib.suppress(ConnectionError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is written by _respond instead

    def do_POST(self) -> None:
        self._respond()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537).strip():
                        pass  # trailers, up to the blank line (or EOF)
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _respond(self) -> None:
        replay = self.server.replay
        try:
            body = self._read_body()
            if not self.path.startswith("/"):
                raise ValueError(f"unsupported request target {self.path!r}")
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            request = httpx.Request(self.command, replay.url + self.path, headers=headers, content=body)
        except (ValueError, httpx.InvalidURL) as exc:
            self.close_connection = True
            self._send(400, [("content-type", "application/json")], json.dumps({"message": str(exc)}).encode())
            return
        try:
            answer = replay.answer(request)
        except Exception as exc:  # a bug: say so to the client too, rather than hang up
            replay._log(f"{self.command} {self.path} -> 500\n{traceback.format_exc().rstrip()}")
            message = f"stream-replay: internal error: {type(exc).__name__}: {exc}"
            self._send(500, [("content-type", "application/json")], json.dumps({"message": message}).encode())
            return
        what = f"{self.command} {self.path} -> {answer.status} ({answer.note})"
        replay._log(what)  # before answering: the line is there once the client has its answer
        if not answer.streamed or answer.response is None:
            self._send(answer.status, answer.headers, answer.body)
            return
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
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
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


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
) -> int:
    """The ``stream-replay serve`` command: serve until Ctrl-C. Returns the exit code:
    0 after Ctrl-C, 2 (one line on ``err``) for a bad cassette, path or address."""
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
        pass
    finally:
        server.shutdown()
    return 0


__all__ = ["ReplayServer", "cassette_files", "serve"]
