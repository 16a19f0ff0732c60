"""``stream-replay record``: record one conversation from the command line, or record a
cassette's requests again (``--from``).

Both go through a genuine cohere client (``record_client``), so the cassette holds what
the SDK sends and receives. The stream is printed live as it arrives (the rendering of
``play``), then a summary line. A key is needed only when the target is Cohere's own
API; another server (``stream-replay serve``, a proxy) is sent a placeholder when no key
is set, and the command says so. Bad input (no key where one is needed, a bad flag
value, an unreadable input file, an ``-o`` that cannot be written, an unreachable
server) gives one clear line, exit status 2, and nothing is sent or written.

``--from`` writes a whole new cassette: into a temporary file beside ``-o``, moved into
place only once every interaction is recorded, so ``-o`` is never half-written.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from ..errors import StreamReplayError
from ..sdk import sdk_kwargs
from . import exit_status


class InputError(StreamReplayError):
    """A command-line input that cannot be used (the message is the whole story)."""


#: Generation flags: (flag, request field, type, help).
GENERATION: tuple[tuple[str, str, type, str], ...] = (
    ("--temperature", "temperature", float, "sampling temperature"),
    ("--max-tokens", "max_tokens", int, "the most tokens to generate"),
    ("--seed", "seed", int, "sampling seed"),
    ("--p", "p", float, "top-p (nucleus) sampling"),
    ("--k", "k", int, "top-k sampling"),
    ("--frequency-penalty", "frequency_penalty", float, "frequency penalty"),
    ("--presence-penalty", "presence_penalty", float, "presence penalty"),
)
SAFETY_MODES = ("CONTEXTUAL", "STRICT", "OFF")
CHAT_ROUTES = ("/v2/chat", "/v1/chat")


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "record",
        help="record one conversation from the command line into a cassette, or a cassette's requests again",
        description="Sends one chat request through the cohere SDK, prints the stream live as it arrives, "
        "and appends the interaction to CASSETTE. With --from, re-sends every request of a cassette "
        "exactly and writes what comes back as a new cassette. The key is CO_API_KEY; it is needed "
        "only for Cohere's API (another server is sent a placeholder), and it is never written.",
        epilog=exit_status(
            one="the API answered with an error (recorded), the stream did not complete, or (--from) what was "
            "recorded differs from the source",
            zero="recorded",
        )
        + " A missing or refused key, an -o that cannot be written or an unreachable server is status 2, "
        "and nothing is written.",
    )
    parser.add_argument("--model", help="the model (required unless --from)")
    parser.add_argument("--message", action="append", default=[], help="a user message (repeatable)")
    parser.add_argument("--messages", type=Path, metavar="FILE", help="chat history, JSON or YAML (a list)")
    parser.add_argument("--tools", type=Path, metavar="FILE", help="tool definitions, JSON or YAML (a list)")
    parser.add_argument("--documents", type=Path, metavar="FILE", help="documents, JSON or YAML (a list)")
    parser.add_argument("--api", choices=["v1", "v2"], default=None, help="the chat API (default: v2)")
    parser.add_argument("--base-url", metavar="URL", help="the API's URL (default: CO_API_URL, else Cohere's)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="CASSETTE",
        help="the cassette to write (record appends to it; --from writes a new one)",
    )
    generation = parser.add_argument_group("generation parameters (each sent as the request field named)")
    for flag, field, kind, text in GENERATION:
        generation.add_argument(flag, dest=field, type=kind, metavar=kind.__name__.upper(), help=f"{text} ({field})")
    generation.add_argument(
        "--stop-sequence", dest="stop_sequences", action="append", metavar="TEXT", help="a stop sequence (repeatable)"
    )
    generation.add_argument("--safety-mode", type=str.upper, choices=SAFETY_MODES, help="safety mode (safety_mode)")
    generation.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help='any other request field, its value as JSON (repeatable), e.g. --param \'thinking={"type":"enabled"}\'',
    )
    again = parser.add_argument_group("recording a cassette again")
    again.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="CASSETTE",
        help="re-send every request of CASSETTE exactly (route, body, every parameter) through the cohere SDK "
        "and write what comes back as a new cassette at -o: the way to refresh a cassette after verify "
        "reports drift",
    )
    again.add_argument("--force", action="store_true", help="with --from: replace -o if it exists")
    from .vcr import add_redaction

    add_redaction(parser.add_argument_group("redaction (what the cassette keeps; the key is never kept)"))


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    from .vcr import redaction_of

    try:
        redaction_of(args)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.source is not None:
        from .record_from import record_from

        return record_from(args, stream)
    if args.force:
        raise InputError("--force goes with --from (record appends to an existing cassette)")
    api = args.api or "v2"
    body = _request(args, api)
    check_output(args.output)
    target, key = target_and_key(args.base_url, "record")
    import cohere
    import httpx

    from ..recording.client import record_client
    from .play import _Printer

    cls: type[Any] = cohere.ClientV2 if api == "v2" else cohere.Client
    printer = Shown(_Printer(stream, api))
    started = time.monotonic()
    first: float | None = None
    session = record_client(
        args.output,
        cls,
        api_key=key,
        base_url=target,
        redact_fields=args.redact_fields,
        redact_patterns=args.redact_patterns,
    )
    try:
        with no_new_folders(args.output), session as co, quiet_skips():
            for event in co.chat_stream(**sdk_kwargs(cls.chat_stream, body)):
                if first is None:
                    first = time.monotonic() - started
                printer.event(event)
    except httpx.TransportError as exc:
        if printer.count == 0:
            raise InputError(f"cannot reach {target}: {exc or type(exc).__name__}; nothing was recorded") from None
        stream.write(f"\nstream-replay: the connection failed after {printer.count} events: {exc}\n")
    except cohere.core.ApiError as exc:
        stream.write(f"\n[API error {exc.status_code}] {exc.body}\n")
        if not session.recorded:
            raise not_kept(session, target, key) from None
        stream.write(f"stream-replay: recorded HTTP {exc.status_code} -> {args.output}\n")
        return 1
    total = time.monotonic() - started
    printer.finish(total)
    recorded = session.recorded
    outcome = recorded[-1].response.stream.outcome if recorded and recorded[-1].response.stream else "?"
    stream.write(
        f"stream-replay: recorded {printer.count} events in {total:.2f} s"
        f" (first event after {first if first is not None else total:.3f} s),"
        f" finish {printer.finish_reason or outcome} -> {args.output}\n"
    )
    return 0 if outcome in ("completed", "?") else 1


# ------------------------------------------------------------------ shared checks


def target_and_key(base_url: str | None, what: str) -> tuple[str, str]:
    """Where to send (``--base-url``, else ``CO_API_URL``, else Cohere's API) and the key:
    ``CO_API_KEY``; with none, an error for Cohere's API, a placeholder (said on stderr)
    for any other server."""
    from ..recording.client import placeholder_key
    from ..sdk import COHERE_API_URL, env_api_key, needs_key

    target = base_url or os.environ.get("CO_API_URL") or COHERE_API_URL
    key = env_api_key()
    if key:
        return target, key
    if needs_key(target):
        raise InputError(
            f"CO_API_KEY is not set: {what} sends to {target}, which needs your Cohere API key (it is sent, "
            "never written); export CO_API_KEY, or give --base-url URL for a server that checks none"
        )
    print(
        f"stream-replay: CO_API_KEY is not set; {target} is not Cohere's API: sending a placeholder key",
        file=sys.stderr,
    )
    return target, placeholder_key()


def check_output(path: Path) -> None:
    """Before anything is sent: ``-o`` must name a file that can be written."""
    if path.is_dir():
        raise InputError(f"-o {path} is a folder: give the cassette's file path, e.g. -o {path / 'chat.yaml'}")
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise InputError(f"-o {path}: {existing} is a file, not a folder: choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"-o {path}: the folder {existing} is not writable: choose a folder you can write to, "
            "or change its permissions"
        )


@contextlib.contextmanager
def no_new_folders(path: Path) -> Iterator[None]:
    """The folders ``path`` needs that do not exist yet are removed again, when still empty,
    if nothing was written at ``path``: a failed recording leaves nothing behind."""
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]  # deepest first
    try:
        yield
    finally:
        for folder in created if not path.exists() else ():
            with contextlib.suppress(OSError):
                folder.rmdir()


@contextlib.contextmanager
def quiet_skips() -> Iterator[None]:
    """Silence the recorder's warning for an answer it leaves out: the command says it itself."""
    from ..errors import StreamReplayWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="not recorded: ", category=StreamReplayWarning)
        yield


def not_kept(session: Any, target: str, key: str, where: str = "", tail: str = "nothing was recorded") -> InputError:
    """The error for an answer the recorder left out (a 401, a 429, serve's own 404...)."""
    from ..recording.client import placeholder_key
    from ..recording.policy import kind_of

    if session.recorder.errors:  # a save refused: a secret in the answer, an unwritable cassette
        error = session.recorder.errors[-1]
        problem = str(getattr(error, "problem", None) or str(error).splitlines()[0])
        line = getattr(error, "line", None)
        at = f" (line {line} of the recording)" if line else ""
        fix = getattr(error, "fix", None)
        how = f"\n  How to fix: {fix}" if fix else ""
        return InputError(f"{where}{problem.removesuffix('; nothing was written')}{at}; {tail}{how}")
    skipped = session.recorder.skipped
    reason = skipped[-1].split(" -> ", 1)[-1].split("; ", 1)[0] if skipped else "an answer that was not recorded"
    number = reason.removeprefix("HTTP ").split(" ", 1)[0]
    if number.isdigit() and kind_of(int(number)) == "credential":
        if key == placeholder_key():
            why = "the server wants an API key, and CO_API_KEY is not set"
        else:
            why = "the API key was refused (expired or wrong?): check CO_API_KEY"
        reason = f"HTTP {number}: {why}"
    return InputError(f"{where}{target} answered {reason}; {tail}")


class Shown:
    """Shows each event with ``play``'s printer as it arrives; a failure to show one (an
    event shape the printer does not know) is noted once per type and never stops, or
    cuts short, the recording."""

    def __init__(self, printer: Any) -> None:
        self.printer = printer
        self.unshown: set[str] = set()

    @property
    def count(self) -> int:
        return int(self.printer.count)

    @property
    def finish_reason(self) -> Any:
        return self.printer.finish_reason

    def event(self, event: Any) -> None:
        try:
            self.printer.event(event)
        except (AttributeError, TypeError, KeyError) as exc:
            from ..wire.events import event_type

            kind = str(event_type(event))
            if kind not in self.unshown:
                self.unshown.add(kind)
                self.printer.write(f"[{kind} events cannot be shown: {type(exc).__name__}: {exc}]")

    def finish(self, seconds: float) -> None:
        self.printer.finish(seconds)


# ------------------------------------------------------------------ one request


def _load_list(path: Path | None, what: str) -> list[Any] | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    try:
        value = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "lineno", None) or (mark.line + 1 if mark is not None else None)
        where = f"{path}:{line}" if line else str(path)
        raise InputError(
            f"{where}: the {what} file is not valid {'JSON' if path.suffix == '.json' else 'YAML'}"
        ) from None
    if not isinstance(value, list):
        raise InputError(f"{path}: the {what} file must hold a list, found {type(value).__name__}")
    return value


def _request(args: argparse.Namespace, api: str) -> dict[str, Any]:
    if not args.model:
        raise InputError("--model is required (or --from CASSETTE, to record a cassette's requests again)")
    history = _load_list(args.messages, "messages") or []
    tools = _load_list(args.tools, "tools")
    documents = _load_list(args.documents, "documents")
    kwargs: dict[str, Any] = {"model": args.model}
    if api == "v2":
        messages = history + [{"role": "user", "content": m} for m in args.message]
        if not messages:
            raise InputError("nothing to send: give --message TEXT or --messages FILE")
        kwargs["messages"] = messages
    else:
        if not args.message:
            raise InputError("v1 needs --message TEXT (the new message); --messages FILE is the chat history")
        kwargs["message"] = args.message[-1]
        earlier = [{"role": "USER", "message": m} for m in args.message[:-1]]
        if history or earlier:
            kwargs["chat_history"] = history + earlier
    if tools is not None:
        kwargs["tools"] = tools
    if documents is not None:
        kwargs["documents"] = documents
    return _with_parameters(args, kwargs)


def _with_parameters(args: argparse.Namespace, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The generation flags, then each ``--param KEY=JSON``, added to the request."""
    for _, field, _, _ in GENERATION:
        if getattr(args, field) is not None:
            kwargs[field] = getattr(args, field)
    if args.stop_sequences:
        kwargs["stop_sequences"] = args.stop_sequences
    if args.safety_mode:
        kwargs["safety_mode"] = args.safety_mode
    for item in args.param:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f'--param {item!r}: give KEY=JSON, e.g. --param \'thinking={{"type":"enabled"}}\'')
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            quoted = f"; a string needs quotes: --param '{key}=\"{text}\"'"
            hint = "" if text.strip()[:1] in tuple('{["-0123456789') else quoted
            raise InputError(
                f"--param {item!r}: the value of {key} is not JSON ({exc.msg}, at character {exc.pos}){hint}"
            ) from None
        if key == "stream":
            raise InputError("--param stream=...: record always streams")
        if key in kwargs:
            raise InputError(f"--param {key}=...: {key} is already given by another flag")
        kwargs[key] = value
    return kwargs
