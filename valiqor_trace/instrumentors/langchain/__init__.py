"""LangChain instrumentation: chains, chat models, LLMs, retrievers, tools and LangGraph steps as spans.

One :class:`~instrumentors.langchain._handler.ValiqorCallbackHandler` is added to every
LangChain callback manager when it is built (``BaseCallbackManager.__init__``), once:
managers copied or merged from one that has it keep the same object, and LangChain
de-duplicates handlers by identity, so a user's own handlers and ours coexist
without duplicate spans. :mod:`._scopes` makes each run's span current while its
body runs, so client spans (OpenAI) nest under LangChain's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, ClassVar

from wrapt import wrap_function_wrapper

from valiqor_trace.instrumentors._base import BaseInstrumentor, unwrap
from valiqor_trace.instrumentors.langchain import _scopes
from valiqor_trace.instrumentors.langchain._handler import ValiqorCallbackHandler
from valiqor_trace.internal import handle_internal_errors, logger

__all__ = ["LangChainInstrumentor", "ValiqorCallbackHandler"]

_CHAT = "langchain_core.language_models.chat_models"
_LLMS = "langchain_core.language_models.llms"


class LangChainInstrumentor(BaseInstrumentor):
    """Instrument ``langchain-core`` (and LangGraph, when installed) through LangChain's callbacks."""

    name: ClassVar[str] = "langchain"
    library: ClassVar[str] = "langchain-core"
    supported_versions: ClassVar[str] = ">=0.3,<2"

    def __init__(self) -> None:
        super().__init__()
        self.handler: ValiqorCallbackHandler | None = None
        self._wrapped: list[tuple[Any, str]] = []

    def _targets(self, handler: ValiqorCallbackHandler) -> list[tuple[str, str, Callable[..., Any]]]:
        """(module, "Class.method" or "function", wrapper): everything we wrap, as data."""
        span_of = handler.span_of
        llm, retrieval = _scopes.LLM, _scopes.RETRIEVAL
        return [
            ("langchain_core.callbacks.base", "BaseCallbackManager.__init__", _inject(handler)),
            # Run bodies: the run's span is current while LangChain executes the run.
            ("langchain_core.runnables.config", "_set_config_context", _scopes.config_context_hook(span_of, handler)),
            ("langgraph._internal._runnable", "_set_config_context", _scopes.config_context_hook(span_of, handler)),
            (_CHAT, "BaseChatModel._generate_with_cache", _scopes.run_call(span_of, llm)),
            (_CHAT, "BaseChatModel._agenerate_with_cache", _scopes.run_async_call(span_of, llm)),
            (_CHAT, "BaseChatModel._iter_v2_events", _scopes.run_stream(span_of, llm)),
            (_CHAT, "BaseChatModel._aiter_v2_events", _scopes.run_async_stream(span_of, llm)),
            (_CHAT, "BaseChatModel.stream", _scopes.scoped_stream(llm)),
            (_CHAT, "BaseChatModel.astream", _scopes.scoped_async_stream(llm)),
            (_LLMS, "BaseLLM._generate_helper", _scopes.run_call(span_of, llm)),
            (_LLMS, "BaseLLM._agenerate_helper", _scopes.run_async_call(span_of, llm)),
            (_LLMS, "BaseLLM.stream", _scopes.scoped_stream(llm)),
            (_LLMS, "BaseLLM.astream", _scopes.scoped_async_stream(llm)),
            ("langchain_core.retrievers", "BaseRetriever.invoke", _scopes.scoped_call(retrieval)),
            ("langchain_core.retrievers", "BaseRetriever.ainvoke", _scopes.scoped_async_call(retrieval)),
        ]

    def _instrument(self, *, tracer_provider: Any = None, **options: Any) -> None:
        assert self.tracer is not None
        self.handler = ValiqorCallbackHandler(self.tracer)
        for module_name, attribute, wrapper in self._targets(self.handler):
            with handle_internal_errors(f"wrap {module_name}.{attribute}"):
                self._wrap(module_name, attribute, wrapper)

    def _wrap(self, module_name: str, attribute: str, wrapper: Callable[..., Any]) -> None:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return  # optional (LangGraph), or moved in this langchain-core version
        owner_name, _, method = attribute.rpartition(".")
        owner = getattr(module, owner_name) if owner_name else module
        if not hasattr(owner, method):
            logger.debug("valiqor-trace: %s.%s not found; not wrapped", module_name, attribute)
            return
        wrap_function_wrapper(module, attribute, wrapper)
        self._wrapped.append((owner, method))

    def _uninstrument(self) -> None:
        if self.handler is not None:
            self.handler.enabled = False  # managers built while we were on still hold it: make it inert
        for owner, method in reversed(self._wrapped):
            unwrap(owner, method)
        self._wrapped.clear()


def _inject(handler: ValiqorCallbackHandler) -> Callable[..., Any]:
    def init_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> None:
        wrapped(*args, **kwargs)
        with handle_internal_errors("langchain inject handler"):
            if handler.enabled and handler not in instance.inheritable_handlers:
                instance.add_handler(handler, True)
    return init_wrapper

