"""One exchange being recorded: the bytes as they arrive, with their arrival times.

The consumer is never made to wait: each chunk is passed on the moment it arrives,
and only its length and arrival time are noted (plus the bytes, to write later).
When the exchange ends (the body completes, the connection fails, or the consumer
closes the response early) the capture becomes one ``Interaction`` whose events
carry the time each one's last byte arrived.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import bisect
import threading
import time
import warnings
from collections.abc import Callable

import httpx

from ..cassette.model import Body, Interaction, Outcome, Request, Response, Stream, StreamError
from ..cassette.redaction import REQUEST_HEADERS, RESPONSE_HEADERS, keep_headers, scrub_url
from ..errors import TruncatedStreamWarning
from ..wire import WireEvent, decode, encode_event, format_of, is_terminated
from .policy import MARK_HEADER


def recorded_request(request: httpx.Request) -> Request:
    return Request(
        method=request.method,
        url=scrub_url(str(request.url)),
        headers=keep_headers(request.headers.multi_items(), REQUEST_HEADERS),
        body=Body.of_text(request.content.decode("utf-8", "surrogateescape")),
    )


class Capture:
    """Bytes and arrival times of one response body, finished exactly once."""

    def __init__(
        self,
        request: httpx.Request,
        response: httpx.Response,
        started: float,
        on_finish: Callable[[Capture, Interaction], None],
    ) -> None:
        self.request = request
        self.status = response.status_code
        self.headers = keep_headers(response.headers.multi_items(), RESPONSE_HEADERS)
        #: The marks a replay server puts on answers of its own (never stored).
        self.marks = {MARK_HEADER: response.headers.get(MARK_HEADER, "")}
        self.format = format_of(response.status_code, response.headers.get("content-type", ""))
        self.started = started
        self.chunks: list[bytes] = []
        self.ends: list[int] = []  # cumulative byte count after each chunk
        self.times: list[float] = []  # seconds from the request to each chunk's arrival
        self.size = 0
        self._finished = False
        self._lock = threading.Lock()
        self._on_finish = on_finish

    def chunk(self, data: bytes) -> None:
        if data:
            now = time.monotonic()
            self.chunks.append(data)
            self.size += len(data)
            self.ends.append(self.size)
            self.times.append(now - self.started)

    def completed(self) -> None:
        self._finish("completed", None)

    def failed(self, exc: BaseException) -> None:
        kind = type(exc)
        module = "httpx" if kind.__module__.startswith("httpx") else kind.__module__
        self._finish("failed", StreamError(f"{module}.{kind.__qualname__}", str(exc)))

    def stopped(self) -> None:
        self._finish("stopped", None)

    def _finish(self, outcome: Outcome, error: StreamError | None) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._on_finish(self, self.interaction(outcome, error))

    def interaction(self, outcome: Outcome, error: StreamError | None) -> Interaction:
        request = recorded_request(self.request)
        body = b"".join(self.chunks)
        if self.format is None:
            return Interaction(
                request, Response(self.status, self.headers, Body.of_text(body.decode("utf-8", "surrogateescape")))
            )
        events = self._timed_events(decode(body, self.format))
        if outcome == "stopped" and is_terminated(events, self.format):
            # cohere's v2 parser stops reading at [DONE] and closes the response before
            # the body's last bytes: the stream was complete all the same.
            outcome = "completed"
        if outcome == "completed" and not is_terminated(events, self.format):
            outcome = "truncated"
            warnings.warn(
                TruncatedStreamWarning(
                    f"{request.method} {request.url}: the stream ended without its terminator "
                    f"({'data: [DONE]' if self.format == 'sse' else 'stream-end'}); it is recorded "
                    "as 'truncated' and will replay exactly so"
                ),
                stacklevel=2,
            )
        stream = Stream(self.format, tuple(events), outcome, error)
        return Interaction(request, Response(self.status, self.headers, stream=stream))

    def _timed_events(self, events: list[WireEvent]) -> list[WireEvent]:
        """Each event with the arrival time of the chunk that completed it."""
        timed = []
        position = 0
        for event in events:
            position += len(encode_event(event, self.format))  # type: ignore[arg-type]
            index = min(bisect.bisect_left(self.ends, position), len(self.times) - 1)
            timed.append(event.with_offset(round(self.times[index], 4)))
        return timed
