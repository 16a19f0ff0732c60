"""litellm's Cohere provider against ``stream-replay serve``: a conformance driver.

Run by ``bench/conformance.py`` inside a virtualenv holding stream_replay and a pinned
litellm (it is not a pytest module, and our own test run never imports it)::

    python litellm_driver.py CASSETTE.yaml [...] [--out results.json]

For each cassette it serves all the given cassettes with
``stream_replay.serve.ReplayServer`` on 127.0.0.1 (instant pace) and makes the recorded
chat request again through ``litellm.completion(..., stream=True)`` and
``litellm.acompletion(..., stream=True)``:

- v2 cassettes (``/v2/chat``): ``model="cohere_chat/<recorded model>"``;
- v1 cassettes (``/v1/chat``): ``model="cohere_chat/v1/<recorded model>"``: litellm picks
  the v1 route when the model string contains ``"v1/"``
  (``CohereModelInfo.get_cohere_route``); ``cohere/<model>`` and ``cohere_chat/<model>``
  both go to v2;
- ``api_base`` is the server URL *with* the route (``<url>/v2/chat``, ``<url>/v1/chat``):
  litellm posts to ``api_base`` as given (``CohereV2ChatConfig.get_complete_url``);
- the recorded messages (v1: ``message`` becomes one user message; ``chat_history`` is
  assumed empty), ``tools`` (v1's ``parameter_definitions`` turned back into the OpenAI
  form litellm translates from) and ``temperature``.

It prints (or writes to ``--out``) one JSON document: per case the assembled text, tool
calls and finish reason, or the error litellm raised; the final response the recording
holds (``stream_replay.analysis.assertions.recorded_response``); whether they agree; and
every request the server received: its headers, and its body's drift against the
recorded body, field by field.

Nothing leaves the machine: a guard refuses any connection or name lookup other than
loopback, and litellm is told to use its bundled model cost map.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from network_guard import block_network  # beside this script (its folder is sys.path[0])

# ---------------------------------------------------------------------- the cases


def _openai_tool_from_v1(tool: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI tool that litellm's v1 transformation turns into ``tool``."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in (tool.get("parameter_definitions") or {}).items():
        properties[name] = {"type": spec.get("type", ""), "description": spec.get("description", "")}
        if spec.get("required"):
            required.append(name)
    return {
        "type": "function",
        "function": {
            "name": tool["name"],
            "description": tool.get("description", ""),
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def build_case(path: Path) -> dict[str, Any]:
    """The litellm call that makes ``path``'s (only) streamed request again."""
    from stream_replay import load_cassette
    from stream_replay.analysis.assertions import recorded_response

    cassette = load_cassette(path)
    streamed = [i for i in cassette.interactions if i.response.stream is not None]
    if len(streamed) != 1:
        raise ValueError(f"{path}: expected one streamed interaction, found {len(streamed)}")
    interaction = streamed[0]
    route = "/v1/chat" if "/v1/" in interaction.request.url else "/v2/chat"
    body = interaction.request.body.parsed()
    notes: list[str] = []
    model = body.get("model")
    if model is None:
        model = "command-r"
        notes.append("the recording sent no model: litellm needs one, command-r is used")
    kwargs: dict[str, Any] = {}
    if route == "/v2/chat":
        kwargs["model"] = f"cohere_chat/{model}"
        kwargs["messages"] = body["messages"]
        if body.get("tools"):
            kwargs["tools"] = body["tools"]
    else:
        kwargs["model"] = f"cohere_chat/v1/{model}"
        if body.get("chat_history"):
            notes.append("the recorded chat_history is not replayed")
        kwargs["messages"] = [{"role": "user", "content": body["message"]}]
        if body.get("tools"):
            kwargs["tools"] = [_openai_tool_from_v1(t) for t in body["tools"]]
    if "temperature" in body:
        kwargs["temperature"] = body["temperature"]
    expected = recorded_response(cassette)
    return {
        "cassette": path.name,
        "path": path,
        "api": "v1" if route == "/v1/chat" else "v2",
        "route": route,
        "recorded_body": body,
        "kwargs": kwargs,
        "notes": notes,
        "expected": {
            "text": expected.text,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in expected.tool_calls],
            "finish_reason": expected.finish_reason,
        },
    }


# ---------------------------------------------------------------------- assembling litellm's chunks


class Assembled:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.chunks = 0

    def feed(self, chunk: Any) -> None:
        self.chunks += 1
        for choice in chunk.choices or ():
            delta = choice.delta
            if getattr(delta, "content", None):
                self.text.append(delta.content)
            for call in getattr(delta, "tool_calls", None) or ():
                index = call.index if call.index is not None else 0
                slot = self.calls.setdefault(index, {"id": None, "name": None, "arguments_text": ""})
                if call.id:
                    slot["id"] = call.id
                function = call.function
                if function is not None:
                    if function.name:
                        slot["name"] = function.name
                    if function.arguments:
                        slot["arguments_text"] += function.arguments
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason

    def result(self) -> dict[str, Any]:
        calls = []
        for index in sorted(self.calls):
            slot = self.calls[index]
            try:
                arguments = json.loads(slot["arguments_text"]) if slot["arguments_text"] else None
            except ValueError:
                arguments = None
            calls.append({"name": slot["name"], "arguments": arguments, "arguments_text": slot["arguments_text"]})
        return {
            "text": "".join(self.text),
            "tool_calls": calls,
            "finish_reason": self.finish_reason,
            "chunks": self.chunks,
        }


def _error(exc: BaseException) -> dict[str, Any]:
    text = str(exc)
    cut = text.find("\nTraceback")  # litellm appends the traceback to some messages
    if cut != -1:
        text = text[:cut]
    lines = [line for line in text.splitlines() if line.strip()]
    return {"type": type(exc).__name__, "first_line": lines[0] if lines else "", "message": text[:4000]}


def run_sync(litellm: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    assembled = Assembled()
    try:
        for chunk in litellm.completion(stream=True, **kwargs):
            assembled.feed(chunk)
    except Exception as exc:  # what litellm raises is the finding
        return {"error": _error(exc), "partial": assembled.result()}
    return assembled.result()


async def _run_async(litellm: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    assembled = Assembled()
    try:
        response = await litellm.acompletion(stream=True, **kwargs)
        async for chunk in response:
            assembled.feed(chunk)
    except Exception as exc:
        return {"error": _error(exc), "partial": assembled.result()}
    return assembled.result()


def run_async(litellm: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_run_async(litellm, kwargs))


# ---------------------------------------------------------------------- comparing


def json_diff(recorded: Any, sent: Any, path: str = "") -> list[str]:
    """Field paths where ``sent`` differs from ``recorded``, ``recorded -> sent``."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        lines: list[str] = []
        for key in list(recorded) + [k for k in sent if k not in recorded]:
            where = f"{path}.{key}" if path else str(key)
            if key not in sent:
                lines.append(f"{where}: {_short(recorded[key])} -> (not sent)")
            elif key not in recorded:
                lines.append(f"{where}: (not recorded) -> {_short(sent[key])}")
            else:
                lines.extend(json_diff(recorded[key], sent[key], where))
        return lines
    if isinstance(recorded, list) and isinstance(sent, list) and len(recorded) == len(sent):
        lines = []
        for i, (a, b) in enumerate(zip(recorded, sent, strict=True)):
            lines.extend(json_diff(a, b, f"{path}[{i}]"))
        return lines
    if recorded != sent or type(recorded) is not type(sent):
        return [f"{path}: {_short(recorded)} -> {_short(sent)}"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def compare(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """How litellm's assembled response differs from the recording (empty: it agrees)."""
    if "error" in got:
        return ["error: " + got["error"]["first_line"]]
    differences = []
    if got["text"] != expected["text"]:
        differences.append(f"text: {_short(expected['text'])} -> {_short(got['text'])}")
    want = [(c["name"], c["arguments"]) for c in expected["tool_calls"]]
    have = [(c["name"], c["arguments"]) for c in got["tool_calls"]]
    if want != have:
        differences.append(f"tool_calls: {_short(want)} -> {_short(have)}")
    return differences


def _aligned(path: Path, sent_body: dict[str, Any]) -> Any:
    """``path``'s cassette with its streamed request's body replaced by ``sent_body``."""
    import dataclasses

    from stream_replay import load_cassette
    from stream_replay.cassette import Body

    cassette = load_cassette(path)
    interactions = []
    for interaction in cassette.interactions:
        if interaction.response.stream is not None:
            body = Body(json=sent_body, style=interaction.request.body.style or "json")
            interaction = dataclasses.replace(interaction, request=dataclasses.replace(interaction.request, body=body))
        interactions.append(interaction)
    return dataclasses.replace(cassette, interactions=tuple(interactions))


def _serve_and_run(
    make_server: Any,
    cases: list[dict[str, Any]],
    serving: str,
    litellm: Any,
    received: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    results = []
    with make_server() as server:
        for case in cases:
            kwargs = dict(case["kwargs"], api_base=server.url + case["route"], api_key="dummy")
            for mode, runner in (("sync", run_sync), ("async", run_async)):
                before = len(received)
                begun = time.monotonic()
                got = runner(litellm, kwargs)
                requests = []
                for seen in received[before:]:
                    try:
                        sent = json.loads(seen["body"])
                    except ValueError:
                        sent = seen["body"]
                    requests.append(
                        {
                            "path": seen["path"],
                            "status": seen["status"],
                            "accept": seen["headers"].get("accept"),
                            "headers_seen_by_server": seen["headers"],  # serve passes on content-type and accept only
                            "body_drift": json_diff(case["recorded_body"], sent),
                            "sent_body": sent,
                        }
                    )
                differences = compare(case["expected"], got)
                results.append(
                    {
                        "cassette": case["cassette"],
                        "serving": serving,
                        "api": case["api"],
                        "mode": mode,
                        "model": case["kwargs"]["model"],
                        "notes": case["notes"],
                        "expected": case["expected"],
                        "got": got,
                        "agrees": not differences,
                        "differences": differences,
                        "requests": requests,
                        "seconds": round(time.monotonic() - begun, 3),
                    }
                )
    return results


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cassettes", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)

    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no fetch of the cost map at import
    for name in ("COHERE_API_KEY", "CO_API_KEY", "COHERE_API_BASE", "CO_API_URL"):
        os.environ.pop(name, None)
    block_network("conformance driver")
    real_stdout = sys.stdout
    sys.stdout = sys.stderr  # litellm prints its hints with print(): keep stdout for the JSON
    try:
        started = time.monotonic()
        import litellm

        from stream_replay.serve import ReplayServer

        litellm.suppress_debug_info = True
        import_seconds = time.monotonic() - started

        received: list[dict[str, Any]] = []
        answer = ReplayServer.answer

        def recording_answer(self: Any, request: Any) -> Any:
            result = answer(self, request)
            received.append(
                {
                    "path": request.url.path,
                    "headers": {k: v for k, v in request.headers.items() if k.lower() != "authorization"},
                    "body": request.content.decode("utf-8", "replace"),
                    "status": getattr(result, "status", None),
                }
            )
            return result

        ReplayServer.answer = recording_answer  # type: ignore[method-assign]
        cases = [build_case(path) for path in args.cassettes]
        results = _serve_and_run(
            lambda: ReplayServer(list(args.cassettes), speed=0), cases, "as recorded", litellm, received
        )
        # Second pass, for each case the server could not answer (404: the body litellm
        # sends is not the recorded one): serve's migration setting, drift="accept" (the
        # recording answers, the drift is logged). Where this stream_replay's serve has no
        # such option, the cassette with its recorded request body replaced by litellm's.
        for case in cases:
            first = next(r for r in results if r["cassette"] == case["cassette"])
            sent = [r for r in first["requests"] if r["status"] == 404 and isinstance(r["sent_body"], dict)]
            if not sent:
                continue
            if "drift" not in inspect.signature(ReplayServer).parameters:
                aligned = _aligned(case["path"], sent[0]["sent_body"])
                results += _serve_and_run(
                    lambda served=aligned: ReplayServer([served], speed=0),
                    [case], "request aligned", litellm, received,
                )  # fmt: skip
            else:
                results += _serve_and_run(
                    lambda path=case["path"]: ReplayServer([path], speed=0, drift="accept"),
                    [case], "serve drift=accept", litellm, received,
                )  # fmt: skip
        document = {
            "litellm": getattr(litellm, "version", None) or _version("litellm"),
            "cohere": _version("cohere"),
            "stream_replay": _version("stream-replay"),
            "import_seconds": round(import_seconds, 3),
            "cases": results,
        }
    finally:
        sys.stdout = real_stdout
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    with contextlib.suppress(PackageNotFoundError):
        return version(name)
    return None


if __name__ == "__main__":
    sys.exit(main())
