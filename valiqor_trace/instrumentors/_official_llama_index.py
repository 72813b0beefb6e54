"""The official LlamaIndex instrumentation, minus the retrieval spans our own instrumentor writes.

``opentelemetry-instrumentation-genai-llama-index`` traces LlamaIndex's agents (``FunctionAgent``,
``AgentWorkflow``), their tools and its retrievers; model calls it leaves to the provider SDK's instrumentation
(ours for OpenAI, the official one for Anthropic, Gemini, Bedrock). Its retrieval span records each
document's id and score; ours (``retrievers/llama_index.py``) records the documents' text, which the analyzer
reads as the request's context. While ours is on, theirs is not started: each retrieval is one span.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wrapt import wrap_function_wrapper

from valiqor_trace.instrumentors._base import unwrap
from valiqor_trace.instrumentors._official import OfficialInstrumentor

_HANDLER_MODULE = "opentelemetry.instrumentation.genai.llama_index._handler"


class LlamaIndexAgentsInstrumentor(OfficialInstrumentor):
    """The official instrumentation, its retrieval spans skipped while our retriever instrumentor is on."""

    def instrument(self, *, tracer_provider: Any = None) -> bool:
        if not super().instrument(tracer_provider=tracer_provider):
            return False
        wrap_function_wrapper(_HANDLER_MODULE, "LlamaIndexSpanHandler.new_span", _skip_retrievals_we_trace)
        return True

    def uninstrument(self) -> None:
        if self.is_instrumented:
            from opentelemetry.instrumentation.genai.llama_index._handler import LlamaIndexSpanHandler

            unwrap(LlamaIndexSpanHandler, "new_span")
        super().uninstrument()


def _skip_retrievals_we_trace(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                              kwargs: dict[str, Any]) -> Any:
    from llama_index.core.base.base_retriever import BaseRetriever

    from valiqor_trace.instrumentors.retrievers.llama_index import LlamaIndexInstrumentor

    if LlamaIndexInstrumentor.active and isinstance(kwargs.get("instance"), BaseRetriever):
        return None  # LlamaIndex's dispatcher: no span for this call from this handler
    return wrapped(*args, **kwargs)
