"""The player: which recorded interaction answers each request, for one cassette.

Every front end asks it, and none keeps play state of its own: the in-process
transport, the fast path, ``serve`` and the pytest plugin's mixed replay-and-record.
It holds the matching settings, the play counts (so repeats and unplayed
interactions), and explains a request that nothing answers.

Each recorded interaction answers one request, in recorded order: the first
*unplayed* interaction that matches answers. With ``allow_repeats=True``, once every
match has been played, the first match answers again. With ``drift="accept"`` (the
setting for moving a vcrpy suite over), a request that matches nothing, but matches
a recorded one on everything except the body, gets that one, and the fields that
drifted are reported (``on_drift``, by default a ``DriftWarning``): never a quiet
pass. Thread-safe: finding an interaction and marking it played is one step.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal, NamedTuple

from ..analysis.jsondiff import describe, differences
from ..cassette import Cassette
from ..errors import DriftWarning, NoMatchError
from .matching import DEFAULT_MATCH_ON, Matcher, Matching, RequestView, recorded_view

Drift = Literal["fail", "accept"]
DRIFTS: tuple[Drift, ...] = ("fail", "accept")

#: The way out a mismatch message offers, where the caller does not name its own.
IGNORE_HINT = (
    "if a field varies between runs, pass ignore_fields=[...] or ignore_patterns=[...] "
    "(while moving a vcrpy suite over: drift=\"accept\")"
)
# A body difference counts this many fields at the most when ranking recordings.
_RANKING_LIMIT = 200


class Lookup(NamedTuple):
    """The interactions that match a request: the first unplayed one, the first played one."""

    unplayed: int | None
    played: int | None


class Closest(NamedTuple):
    """The recorded request nearest to one that nothing matches."""

    position: int  # in the cassette's interactions
    failed: list[str]  # the matchers that say no
    fields: int  # how many fields differ: failing matchers, each differing body field


class Drifted(NamedTuple):
    """A request answered despite a body that differs from the recording's."""

    position: int
    lines: list[str]  # the differing fields, recorded -> this request


class Player:
    """Plays ``cassette``'s interactions in answer to requests (see the module docstring).

    ``hint``: extra lines for the end of every mismatch message (the plugin's record
    commands), or what makes them when a mismatch needs them. ``ignore_hint``: the way
    out for a field that varies, in the words of the
    front end (``replay_client`` options, the marker, ``serve``'s flags). ``on_drift``:
    called with the message for each request answered despite drift (default: a
    ``DriftWarning``).
    """

    def __init__(
        self,
        cassette: Cassette,
        *,
        match_on: Sequence[str | Matcher] = DEFAULT_MATCH_ON,
        ignore_fields: Sequence[str] = (),
        ignore_patterns: Sequence[str | re.Pattern[str]] = (),
        allow_repeats: bool = False,
        drift: Drift = "fail",
        hint: str | Callable[[], str] | None = None,
        ignore_hint: str = IGNORE_HINT,
        on_drift: Callable[[str], None] | None = None,
    ) -> None:
        if drift not in DRIFTS:
            raise ValueError(f"drift must be one of {', '.join(DRIFTS)}, got {drift!r}")
        self.cassette = cassette
        self.matching = Matching(match_on, ignore_fields, ignore_patterns)
        #: With ``drift="accept"``: the matching a request falls back to (all but the body).
        self.loose = self.matching.without_body() if drift == "accept" and self.matching.on_body else None
        self.allow_repeats = allow_repeats
        self.hint = hint
        self.ignore_hint = ignore_hint
        self.on_drift = on_drift
        #: Every ``NoMatchError`` raised, in order, even those the code under test caught
        #: (the pytest plugin reports those again at teardown).
        self.mismatches: list[NoMatchError] = []
        #: Every request answered despite drift (``drift="accept"``).
        self.drifts: list[Drifted] = []
        #: What a front end derives once from the interactions, by its own key, kept as
        #: long as the player (the fast path's plans: a client may outlive its player).
        self.derived: dict[Hashable, Any] = {}
        self._plays = [0] * len(cassette.interactions)
        self._views: list[RequestView] | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ state

    @property
    def play_counts(self) -> list[int]:
        """How many times each recorded interaction was played."""
        return list(self._plays)

    def played(self) -> list[int]:
        """Indexes of the recorded interactions that answered at least one request."""
        return [i for i, n in enumerate(self._plays) if n]

    def unplayed(self) -> list[int]:
        """Indexes of the recorded interactions no request has used."""
        return [i for i, n in enumerate(self._plays) if n == 0]

    def views(self) -> list[RequestView]:
        """Each recorded request as matching sees it (``ignore_fields`` applied)."""
        if self._views is None:
            self._views = [self.matching.prepare(recorded_view(i.request)) for i in self.cassette.interactions]
        return self._views

    # ------------------------------------------------------------------ playing

    def lookup(self, incoming: RequestView, matching: Matching | None = None, *, prepared: bool = False) -> Lookup:
        """The interactions that match ``incoming`` (``prepared``: already passed through
        ``self.matching.prepare``); nothing is marked, nothing explained."""
        matching = matching or self.matching
        prepared_view = incoming if prepared else self.matching.prepare(incoming)
        played = None
        for index, recorded in enumerate(self.views()):
            if matching.matches(recorded, prepared_view):
                if self._plays[index] == 0:
                    return Lookup(index, played)
                if played is None:
                    played = index
        return Lookup(None, played)

    def choose(self, lookup: Lookup) -> int | None:
        """The interaction that answers, given what matches: the first unplayed match,
        or with ``allow_repeats`` the first played one."""
        if lookup.unplayed is not None:
            return lookup.unplayed
        return lookup.played if self.allow_repeats else None

    def mark(self, index: int) -> None:
        """Count one more play of ``index``."""
        with self._lock:
            self._plays[index] += 1

    def release(self, index: int) -> None:
        """Take back one play of ``index``: its answer was not given (an injected HTTP
        error took its place), so the next matching request gets it."""
        with self._lock:
            if self._plays[index] > 0:
                self._plays[index] -= 1

    def play(self, incoming: RequestView) -> int:
        """The index of the interaction that answers ``incoming``, marked played;
        raises ``NoMatchError`` (and keeps it in ``mismatches``) when none does."""
        index = self.play_if(incoming, None)
        assert index is not None
        return index

    def play_if(self, incoming: RequestView, accept: Callable[[int], bool] | None) -> int | None:
        """Like ``play``, but the interaction is marked played (and returned) only if
        ``accept(index)`` says yes; None, with nothing marked, when it says no."""
        with self._lock:
            lookup = self.lookup(incoming)
            index = self.choose(lookup)
            drifted = False
            if index is None and lookup.played is None and self.loose is not None:
                index = self.choose(self.lookup(incoming, self.loose))
                drifted = index is not None
            if index is None:
                error = NoMatchError(self.explain(incoming, lookup), cassette=self.cassette.path)
                self.mismatches.append(error)
                raise error
            if accept is not None and not accept(index):
                return None
            self._plays[index] += 1
        if drifted:
            self.report_drift(incoming, index)
        return index

    def try_play(self, incoming: RequestView) -> int | None:
        """Like ``play``, but None (nothing marked, nothing explained) when no interaction
        answers: for a recorder that sends such requests on."""
        with self._lock:
            index = self.choose(self.lookup(incoming))
            if index is not None:
                self._plays[index] += 1
            return index

    def report_drift(self, incoming: RequestView, index: int) -> None:
        """Say that ``index`` answered ``incoming`` despite drift, with the fields that drifted."""
        prepared = self.matching.prepare(incoming)
        lines = describe(differences(self.views()[index].body, prepared.body))
        self.drifts.append(Drifted(index, lines))
        message = (
            f"stream_replay: {incoming.describe()} was answered by interactions[{index}] of "
            f"{self.cassette.label}, recorded with another body (drift accepted):\n"
            + "\n".join(f"    {line}" for line in lines)
        )
        if self.on_drift is not None:
            self.on_drift(message)
        else:
            warnings.warn(DriftWarning(message), stacklevel=2)

    # --------------------------------------------------------------- explaining

    def closest(self, incoming: RequestView) -> Closest | None:
        """The recorded request nearest to ``incoming``: the fewest failing matchers other
        than the body (a recording of another route or method is far, whatever its
        body), then the fewest differing body fields, then the same route, then the
        earliest. None for an empty cassette."""
        prepared = self.matching.prepare(incoming)
        best: tuple[int, int, bool, int] | None = None
        failed_best: list[str] = []
        for index, recorded in enumerate(self.views()):
            failed = self.matching.failures(recorded, prepared)
            others = sum(1 for name in failed if name != "body")
            fields = len(differences(recorded.body, prepared.body, limit=_RANKING_LIMIT)) if "body" in failed else 0
            key = (others, fields, recorded.route != prepared.route, index)
            if best is None or key < best:
                best, failed_best = key, failed
        return None if best is None else Closest(best[3], failed_best, best[0] + best[1])

    def explain(
        self,
        incoming: RequestView,
        lookup: Lookup | None = None,
        *,
        prepared: RequestView | None = None,
        closest: Closest | None = None,
        body_note: str | None = None,
    ) -> str:
        """Why no interaction answers ``incoming``, and the way out.

        For a caller that bounds the work (``serve``), each defaulting to the full work:
        ``prepared``: ``incoming`` already ``matching.prepare``d (not copied again);
        ``closest``: the nearest recorded request, already found; ``body_note``: a line
        shown instead of the body's field diff (why it was skipped)."""
        lookup = lookup or self.lookup(incoming)
        if lookup.played is not None:
            message = self._already_played(incoming, lookup.played)
        else:
            message = self._nearest(incoming, prepared, closest, body_note)
        hint = self.hint() if callable(self.hint) else self.hint
        return message + "\n" + hint if hint else message

    def _already_played(self, incoming: RequestView, first: int) -> str:
        prepared = self.matching.prepare(incoming)
        count = sum(1 for r in self.views() if self.matching.matches(r, prepared))
        return (
            f"stream_replay: {incoming.describe()} matches {count} recorded interaction(s) of "
            f"{self.cassette.label}, and every one was already played (interactions[{first}] first).\n"
            "  Each recorded interaction answers one request, in recorded order; this request "
            "is one more than was recorded (a retry? a loop that ran once more?).\n"
            "  How to fix: record the extra call, or pass allow_repeats=True to replay "
            "matching interactions again."
        )

    def _nearest(
        self,
        incoming: RequestView,
        prepared: RequestView | None = None,
        closest: Closest | None = None,
        body_note: str | None = None,
    ) -> str:
        lines = [f"stream_replay: no recorded interaction in {self.cassette.label} matches {incoming.describe()}"]
        closest = closest if closest is not None else self.closest(incoming)
        if closest is None:
            lines.append("  The cassette holds no interactions.")
        else:
            prepared = prepared if prepared is not None else self.matching.prepare(incoming)
            recorded = self.views()[closest.position]
            lines.append(
                f"  Closest recorded: interactions[{closest.position}] {recorded.describe()} "
                f"(differs in: {', '.join(closest.failed)})"
            )
            if "body" in closest.failed and body_note is not None:
                lines.append(f"  body: {body_note}")
            elif "body" in closest.failed:
                lines.append("  body, recorded -> this request:")
                lines.extend(f"    {line}" for line in describe(differences(recorded.body, prepared.body)))
            for name in ("method", "route", "query", "host"):
                if name in closest.failed:
                    lines.append(f"  {name}: {getattr(recorded, name)!r} -> {getattr(prepared, name)!r}")
        lines.append(
            f"  How to fix: if the request changed on purpose, record the cassette again; {self.ignore_hint}; "
            "see README, 'Matching requests'."
        )
        return "\n".join(lines)


__all__ = ["DRIFTS", "Closest", "Drift", "Drifted", "Lookup", "Player"]
