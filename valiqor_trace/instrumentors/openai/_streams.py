"""Transparent stand-ins for the SDK's ``Stream`` / ``AsyncStream`` that end the call's span exactly once.

The proxy is what the app holds: ``isinstance(stream, openai.Stream)`` stays true
and every attribute (``response``, ``close()``, ...) is the SDK's own. We only
look at each chunk on its way to the app, and end the span when the stream is
exhausted, fails, is closed or left by a context manager, or is garbage
collected unfinished - whichever comes first. Nothing here touches the network
or changes what the app receives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import wrapt

from valiqor_trace.instrumentors.openai._call import (
    ABANDONED,
    CLOSED,
    CONSUMER_ERROR,
    ERROR,
    EXHAUSTED,
    INTERRUPTED,
    Accumulator,
    Call,
)
from valiqor_trace.internal import report_internal_error


class _State:
    """Everything a proxy needs per chunk, behind one attribute (attribute access on a proxy costs more)."""

    __slots__ = ("call", "accumulator", "add", "next")

    def __init__(self, call: Call, accumulator: Accumulator, next_chunk: Any) -> None:
        self.call = call
        self.accumulator = accumulator
        self.add = accumulator.add
        self.next = next_chunk

    def end(self, reason: str, error: BaseException | None = None) -> None:
        self.call.end_stream(self.accumulator, reason, error)


class StreamProxy(wrapt.ObjectProxy):
    """Wraps a sync ``Stream``; iterate it, ``close()`` it or use it in ``with`` exactly like the original."""

    def __init__(self, stream: Any, call: Call, accumulator: Accumulator) -> None:
        super().__init__(stream)
        self._self_state = _State(call, accumulator, stream.__next__)

    def __iter__(self) -> Iterator[Any]:
        # Like the SDK's own ``Stream.__iter__``, a generator over ``__iter__`` of the stream: for ``for``
        # loops it costs one generator step per chunk, about a quarter of a ``__next__`` call through the proxy.
        return _observed(self, self.__wrapped__.__iter__())

    def __next__(self) -> Any:  # next(stream): the SDK's __next__, observed
        state = self._self_state
        try:
            chunk = state.next()
        except StopIteration:
            state.end(EXHAUSTED)
            raise
        except Exception as error:
            state.end(ERROR, error)
            raise
        except BaseException:
            state.end(INTERRUPTED)
            raise
        try:
            state.add(chunk)
        except Exception:
            report_internal_error("openai: read stream chunk")
        return chunk

    def __enter__(self) -> StreamProxy:
        self.__wrapped__.__enter__()
        return self  # not the SDK's stream: iteration must keep going through us

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, traceback)
        finally:
            self._self_state.end(CLOSED if exc_type is None else CONSUMER_ERROR)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_state.end(CLOSED)

    def __del__(self) -> None:
        _end_abandoned(self)


class AsyncStreamProxy(wrapt.ObjectProxy):
    """Wraps an ``AsyncStream``; ``async for``, ``await close()`` and ``async with`` behave as the original."""

    def __init__(self, stream: Any, call: Call, accumulator: Accumulator) -> None:
        super().__init__(stream)
        self._self_state = _State(call, accumulator, stream.__anext__)

    def __aiter__(self) -> AsyncIterator[Any]:
        return _async_observed(self, self.__wrapped__.__aiter__())  # as __iter__ above

    async def __anext__(self) -> Any:
        state = self._self_state
        try:
            chunk = await state.next()
        except StopAsyncIteration:
            state.end(EXHAUSTED)
            raise
        except Exception as error:
            state.end(ERROR, error)
            raise
        except BaseException:  # asyncio.CancelledError, KeyboardInterrupt
            state.end(INTERRUPTED)
            raise
        try:
            state.add(chunk)
        except Exception:
            report_internal_error("openai: read stream chunk")
        return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, traceback: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, traceback)
        finally:
            self._self_state.end(CLOSED if exc_type is None else CONSUMER_ERROR)

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_state.end(CLOSED)

    def __del__(self) -> None:
        _end_abandoned(self)


def _observed(proxy: StreamProxy, chunks: Iterator[Any]) -> Iterator[Any]:
    """``chunks`` (the SDK's iterator) as the app's ``for`` loop sees them, each one given to the accumulator.

    ``proxy`` stays referenced while the loop runs, so a stream the app never named
    (``for chunk in client...create(stream=True)``) is not collected as abandoned.
    A loop left early (``break``, an app exception) closes this generator, not the
    stream: the app may resume it, so only close(), ``with`` or collection end the span.
    """
    state = proxy._self_state
    add = state.add
    try:
        for chunk in chunks:
            try:
                add(chunk)
            except Exception:
                report_internal_error("openai: read stream chunk")
            yield chunk
    except GeneratorExit:
        raise
    except Exception as error:
        state.end(ERROR, error)
        raise
    except BaseException:
        state.end(INTERRUPTED)
        raise
    state.end(EXHAUSTED)


async def _async_observed(proxy: AsyncStreamProxy, chunks: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """:func:`_observed` for ``async for``."""
    state = proxy._self_state
    add = state.add
    try:
        async for chunk in chunks:
            try:
                add(chunk)
            except Exception:
                report_internal_error("openai: read stream chunk")
            yield chunk
    except GeneratorExit:
        raise
    except Exception as error:
        state.end(ERROR, error)
        raise
    except BaseException:  # asyncio.CancelledError, KeyboardInterrupt
        state.end(INTERRUPTED)
        raise
    state.end(EXHAUSTED)


def _end_abandoned(proxy: StreamProxy | AsyncStreamProxy) -> None:
    # __del__ may run at interpreter exit or on a half-built proxy: never let it raise.
    try:
        state = proxy._self_state
        if not state.call.ended:
            state.end(ABANDONED)
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
        raw_stream._self_state.end(reason)
