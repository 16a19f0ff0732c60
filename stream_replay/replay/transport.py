"""The replay transport: an httpx transport (sync and async) that answers requests
from a cassette, one event per chunk, at the chosen pace.

The cohere SDK talks to it through an ``httpx.Client``/``httpx.AsyncClient``, so
everything above the socket (status handling, the SDK's SSE and NDJSON parsing, its
exceptions) is the SDK's own.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx

from ..cassette import Cassette, Interaction, load_cassette
from ..cassette.model import Stream
from ..errors import NoMatchError, RecordingEndedError, StreamReplayError
from ..faults import Fault
from ..wire import CONTENT_TYPES, encode_event
from .matching import DEFAULT_MATCH_ON, Matcher, Matching, RequestView, distance, field_diff, recorded_view, view
from .pacing import schedule


def as_cassette(cassette: Cassette | str | os.PathLike[str]) -> Cassette:
    return cassette if isinstance(cassette, Cassette) else load_cassette(cassette)


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers each request with the first unplayed recorded interaction that matches.

    Interactions are played in recorded order; each is played once unless
    ``allow_repeats=True``. Thread-safe.
    """

    def __init__(
        self,
        cassette: Cassette | str | os.PathLike[str],
        *,
        speed: float | None = None,
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        ignore_fields: Sequence[str] = (),
        allow_repeats: bool = False,
        faults: Sequence[Fault] = (),
    ) -> None:
        self.cassette = as_cassette(cassette)
        #: Faults injected into the responses (``stream_replay.faults``), each applied to
        #: every response, or to its first ``times``.
        self.faults = tuple(faults)
        self._fault_uses = [0] * len(self.faults)
        self.speed = speed
        schedule(Stream("sse", ()), speed)  # validates speed early
        self.matching = Matching(match_on, ignore_fields)
        self.allow_repeats = allow_repeats
        self._views: list[RequestView] | None = None
        self._plays = [0] * len(self.cassette.interactions)
        self._chunks: dict[int, list[bytes]] = {}
        self._lock = threading.Lock()
        #: Every ``NoMatchError`` raised, in order, even those the code under test caught
        #: (the pytest plugin reports those again at teardown).
        self.mismatches: list[NoMatchError] = []
        #: Extra lines for the end of every mismatch message (the plugin's record command).
        self.mismatch_hint: str | None = None

    # ----------------------------------------------------------------- matching

    @property
    def play_counts(self) -> list[int]:
        """How many times each recorded interaction was played."""
        return list(self._plays)

    def unplayed(self) -> list[int]:
        """Indexes of the recorded interactions no request has used."""
        return [i for i, n in enumerate(self._plays) if n == 0]

    def recorded_views(self) -> list[RequestView]:
        """Each recorded request as matching sees it (``ignore_fields`` applied)."""
        if self._views is None:
            self._views = [self.matching.prepare(recorded_view(i.request)) for i in self.cassette.interactions]
        return self._views

    def claim(self, incoming: RequestView) -> int:
        """The index of the interaction that answers ``incoming``, marked played."""
        with self._lock:
            index = self.find(incoming)
            self._plays[index] += 1
            return index

    def try_claim(self, incoming: RequestView) -> int | None:
        """Like ``claim``, but None (and nothing marked) when no interaction matches."""
        with self._lock:
            index = self.match(incoming)
            if index is not None:
                self._plays[index] += 1
            return index

    def find(self, incoming: RequestView) -> int:
        """Like ``claim`` without marking it played; raises ``NoMatchError``."""
        index = self.match(incoming)
        if index is not None:
            return index
        prepared = self.matching.prepare(incoming)
        played_match = next((i for i, n in enumerate(self.failure_counts(prepared)) if n == 0), None)
        message = self._explain(prepared, played_match)
        if self.mismatch_hint:
            message += "\n" + self.mismatch_hint
        error = NoMatchError(message, cassette=self.cassette.path)
        self.mismatches.append(error)
        raise error

    def match(self, incoming: RequestView) -> int | None:
        """The first unplayed interaction that matches (or, with ``allow_repeats``, the first
        played one), without marking it; None when there is none. Cheap: unlike ``find``,
        it builds no explanation."""
        played_match = None
        for index, failing in enumerate(self.failure_counts(incoming)):
            if failing == 0:
                if self._plays[index] == 0:
                    return index
                if played_match is None:
                    played_match = index
        return played_match if self.allow_repeats else None

    def failure_counts(self, incoming: RequestView) -> list[int]:
        """For each recorded request, how many matchers say no to ``incoming`` (0: a match)."""
        prepared = self.matching.prepare(incoming)
        return [len(self.matching.failures(recorded, prepared)) for recorded in self.recorded_views()]

    def mark_played(self, index: int) -> None:
        with self._lock:
            self._plays[index] += 1

    def _explain(self, incoming: RequestView, played_match: int | None) -> str:
        label = self.cassette.label
        if played_match is not None:
            count = sum(1 for r in self.recorded_views() if not self.matching.failures(r, incoming))
            return (
                f"stream_replay: {incoming.describe()} matches {count} recorded interaction(s) of "
                f"{label}, and every one was already played (interactions[{played_match}] first).\n"
                "  Each recorded interaction answers one request, in recorded order; this request "
                "is one more than was recorded (a retry? a loop that ran once more?).\n"
                "  How to fix: record the extra call, or pass allow_repeats=True to replay "
                "matching interactions again."
            )
        views = self.recorded_views()
        lines = [f"stream_replay: no recorded interaction in {label} matches {incoming.describe()}"]
        if not views:
            lines.append("  The cassette holds no interactions.")
        else:
            scored = sorted(
                range(len(views)),
                key=lambda i: (
                    len(self.matching.failures(views[i], incoming)),
                    distance(views[i].body, incoming.body),
                    i,
                ),
            )
            best = scored[0]
            recorded = views[best]
            failed = self.matching.failures(recorded, incoming)
            lines.append(
                f"  Closest recorded: interactions[{best}] {recorded.describe()} (differs in: {', '.join(failed)})"
            )
            if "body" in failed:
                lines.append("  body, recorded -> this request:")
                lines.extend(f"    {line}" for line in field_diff(recorded.body, incoming.body))
            for name in ("method", "route", "query", "host"):
                if name in failed:
                    lines.append(f"  {name}: {getattr(recorded, name)!r} -> {getattr(incoming, name)!r}")
        lines.append(
            "  How to fix: if the request changed on purpose, record the cassette again; if a field "
            "varies between runs, pass ignore_fields=[...]; see README, 'Matching requests'."
        )
        return "\n".join(lines)

    # ----------------------------------------------------------------- responses

    def chunks(self, index: int) -> list[bytes]:
        """The wire chunks of a streamed interaction, one per event (cached)."""
        cached = self._chunks.get(index)
        if cached is None:
            stream = self.cassette.interactions[index].response.stream
            assert stream is not None
            cached = [encode_event(e, stream.format) for e in stream.events]
            self._chunks[index] = cached
        return cached

    def respond(
        self, index: int, request: httpx.Request, *, asynchronous: bool, started: float | None = None
    ) -> httpx.Response:
        """The recorded response of interaction ``index`` (already claimed), its events
        due from ``started`` (a ``time.monotonic()``; default now)."""
        response = self._response(index, request, asynchronous)
        if started is not None:
            _start(response, started)
        return response

    def _active_faults(self, streamed: bool) -> list[Fault]:
        active = []
        with self._lock:
            for position, fault in enumerate(self.faults):
                if not streamed and fault.stage != 0:
                    continue
                if fault.times is None or self._fault_uses[position] < fault.times:
                    self._fault_uses[position] += 1
                    active.append(fault)
        return active

    def _response(self, index: int, request: httpx.Request, asynchronous: bool) -> httpx.Response:
        interaction = self.cassette.interactions[index]
        res = interaction.response
        faults = self._active_faults(res.stream is not None) if self.faults else []
        if faults:
            from .faulty import faulty_response, make_plan

            plan = make_plan(interaction, self.speed, faults)
            ending = _Ending(interaction, index, self.cassette.label) if res.stream is not None else None
            return faulty_response(
                plan,
                request,
                asynchronous=asynchronous,
                started=time.monotonic(),
                finish=ending.finish if ending is not None else (lambda: None),
            )
        headers = dict(res.headers)
        if res.stream is None:
            return httpx.Response(res.status, headers=headers, content=res.body.to_bytes(), request=request)
        headers.setdefault("content-type", CONTENT_TYPES[res.stream.format])
        due = schedule(res.stream, self.speed)
        ending = _Ending(interaction, index, self.cassette.label)
        stream: httpx.SyncByteStream | httpx.AsyncByteStream
        if asynchronous:
            stream = _AsyncEvents(self.chunks(index), due, ending)
        else:
            stream = _SyncEvents(self.chunks(index), due, ending)
        return httpx.Response(res.status, headers=headers, stream=stream, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        body = request.read()
        index = self.claim(view(request.method, str(request.url), body))
        return self.respond(index, request, asynchronous=False, started=started)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        body = await request.aread()
        index = self.claim(view(request.method, str(request.url), body))
        return self.respond(index, request, asynchronous=True, started=started)


def _start(response: httpx.Response, started: float) -> None:
    stream = response.stream
    if isinstance(stream, (_SyncEvents, _AsyncEvents)):
        stream.started = started


class _Ending:
    """What happens after the last recorded chunk: nothing, or the recorded failure."""

    def __init__(self, interaction: Interaction, index: int, label: str) -> None:
        stream = interaction.response.stream
        assert stream is not None
        self.stream = stream
        self.place = f"{label}: interactions[{index}]"

    def finish(self) -> None:
        stream = self.stream
        if stream.outcome == "failed" and stream.error is not None:
            raise _exception(stream.error.type, stream.error.message, self.place)
        if stream.outcome == "stopped":
            raise RecordingEndedError(
                f"{self.place}: the consumer read past the end of the recording. When it was "
                "recorded, the consumer stopped reading here, so what the server sent next is "
                "unknown.\n  How to fix: record the stream again with the consumer reading to the end."
            )


def _exception(type_name: str, message: str, place: str) -> BaseException:
    name = type_name.rsplit(".", 1)[-1]
    cls = getattr(httpx, name, None)
    if isinstance(cls, type) and issubclass(cls, httpx.TransportError):
        return cls(message)
    if isinstance(cls, type) and issubclass(cls, httpx.HTTPError):
        return cls(message)
    return StreamReplayError(
        f"{place}: the recording failed with {type_name}: {message}, which stream_replay cannot "
        "raise faithfully.\n  How to fix: record it again."
    )


class _SyncEvents(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes], due: list[float] | None, ending: _Ending) -> None:
        self.chunks = chunks
        self.due = due
        self.ending = ending
        self.started = time.monotonic()

    def __iter__(self) -> Iterator[bytes]:
        due = self.due
        if due is None:
            yield from self.chunks
        else:
            for chunk, at in zip(self.chunks, due, strict=True):
                wait = self.started + at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                yield chunk
        self.ending.finish()


class _AsyncEvents(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes], due: list[float] | None, ending: _Ending) -> None:
        self.chunks = chunks
        self.due = due
        self.ending = ending
        self.started = time.monotonic()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio

        due = self.due
        if due is None:
            for chunk in self.chunks:
                yield chunk
        else:
            for chunk, at in zip(self.chunks, due, strict=True):
                wait = self.started + at - time.monotonic()
                if wait > 0:
                    await anyio.sleep(wait)
                yield chunk
        self.ending.finish()


__all__ = ["ReplayTransport", "as_cassette"]
