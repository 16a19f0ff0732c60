"""The event value shared by the codecs, the cassette and the replay transport. (PYTEST_DONT_REWRITE)"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

StreamFormat = Literal["sse", "ndjson"]

#: The name given to v2's ``data: [DONE]`` terminator block.
DONE = "[DONE]"

# What a YAML literal block cannot carry on one line: PyYAML's non-printable set
# (which holds lone surrogates from undecodable bytes), the characters YAML takes
# as line breaks, and the tab and byte-order mark, which its writers refuse in a
# literal block (they would write the whole block as one double-quoted string).
_NOT_ONE_YAML_LINE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]")


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


def fits_one_line(text: str) -> bool:
    """Whether ``text`` can stand as-is on one line of a YAML literal block."""
    return not _NOT_ONE_YAML_LINE.search(text)


def plain_payload(text: str) -> bool:
    """Whether ``text`` can be kept as a canonical payload: one clean line of JSON text.

    It must be a JSON object or array (so the cassette line can tell it from a raw
    line, which starts with a quote), with no leading or trailing white space.
    """
    return bool(text) and text[0] in "{[" and text[-1] in "}]" and fits_one_line(text)
