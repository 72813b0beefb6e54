"""LlamaIndex retrievers: a ``retrieval {name}`` span around every ``retrieve``/``aretrieve``.

Wrapping the base class's public methods covers every retriever (vector index,
BM25, fusion, router, auto-merging...): subclasses implement ``_retrieve`` and
inherit ``retrieve``. The span is current while the retriever runs, so the
embedding call it makes nests under it; nested retrievers (fusion, router) give
nested spans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from wrapt import wrap_function_wrapper

from valiqor_trace.instrumentors._base import BaseInstrumentor, unwrap
from valiqor_trace.internal import (
    documents_of,
    get_content_policy,
    handle_internal_errors,
    is_instrumentation_suppressed,
    record_documents,
    record_query,
    retrieval_attributes,
    retrieval_span_name,
)
from valiqor_trace.attributes import ERROR_TYPE

__all__ = ["LlamaIndexInstrumentor"]

_MODULE = "llama_index.core.base.base_retriever"


class LlamaIndexInstrumentor(BaseInstrumentor):
    """Instrument ``llama-index-core`` retrievers."""

    name: ClassVar[str] = "llama_index"
    library: ClassVar[str] = "llama-index-core"
    supported_versions: ClassVar[str] = ">=0.10,<1"
    # How many of us wrap the retrievers now: while one does, the official LlamaIndex instrumentation's
    # retrieval spans are skipped (_official_llama_index.py), so a retrieval is recorded once, with its text.
    active: ClassVar[int] = 0

    def _instrument(self, *, tracer_provider: Any = None, **options: Any) -> None:
        assert self.tracer is not None
        wrap_function_wrapper(_MODULE, "BaseRetriever.retrieve", _retrieve(self.tracer))
        wrap_function_wrapper(_MODULE, "BaseRetriever.aretrieve", _aretrieve(self.tracer))
        type(self).active += 1

    def _uninstrument(self) -> None:
        from llama_index.core.base.base_retriever import BaseRetriever

        unwrap(BaseRetriever, "retrieve")
        unwrap(BaseRetriever, "aretrieve")
        type(self).active -= 1


def _start(tracer: trace.Tracer, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span | None:
    span = None
    with handle_internal_errors("llama_index retrieve start"):
        name = type(instance).__name__
        span = tracer.start_span(retrieval_span_name(name), attributes=retrieval_attributes())
        if get_content_policy().capture:
            query = args[0] if args else kwargs.get("str_or_query_bundle")
            record_query(span, query)
    return span


def _finish(span: Span, nodes: Any, error: BaseException | None) -> None:
    with handle_internal_errors("llama_index retrieve end"):
        if error is not None:
            span.set_attribute(ERROR_TYPE, type(error).__qualname__)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        else:
            record_documents(span, documents_of(nodes))
        span.end()


def _retrieve(tracer: trace.Tracer) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if is_instrumentation_suppressed():
            return wrapped(*args, **kwargs)
        span = _start(tracer, instance, args, kwargs)
        if span is None:
            return wrapped(*args, **kwargs)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            nodes = wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            _finish(span, None, exc)
            raise
        otel_context.detach(token)
        _finish(span, nodes, None)
        return nodes
    return wrapper


def _aretrieve(tracer: trace.Tracer) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        async def call() -> Any:
            if is_instrumentation_suppressed():
                return await wrapped(*args, **kwargs)
            span = _start(tracer, instance, args, kwargs)
            if span is None:
                return await wrapped(*args, **kwargs)
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                nodes = await wrapped(*args, **kwargs)
            except BaseException as exc:
                otel_context.detach(token)
                _finish(span, None, exc)
                raise
            otel_context.detach(token)
            _finish(span, nodes, None)
            return nodes
        return call()
    return wrapper
