"""Which answers a recording keeps: the ``record_errors`` policy.

A cassette is replayed as the truth forever after, so an answer that says more about
the moment of recording than about the request must not become it:

- **never kept**: ``stream-replay serve``'s own "no recorded interaction" answer
  (marked with the ``x-stream-replay: no-match`` header), whatever the policy: it is
  not the API's answer;
- **credential failures** (401, 403: an expired or wrong key) and **transient
  failures** (408, 429, 5xx) are not kept unless ``record_errors="all"``;
- **deterministic request errors** (400, 404 from the API, 422 and the other 4xx) are
  kept, since a test may want to show how the code handles them, unless
  ``record_errors="none"``, which keeps 2xx answers only.

A connection refused before any byte never reaches the recorder (there is no answer).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

RecordErrors = Literal["deterministic", "all", "none"]
RECORD_ERRORS: tuple[RecordErrors, ...] = ("deterministic", "all", "none")

#: The header ``serve`` puts on the answers it makes up itself.
MARK_HEADER = "x-stream-replay"
NO_MATCH = "no-match"

CREDENTIAL = frozenset({401, 403})
TRANSIENT = frozenset({408, 429})


def kind_of(status: int) -> str | None:
    """``credential``, ``transient`` or ``request`` for an error status; None for success."""
    if status < 400:
        return None
    if status in CREDENTIAL:
        return "credential"
    if status in TRANSIENT or status >= 500:
        return "transient"
    return "request"


def check_policy(value: object) -> RecordErrors:
    if value not in RECORD_ERRORS:
        raise ValueError(f"record_errors must be one of {', '.join(RECORD_ERRORS)}, got {value!r}")
    return value


def skip_reason(status: int, headers: Mapping[str, str], policy: RecordErrors) -> str | None:
    """Why an answer is not written to the cassette, or None to write it."""
    if headers.get(MARK_HEADER, "").lower() == NO_MATCH:
        return f"HTTP {status} is stream-replay serve's own 'no recorded interaction' answer, not the API's"
    kind = kind_of(status)
    if kind is None:
        return None
    if policy == "none":
        return f"HTTP {status} is an error answer, and record_errors='none' keeps successful answers only"
    if policy == "all" or kind == "request":
        return None
    what = "a credential failure (an expired or wrong key?)" if kind == "credential" else "a transient failure"
    return f"HTTP {status} is {what}, which would be replayed as the answer forever"


#: The way to record such an answer on purpose, shown with each skip.
HOW_TO_KEEP = "to record it on purpose (a test of the error path), pass record_errors='all'"
