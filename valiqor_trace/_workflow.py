"""User-facing spans: ``trace_workflow``, ``trace_function`` and ``current_trace_id``.

Our own bookkeeping (serialising arguments, setting attributes) runs under
``handle_internal_errors``; the user's code runs outside it, so whatever it
returns or raises reaches the caller unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from valiqor_trace import _state
from valiqor_trace._content import StreamCapture, get_content_policy
from valiqor_trace._ids import format_span_id, format_trace_id
from valiqor_trace._guard import handle_internal_errors
from valiqor_trace.attributes import ERROR_TYPE, INPUT, OUTPUT, SPAN_KIND

F = TypeVar("F", bound=Callable[..., Any])


def current_trace_id() -> str | None:
    """The 32-hex W3C id of the active trace, or ``None`` outside any span."""
    ctx = trace.get_current_span().get_span_context()
    return format_trace_id(ctx.trace_id) if ctx.is_valid else None


def current_span_id() -> str | None:
    """The 16-hex id of the active span, or ``None`` outside any span."""
    ctx = trace.get_current_span().get_span_context()
    return format_span_id(ctx.span_id) if ctx.is_valid else None


def set_content_attribute(span: Span, key: str, value: Any) -> None:
    """Record user text under ``key`` if the content policy allows it (redacted and capped)."""
    text = get_content_policy().text(value)
    if text is not None:
        span.set_attribute(key, text)


class SpanScope:
    """An active span with helpers; what ``with trace_workflow(...) as wf`` gives you.

    Attributes:
        trace_id: the W3C trace id (32 hex), or ``None`` when tracing is disabled.
        span_id: the span id (16 hex), or ``None`` when tracing is disabled.
    """

    def __init__(self, name: str, kind: str, attributes: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.kind = kind
        self._attributes = dict(attributes or {})
        self.span: Span = trace.INVALID_SPAN
        self._token: object | None = None

    @property
    def trace_id(self) -> str | None:
        ctx = self.span.get_span_context()
        return format_trace_id(ctx.trace_id) if ctx.is_valid else None

    @property
    def span_id(self) -> str | None:
        ctx = self.span.get_span_context()
        return format_span_id(ctx.span_id) if ctx.is_valid else None

    def set_input(self, value: Any) -> None:
        with handle_internal_errors("set_input"):
            set_content_attribute(self.span, INPUT, value)

    def set_output(self, value: Any) -> None:
        with handle_internal_errors("set_output"):
            set_content_attribute(self.span, OUTPUT, value)

    def set_attribute(self, key: str, value: Any) -> None:
        with handle_internal_errors("set_attribute"):
            self.span.set_attribute(key, value)

    def __enter__(self) -> SpanScope:
        with handle_internal_errors("span start"):
            self.span = _state.tracer().start_span(self.name, attributes={SPAN_KIND: self.kind, **self._attributes})
            self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self

    def detach(self) -> None:
        """Stop being the current span (generators: the span lives across the caller's code)."""
        with handle_internal_errors("span detach"):
            if self._token is not None:
                otel_context.detach(self._token)  # type: ignore[arg-type]
                self._token = None

    @contextlib.contextmanager
    def attached(self) -> Iterator[None]:
        """Be the current span inside the block."""
        token = otel_context.attach(trace.set_span_in_context(self.span))
        try:
            yield
        finally:
            otel_context.detach(token)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        with handle_internal_errors("span end"):
            if exc is not None:
                self.span.record_exception(exc)
                self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                self.span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
            self.detach()
            self.span.end()


class trace_workflow:  # noqa: N801 - reads like a function in user code
    """A root span for one unit of work (a request, a job); a context manager or a decorator.

    Example:
        with valiqor_trace.trace_workflow("answer-question") as wf:
            wf.set_input(question)
            ...
        print(wf.trace_id)
    """

    def __init__(self, name: str, *, attributes: Mapping[str, Any] | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("trace_workflow(name) needs a non-empty string name")
        self.name = name
        self.attributes = attributes
        self._scopes: list[SpanScope] = []

    def __enter__(self) -> SpanScope:
        scope = SpanScope(self.name, "workflow", self.attributes)
        self._scopes.append(scope)
        return scope.__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        self._scopes.pop().__exit__(*exc_info)

    def __call__(self, func: F) -> F:
        return _decorate(func, self.name, "workflow", self.attributes, capture_io=True)


@overload
def trace_function(name: F, /) -> F: ...
@overload
def trace_function(name: str | None = None, /, *, capture_input: bool = True, capture_output: bool = True,
                   attributes: Mapping[str, Any] | None = None) -> Callable[[F], F]: ...


def trace_function(name: Any = None, /, *, capture_input: bool = True, capture_output: bool = True,
                   attributes: Mapping[str, Any] | None = None) -> Any:
    """Decorator: a span around each call, recording arguments and return value.

    Works on plain functions, coroutines, generators and async generators. Usable bare
    (``@trace_function``) or named (``@trace_function("retrieve")``). Content capture
    and redaction from ``init()`` apply; exceptions pass through unchanged.
    """
    if callable(name):
        return _decorate(name, None, "function", attributes, capture_io=True)
    if name is not None and not isinstance(name, str):
        raise ValueError("trace_function(name) takes a string span name")

    def decorator(func: F) -> F:
        return _decorate(func, name, "function", attributes, capture_io=(capture_input, capture_output))
    return decorator


def _bound_arguments(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), "kwargs": kwargs}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}


def _decorate(func: F, name: str | None, kind: str, attributes: Mapping[str, Any] | None,
              capture_io: bool | tuple[bool, bool], io_keys: tuple[str, str] = (INPUT, OUTPUT)) -> F:
    # "Class.method" reads well in a trace; "outer.<locals>.inner" does not.
    span_name = name or getattr(func, "__qualname__", getattr(func, "__name__", "function")).split("<locals>.")[-1]
    capture_in, capture_out = (capture_io, capture_io) if isinstance(capture_io, bool) else capture_io

    input_key, output_key = io_keys

    def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanScope:
        scope = SpanScope(span_name, kind, attributes).__enter__()
        if capture_in and get_content_policy().capture:
            with handle_internal_errors("capture input"):
                set_content_attribute(scope.span, input_key, _bound_arguments(func, args, kwargs))
        return scope

    def finish(scope: SpanScope, result: Any) -> None:
        if capture_out:
            with handle_internal_errors("capture output"):
                set_content_attribute(scope.span, output_key, result)

    # Generators: a stream may be endless, so its items are never collected; only the text the content
    # policy would record of them is (bounded by its length cap), and nothing when output is not captured.
    def stream_capture() -> StreamCapture | None:
        policy = get_content_policy()
        return StreamCapture(policy) if capture_out and policy.capture else None

    def capture_item(capture: StreamCapture | None, item: Any) -> None:
        if capture is not None:
            with handle_internal_errors("capture output"):
                capture.add(item)

    def finish_stream(scope: SpanScope, capture: StreamCapture | None) -> None:
        if capture is not None:
            with handle_internal_errors("capture output"):
                scope.span.set_attribute(output_key, capture.text())

    if inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            scope = start(args, kwargs)
            scope.detach()  # re-attached around each step, so the caller's context stays its own
            capture = stream_capture()
            agen = func(*args, **kwargs)
            try:
                while True:
                    with scope.attached():
                        try:
                            item = await agen.__anext__()
                        except StopAsyncIteration:
                            break
                    capture_item(capture, item)
                    yield item
                    del item  # hold no yielded item while the caller works on it and after
            except GeneratorExit:
                await agen.aclose()
            except BaseException as exc:
                scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
            finish_stream(scope, capture)
            scope.__exit__(None, None, None)
        return async_gen_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            scope = start(args, kwargs)
            scope.detach()
            capture = stream_capture()
            gen = func(*args, **kwargs)
            try:
                while True:
                    with scope.attached():
                        try:
                            item = next(gen)
                        except StopIteration:
                            break
                    capture_item(capture, item)
                    yield item
                    del item
            except GeneratorExit:
                gen.close()
            except BaseException as exc:
                scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
            finish_stream(scope, capture)
            scope.__exit__(None, None, None)
        return gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            scope = start(args, kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
            finish(scope, result)
            scope.__exit__(None, None, None)
            return result
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scope = start(args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            scope.__exit__(type(exc), exc, exc.__traceback__)
            raise
        finish(scope, result)
        scope.__exit__(None, None, None)
        return result
    return wrapper  # type: ignore[return-value]
