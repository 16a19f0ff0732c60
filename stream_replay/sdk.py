"""What stream_replay needs to know about the installed cohere SDK, read from the SDK.

Event classes are taken from the SDK's own stream unions (found through the return
annotation of ``chat_stream``, and of ``generate_stream`` for ``/v1/generate``), never
from hard-coded names: cohere 5.11 calls the v2 message-start class
``MessageStartStreamedChatResponseV2``, 7.x calls it ``MessageStartV2ChatStreamResponse``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import types
import typing
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import StreamReplayError
from .wire.events import TYPE_KEYS


class UnsupportedClientError(StreamReplayError, TypeError):
    """A cohere client stream_replay cannot serve faithfully (Bedrock, SageMaker, OCI)."""


Api = Literal["v1", "v2"]

#: The streams the SDK parses: v1 chat, v2 chat, and v1 generate (``/v1/generate``).
StreamKind = Literal["v1", "v2", "generate"]

#: Each stream's SDK method (on ``cohere.Client`` / ``cohere.ClientV2``) and API route.
STREAM_METHODS: dict[StreamKind, tuple[str, str, str]] = {
    "v1": ("Client", "chat_stream", "/v1/chat"),
    "v2": ("ClientV2", "chat_stream", "/v2/chat"),
    "generate": ("Client", "generate_stream", "/v1/generate"),
}


def sdk_version() -> str:
    import cohere

    return str(getattr(cohere, "__version__", None) or _dist_version())


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cohere")
    except PackageNotFoundError:
        return "unknown"


#: Where each client class is defined, in every supported SDK version.
_CLIENT_MODULES = {
    "Client": "cohere.client",
    "AsyncClient": "cohere.client",
    "ClientV2": "cohere.client_v2",
    "AsyncClientV2": "cohere.client_v2",
}


def sdk_client(name: str) -> type:
    """The SDK's own client class ``name`` (``ClientV2``...), from the module defining it:
    not ``cohere.<name>``, which a test may have replaced (``monkeypatch.setattr(cohere,
    "ClientV2", ...)`` to hand the code under test a replay client)."""
    return getattr(importlib.import_module(_CLIENT_MODULES[name]), name)  # type: ignore[no-any-return]


def client_api(cls: type) -> Api:
    """``v2`` for ``ClientV2``/``AsyncClientV2`` (and subclasses), ``v1`` for the others."""
    return _client_kind(cls)[0]


def is_async_client(cls: type) -> bool:
    return _client_kind(cls)[1]


@functools.lru_cache(maxsize=64)
def _client_kind(cls: Any) -> tuple[Api, bool]:
    """A client class's API and whether it is async, once per class (every client of a
    test asks, and each of the SDK's classes is looked up through ``importlib``)."""
    v2, async_v1, async_v2 = sdk_client("ClientV2"), sdk_client("AsyncClient"), sdk_client("AsyncClientV2")
    api: Api = "v2" if issubclass(cls, (v2, async_v2)) else "v1"
    return api, issubclass(cls, (async_v1, async_v2))


def client_class(cls: Any) -> type:
    """``cls`` (default ``cohere.ClientV2``) if it is one of the four cohere client
    classes or a subclass; a ``TypeError`` saying which are accepted otherwise (and an
    ``UnsupportedClientError`` for the other platforms' clients)."""
    chosen = cls if cls is not None else sdk_client("ClientV2")
    if not (isinstance(chosen, type) and issubclass(chosen, (sdk_client("Client"), sdk_client("AsyncClient")))):
        raise TypeError(f"client must be cohere.ClientV2, AsyncClientV2, Client or AsyncClient, got {chosen!r}")
    refuse_other_platform(chosen)
    return chosen


#: The cohere clients of other platforms, and what they talk to.
_PLATFORMS = {
    "BedrockClientV2": "AWS Bedrock",
    "BedrockClient": "AWS Bedrock",
    "SagemakerClientV2": "AWS SageMaker",
    "SagemakerClient": "AWS SageMaker",
    "OciClientV2": "Oracle OCI Generative AI",
    "OciClient": "Oracle OCI Generative AI",
}
_PLATFORM_MODULES = ("cohere.aws_client", "cohere.oci_client")


#: The SDK's own default timeout when it builds its httpx client itself.
SDK_TIMEOUT = 300.0

#: Cohere's own API: the SDK's default environment (``ClientEnvironment.PRODUCTION``).
COHERE_API_URL = "https://api.cohere.com"
#: Domains whose hosts are Cohere's own API: a request there needs a real key.
COHERE_DOMAINS = ("cohere.com", "cohere.ai")


def env_api_key() -> str | None:
    """The key a cohere client takes from the environment (``CO_API_KEY``, else
    ``COHERE_API_KEY``, as the SDK reads them); None when neither is set or both are empty."""
    return os.environ.get("CO_API_KEY") or os.environ.get("COHERE_API_KEY") or None


def needs_key(base_url: str) -> bool:
    """True when ``base_url`` is Cohere's own API (``api.cohere.com``, ``api.cohere.ai``,
    the SDK's default environment, any host under ``cohere.com`` or ``cohere.ai``): only
    there is a real key required. Any other server (``stream-replay serve``, a proxy,
    a loopback test server) gets a placeholder when no key is set."""
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    default = (urlsplit(COHERE_API_URL).hostname or "").lower()
    return host == default or any(host == d or host.endswith("." + d) for d in COHERE_DOMAINS)


def sdk_base_url(client_kwargs: dict[str, Any], cls: type | None = None) -> str:
    """Where a cohere client built with ``client_kwargs`` sends, as the SDK decides it:
    ``base_url=``, else the constructor's default (``CO_API_URL`` as the SDK read it on
    import), else ``environment=`` (default: Cohere's API)."""
    if "base_url" in client_kwargs:
        base = client_kwargs["base_url"]
    else:
        parameter = inspect.signature(cls or sdk_client("Client")).parameters.get("base_url")
        base = parameter.default if parameter is not None else None
    if isinstance(base, str) and base:
        return base
    environment = client_kwargs.get("environment")
    value = getattr(environment, "value", environment)
    return value if isinstance(value, str) and value else COHERE_API_URL


def refuse_other_platform(cls: type) -> None:
    """``UnsupportedClientError`` for a client of Cohere on another platform.

    Read from the class's own bases, which name them (``cohere.bedrock_client.
    BedrockClientV2``...): asking ``cohere`` for its platform classes would import
    them, and the AWS SDK shims with them, in every test that builds a client."""
    for base in cls.__mro__:
        platform = _PLATFORMS.get(base.__name__)
        if platform is not None and base.__module__.startswith("cohere."):
            raise UnsupportedClientError(_unsupported(f"cohere.{base.__name__}", platform))


def refuse_platform_transport(http: Any) -> None:
    """``UnsupportedClientError`` for an httpx client built by an other platform's cohere
    client (its event hooks sign requests and decode AWS event-stream frames)."""
    hooks = getattr(http, "event_hooks", None) or {}
    for hook in (h for found in hooks.values() for h in found):
        module = getattr(hook, "__module__", "") or ""
        if module.startswith(_PLATFORM_MODULES):
            platform = "AWS Bedrock or SageMaker" if module.startswith("cohere.aws") else "Oracle OCI"
            raise UnsupportedClientError(_unsupported("a cohere client for another platform", platform))


def _unsupported(what: str, platform: str) -> str:
    return (
        f"stream_replay: {what} is not supported: it talks to {platform}, with signed requests "
        "(SigV4, OCI signatures) and streams its own event hooks decode (AWS event-stream frames). "
        "Served from a /v1 or /v2 chat cassette, it would take a code path production never takes, "
        "so stream_replay refuses it rather than pass a test that would fail live.\n"
        "  How to fix: test through cohere.ClientV2 / Client (the Cohere platform API), or keep "
        "this client out of stream_replay's tests."
    )


def _union_members(annotation: Any) -> list[type]:
    """The classes inside ``Iterator[Annotated[Union[...], ...]]`` (any nesting)."""
    found: list[type] = []
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and hasattr(item, "model_fields"):
            found.append(item)
            continue
        stack.extend(reversed(typing.get_args(item)))
    return found


@functools.cache
def event_classes(kind: StreamKind) -> dict[str, type]:
    """Event type name to the SDK's class, for the installed SDK: the members of the
    union that the stream's method (``STREAM_METHODS``) is annotated to yield: the SDK's
    own method (``_sdk_method``), whatever wraps or replaces it, or the client, now."""
    owner, name, _ = STREAM_METHODS[kind]
    method = _sdk_method(sdk_client(owner), name)
    annotation = inspect.signature(method).return_annotation
    if isinstance(annotation, str):
        annotation = typing.get_type_hints(method)["return"]
    key = TYPE_KEYS[kind]
    classes: dict[str, type] = {}
    for cls in _union_members(annotation):
        field = cls.model_fields.get(key)  # type: ignore[attr-defined]
        if field is None:
            continue
        default = field.default
        if isinstance(default, str):
            classes[default] = cls
            continue
        for literal in typing.get_args(field.annotation):
            if isinstance(literal, str):
                classes[literal] = cls
    if not classes:
        raise RuntimeError(f"stream_replay could not find the {kind} stream event classes in cohere {sdk_version()}")
    return classes


def _sdk_method(cls: type, name: str) -> Any:
    """``cls.name`` as the SDK defines it: the first function along the class's MRO that,
    once unwrapped (``functools.wraps``, ``wrapt``), is defined in the SDK; a tracer's
    wrapper or ``mock.patch.object`` on the class would hide its annotations."""
    for owner in cls.__mro__:
        found = vars(owner).get(name)
        if found is None:
            continue
        function = inspect.unwrap(found)
        if defined_in("cohere", function):
            return function
    return getattr(cls, name)


def defined_in(package: str, function: Any) -> bool:
    """Whether ``function`` is a plain function whose code is in the installed ``package``
    (cohere, httpx): its file, not its ``__module__``, which ``functools.wraps`` copies
    onto a replacement."""
    return type(function) is types.FunctionType and _package_file(package, function.__code__.co_filename)


@functools.lru_cache(maxsize=256)
def _package_file(package: str, filename: str) -> bool:
    return os.path.abspath(filename).startswith(_package_folder(package))


@functools.cache
def _package_folder(package: str) -> str:
    module = importlib.import_module(package)
    return os.path.dirname(os.path.abspath(module.__file__ or "")) + os.sep


def sdk_kwargs(method: Any, body: dict[str, Any]) -> dict[str, Any]:
    """``body``'s fields as keyword arguments of the SDK's ``method``; a field the installed
    SDK has no parameter for goes in ``request_options`` ``additional_body_parameters``
    (the SDK's own way to send it), so the body sent holds every field given."""
    accepted = set(inspect.signature(method).parameters) - {"self", "request_options", "accepts"}
    kwargs = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    if extra:
        kwargs["request_options"] = {"additional_body_parameters": extra}
    return kwargs
