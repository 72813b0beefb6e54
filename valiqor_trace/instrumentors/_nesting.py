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
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

__all__ = ["FRAMEWORK_LLM_SPAN_KEY", "NESTED_IN", "framework_llm_span", "span_context"]

FRAMEWORK_LLM_SPAN_KEY = otel_context.create_key("valiqor-framework-llm-span")
# Attribute a client instrumentor may set on its span when framework_llm_span() is not None:
# the framework whose LLM span is its parent ("langchain", "llama_index").
NESTED_IN = "valiqor.llm.nested_in"
_FRAMEWORK_KEY = otel_context.create_key("valiqor-framework-name")


def span_context(span: Span, *, framework: str | None = None, llm: bool = False) -> otel_context.Context:
    """The current context with ``span`` as the active span.

    With ``llm=True`` the span is also marked as the framework LLM span whose body
    is running; any other span clears the mark (a chain inside a model call is not
    a model call).
    """
    ctx = trace.set_span_in_context(span)
    ctx = otel_context.set_value(FRAMEWORK_LLM_SPAN_KEY, span if llm else None, ctx)
    return otel_context.set_value(_FRAMEWORK_KEY, framework if llm else None, ctx)


def framework_llm_span() -> tuple[str, Span] | None:
    """``(framework, span)`` when a framework's LLM span is running the current code, else None."""
    span = otel_context.get_value(FRAMEWORK_LLM_SPAN_KEY)
    if span is None or trace.get_current_span() is not span:
        return None  # something else became current since: the call is not the framework's own
    return str(otel_context.get_value(_FRAMEWORK_KEY) or "framework"), span
