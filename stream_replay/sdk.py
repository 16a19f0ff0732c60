"""What stream_replay needs to know about the installed cohere SDK, read from the SDK.

Event classes are taken from the SDK's own stream unions (found through the return
annotation of ``chat_stream``), never from hard-coded names: cohere 5.11 calls the
v2 message-start class ``MessageStartStreamedChatResponseV2``, 7.x calls it
``MessageStartV2ChatStreamResponse``.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Literal

from .wire.events import TYPE_KEYS

Api = Literal["v1", "v2"]


def sdk_version() -> str:
    import cohere

    return str(getattr(cohere, "__version__", None) or _dist_version())


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cohere")
    except PackageNotFoundError:
        return "unknown"


def client_api(cls: type) -> Api:
    """``v2`` for ``ClientV2``/``AsyncClientV2`` (and subclasses), ``v1`` for the others."""
    import cohere

    return "v2" if issubclass(cls, (cohere.ClientV2, cohere.AsyncClientV2)) else "v1"


def is_async_client(cls: type) -> bool:
    import cohere

    return issubclass(cls, (cohere.AsyncClient, cohere.AsyncClientV2))


def client_class(cls: Any) -> type:
    """``cls`` (default ``cohere.ClientV2``) if it is one of the four cohere client
    classes or a subclass; a ``TypeError`` saying which are accepted otherwise."""
    import cohere

    chosen = cls if cls is not None else cohere.ClientV2
    if not (isinstance(chosen, type) and issubclass(chosen, (cohere.Client, cohere.AsyncClient))):
        raise TypeError(f"client must be cohere.ClientV2, AsyncClientV2, Client or AsyncClient, got {chosen!r}")
    return chosen


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
def event_classes(api: Api) -> dict[str, type]:
    """Event type name to the SDK's class, for the installed SDK."""
    import cohere

    method = cohere.ClientV2.chat_stream if api == "v2" else cohere.Client.chat_stream
    annotation = inspect.signature(method).return_annotation
    if isinstance(annotation, str):
        annotation = typing.get_type_hints(method)["return"]
    key = TYPE_KEYS[api]
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
        raise RuntimeError(f"stream_replay could not find the {api} stream event classes in cohere {sdk_version()}")
    return classes
