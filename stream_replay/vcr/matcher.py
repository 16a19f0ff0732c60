"""A vcrpy matcher with stream_replay's body matching, for suites that stay on vcrpy or
pytest-recording: the JSON bodies compared with ``ignore_fields`` (wildcards) and
``ignore_patterns``, and a failure that lists the differing fields.

``vcr.register_matcher("stream_replay_body", body_matcher(ignore_fields=["seed"]))``, then
``match_on=["method", "path", "stream_replay_body"]``. The pytest plugin registers the
default one (no ignored fields) with pytest-recording under that name.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..analysis.jsondiff import describe, differences
from ..replay.matching import Matching, view

NAME = "stream_replay_body"


def body_matcher(
    *, ignore_fields: Sequence[str] = (), ignore_patterns: Sequence[str | re.Pattern[str]] = ()
) -> Callable[[Any, Any], None]:
    """A vcrpy matcher ``(request, recorded) -> None`` that raises ``AssertionError`` naming
    each differing body field (recorded -> this request) when the JSON bodies differ."""
    matching = Matching(("body",), ignore_fields, ignore_patterns)

    def stream_replay_body(request: Any, recorded: Any) -> None:
        incoming = matching.prepare(view(request.method, request.uri, request.body or b""))
        stored = matching.prepare(view(recorded.method, recorded.uri, recorded.body or b""))
        if incoming.body != stored.body:
            lines = describe(differences(stored.body, incoming.body))
            raise AssertionError("the bodies differ (recorded -> this request): " + "; ".join(lines))

    stream_replay_body.__name__ = NAME
    return stream_replay_body


__all__ = ["NAME", "body_matcher"]
