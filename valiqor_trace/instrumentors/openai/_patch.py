"""Wrapper factories: one small closure per wrapped SDK method (``wrapt`` signature).

Each wrapper starts a CLIENT span named ``"{operation} {model}"``, makes it
current while the SDK sends the request (so HTTP-level spans nest under it),
and hands the result back unchanged - or, for streams and raw responses, as a
transparent proxy that ends the span later. The SDK's exceptions reach the
app as the same object. Nothing runs while instrumentation is suppressed, nor inside a
framework's model or chain run that is not recorded (a sampled-out LangChain run): that
run decided for everything under it (see ``valiqor_trace.instrumentors._nesting``).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import SpanKind, Tracer, get_current_span, set_span_in_context

from valiqor_trace.attributes import GEN_AI_REQUEST_MODEL
from valiqor_trace.instrumentors._nesting import (
    FRAMEWORK_LLM_SPAN_KEY,
    NESTED_IN,
    framework_llm_span,
    span_context,
    unrecorded_run_span,
)
from valiqor_trace.instrumentors.openai._call import Call, Endpoint
from valiqor_trace.instrumentors.openai._common import given
from valiqor_trace.instrumentors.openai._raw import RAW_RESPONSE_TYPES, wrap_raw_response
from valiqor_trace.instrumentors.openai._streams import end_helper_stream, wrap_stream
from valiqor_trace.internal import ContentPolicy, get_content_policy, report_internal_error

try:
    from openai import AsyncStream, Stream

    _STREAM_TYPES: tuple[type, ...] = (Stream, AsyncStream)
except ImportError:  # pragma: no cover - every supported SDK has them
    _STREAM_TYPES = ()


NO_CONTENT = ContentPolicy(capture=False)
# The "framework" name our own outer span takes when the SDK method it wraps calls another wrapped one.
SDK_HELPER = "openai"


def _outer_call_context(span: Any, context: Any = None) -> Any:
    """Context for a span whose SDK method runs the wrapped ``create`` itself (old SDKs' beta ``parse()``).

    ``context`` is the current one (the signature of ``set_span_in_context``, which this replaces).
    """
    return span_context(span, framework=SDK_HELPER, llm=True)


def _start(tracer: Tracer, endpoint: Endpoint, resource: Any, kwargs: dict[str, Any],
           context: otel_context.Context) -> Call | None:
    """The call's span, or None when there is to be none (internal error, or the call is already traced)."""
    try:
        # The full check only inside a framework's model call: one context read per call otherwise.
        in_framework = otel_context.get_value(FRAMEWORK_LLM_SPAN_KEY, context) is not None
        framework = framework_llm_span() if in_framework else None
        if framework is not None and framework[0] == SDK_HELPER:
            return None  # the SDK's own helper runs this call and its span already records it: one call, one span
        policy = get_content_policy()
        # Under a parent that is not recorded (a sampled-out chain), the content is left out until the
        # sampler has decided: a parent-based sampler drops this span too, and nobody reads its messages.
        unsampled_parent = policy.capture and _unsampled(get_current_span(context))
        attributes = endpoint.request_attributes(resource, kwargs, NO_CONTENT if unsampled_parent else policy)
        if framework is not None:  # this call is a framework's model call too: same call, nested span
            attributes[NESTED_IN] = framework[0]
        model = attributes.get(GEN_AI_REQUEST_MODEL)
        name = f"{endpoint.operation} {model}" if model else endpoint.operation
        span = tracer.start_span(name, context, kind=SpanKind.CLIENT, attributes=attributes)
        if unsampled_parent and span.is_recording():  # a sampler that records it anyway: the content too
            span.set_attributes(endpoint.request_attributes(resource, kwargs, policy))
        return Call(span, endpoint, policy)
    except Exception:
        report_internal_error("openai: start span")
        return None


def _skipped(context: otel_context.Context) -> bool:
    """Suppressed (as ``is_instrumentation_suppressed()``), or the call runs right in an unrecorded framework run."""
    return bool(context.get(_SUPPRESS_INSTRUMENTATION_KEY)) or unrecorded_run_span(context) is not None


def _unsampled(span: Any) -> bool:
    """A real span that is not recorded: sampled out (not the invalid span of "no parent")."""
    return not span.is_recording() and span.get_span_context().is_valid


def _finish(call: Call, result: Any, kwargs: dict[str, Any]) -> Any:
    """What the app gets: ``result`` itself, or a proxy that will end the span."""
    try:
        if not call.span.is_recording():  # sampled out: nothing to read from the response or the stream
            call.end_plain()
            return result
        if isinstance(result, _STREAM_TYPES):
            return wrap_stream(result, call)
        if isinstance(result, RAW_RESPONSE_TYPES):
            return wrap_raw_response(result, call, streamed=bool(given(kwargs, "stream")))
        call.end_with_response(result)
    except Exception:
        call.end_plain()
        report_internal_error("openai: finish call")
    return result


def sync_wrapper(tracer: Tracer, endpoint: Endpoint, *, may_call_create: bool = False) -> Any:
    """Wrapper for a sync SDK method (``Completions.create``, ``Embeddings.create``, ...).

    ``may_call_create``: the method may run the SDK's own (wrapped) ``create`` for the same
    request, as ``beta.chat.completions.parse`` does in openai 1.40; that inner call then
    records no span of its own.
    """
    span_in_context = _outer_call_context if may_call_create else set_span_in_context

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        context = otel_context.get_current()
        if _skipped(context):
            return wrapped(*args, **kwargs)
        call = _start(tracer, endpoint, instance, kwargs, context)
        if call is None:
            return wrapped(*args, **kwargs)
        token = otel_context.attach(span_in_context(call.span, context))
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            call.end_with_error(error)
            raise
        finally:
            otel_context.detach(token)
        return _finish(call, result, kwargs)

    return wrapper


def async_wrapper(tracer: Tracer, endpoint: Endpoint, *, may_call_create: bool = False) -> Any:
    """Wrapper for an async SDK method; the span is current in the calling task only (see :func:`sync_wrapper`)."""
    span_in_context = _outer_call_context if may_call_create else set_span_in_context

    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        context = otel_context.get_current()
        if _skipped(context):
            return await wrapped(*args, **kwargs)
        call = _start(tracer, endpoint, instance, kwargs, context)
        if call is None:
            return await wrapped(*args, **kwargs)
        token = otel_context.attach(span_in_context(call.span, context))
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            call.end_with_error(error)
            raise
        finally:
            otel_context.detach(token)
        return _finish(call, result, kwargs)

    return wrapper


def helper_close_wrapper() -> Any:
    """For ``ChatCompletionStream.close`` / ``ResponseStream.close`` (the ``.stream()`` helpers).

    Those close the HTTP response directly, bypassing the stream they wrap, so
    we end our proxy's span here rather than waiting for garbage collection.
    """

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            end_helper_stream(getattr(instance, "_raw_stream", None))

    return wrapper


def async_helper_close_wrapper() -> Any:
    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            end_helper_stream(getattr(instance, "_raw_stream", None))

    return wrapper
