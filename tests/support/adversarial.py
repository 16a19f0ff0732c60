# ruff: noqa: E501  (a table of cases: one case per line reads best)
"""Adversarial cassettes and paths, generated from the bundled real cassettes.

Each case is a name, what to write (cassette text, bytes, or a special file), and what
must happen: a clean refusal (``CassetteError`` naming the file and the place or line),
or a documented harmless acceptance. ``tests/test_adversarial.py`` runs them all;
``python -m tests.support.adversarial DIR`` writes the files for a look.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.corpus import CASSETTES

V2 = (CASSETTES / "v2_text.yaml").read_text()
V1 = (CASSETTES / "v1_text.yaml").read_text()
AGENT = (CASSETTES / "v2_agent.yaml").read_text()


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]  # writes the case into a folder, returns the path to load
    refused: bool  # False: a documented harmless acceptance
    says: str  # what the refusal (or the loaded cassette) must show


def _text(name: str, text: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"{name}.yaml"
        path.write_text(text)
        return path

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"{name}.yaml"
        path.write_bytes(data)
        return path

    return make


def _once(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _event_line(text: str, index: int) -> str:
    """The ``index``-th event line of the first events block."""
    start = text.index("      events: |\n") + len("      events: |\n")
    lines = text[start:].split("\n")
    return lines[index]


def _replace_event(text: str, index: int, line: str) -> str:
    return _once(text, _event_line(text, index) + "\n", line + "\n")


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _fifo(folder: Path) -> Path:
    path = folder / "fifo.yaml"
    os.mkfifo(path)
    return path


def _folder(folder: Path) -> Path:
    path = folder / "folder.yaml"
    path.mkdir()
    return path


def _dev_zero(folder: Path) -> Path:
    path = folder / "zero.yaml"
    path.symlink_to("/dev/zero")
    return path


def _dangling(folder: Path) -> Path:
    path = folder / "dangling.yaml"
    path.symlink_to(folder / "nowhere.yaml")
    return path


def cases() -> list[Case]:
    first = _event_line(V2, 0)
    delta = _event_line(V2, 2)
    found: list[Case] = []

    def refuse(name: str, text: str, says: str) -> None:
        found.append(Case(name, _text(name, text), True, says))

    # ---- duplicate keys: YAML would keep the last silently
    refuse("dup-version", _once(V2, "version: 1\n", "version: 1\nversion: 1\n"), "given twice")
    refuse("dup-format", _once(V2, "version: 1\n", "version: 1\nformat: stream-replay-cassette\n"), "given twice")
    refuse("dup-interactions", _once(V2, "end_of_cassette: true", "interactions: []\nend_of_cassette: true"), "given twice")
    refuse("dup-end", _once(V2, "end_of_cassette: true", "end_of_cassette: true\nend_of_cassette: true"), "given twice")
    refuse("dup-status", _once(V2, "    status: 200\n", "    status: 200\n    status: 500\n"), "given twice")
    refuse("dup-url", _once(V2, "    method: POST\n", "    method: POST\n    url: https://evil.example/v2/chat\n"), "given twice")
    refuse("dup-method", _once(V2, "    method: POST\n", "    method: POST\n    method: GET\n"), "given twice")
    refuse("dup-outcome", _once(V2, "      outcome: completed\n", "      outcome: completed\n      outcome: failed\n"), "given twice")
    refuse("dup-events", _once(V2, "      event_count: 74\n", "      event_count: 74\n      events: |\n        - [DONE]\n"), "given twice")
    refuse("dup-header", _once(V2, "      content-type: application/json\n", "      content-type: application/json\n      content-type: text/html\n"), "given twice")
    # ---- aliases: a billion laughs, or a value repeated by reference
    laughs = "lol: &a [x, x, x, x, x, x, x, x, x]\nlol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nlol3: [*b, *b, *b, *b]\n"
    refuse("billion-laughs", _once(V2, "version: 1\n", "version: 1\n" + laughs), "alias")
    refuse("alias-headers", _once(V2, "interactions:\n", "x: &h {accept: '*/*'}\ninteractions:\n").replace("    headers:\n", "    headers: *h\n    h2:\n", 1), "alias")
    refuse("alias-self", "a: &a [*a]\n", "alias")
    # ---- nesting
    refuse("deep-yaml", _once(V2, "version: 1\n", f"version: 1\ndeep: {_deep(200)}\n"), "nest")
    refuse("deep-yaml-2000", _once(V2, "version: 1\n", f"version: 1\ndeep: {_deep(2000)}\n"), "nest")
    deep_payload = '{"type":"content-delta","x":' + "[" * 1000 + "]" * 1000 + "}"
    refuse("deep-json-event", _replace_event(V2, 2, f"        - content-delta {deep_payload}"), "deeper than 64")
    deep_body = '{"model":"x","messages":' + "[" * 3000 + "]" * 3000 + "}"
    refuse("deep-json-body", _once(V2, '"model": "command-r",', f'"deep": {"[" * 3000 + "]" * 3000},'), "")
    del deep_body
    # ---- offsets
    timed = V2.replace("      timing: none\n", "      timing: recorded\n", 1)
    block = timed[timed.index("      events: |\n") + 16 : timed.index("end_of_cassette")]
    lines = [line for line in block.split("\n") if line.startswith("        - ")]
    retimed = timed
    for i, line in enumerate(lines):
        retimed = retimed.replace(line, line.replace("        - ", f"        {i * 0.01:.4f} ", 1), 1)
    refuse("offset-negative", _replace_event(retimed, 3, _event_line(retimed, 3).replace("0.0300", "-0.0300", 1)), "offset")
    refuse("offset-backwards", _replace_event(retimed, 3, _event_line(retimed, 3).replace("0.0300", "0.0100", 1)), "earlier than the event before")
    refuse("offset-1e7", _replace_event(retimed, 73, _event_line(retimed, 73).replace("0.7300", "10000000", 1)), "beyond the 3600 s")
    refuse("offset-nan", _replace_event(retimed, 3, _event_line(retimed, 3).replace("0.0300", "nan", 1)), "offset")
    refuse("offset-inf", _replace_event(retimed, 3, _event_line(retimed, 3).replace("0.0300", "inf", 1)), "offset")
    refuse("offset-mixed", _replace_event(retimed, 3, _event_line(retimed, 3).replace("0.0300", "-", 1)), "offset")
    found.append(Case("offsets-in-order", _text("offsets-in-order", retimed), False, "timed"))
    # ---- URLs
    for name, url in [
        ("url-no-scheme", "api.cohere.com/v2/chat"),
        ("url-ftp", "ftp://api.cohere.com/v2/chat"),
        ("url-no-host", "https:///v2/chat"),
        ("url-bad-port", "https://api.cohere.com:http/v2/chat"),
        ("url-space-host", "https://api cohere.com/v2/chat"),
        ("url-javascript", "javascript:alert(1)"),
        ("url-empty", "''"),
    ]:
        refuse(name, _once(V2, "url: https://api.cohere.com/v2/chat", f"url: {url}"), "url")
    # ---- headers that would inject
    refuse("header-crlf", _once(V2, "      content-type: application/json\n", '      content-type: "application/json\\r\\nset-cookie: a=b"\n'), "control character")
    refuse("header-lf", _once(V2, "      content-type: application/json\n", '      content-type: "a\\nb"\n'), "control character")
    refuse("header-nul", _once(V2, "      content-type: application/json\n", '      content-type: "a\\0b"\n'), "control character")
    refuse("header-name-space", _once(V2, "      content-type: application/json\n", "      content-type: application/json\n      'bad name': x\n"), "not an HTTP header name")
    refuse("header-name-colon", _once(V2, "      content-type: application/json\n", "      content-type: application/json\n      'x:y': z\n"), "not an HTTP header name")
    refuse("header-list", _once(V2, "      content-type: application/json\n", "      content-type: [a, b]\n"), "header value must be text")
    # ---- events that lie
    refuse("event-count-low", _once(V2, "event_count: 74", "event_count: 70"), "event_count")
    refuse("event-count-high", _once(V2, "event_count: 74", "event_count: 99"), "event_count")
    refuse("event-bad-json", _replace_event(V2, 2, delta.replace("}}}}", "}}")), "not valid JSON")
    refuse("event-no-payload", _replace_event(V2, 2, "        - content-delta"), "no payload")
    refuse("event-raw-not-string", _replace_event(V2, 2, '        - content-delta "unterminated'), "raw block")
    refuse("event-v1-type-lies", _replace_event(V1, 1, _event_line(V1, 1).replace("- text-generation", "- stream-end", 1)), "event_type")
    refuse("event-junk-line", _replace_event(V2, 2, "        hello"), "cannot read event line")
    refuse("events-not-text", _once(V2, "      events: |\n", "      events: 7\n      old: |\n"), "events")
    refuse("stream-format", _once(V2, "      format: sse\n", "      format: xml\n"), "unknown stream format")
    refuse("stream-outcome", _once(V2, "      outcome: completed\n", "      outcome: exploded\n"), "unknown outcome")
    refuse("failed-without-error", _once(V2, "      outcome: completed\n", "      outcome: failed\n"), "how it failed")
    refuse("timing-lies", _once(V2, "      timing: none\n", "      timing: recorded\n"), "timing")
    # ---- shapes and values
    refuse("status-text", _once(V2, "    status: 200\n", "    status: ok\n"), "status")
    refuse("status-600", _once(V2, "    status: 200\n", "    status: 600\n"), "100..599")
    refuse("status-bool", _once(V2, "    status: 200\n", "    status: true\n"), "status")
    refuse("interactions-mapping", _once(V2, "interactions:\n", "interactions: {}\nold:\n"), "interactions")
    refuse("request-missing", _once(V2, "- request:\n", "- requests:\n"), "request")
    refuse("body-style-unknown", _once(V2, "    body_style: json\n", "    body_style: xml\n"), "body_style")
    refuse("body-not-json", _once(V2, '"model": "command-r",', '"model": command-r,'), "not valid JSON")
    refuse("python-tag", _once(V2, "version: 1\n", "version: 1\nx: !!python/object/apply:os.system ['true']\n"), "tag")
    refuse("version-2", _once(V2, "version: 1\n", "version: 2\n"), "version")
    refuse("version-missing", _once(V2, "version: 1\n", ""), "version")
    refuse("format-other", _once(V2, "format: stream-replay-cassette\n", "format: vcr\n"), "format")
    refuse("cut-half", V2[: len(V2) // 2], "")
    refuse("cut-before-end", _once(V2, "end_of_cassette: true\n", ""), "cut")
    refuse("top-list", "- 1\n- 2\n", "mapping")
    refuse("only-comments", "# nothing here\n", "only comments")
    refuse("flow-unclosed", _once(V2, "version: 1\n", "version: 1\nx: [1, 2\n"), "YAML")
    found.append(Case("empty", _text("empty", ""), True, "empty"))
    found.append(Case("nul", _bytes("nul", V2.encode().replace(b"version", b"vers\x00on", 1)), True, "NUL"))
    found.append(Case("latin-1", _bytes("latin-1", V2.encode().replace(b"Pickle", b"Pickl\xe9", 1)), True, "UTF-8"))
    found.append(Case("bom", _bytes("bom", b"\xef\xbb\xbf" + V2.encode()), False, "loads"))
    # ---- not a regular file
    if hasattr(os, "mkfifo"):
        found.append(Case("fifo", _fifo, True, "FIFO"))
    found.append(Case("folder", _folder, True, "folder"))
    if Path("/dev/zero").exists():
        found.append(Case("symlink-dev-zero", _dev_zero, True, "character device"))
    found.append(Case("dangling-symlink", _dangling, True, "no such"))
    # ---- harmless, documented acceptances
    found.append(Case("anchor-without-alias", _text("anchor", _once(V2, "version: 1\n", "version: 1\nnote: &n x\n")), False, "loads"))
    found.append(Case("extra-top-level-key", _text("extra", _once(V2, "version: 1\n", "version: 1\nnote: hi\n")), False, "loads"))
    found.append(Case("u2028-in-text", _text("u2028", _replace_event(V2, 2, delta.replace('"text":"', '"text":"\\u2028', 1))), False, "loads"))
    found.append(Case("agent", _text("agent", AGENT), False, "loads"))
    del first
    return found


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for case in cases():
        case.make(out)
    print(f"{len(cases())} cases written to {out}")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1])
