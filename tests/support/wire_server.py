"""A real HTTP server on 127.0.0.1 that speaks Cohere's chat wire protocol.

It answers ``POST /v1/chat`` and ``POST /v2/chat`` (and anything else it is given)
with recorded bytes: status, content type, and a body sent one event per chunk
(HTTP/1.1 chunked), optionally with a delay before each event. The tests point the
real cohere SDK at it (``base_url=server.url``) as the stand-in for the live API.
Loopback only; it stops when the fixture ends.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stream_replay.wire import decode, encode_event


@dataclass
class Reply:
    status: int = 200
    content_type: str = "text/event-stream"
    chunks: Sequence[bytes] = ()
    delays: Sequence[float] = ()  # seconds to wait before each chunk
    headers: dict[str, str] = field(default_factory=dict)
    #: close the connection abruptly after this many chunks (no chunked terminator)
    drop_after: int | None = None

    @classmethod
    def stream(cls, body: bytes, fmt: str, delay: float = 0.0) -> Reply:
        events = decode(body, fmt)  # type: ignore[arg-type]
        chunks = [encode_event(e, fmt) for e in events]  # type: ignore[arg-type]
        content_type = "text/event-stream" if fmt == "sse" else "application/stream+json"
        return cls(200, content_type, chunks, [delay] * len(chunks))

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, "application/json", [json.dumps(payload).encode()], [0.0], headers or {})


class WireServer:
    """Serve queued replies in order; records each request's path and JSON body."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def handle(self) -> None:
                # a client that closes a kept-alive connection is not an error here
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()

            def do_POST(self) -> None:
                self._answer()

            def do_GET(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append((self.command, self.path, body))
                    reply = server.replies.pop(0) if server.replies else None
                if reply is None:
                    reply = Reply.json(599, {"message": "wire server: no reply queued"})
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                delays = list(reply.delays) or [0.0] * len(reply.chunks)
                for sent, (chunk, delay) in enumerate(zip(reply.chunks, delays, strict=False)):
                    if reply.drop_after is not None and sent >= reply.drop_after:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if delay:
                        time.sleep(delay)
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def __enter__(self) -> WireServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def serve() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server
