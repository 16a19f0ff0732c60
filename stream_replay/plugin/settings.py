"""The pytest plugin's configuration, resolved in one place.

Four layers, each overriding the one before: the ini file (``stream_replay_mode``,
``stream_replay_dir``), the ``stream_replay_config`` fixture (a dict), the
``stream_replay`` marker (the closest marker wins, key by key) and the command line
(``--stream-replay-mode``, ``--stream-replay-dir``). Every value remembers where it
came from, so an error or the report header can say so.

Pure: no pytest, no cohere. Imported by the plugin module at every pytest start.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: The record modes, each with its one-line contract (README, "Record modes").
MODES: dict[str, str] = {
    "none": "replay only; a request with no recorded answer, or a missing cassette, fails",
    "once": "record a cassette that does not exist yet; replay one that does",
    "new_episodes": "replay what matches, record what does not (appended to the cassette)",
    "all": "record every request again, appended to the cassette; replay nothing",
    "rewrite": "delete the cassette, then record it afresh",
}
DEFAULT_MODE = "none"

#: Options and their defaults. ``mode`` and ``dir`` can also be set in the ini file
#: and on the command line; all of them in the config fixture and the marker.
DEFAULTS: dict[str, Any] = {
    "mode": DEFAULT_MODE,
    "dir": None,
    "cassette": None,
    "speed": None,
    "fast": False,
    "match_on": None,
    "ignore_fields": (),
    "ignore_patterns": (),
    "drift": "fail",
    "record_errors": "deterministic",
    "allow_repeats": False,
    "report_unplayed": True,
    "faults": (),
    "redact_fields": (),
    "redact_patterns": (),
    "before_record": None,
}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names where it came from."""


class Settings:
    """The effective configuration of one test (or of the run, for the header).

    A plain class, not a dataclass: this module is imported by every pytest run.
    """

    __slots__ = ("sources", "values")

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> None:
        self.values = dict(values)
        self.sources = dict(sources or {})

    def __repr__(self) -> str:
        return f"Settings({self.values!r}, sources={self.sources!r})"

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")

    @property
    def mode(self) -> str:
        return str(self.values["mode"])


def resolve(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> Settings:
    """Merge ``layers`` (``(source, options)``, lowest precedence first), checking each value.

    ``source`` names the layer in messages, e.g. ``"--stream-replay-mode"`` or
    ``"marker on tests/test_chat.py::test_hello"``.
    """
    values = dict(DEFAULTS)
    sources: dict[str, str] = {}
    for source, options in layers:
        for name, value in options.items():
            values[name] = _check(name, value, source)
            sources[name] = source
    return Settings(values, sources)


def _check(name: str, value: Any, source: str) -> Any:
    if name not in DEFAULTS:
        raise ConfigError(
            f"stream_replay: {source}: unknown option {name!r}. Known options: {', '.join(sorted(DEFAULTS))}."
        )
    where = f"stream_replay: {source}: {name}={value!r}"
    if name == "mode":
        if value not in MODES:
            raise ConfigError(f"{where} is not a record mode. Use one of: {', '.join(MODES)}.")
        return value
    if name in ("dir", "cassette"):
        if value is not None and not (isinstance(value, str) or hasattr(value, "__fspath__")):
            raise ConfigError(f"{where}: expected a path (a str or os.PathLike).")
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"{where}: the path is empty.")
        if value is not None and "\x00" in str(value):
            raise ConfigError(f"{where}: a path cannot hold a NUL character.")
        if name == "cassette" and value is not None and not os.path.isabs(value) and ".." in Path(value).parts:
            raise ConfigError(
                f"{where}: a cassette named relative to the cassette folder must stay inside it ('..' leaves it); "
                "give an absolute path to put it elsewhere on purpose."
            )
        return value
    if name == "speed":
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"{where}: expected None (instant), 1.0 (recorded pace) or another number >= 0 (N times faster)."
                )
            return float(value)
        return None
    if name in ("fast", "allow_repeats", "report_unplayed"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected True or False.")
        return value
    if name == "faults":
        faults_ok = isinstance(value, (list, tuple)) and all(hasattr(f, "apply") and hasattr(f, "stage") for f in value)
        if faults_ok:
            return tuple(value)
        raise ConfigError(f"{where}: expected a list of stream_replay.faults values, e.g. [disconnect(after=3)].")
    if name == "drift":
        if value not in ("fail", "accept"):
            raise ConfigError(
                f"{where}: expected 'fail' (the default: a request whose body differs from every recording "
                "fails) or 'accept' (answer it from the recording that matches but for the body, and report "
                "the fields that drifted)."
            )
        return value
    if name == "record_errors":
        if value not in ("deterministic", "all", "none"):
            raise ConfigError(
                f"{where}: expected 'deterministic' (the default: keep 2xx and request errors such as 400 "
                "and 422; leave out 401/403, 408/429/5xx and serve's own 404), 'all' or 'none'."
            )
        return value
    if name in ("redact_fields", "redact_patterns", "before_record"):
        return _check_redaction(name, value, where)
    if name in ("match_on", "ignore_fields", "ignore_patterns"):
        if value is None and name == "match_on":
            return None
        examples = {"match_on": "['method', 'route', 'body']", "ignore_fields": "['seed']"}
        example = examples.get(name, "[r'\\d{4}-\\d{2}-\\d{2}']")
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, e.g. {name}={example}.")
        if name != "match_on" and not all(isinstance(v, str) or hasattr(v, "pattern") for v in value):
            what = "field paths" if name == "ignore_fields" else "regular expressions"
            raise ConfigError(f"{where}: expected a list of {what} (str), e.g. {name}={example}.")
        if name == "ignore_fields":
            from ..analysis.jsondiff import parse_path

            for path in value:
                try:
                    parse_path(path)
                except ValueError as exc:
                    raise ConfigError(f"{where}: {exc}.") from None
        if name == "ignore_patterns":
            import re

            for pattern in value:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConfigError(f"{where}: {pattern!r} is not a regular expression ({exc}).") from None
        return tuple(value)
    return value  # pragma: no cover - every name in DEFAULTS is handled above


def _check_redaction(name: str, value: Any, where: str) -> Any:
    """``redact_fields`` (field paths), ``redact_patterns`` (regular expressions),
    ``before_record`` (a callable or None), checked as ``record_client`` checks them."""
    if name == "before_record":
        if value is not None and not callable(value):
            raise ConfigError(f"{where}: expected a callable (interaction) -> Interaction | None, or None.")
        return value
    example = "['documents[*].data.ssn']" if name == "redact_fields" else "[r'sk-[A-Za-z0-9]{20,}']"
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list, e.g. {name}={example}.")
    from ..cassette.redaction import Redaction

    try:
        Redaction.of(value, ()) if name == "redact_fields" else Redaction.of((), value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}.") from None
    return tuple(value)


def marker_options(args: Sequence[Any], kwargs: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A marker's options: ``stream_replay("path.yaml", mode="once", ...)``."""
    if len(args) > 1:
        raise ConfigError(
            f"stream_replay: {source}: takes at most one positional argument (the cassette path), got {len(args)}."
        )
    options = dict(kwargs)
    if args:
        if "cassette" in options:
            raise ConfigError(f"stream_replay: {source}: the cassette is given twice (positionally and cassette=).")
        options["cassette"] = args[0]
    return options
