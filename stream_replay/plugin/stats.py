"""What the tests of a run did with their cassettes: the end-of-run summary line and
the report of recorded interactions no test requested.

Each test leaves one plain record (a dict, so pytest-xdist workers can send theirs to
the controller); the run's figures are computed from all of them. Pure.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypedDict


class UseRecord(TypedDict):
    """One test's use of one cassette."""

    cassette: str  # as shown: relative to rootdir when under it
    test: str  # node id
    loaded: int  # interactions it could replay (0 when it only recorded)
    played: Sequence[int]
    recorded: Sequence[int]  # indexes its recordings landed at
    report_unplayed: bool
    requests: dict[str, str]  # index -> description, for its unplayed ones
    notes: Sequence[str]  # said once in the run's summary: the fast path stepping aside, an old name
    drifts: Sequence[str]  # requests answered despite drift, with the fields that drifted
    skipped: Sequence[str]  # answers a recording left out (record_errors), and why
    error_answers: Sequence[str]  # error answers it recorded


class _Cassette:
    """One cassette's figures over the run (a plain class: imported by every pytest run)."""

    def __init__(self) -> None:
        self.tests: list[str] = []
        self.candidates: dict[int, str] = {}
        self.played: set[int] = set()
        self.recorded: set[int] = set()
        self.report = True


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class RunStats:
    def __init__(self) -> None:
        self.records: list[UseRecord] = []

    def add(self, records: Iterable[UseRecord]) -> None:
        self.records.extend(records)

    def _by_cassette(self) -> dict[str, _Cassette]:
        cassettes: dict[str, _Cassette] = {}
        for record in self.records:
            entry = cassettes.setdefault(record["cassette"], _Cassette())
            if record["test"] not in entry.tests:
                entry.tests.append(record["test"])
            entry.played.update(record["played"])
            entry.recorded.update(record["recorded"])
            entry.report = entry.report and record["report_unplayed"]
            for index, description in record["requests"].items():
                entry.candidates[int(index)] = description
        return cassettes

    def unplayed(self) -> list[tuple[str, int, str, list[str]]]:
        """(cassette, index, request, tests) of each interaction that was there to replay,
        that no test of the run requested, and that the run did not record itself."""
        found = []
        for name, entry in sorted(self._by_cassette().items()):
            if not entry.report:
                continue
            for index in sorted(set(entry.candidates) - entry.played - entry.recorded):
                found.append((name, index, entry.candidates[index], entry.tests))
        return found

    def notes(self) -> list[str]:
        """What the run should be told once (the fast path stepping aside for a client, a
        cassette serving under its old name), each once."""
        seen: dict[str, None] = {}
        for record in self.records:
            for note in record.get("notes", []):
                seen.setdefault(note, None)
        return list(seen)

    def drift_report(self) -> list[str]:
        """Per test, each request answered despite drift and the fields that drifted."""
        lines = []
        for record in self.records:
            for message in record.get("drifts", []):
                lines.append(f"{record['test']}: {message.removeprefix('stream_replay: ')}")
        return lines

    def sections(self) -> list[tuple[str, list[str]]]:
        """The end-of-run report, section by section (title, lines; empty: nothing to say)."""
        return [
            ("unplayed interactions", self.unplayed_report()),
            ("error answers recorded (record_errors)", self.per_test("error_answers")),
            ("answers not recorded (record_errors)", self.per_test("skipped")),
            ("requests answered despite drift (drift=accept)", self.drift_report()),
        ]

    def per_test(self, field: str) -> list[str]:
        """``<test>: <line>`` for each line of ``field`` (``skipped``, ``error_answers``) of every record."""
        return [f"{record['test']}: {line}" for record in self.records for line in record.get(field, [])]  # type: ignore[attr-defined]

    def summary(self) -> str | None:
        """``stream-replay: 12 cassettes replayed, 2 recorded, 0 unplayed interactions``,
        or None when no test used stream_replay."""
        if not self.records:
            return None
        cassettes = self._by_cassette()
        replayed = sum(1 for entry in cassettes.values() if entry.played)
        recorded = sum(1 for entry in cassettes.values() if entry.recorded)
        interactions = sum(len(record["recorded"]) for record in self.records)
        unplayed = len(self.unplayed())
        drifted = sum(len(record.get("drifts", [])) for record in self.records)
        accepted = f", {_plural(drifted, 'request')} answered despite drift" if drifted else ""
        into = f" ({_plural(interactions, 'interaction')})" if recorded else ""
        return (
            f"stream-replay: {_plural(replayed, 'cassette')} replayed, {recorded} recorded{into}, "
            f"{_plural(unplayed, 'unplayed interaction')}{accepted}"
        )

    def unplayed_report(self) -> list[str]:
        lines = []
        for cassette, index, request, tests in self.unplayed():
            lines.append(f"{cassette}: interactions[{index}] {request}: never requested by {', '.join(tests)}")
        if lines:
            lines.append(
                "  How to fix: record the cassette again (--stream-replay-mode=rewrite) if the code no longer "
                "makes these requests, or mark the test stream_replay(report_unplayed=False)."
            )
        return lines


def as_records(value: Any) -> list[UseRecord]:
    """Records sent by a pytest-xdist worker (plain lists and dicts)."""
    return list(value) if isinstance(value, list) else []
