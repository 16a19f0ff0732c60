"""The bundled example cassettes: real recorded Cohere streams, with their attribution.

``stream_replay.examples.path("v2_text")`` is the path of ``v2_text.yaml`` wherever the
package runs from: a clone of the repository (``cassettes/`` at its root) or an installed
wheel (which carries the same files). ``names()`` lists them. The README's examples name
``cassettes/<name>.yaml``, the clone's path; from an installed package use ``path(name)``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def folder() -> Path:
    """The folder holding the example cassettes (installed, or the clone's ``cassettes/``)."""
    for candidate in (_HERE / "_examples", _HERE.parent / "cassettes"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the example cassettes are not installed with this copy of stream_replay")


def names() -> list[str]:
    """The example cassettes' names (``v2_text``, ``v1_tool_calls``...)."""
    return sorted(p.stem for p in folder().glob("*.yaml"))


def path(name: str) -> Path:
    """The path of the example cassette ``name`` (``v2_text`` or ``v2_text.yaml``)."""
    found = folder() / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not found.is_file():
        raise FileNotFoundError(f"no example cassette {name!r}; the examples are: {', '.join(names())}")
    return found


__all__ = ["folder", "names", "path"]
