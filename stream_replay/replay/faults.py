"""Faults injected into a replayed stream: small values that compose.

``replay_client(cassette, faults=[disconnect(after=12)])``: the replay transport sends
what a server doing that at the socket level sends, so the real SDK and the consumer
see what production would: the SDK's own exceptions, its own handling of a malformed
or unknown event, its own read timeout.

Each fault applies to every streamed response (``http_error`` to every request) unless
``times=`` limits how many it applies to, counting from the first.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from ..wire import StreamFormat, WireEvent, encode_event

#: What httpx says when a server closes a chunked body early (measured, httpx 0.28).
DISCONNECT_MESSAGE = "peer closed connection without sending complete message body (incomplete chunked read)"


class Stage(IntEnum):
    """Where a fault acts; faults apply in this order."""

    RESPONSE = 0  # the status and body: an HTTP error instead of the stream
    EVENTS = 1  # which events, in which order, with which payloads
    ENDING = 2  # how the stream ends: a dropped connection, a stall
    CHUNKS = 3  # how the bytes are cut into chunks
    TIMING = 4  # when each chunk is due


class Ending(Enum):
    """How a faulty stream ends after ``Plan.cut_after`` events."""

    DISCONNECT = "disconnect"
    STALL = "stall"


@dataclass
class Plan:
    """What the transport will send for one response; faults change it in order."""

    status: int
    headers: dict[str, str]
    format: StreamFormat | None  # for a stream
    events: list[WireEvent] = field(default_factory=list)
    body: bytes | None = None  # a non-stream body (or an error instead of the stream)
    due: list[float] | None = None  # per event: seconds after the request
    cut_after: int | None = None  # events sent before the ending fault
    ending: Ending | None = None
    stall_seconds: float = 0.0
    split_every: int | None = None

    def pieces(self) -> list[tuple[bytes, float | None]]:
        """(bytes, due) per chunk: one per event, then re-cut if a split is asked."""
        assert self.format is not None
        events = self.events if self.cut_after is None else self.events[: self.cut_after]
        due = self.due
        chunks = [(encode_event(e, self.format), due[i] if due is not None else None) for i, e in enumerate(events)]
        if not self.split_every:
            return chunks
        pieces: list[tuple[bytes, float | None]] = []
        buffer = b""
        for data, at in chunks:
            buffer += data
            while len(buffer) >= self.split_every:
                pieces.append((buffer[: self.split_every], at))
                buffer = buffer[self.split_every :]
        if buffer:
            pieces.append((buffer, chunks[-1][1] if chunks else None))
        return pieces


@dataclass(frozen=True)
class Fault:
    """A fault: a frozen value that changes a replayed response (``apply``) at its ``stage``;
    ``times`` limits it to the first N responses it applies to."""
    times: int | None = field(default=None, kw_only=True)
    stage: Stage = field(default=Stage.RESPONSE, init=False, repr=False)

    def apply(self, plan: Plan) -> None:  # pragma: no cover - every fault overrides it
        raise NotImplementedError

    @property
    def label(self) -> str:
        return type(self).__name__.lower()


def _check_position(fault: str, at: int, plan: Plan) -> int:
    if not 0 <= at < len(plan.events):
        raise ValueError(f"{fault}(at={at}): the stream has {len(plan.events)} events (0 to {len(plan.events) - 1})")
    return at


@dataclass(frozen=True)
class HttpError(Fault):
    """The response becomes HTTP ``status`` with a Cohere-shaped ``{"message": ...}`` body (and
    ``Retry-After`` when given) before any event."""
    status: int = 500
    message: str | None = None
    retry_after: float | None = None
    stage: Stage = field(default=Stage.RESPONSE, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        message = self.message or _DEFAULT_MESSAGES.get(self.status, "internal server error")
        plan.status = self.status
        plan.headers = {"content-type": "application/json"}
        if self.retry_after is not None:
            plan.headers["retry-after"] = f"{self.retry_after:g}"
        plan.body = json.dumps({"message": message}).encode()
        plan.format = None
        plan.events = []

    @property
    def label(self) -> str:
        return f"http_{self.status}"


_DEFAULT_MESSAGES = {
    429: "You are using a Trial key, which is limited to 10 API calls / minute.",
    500: "internal server error, this has been reported to our developers",
    503: "service unavailable",
}


@dataclass(frozen=True)
class Malformed(Fault):
    """Event ``at`` arrives as JSON cut in half."""

    at: int = 0
    stage: Stage = field(default=Stage.EVENTS, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        at = _check_position("malformed", self.at, plan)
        event = plan.events[at]
        text = (event.data or "{}")[: max(1, len(event.data or "{}") // 2)]
        sse = plan.format == "sse"
        raw = f"event: {event.name}\ndata: {text}\n\n".encode() if sse else f"{text}\n".encode()
        plan.events[at] = WireEvent(event.name, text, raw, event.offset)

    @property
    def label(self) -> str:
        return f"malformed@{self.at}"


@dataclass(frozen=True)
class UnknownEvent(Fault):
    """An event of a type the SDK does not know, inserted before event ``at``."""

    at: int = 1
    type: str = "x-future-event"
    stage: Stage = field(default=Stage.EVENTS, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        at = _check_position("unknown_event", self.at, plan)
        if plan.format == "sse":
            data = json.dumps({"type": self.type, "index": 0}, separators=(",", ":"))
        else:
            data = json.dumps({"is_finished": False, "event_type": self.type}, separators=(",", ":"))
        previous = plan.events[at - 1].offset if at > 0 else plan.events[at].offset
        plan.events.insert(at, WireEvent(self.type, data, None, previous))
        if plan.due is not None:
            plan.due.insert(at, plan.due[at - 1] if at > 0 else plan.due[at])

    @property
    def label(self) -> str:
        return f"unknown_event@{self.at}"


@dataclass(frozen=True)
class Reorder(Fault):
    """``drop``, ``duplicate`` or ``swap`` (with the next) event ``at``."""

    at: int = 1
    how: str = "drop"
    stage: Stage = field(default=Stage.EVENTS, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        at = _check_position(self.how, self.at, plan)
        events, due = plan.events, plan.due
        if self.how == "drop":
            del events[at]
            if due is not None:
                del due[at]
        elif self.how == "duplicate":
            events.insert(at, events[at])
            if due is not None:
                due.insert(at, due[at])
        else:
            if at + 1 >= len(events):
                raise ValueError(f"swap(at={at}): there is no event after it")
            events[at], events[at + 1] = events[at + 1], events[at]

    @property
    def label(self) -> str:
        return f"{self.how}@{self.at}"


@dataclass(frozen=True)
class Disconnect(Fault):
    """The connection drops after ``after`` events."""

    after: int = 1
    stage: Stage = field(default=Stage.ENDING, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        plan.cut_after = min(self.after, len(plan.events))
        plan.ending = Ending.DISCONNECT

    @property
    def label(self) -> str:
        return f"disconnect@{self.after}"


@dataclass(frozen=True)
class Stall(Fault):
    """After ``after`` events nothing more arrives for ``seconds`` (then the stream goes on).
    A client read timeout shorter than that ends it with ``httpx.ReadTimeout``."""

    after: int = 1
    seconds: float = 60.0
    stage: Stage = field(default=Stage.ENDING, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        plan.cut_after = min(self.after, len(plan.events))
        plan.ending = Ending.STALL
        plan.stall_seconds = self.seconds

    @property
    def label(self) -> str:
        return f"stall@{self.after}"


@dataclass(frozen=True)
class Split(Fault):
    """The body arrives in chunks of ``every`` bytes, cutting lines and UTF-8 characters."""

    every: int = 7
    stage: Stage = field(default=Stage.CHUNKS, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        if self.every < 1:
            raise ValueError(f"split(every={self.every}): must be at least 1 byte")
        plan.split_every = self.every

    @property
    def label(self) -> str:
        return f"split/{self.every}"


@dataclass(frozen=True)
class Delay(Fault):
    """``first`` seconds more before the first event; ``per_event`` (plus up to ``jitter``,
    seeded) more before each event."""

    first: float = 0.0
    per_event: float = 0.0
    jitter: float = 0.0
    seed: int = 0
    stage: Stage = field(default=Stage.TIMING, init=False, repr=False)

    def apply(self, plan: Plan) -> None:
        base = plan.due if plan.due is not None else [0.0] * len(plan.events)
        chance = random.Random(self.seed)
        added = self.first
        shifted = []
        for at in base:
            shifted.append(at + added)
            added += self.per_event + (chance.uniform(0.0, self.jitter) if self.jitter else 0.0)
        plan.due = shifted

    @property
    def label(self) -> str:
        return "slow_first_event" if self.first and not self.per_event else "delay"


def disconnect(after: int, *, times: int | None = None) -> Disconnect:
    """``after`` events, then the connection drops: ``httpx.RemoteProtocolError``."""
    return Disconnect(after=after, times=times)


def http_error(
    status: int, message: str | None = None, *, retry_after: float | None = None, times: int | None = None
) -> HttpError:
    """HTTP ``status`` instead of the recorded answer (see ``HttpError``)."""
    return HttpError(status=status, message=message, retry_after=retry_after, times=times)


def stall(after: int, seconds: float = 60.0, *, times: int | None = None) -> Stall:
    """``after`` events, then a pause of ``seconds``: the client's read timeout, if shorter, ends it."""
    return Stall(after=after, seconds=seconds, times=times)


def slow_first_event(seconds: float, *, times: int | None = None) -> Delay:
    """Every event ``seconds`` later than it was due."""
    return Delay(first=seconds, times=times)


def delay(per_event: float, *, jitter: float = 0.0, seed: int = 0, times: int | None = None) -> Delay:
    """Each event ``per_event`` seconds (plus a seeded random ``jitter``) after the one before."""
    return Delay(per_event=per_event, jitter=jitter, seed=seed, times=times)


def malformed(at: int, *, times: int | None = None) -> Malformed:
    """Event ``at`` has its JSON cut in half."""
    return Malformed(at=at, times=times)


def unknown_event(at: int, type: str = "x-future-event", *, times: int | None = None) -> UnknownEvent:
    """An event of a ``type`` the SDK does not know, inserted before event ``at``."""
    return UnknownEvent(at=at, type=type, times=times)


def drop(at: int, *, times: int | None = None) -> Reorder:
    """Event ``at`` is never sent."""
    return Reorder(at=at, how="drop", times=times)


def duplicate(at: int, *, times: int | None = None) -> Reorder:
    """Event ``at`` is sent twice."""
    return Reorder(at=at, how="duplicate", times=times)


def swap(at: int, *, times: int | None = None) -> Reorder:
    """Events ``at`` and ``at + 1`` are sent in each other's place."""
    return Reorder(at=at, how="swap", times=times)


def split(every: int, *, times: int | None = None) -> Split:
    """The body is cut into chunks of ``every`` bytes, inside lines and UTF-8 characters."""
    return Split(every=every, times=times)


_FACTORIES: dict[str, Any] = dict(
    disconnect=disconnect,
    http_error=http_error,
    stall=stall,
    slow_first_event=slow_first_event,
    delay=delay,
    malformed=malformed,
    unknown_event=unknown_event,
    drop=drop,
    duplicate=duplicate,
    swap=swap,
    split=split,
)


def ordered(faults: Sequence[Fault]) -> list[Fault]:
    """Faults in the order they act: response, events, ending, chunks, timing."""
    return sorted(faults, key=lambda f: f.stage)


def parse(spec: str) -> Fault:
    """A fault from its command-line form: ``disconnect:after=3``, ``http_error:429``,
    ``http_error:status=503,retry_after=2``, ``stall:after=5,seconds=2``, ``split:7``."""
    name, _, rest = spec.partition(":")
    factory = _FACTORIES.get(name.strip())
    if factory is None:
        raise ValueError(f"unknown fault {name!r} in {spec!r}; known: {', '.join(sorted(_FACTORIES))}")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        parsed = _value(value if eq else key)
        if eq:
            kwargs[key.strip()] = parsed
        else:
            args.append(parsed)
    try:
        return factory(*args, **kwargs)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValueError(f"fault {spec!r}: {exc}") from None


def _value(text: str) -> Any:
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


#: The fixture (defined by the pytest plugin) that carries a ``parametrize`` set to the test.
FIXTURE = "stream_replay_faults"


def parametrize(*fault_sets: Sequence[Fault] | Fault) -> Any:
    """``@faults.parametrize([disconnect(after=3)], http_error(429), [])``: the test runs
    once per set of faults, with readable ids (``disconnect@3``, ``http_429``,
    ``no-fault``), each run replaying its cassette with that set injected. Nothing to
    add to the test's arguments: the set reaches the pytest plugin through its
    ``stream_replay_faults`` fixture, and the test is marked ``stream_replay`` (a
    ``stream_replay`` marker of its own, with a cassette or options, still applies)."""
    import pytest

    sets = [[s] if isinstance(s, Fault) else list(s) for s in fault_sets]
    marks = (
        pytest.mark.parametrize(FIXTURE, sets, ids=[label(s) for s in sets], indirect=True),
        pytest.mark.usefixtures(FIXTURE),
        pytest.mark.stream_replay(),
    )

    def decorate(target: Any) -> Any:
        for mark in marks:
            target = mark(target)
        return target

    return decorate


def label(faults: Sequence[Any]) -> str:
    """A readable id for a list of faults: ``disconnect@12+split/7``."""
    return "+".join(f.label for f in faults) if faults else "no-fault"


__all__ = [
    "DISCONNECT_MESSAGE",
    "FIXTURE",
    "Ending",
    "Fault",
    "Plan",
    "Stage",
    "delay",
    "disconnect",
    "drop",
    "duplicate",
    "http_error",
    "label",
    "malformed",
    "parametrize",
    "parse",
    "slow_first_event",
    "split",
    "stall",
    "swap",
    "unknown_event",
]
