"""Which headers a cassette keeps: an allow-list, then a deny-list as a second guard.

Nothing that can carry a credential is ever stored: not ``Authorization``, not any
header whose name mentions a key, token, secret, cookie or auth.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REQUEST_HEADERS = frozenset(
    {"content-type", "accept", "x-client-name", "x-fern-sdk-name", "x-fern-sdk-version", "x-fern-language"}
)
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "retry-after",
        "retry-after-ms",
        "x-api-warning",
        "x-debug-trace-id",
        "x-trial-endpoint-call-limit",
        "x-trial-endpoint-call-remaining",
        "x-endpoint-monthly-call-limit",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
)
_SECRET_NAME = re.compile(r"auth|key|token|secret|cookie|session|password|credential", re.I)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def keep_headers(pairs: Iterable[tuple[str, str]], allowed: frozenset[str]) -> dict[str, str]:
    """The allowed, non-secret headers, names lower-cased, repeated values joined."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in allowed and not is_secret_name(key):
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def scrub_url(url: str) -> str:
    """The URL without userinfo and without query parameters that look like credentials."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_secret_name(k)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
