"""Responses with faults: the plan a list of faults makes of a recorded response, sent
as a server doing the same at the socket level would send it.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import httpx

from ..cassette.model import Interaction
from ..faults import DISCONNECT_MESSAGE, Fault, Plan, ordered
from ..wire import CONTENT_TYPES
from .pacing import schedule

Piece = tuple[bytes, "float | None"]


def make_plan(interaction: Interaction, speed: float | None, faults: Sequence[Fault]) -> Plan:
    response = interaction.response
    stream = response.stream
    plan = Plan(
        status=response.status,
        headers=dict(response.headers),
        format=stream.format if stream is not None else None,
        events=list(stream.events) if stream is not None else [],
        body=None if stream is not None else response.body.to_bytes(),
        due=schedule(stream, speed) if stream is not None else None,
    )
    for fault in ordered(faults):
        if plan.format is None and fault.stage != 0:
            continue  # only an HTTP error applies to a response that is not a stream
        fault.apply(plan)
    return plan


class _Sender:
    """Sends the pieces on time, then ends as the plan says."""

    def __init__(self, plan: Plan, request: httpx.Request, started: float, finish: Callable[[], None]) -> None:
        self.plan = plan
        self.started = started
        self.finish = finish
        timeout = request.extensions.get("timeout") or {}
        read = timeout.get("read") if isinstance(timeout, dict) else None
        self.read_timeout = float(read) if isinstance(read, (int, float)) else None
        if plan.ending == "stall" and plan.cut_after is not None:
            before = Plan(**{**plan.__dict__, "ending": None})
            after = Plan(**{**plan.__dict__, "ending": None, "cut_after": None})
            self.first = before.pieces()
            if plan.split_every is None:
                self.rest = after.pieces()[len(self.first) :]
            else:  # the bytes after the stall, cut the same way
                sent = sum(len(data) for data, _ in self.first)
                remaining = b"".join(data for data, _ in after.pieces())[sent:]
                size = plan.split_every
                self.rest = [(remaining[i : i + size], None) for i in range(0, len(remaining), size)]
        else:
            self.first = plan.pieces()
            self.rest = []

    def wait_for(self, due: float | None) -> float:
        if due is None:
            return 0.0
        return max(0.0, self.started + due - time.monotonic())

    def stall(self) -> float:
        """Seconds to wait at the stall; raises when the read timeout comes first."""
        seconds = self.plan.stall_seconds
        if self.read_timeout is not None and self.read_timeout < seconds:
            return -self.read_timeout
        return seconds

    def end(self) -> None:
        if self.plan.ending == "disconnect":
            raise httpx.RemoteProtocolError(DISCONNECT_MESSAGE)
        if self.plan.ending is None and self.plan.cut_after is None:
            self.finish()


class SyncFaulty(httpx.SyncByteStream):
    def __init__(self, sender: _Sender) -> None:
        self.sender = sender

    def __iter__(self) -> Iterator[bytes]:
        sender = self.sender
        for data, due in sender.first:
            wait = sender.wait_for(due)
            if wait:
                time.sleep(wait)
            yield data
        if sender.plan.ending == "stall":
            seconds = sender.stall()
            if seconds < 0:
                time.sleep(-seconds)
                raise httpx.ReadTimeout("timed out")
            time.sleep(seconds)
            for data, _ in sender.rest:
                yield data
            sender.finish()
            return
        sender.end()


class AsyncFaulty(httpx.AsyncByteStream):
    def __init__(self, sender: _Sender) -> None:
        self.sender = sender

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio

        sender = self.sender
        for data, due in sender.first:
            wait = sender.wait_for(due)
            if wait:
                await anyio.sleep(wait)
            yield data
        if sender.plan.ending == "stall":
            seconds = sender.stall()
            if seconds < 0:
                await anyio.sleep(-seconds)
                raise httpx.ReadTimeout("timed out")
            await anyio.sleep(seconds)
            for data, _ in sender.rest:
                yield data
            sender.finish()
            return
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
