"""The recording transport: a real httpx transport underneath, every byte passed on
as it arrives, every exchange captured (see ``capture``).

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx

from ..cassette.model import Interaction
from .capture import Capture

Finish = Callable[[Capture, Interaction], None]


class _SyncRecording(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, capture: Capture) -> None:
        self.inner = inner
        self.capture = capture

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.inner:
                self.capture.chunk(chunk)
                yield chunk
        except (GeneratorExit, KeyboardInterrupt):
            self.capture.stopped()
            raise
        except BaseException as exc:
            self.capture.failed(exc)
            raise
        self.capture.completed()

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.capture.stopped()  # no-op when the body already completed or failed


class _AsyncRecording(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, capture: Capture) -> None:
        self.inner = inner
        self.capture = capture

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.inner:
                self.capture.chunk(chunk)
                yield chunk
        except (GeneratorExit, KeyboardInterrupt):
            self.capture.stopped()
            raise
        except BaseException as exc:
            self.capture.failed(exc)
            raise
        self.capture.completed()

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self.capture.stopped()


class RecordingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Sends requests through ``sync``/``async_`` (real transports) and records them."""

    def __init__(
        self,
        on_start: Callable[[Capture], None],
        on_finish: Finish,
        *,
        sync: httpx.BaseTransport | None = None,
        async_: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._sync = sync
        self._async = async_
        self._on_start = on_start
        self._on_finish = on_finish

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._sync is None:
            self._sync = httpx.HTTPTransport()
        started = time.monotonic()
        request.read()
        response = self._sync.handle_request(request)
        capture = Capture(request, response, started, self._on_finish)
        self._on_start(capture)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_SyncRecording(response.stream, capture),
            extensions=response.extensions,
            request=request,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._async is None:
            self._async = httpx.AsyncHTTPTransport()
        started = time.monotonic()
        await request.aread()
        response = await self._async.handle_async_request(request)
        capture = Capture(request, response, started, self._on_finish)
        self._on_start(capture)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AsyncRecording(response.stream, capture),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
