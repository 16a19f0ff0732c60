"""Responses with faults: which faults act on a response (``FaultSchedule``), the plan
they make of a recorded response, and that plan sent as a server doing the same at
the socket level would send it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import httpx

from ..cassette.model import Interaction, Stream
from ..wire import CONTENT_TYPES
from .faults import DISCONNECT_MESSAGE, Ending, Fault, Plan, Stage, ordered
from .pacing import apaced, paced, schedule

Piece = tuple[bytes, "float | None"]


class FaultSchedule:
    """The faults of a replay, each applied to every response or to its first ``times``
    (an HTTP error to any response, the others to streams only). Thread-safe."""

    def __init__(self, faults: Sequence[Fault] = ()) -> None:
        self.faults = tuple(faults)
        self._uses = [0] * len(self.faults)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.faults)

    def take(self, streamed: bool) -> list[Fault]:
        """The faults that act on the next response, counted as used."""
        active = []
        with self._lock:
            for position, fault in enumerate(self.faults):
                if not streamed and fault.stage != Stage.RESPONSE:
                    continue
                if fault.times is None or self._uses[position] < fault.times:
                    self._uses[position] += 1
                    active.append(fault)
        return active


def make_plan(
    interaction: Interaction, speed: float | None, faults: Sequence[Fault], *, stream: Stream | None = None
) -> Plan:
    """What the transport sends for ``interaction`` with ``faults`` (``stream``: the
    recorded stream as the request's framing has it, when it differs)."""
    response = interaction.response
    stream = stream if stream is not None else response.stream
    plan = Plan(
        status=response.status,
        headers=dict(response.headers),
        format=stream.format if stream is not None else None,
        events=list(stream.events) if stream is not None else [],
        body=None if stream is not None else response.body.to_bytes(),
        due=schedule(stream, speed) if stream is not None else None,
    )
    for fault in ordered(faults):
        if plan.format is None and fault.stage != Stage.RESPONSE:
            continue  # only an HTTP error applies to a response that is not a stream
        fault.apply(plan)
    return plan


class _Sender:
    """The pieces of a plan: those before the ending, those after a stall, and how it ends."""

    def __init__(self, plan: Plan, request: httpx.Request, started: float, finish: Callable[[], None]) -> None:
        self.plan = plan
        self.started = started
        self.finish = finish
        timeout = request.extensions.get("timeout") or {}
        read = timeout.get("read") if isinstance(timeout, dict) else None
        self.read_timeout = float(read) if isinstance(read, (int, float)) else None
        first: list[Piece]
        rest: list[Piece] = []
        if plan.ending is Ending.STALL and plan.cut_after is not None:
            before = Plan(**{**plan.__dict__, "ending": None})
            after = Plan(**{**plan.__dict__, "ending": None, "cut_after": None})
            first = before.pieces()
            if plan.split_every is None:
                rest = after.pieces()[len(first) :]
            else:  # the bytes after the stall, cut the same way
                sent = sum(len(data) for data, _ in first)
                remaining = b"".join(data for data, _ in after.pieces())[sent:]
                size = plan.split_every
                rest = [(remaining[i : i + size], None) for i in range(0, len(remaining), size)]
        else:
            first = plan.pieces()
        self.first = [data for data, _ in first]
        self.first_due = [at for _, at in first]
        self.rest = [data for data, _ in rest]

    def stall(self) -> tuple[float, bool]:
        """How long the stall lasts for this client, and whether its read timeout ends it."""
        seconds = self.plan.stall_seconds
        if self.read_timeout is not None and self.read_timeout < seconds:
            return self.read_timeout, True
        return seconds, False

    def end(self) -> None:
        """After the pieces (and a stall the client sat through): the plan's ending."""
        if self.plan.ending is Ending.DISCONNECT:
            raise httpx.RemoteProtocolError(DISCONNECT_MESSAGE)
        if self.plan.ending is Ending.STALL or self.plan.cut_after is None:
            self.finish()


class SyncFaulty(httpx.SyncByteStream):
    def __init__(self, sender: _Sender) -> None:
        self.sender = sender

    def __iter__(self) -> Iterator[bytes]:
        sender = self.sender
        yield from paced(sender.first, sender.first_due, sender.started)
        if sender.plan.ending is Ending.STALL:
            seconds, timed_out = sender.stall()
            time.sleep(seconds)
            if timed_out:
                raise httpx.ReadTimeout("timed out")
            yield from sender.rest
        sender.end()


class AsyncFaulty(httpx.AsyncByteStream):
    def __init__(self, sender: _Sender) -> None:
        self.sender = sender

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio

        sender = self.sender
        async for data in apaced(sender.first, sender.first_due, sender.started):
            yield data
        if sender.plan.ending is Ending.STALL:
            seconds, timed_out = sender.stall()
            await anyio.sleep(seconds)
            if timed_out:
                raise httpx.ReadTimeout("timed out")
            for data in sender.rest:
                yield data
        sender.end()


def faulty_response(
    plan: Plan,
    request: httpx.Request,
    *,
    asynchronous: bool,
    started: float,
    finish: Callable[[], None],
) -> httpx.Response:
    if plan.format is None:
        return httpx.Response(plan.status, headers=plan.headers, content=plan.body or b"", request=request)
    headers = dict(plan.headers)
    headers.setdefault("content-type", CONTENT_TYPES[plan.format])
    sender = _Sender(plan, request, started, finish)
    stream: httpx.SyncByteStream | httpx.AsyncByteStream = AsyncFaulty(sender) if asynchronous else SyncFaulty(sender)
    return httpx.Response(plan.status, headers=headers, stream=stream, request=request)
