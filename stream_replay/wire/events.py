"""The event value shared by the codecs, the cassette and the replay transport. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import re
from typing import Any, Literal, NamedTuple

StreamFormat = Literal["sse", "ndjson"]

#: The name given to v2's ``data: [DONE]`` terminator block.
DONE = "[DONE]"

#: What an event name looks like (an SSE ``event:`` value, a v1 ``event_type``).
TOKEN = re.compile(r"[^\s\"]\S*")

_NOT_PLAIN = re.compile("[\r\n\ud800-\udfff]")


class WireEvent(NamedTuple):
    """One event of a stream, as it was on the wire.

    ``name`` is the SSE ``event:`` name (v2), the ``event_type`` (v1) or ``[DONE]``.
    ``data`` is the JSON text exactly as sent (``None`` for ``[DONE]``).
    ``raw`` holds the exact bytes of a block that is not framed the canonical way
    (CRLF, extra fields, a cut last line, invalid UTF-8, ...); when set, it is what
    goes on the wire and ``data`` is only informative.
    ``offset`` is seconds from the request being sent to the event arriving, or
    ``None`` when the recording has no timing.

    A named tuple: immutable, and cheap to build by the ten thousand when a cassette loads.
    """

    name: str
    data: str | None
    raw: bytes | None = None
    offset: float | None = None

    def with_offset(self, offset: float | None) -> WireEvent:
        return self._replace(offset=offset)

    @property
    def is_done(self) -> bool:
        return self.name == DONE and self.raw is None


def plain_payload(text: str) -> bool:
    """Whether ``text`` can be kept as a canonical payload: one line of JSON text.

    It must be a JSON object or array (so a cassette line can tell it from a raw
    block, which starts with a quote), with no line break, no leading or trailing
    white space, and no byte that is not UTF-8 (decoded as a lone surrogate).
    """
    return bool(text) and text[0] in "{[" and text[-1] in "}]" and not _NOT_PLAIN.search(text)


#: The JSON key that names an event's type: v2 ``type``, v1 chat and generate ``event_type``.
TYPE_KEYS = {"v2": "type", "v1": "event_type", "generate": "event_type"}


def event_type(event: Any) -> str | None:
    """The type of an event given as a JSON object or an SDK object: v1's
    ``event_type`` when it has one, else v2's ``type``; None when neither is a string."""
    if isinstance(event, dict):
        kind = event.get("event_type", event.get("type"))
    else:
        kind = getattr(event, "event_type", None)
        if kind is None:
            kind = getattr(event, "type", None)
    return kind if isinstance(kind, str) else None
