"""``stream-replay record``: record one conversation from the command line.

The stream is printed live as it arrives (the same rendering as ``play``), then one
summary line. Bad input (no API key, an unreadable input file, an unreachable
server) gives one clear line and a non-zero exit, and nothing is written.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import yaml

from ..errors import StreamReplayError


class InputError(StreamReplayError):
    """A command-line input that cannot be used (the message is the whole story)."""


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "record",
        help="record one conversation from the command line into a cassette",
        description="Sends one chat request (the key from CO_API_KEY), prints the stream live "
        "as it arrives, and appends the interaction to CASSETTE.",
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--message", action="append", default=[], help="a user message (repeatable)")
    parser.add_argument("--messages", type=Path, metavar="FILE", help="chat history, JSON or YAML (a list)")
    parser.add_argument("--tools", type=Path, metavar="FILE", help="tool definitions, JSON or YAML (a list)")
    parser.add_argument("--documents", type=Path, metavar="FILE", help="documents, JSON or YAML (a list)")
    parser.add_argument("--api", choices=["v1", "v2"], default="v2")
    parser.add_argument("--base-url", help="the API's URL (default: CO_API_URL, else Cohere's)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="CASSETTE")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    key = os.environ.get("CO_API_KEY")
    if not key:
        raise InputError("CO_API_KEY is not set: export your Cohere API key to record (it is sent, never written)")
    kwargs = _request(args)
    import cohere
    import httpx

    from ..recording.client import record_client
    from .play import _Printer

    cls: type[Any] = cohere.ClientV2 if args.api == "v2" else cohere.Client
    options: dict[str, Any] = {"api_key": key}
    if args.base_url:
        options["base_url"] = args.base_url
    printer = _Printer(stream, args.api)
    started = time.monotonic()
    first: float | None = None
    session = record_client(args.output, cls, **options)
    try:
        with session as co:
            for event in co.chat_stream(**kwargs):
                if first is None:
                    first = time.monotonic() - started
                printer.event(event)
    except httpx.TransportError as exc:
        where = args.base_url or os.environ.get("CO_API_URL") or "the Cohere API"
        if printer.count == 0:
            raise InputError(f"cannot reach {where}: {exc or type(exc).__name__}; nothing was recorded") from None
        stream.write(f"\nstream-replay: the connection failed after {printer.count} events: {exc}\n")
    except cohere.core.ApiError as exc:
        stream.write(f"\n[API error {exc.status_code}] {exc.body}\n")
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


def _request(args: argparse.Namespace) -> dict[str, Any]:
    history = _load_list(args.messages, "messages") or []
    tools = _load_list(args.tools, "tools")
    documents = _load_list(args.documents, "documents")
    kwargs: dict[str, Any] = {"model": args.model}
    if args.api == "v2":
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
    return kwargs
