"""How a framework's span becomes the parent of whatever runs inside it (shared by all instrumentors).

Policy for one model call seen by two instrumentors (documented in docs/langchain.md):
the framework span (LangChain's ``chat {model}``) is the *current* span while the
framework runs the model, so the client library's span (``openai``'s ``chat {model}``)
nests under it, in the same trace. Nothing is dropped: the outer span has the
framework's view (messages as the app built them, tool definitions, the run tree),
the inner one the wire-level request and response.

:func:`framework_llm_span` lets a client instrumentor see that it is running inside
such a framework span, e.g. to stamp :data:`NESTED_IN` on its own span so that a
reader counting model calls can count the pair once.

A framework run that is not recorded (its trace was sampled out) makes its non-recording
span current the same way; the context then also says so (:func:`in_unrecorded_run`), and
everything under it is left unrecorded at no cost: instrumentors return before any work,
the LangChain instrumentor's handler is not even called for the run's descendants.
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

__all__ = ["FRAMEWORK_LLM_SPAN_KEY", "NESTED_IN", "UNRECORDED_RUN_KEY", "framework_llm_span", "in_unrecorded_run",
           "span_context", "unrecorded_run_span"]

FRAMEWORK_LLM_SPAN_KEY = otel_context.create_key("valiqor-framework-llm-span")
# Attribute a client instrumentor may set on its span when framework_llm_span() is not None:
# the framework whose LLM span is its parent ("langchain", "llama_index").
NESTED_IN = "valiqor.llm.nested_in"
_FRAMEWORK_KEY = otel_context.create_key("valiqor-framework-name")
# The non-recording span of the framework run whose body this context belongs to (None: recorded, or no run).
UNRECORDED_RUN_KEY = otel_context.create_key("valiqor-unrecorded-framework-run")


def span_context(span: Span, *, framework: str | None = None, llm: bool = False) -> otel_context.Context:
    """The current context with ``span`` as the active span.

    With ``llm=True`` the span is also marked as the framework LLM span whose body
    is running; any other span clears the mark (a chain inside a model call is not
    a model call). A span that is not recorded marks the context as the body of an
    unrecorded run (:func:`in_unrecorded_run`); a recorded one clears that mark.
    """
    ctx = trace.set_span_in_context(span)
    # One copy for the three marks (otel_context.set_value copies the whole context each time).
    return otel_context.Context({**ctx, FRAMEWORK_LLM_SPAN_KEY: span if llm else None,
                                 _FRAMEWORK_KEY: framework if llm else None,
                                 UNRECORDED_RUN_KEY: None if span.is_recording() else span})


def in_unrecorded_run(context: otel_context.Context | None = None) -> bool:
    """True inside the body of a framework run that is not recorded (nor anything under it).

    The mark travels with the context (copied into threads and tasks with it), so it holds in
    every descendant of the run, whatever became current since.
    """
    return otel_context.get_value(UNRECORDED_RUN_KEY, context) is not None


def unrecorded_run_span(context: otel_context.Context | None = None) -> Span | None:
    """The unrecorded run's span when it is the current span itself (nothing else started since), else None.

    A client call there (OpenAI inside a sampled-out LangChain model run) would only start a
    span the sampler drops; under a span someone started in between it may be recorded after all.
    """
    span = otel_context.get_value(UNRECORDED_RUN_KEY, context)
    if span is None or trace.get_current_span(context) is not span:
        return None
    return span


def framework_llm_span() -> tuple[str, Span] | None:
    """``(framework, span)`` when a framework's LLM span is running the current code, else None."""
    span = otel_context.get_value(FRAMEWORK_LLM_SPAN_KEY)
    if span is None or trace.get_current_span() is not span:
        return None  # something else became current since: the call is not the framework's own
    return str(otel_context.get_value(_FRAMEWORK_KEY) or "framework"), span
