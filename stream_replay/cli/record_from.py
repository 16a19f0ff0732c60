"""``stream-replay record --from CASSETTE``: every request of a cassette sent again
exactly, through the cohere SDK, into a new cassette moved into place only when every
interaction is recorded: the way to refresh a cassette after ``verify`` reports drift.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import time
from pathlib import Path
from typing import Any, TextIO

from ..errors import StreamReplayError
from ..sdk import sdk_kwargs
from .record import (
    CHAT_ROUTES,
    GENERATION,
    InputError,
    Shown,
    check_output,
    no_new_folders,
    not_kept,
    quiet_skips,
    target_and_key,
)


def record_from(args: argparse.Namespace, out: TextIO) -> int:
    """``record --from SOURCE -o OUT``: every request of SOURCE again, into a new OUT."""
    from ..cassette import load_cassette

    given = _request_flags(args)
    if given:
        raise InputError(f"--from re-sends the recorded requests exactly: {', '.join(given)} cannot go with it")
    source = load_cassette(args.source)
    output: Path = args.output
    check_output(output)
    if output.exists() and not args.force:
        raise InputError(f"-o {output} exists: record --from writes a whole new cassette; add --force to replace it")
    if not source.interactions:
        raise InputError(f"{args.source}: the cassette holds no request to send again")
    target, key = target_and_key(args.base_url, "record --from")
    total = len(source.interactions)
    out.write(f"stream-replay: re-sending {total} request(s) of {args.source} through the cohere SDK to {target}\n")
    temporary = output.parent / f".{output.name}.{secrets.token_hex(4)}.recording"
    changed = 0
    with no_new_folders(output):
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            with _Again(temporary, target, key, out, args.redact_fields, args.redact_patterns) as again:
                for index, interaction in enumerate(source.interactions):
                    changed += again.one(index, total, interaction)
            if output.exists() and not args.force:
                raise InputError(f"-o {output} appeared while recording; nothing was written (add --force)")
            os.replace(temporary, output)
        finally:
            temporary.unlink(missing_ok=True)
    verb = "differs" if changed == 1 else "differ"
    differ = f"; {changed} {verb} from {args.source}, as said above" if changed else ""
    out.write(f"stream-replay: recorded {total} interaction(s) -> {output}{differ}\n")
    return 1 if changed else 0


def _request_flags(args: argparse.Namespace) -> list[str]:
    """The flags of a single request that were given (they cannot go with ``--from``)."""
    values = [
        ("--model", args.model),
        ("--message", args.message),
        ("--messages", args.messages),
        ("--tools", args.tools),
        ("--documents", args.documents),
        ("--api", args.api),
        *((flag, getattr(args, field)) for flag, field, _, _ in GENERATION),
        ("--stop-sequence", args.stop_sequences),
        ("--safety-mode", args.safety_mode),
        ("--param", args.param),
    ]
    return [flag for flag, value in values if value is not None and value != []]


class _Again:
    """The clients recording into one temporary cassette, and each request sent again."""

    def __init__(
        self,
        path: Path,
        target: str,
        key: str,
        out: TextIO,
        redact_fields: list[str] | None = None,
        redact_patterns: list[str] | None = None,
    ) -> None:
        self.redact_fields = redact_fields or []
        self.redact_patterns = redact_patterns or []
        self.path = path
        self.target = target
        self.key = key
        self.out = out
        self._stack = contextlib.ExitStack()
        self._sessions: dict[type, Any] = {}

    def __enter__(self) -> _Again:
        self._stack.enter_context(quiet_skips())
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            self._stack.close()
        except StreamReplayError:
            if kind is None:  # else the error in flight already says what went wrong
                raise

    def _session(self, cls: type) -> Any:
        from ..recording.client import record_client

        if cls not in self._sessions:
            session: Any = record_client(
                self.path,
                cls,
                api_key=self.key,
                base_url=self.target,
                redact_fields=self.redact_fields,
                redact_patterns=self.redact_patterns,
            )
            self._stack.enter_context(session)
            self._sessions[cls] = session
        return self._sessions[cls]

    def one(self, index: int, total: int, interaction: Any) -> int:
        """Send ``interaction``'s request again; 1 if what was recorded differs from it, else 0."""
        import cohere
        import httpx

        from ..replay.matching import recorded_view
        from .output import last_user_text
        from .play import _Printer

        request = recorded_view(interaction.request)
        body = interaction.request.body.parsed()
        chat = request.route in CHAT_ROUTES and isinstance(body, dict)
        model = f" · model {body['model']}" if chat and body.get("model") else ""
        self.out.write(f"\n── [{index + 1}/{total}] {request.describe()}{model}\n")
        prompt = last_user_text(body)
        if prompt:
            self.out.write(f"user: {prompt}\n")
        session = self._session(cohere.ClientV2 if request.route == "/v2/chat" else cohere.Client)
        before = len(session.recorded)
        printer = Shown(_Printer(self.out, "v2" if request.route == "/v2/chat" else "v1"))
        started = time.monotonic()
        where = f"interactions[{index}]: "
        try:
            if chat:
                self._chat(session.client, interaction, printer)
            else:
                self._other(session.client, interaction)
        except httpx.TransportError as exc:
            if len(session.recorded) == before:
                reason = exc or type(exc).__name__
                raise InputError(f"{where}cannot reach {self.target}: {reason}; nothing was written") from None
            self.out.write(f"\n  the connection failed after {printer.count} events: {exc}")
        except cohere.core.ApiError as exc:
            self.out.write(f"  [API error {exc.status_code}] {exc.body}\n")
        if printer.count:
            printer.finish(time.monotonic() - started)
        if len(session.recorded) == before:
            raise not_kept(session, self.target, self.key, where, "nothing was written")
        return self._compare(index, interaction, session.recorded[-1])

    def _chat(self, client: Any, interaction: Any, printer: Any) -> None:
        from .play import _arguments

        arguments = _arguments(interaction)  # the recorded body, but "stream": the method decides it
        if interaction.request.body.parsed().get("stream"):
            for event in client.chat_stream(**sdk_kwargs(type(client).chat_stream, arguments)):
                printer.event(event)
        else:
            client.chat(**sdk_kwargs(type(client).chat, arguments))

    def _other(self, client: Any, interaction: Any) -> None:
        """Another endpoint (``GET /v1/models``...): through the SDK's own HTTP client,
        which adds the SDK's headers and the key, as every SDK method does."""
        from urllib.parse import parse_qsl, urlsplit

        from ..replay.matching import recorded_view

        request = interaction.request
        query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        options: dict[str, Any] = {"method": request.method, "params": query or None}
        if request.body.style is not None:
            options["json"] = request.body.json
        elif not request.body.is_empty:
            options["content"] = request.body.to_bytes()
        path = recorded_view(request).route.lstrip("/")
        client._client_wrapper.httpx_client.request(path, **options)

    def _compare(self, index: int, old: Any, new: Any) -> int:
        from ..analysis.jsondiff import field_diff
        from ..replay.matching import recorded_view

        notes: list[str] = []
        a, b = recorded_view(old.request), recorded_view(new.request)
        if (a.method, a.route, a.query) != (b.method, b.route, b.query):
            notes.append(f"request {a.describe()} -> {b.describe()}")
        if old.response.status != new.response.status:
            notes.append(f"status {old.response.status} -> {new.response.status}")
        was = old.response.stream.outcome if old.response.stream else None
        now = new.response.stream.outcome if new.response.stream else None
        if was != now:
            notes.append(f"stream {was or 'none'} -> {now or 'none'}")
        body = field_diff(a.body, b.body, added="(not in the source)", removed="(not sent now)")
        if body:
            notes.append("the SDK sent another body")
        events = f", {len(new.response.stream.events)} events, {now}" if new.response.stream else ""
        said = "as in the source" if not notes else f"differs from the source: {'; '.join(notes)}"
        self.out.write(
            f"stream-replay: interactions[{index}] {b.describe()} -> HTTP {new.response.status}{events} ({said})\n"
        )
        for line in body:
            self.out.write(f"  body, source -> now: {line}\n")
        return 1 if notes else 0
