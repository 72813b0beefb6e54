"""Transparent stand-ins for the SDK's ``Stream`` / ``AsyncStream`` that end the call's span exactly once.

The proxy is what the app holds: ``isinstance(stream, openai.Stream)`` stays true
and every attribute (``response``, ``close()``, ...) is the SDK's own. We only
look at each chunk on its way to the app, and end the span when the stream is
exhausted, fails, is closed or left by a context manager, or is garbage
collected unfinished - whichever comes first. Nothing here touches the network
or changes what the app receives.
"""

from __future__ import annotations

import time
from typing import Any

import wrapt

from instrumentors.openai._call import (
    ABANDONED,
    CLOSED,
    CONSUMER_ERROR,
    ERROR,
    EXHAUSTED,
    INTERRUPTED,
    Accumulator,
    Call,
)
from instrumentors.openai._guard import report_internal_error


class StreamProxy(wrapt.ObjectProxy):
    """Wraps a sync ``Stream``; iterate it, ``close()`` it or use it in ``with`` exactly like the original."""

    def __init__(self, stream: Any, call: Call, accumulator: Accumulator) -> None:
        super().__init__(stream)
        self._self_call = call
        self._self_accumulator = accumulator

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_end(EXHAUSTED)
            raise
        except Exception as error:
            self._self_end(ERROR, error)
            raise
        except BaseException:
            self._self_end(INTERRUPTED)
            raise
        _observe(self._self_accumulator, chunk)
        return chunk

    def __enter__(self) -> StreamProxy:
        self.__wrapped__.__enter__()
        return self  # not the SDK's stream: iteration must keep going through us

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, traceback)
        finally:
            self._self_end(CLOSED if exc_type is None else CONSUMER_ERROR)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end(CLOSED)

    def _self_end(self, reason: str, error: BaseException | None = None) -> None:
        self._self_call.end_stream(self._self_accumulator, reason, error)

    def __del__(self) -> None:
        _end_abandoned(self)


class AsyncStreamProxy(wrapt.ObjectProxy):
    """Wraps an ``AsyncStream``; ``async for``, ``await close()`` and ``async with`` behave as the original."""

    def __init__(self, stream: Any, call: Call, accumulator: Accumulator) -> None:
        super().__init__(stream)
        self._self_call = call
        self._self_accumulator = accumulator

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_end(EXHAUSTED)
            raise
        except Exception as error:
            self._self_end(ERROR, error)
            raise
        except BaseException:  # asyncio.CancelledError, KeyboardInterrupt
            self._self_end(INTERRUPTED)
            raise
        _observe(self._self_accumulator, chunk)
        return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, traceback: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, traceback)
        finally:
            self._self_end(CLOSED if exc_type is None else CONSUMER_ERROR)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_end(CLOSED)

    def _self_end(self, reason: str, error: BaseException | None = None) -> None:
        self._self_call.end_stream(self._self_accumulator, reason, error)

    def __del__(self) -> None:
        _end_abandoned(self)


def _observe(accumulator: Accumulator, chunk: Any) -> None:
    try:
        if not accumulator.chunks:
            accumulator.first_chunk_ns = time.time_ns()
        accumulator.chunks += 1
        accumulator.add(chunk)
    except Exception:
        report_internal_error("openai: read stream chunk")


def _end_abandoned(proxy: StreamProxy | AsyncStreamProxy) -> None:
    # __del__ may run at interpreter exit or on a half-built proxy: never let it raise.
    try:
        call = proxy._self_call
        if not call.ended:
            call.end_stream(proxy._self_accumulator, ABANDONED)
    except Exception:
        pass


def wrap_stream(stream: Any, call: Call) -> Any:
    """The proxy for ``stream`` (sync or async), or ``stream`` itself if this endpoint never streams."""
    new_accumulator = call.endpoint.new_accumulator
    if new_accumulator is None:
        call.end_plain()
        return stream
    proxy_class = AsyncStreamProxy if hasattr(stream, "__anext__") else StreamProxy
    return proxy_class(stream, call, new_accumulator())


def end_helper_stream(raw_stream: Any, reason: str = CLOSED) -> None:
    """End the span of a proxy that an SDK helper stream (``.stream()``) closed behind our back."""
    if isinstance(raw_stream, (StreamProxy, AsyncStreamProxy)):
        raw_stream._self_end(reason)
