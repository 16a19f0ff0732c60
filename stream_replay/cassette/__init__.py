"""Cassettes: the value model, the YAML file format, loading and atomic saving. (PYTEST_DONT_REWRITE)"""

from .model import (
    DEFAULT_EVENT_GAP,
    Body,
    Cassette,
    Interaction,
    Meta,
    Request,
    Response,
    Stream,
    StreamError,
)
from .yamlio import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_CASSETTE_BYTES,
    as_cassette,
    dumps_cassette,
    load_cassette,
    loads_cassette,
    save_cassette,
)

__all__ = [
    "DEFAULT_EVENT_GAP",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_CASSETTE_BYTES",
    "Body",
    "Cassette",
    "Interaction",
    "Meta",
    "Request",
    "Response",
    "Stream",
    "StreamError",
    "as_cassette",
    "dumps_cassette",
    "load_cassette",
    "loads_cassette",
    "save_cassette",
]
