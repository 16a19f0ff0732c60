"""Recorded responses as ``httpx`` responses: a stream one event per chunk at the chosen
pace, in the framing the request accepts (``negotiation``), ending as it was recorded
(completed, truncated, failed, stopped), with the replay's faults applied. The
in-process transport, ``serve`` and the plugin all send what the responder builds;
which interaction to send is the player's business.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import httpx

from ..cassette import Cassette, Interaction
from ..cassette.model import Stream
from ..errors import RecordingEndedError, StreamReplayError
from ..wire import CONTENT_TYPES, encode_event
from .negotiation import negotiated, wants_json_lines
from .pacing import apaced, check_speed, paced, schedule

if TYPE_CHECKING:
    from .faults import Fault
    from .faulty import FaultSchedule
    from .player import Player


class Responder:
    """Builds the response of a recorded interaction (see the module docstring).

    ``speed``: None (instant), 1.0 (the recorded pace) or N (N times faster).
    ``faults``: ``stream_replay.faults`` values, each applied to every response or to
    its first ``times``.
    """

    def __init__(self, speed: float | None = None, faults: Sequence[Fault] = ()) -> None:
        check_speed(speed)
        self.speed = speed
        #: The faults' schedule; None without faults (a replay without them never loads
        #: the fault modules: their dozen dataclasses cost milliseconds to create).
        self.faults: FaultSchedule | None = None
        if faults:
            from .faulty import FaultSchedule

            self.faults = FaultSchedule(faults)
        self._chunks: dict[int, tuple[Stream, list[bytes]]] = {}
        self._json_lines: dict[int, tuple[Stream, Stream]] = {}
        self._lock = threading.Lock()

    def chunks(self, stream: Stream) -> list[bytes]:
        """The wire chunks of ``stream``, one per event (encoded once)."""
        cached = self._chunks.get(id(stream))
        if cached is None:
            cached = (stream, [encode_event(e, stream.format) for e in stream.events])  # keeps ``id`` unique
            with self._lock:
                self._chunks[id(stream)] = cached
        return cached[1]

    def _framed(self, stream: Stream, accept: str | None) -> Stream:
        """``stream`` as the request's ``Accept`` asks (``negotiation``), built once."""
        if not wants_json_lines(accept):
            return stream
        cached = self._json_lines.get(id(stream))
        if cached is None:
            cached = (stream, negotiated(stream, accept))  # keeps ``id`` unique
            with self._lock:
                self._json_lines[id(stream)] = cached
        return cached[1]

    def answer(
        self, player: Player, index: int, request: httpx.Request, *, asynchronous: bool, started: float
    ) -> Callable[[], httpx.Response]:
        """``respond`` for the interaction ``player`` chose for ``request``, made when it is
        called: a transport hands it to httpx (``replay.handover``). An injected HTTP error
        given in the recorded answer's place gives that interaction back to the player."""
        return functools.partial(
            self.respond,
            player.cassette,
            index,
            request,
            asynchronous=asynchronous,
            started=started,
            release=functools.partial(player.release, index),
        )

    def respond(
        self,
        cassette: Cassette,
        index: int,
        request: httpx.Request,
        *,
        asynchronous: bool,
        started: float | None = None,
        release: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """The recorded response of ``cassette.interactions[index]`` to ``request``, its
        events due from ``started`` (a ``time.monotonic()``; default now). When an
        injected HTTP error takes the recorded answer's place, ``release`` is called: the
        recorded answer was not given, so the player can give it to the next request
        (an application's own retry)."""
        started = time.monotonic() if started is None else started
        interaction = cassette.interactions[index]
        res = interaction.response
        framed = self._framed(res.stream, request.headers.get("accept")) if res.stream is not None else None
        faults = self.faults.take(res.stream is not None) if self.faults else []
        if faults:
            from .faults import Stage
            from .faulty import faulty_response, make_plan

            if release is not None and any(f.stage == Stage.RESPONSE for f in faults):
                release()
            plan = make_plan(interaction, self.speed, faults, stream=framed)
            ending = _Ending(interaction, _place(cassette, index))
            return faulty_response(plan, request, asynchronous=asynchronous, started=started, finish=ending.finish)
        if framed is None:
            return httpx.Response(res.status, headers=dict(res.headers), content=res.body.to_bytes(), request=request)
        headers = res.headers
        if framed is not res.stream:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        # Encoded now: the client's response and its stream hold each other (a reference
        # cycle of httpx's), and its body must not hold the recorded events (see _Ending).
        chunks = self.chunks(framed)
        return self.streamed(
            cassette, index, request, started, framed, headers, asynchronous=asynchronous, encoded=lambda: chunks
        )

    def streamed(
        self,
        cassette: Cassette,
        index: int,
        request: httpx.Request,
        started: float,
        stream: Stream | None = None,
        headers: dict[str, str] | None = None,
        *,
        asynchronous: bool,
        encoded: Callable[[], list[bytes]] | None = None,
    ) -> httpx.Response:
        """The recorded streamed response of ``cassette.interactions[index]`` as httpx
        gives a streamed one, not yet read: its status and headers (the stream's content
        type if they have none), its body the events of its stream (or of ``stream``, the
        same events framed otherwise, with ``headers``), each event's wire chunk handed
        over once it is due from ``started``, ending as the recording ended. The chunks
        are encoded when the body is first read, or given by ``encoded``."""
        interaction = cassette.interactions[index]
        res = interaction.response
        stream = stream if stream is not None else res.stream
        assert stream is not None
        headers = {**(headers if headers is not None else res.headers)}
        headers.setdefault("content-type", CONTENT_TYPES[stream.format])
        chunks = encoded if encoded is not None else functools.partial(self.chunks, stream)
        due = schedule(stream, self.speed)
        ending = _Ending(interaction, _place(cassette, index))
        body = _AsyncEvents(chunks, due, started, ending) if asynchronous else _SyncEvents(chunks, due, started, ending)
        return httpx.Response(res.status, headers=headers, stream=body, request=request)


def _place(cassette: Cassette, index: int) -> str:
    return f"{cassette.label}: interactions[{index}]"


class _Ending:
    """What happens after the last recorded chunk: nothing, or the recorded failure."""

    def __init__(self, interaction: Interaction, place: str) -> None:
        # Only what the ending needs, not the stream: a response lives in a reference
        # cycle of httpx's (the response and its stream), and the recorded events it
        # would hold would wait for the garbage collector instead of going with the test.
        stream = interaction.response.stream
        self.outcome = stream.outcome if stream is not None else None
        self.error = stream.error if stream is not None else None
        self.place = place

    def finish(self) -> None:
        if self.outcome == "failed" and self.error is not None:
            raise recorded_exception(self.error.type, self.error.message, self.place)
        if self.outcome == "stopped":
            raise RecordingEndedError(
                f"{self.place}: the consumer read past the end of the recording. When it was "
                "recorded, the consumer stopped reading here, so what the server sent next is "
                "unknown.\n  How to fix: record the stream again with the consumer reading to the end."
            )


def recorded_exception(type_name: str, message: str, place: str) -> BaseException:
    """The ``httpx`` exception a recording failed with, to raise again."""
    name = type_name.rsplit(".", 1)[-1]
    cls = getattr(httpx, name, None)
    if isinstance(cls, type) and issubclass(cls, httpx.HTTPError):
        return cls(message)
    return StreamReplayError(
        f"{place}: the recording failed with {type_name}: {message}, which stream_replay cannot "
        "raise faithfully.\n  How to fix: record it again."
    )


class _SyncEvents(httpx.SyncByteStream):
    def __init__(
        self, chunks: Callable[[], list[bytes]], due: list[float] | None, started: float, ending: _Ending
    ) -> None:
        self.chunks = chunks
        self.due = due
        self.started = started
        self.ending = ending

    def __iter__(self) -> Iterator[bytes]:
        yield from paced(self.chunks(), self.due, self.started)
        self.ending.finish()


class _AsyncEvents(httpx.AsyncByteStream):
    def __init__(
        self, chunks: Callable[[], list[bytes]], due: list[float] | None, started: float, ending: _Ending
    ) -> None:
        self.chunks = chunks
        self.due = due
        self.started = started
        self.ending = ending

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in apaced(self.chunks(), self.due, self.started):
            yield chunk
        self.ending.finish()


__all__ = ["Responder", "recorded_exception"]
