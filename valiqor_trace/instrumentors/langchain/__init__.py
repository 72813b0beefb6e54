"""LangChain instrumentation: chains, chat models, LLMs, retrievers, tools and LangGraph steps as spans.

One :class:`~valiqor_trace.instrumentors.langchain._handler.ValiqorCallbackHandler` is added to every
callback manager LangChain configures (``CallbackManager.configure``, which every run starts
from), once: the managers of child runs, and managers copied or merged from one that has it,
keep the same object, and LangChain de-duplicates handlers by identity, so a user's own
handlers and ours coexist without duplicate spans. (Not every manager built: LangGraph's
graph-lifecycle managers, for interrupts and resumes, are managers too, and a chain run
builds ~70 of them.) :mod:`._scopes` makes each run's span current while its
body runs, so client spans (OpenAI) nest under LangChain's. What is wrapped is data
(:data:`._targets.WRAP_TARGETS`); a target missing from the installed release is
logged once at WARNING with that release's version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from valiqor_trace.instrumentors._base import BaseInstrumentor, patch, unwrap
from valiqor_trace.instrumentors._nesting import in_unrecorded_run
from valiqor_trace.instrumentors.langchain import _scopes
from valiqor_trace.instrumentors.langchain._handler import ValiqorCallbackHandler
from valiqor_trace.instrumentors.langchain._targets import (
    WRAP_TARGETS,
    WrapTarget,
    installed_version,
    is_expected,
    resolve,
)
from valiqor_trace.internal import handle_internal_errors, log_once, report_internal_error

__all__ = ["LangChainInstrumentor", "ValiqorCallbackHandler"]

_Hook = Callable[[ValiqorCallbackHandler, str], _scopes.Make]

# WrapTarget.hook -> what replaces that target (given our handler and the target's scope): make(original).
_HOOKS: dict[str, _Hook] = {
    "inject": lambda handler, scope: _inject(handler),
    "config_context": lambda handler, scope: _scopes.config_context_hook(handler.enter_child),
    "run_call": lambda handler, scope: _scopes.run_call(handler.span_of, scope, handler.leave),
    "run_async_call": lambda handler, scope: _scopes.run_async_call(handler.span_of, scope, handler.leave),
    "run_stream": lambda handler, scope: _scopes.run_stream(handler.span_of, scope),
    "run_async_stream": lambda handler, scope: _scopes.run_async_stream(handler.span_of, scope),
    "scoped_call": lambda handler, scope: _scopes.scoped_call(scope),
    "scoped_async_call": lambda handler, scope: _scopes.scoped_async_call(scope),
    "scoped_stream": lambda handler, scope: _scopes.scoped_stream(scope),
    "scoped_async_stream": lambda handler, scope: _scopes.scoped_async_stream(scope),
}


class LangChainInstrumentor(BaseInstrumentor):
    """Instrument ``langchain-core`` (and LangGraph, when installed) through LangChain's callbacks."""

    name: ClassVar[str] = "langchain"
    library: ClassVar[str] = "langchain-core"
    supported_versions: ClassVar[str] = ">=0.3,<2"
    targets: tuple[WrapTarget, ...] = WRAP_TARGETS  # what _instrument wraps (tests point one elsewhere)

    def __init__(self) -> None:
        super().__init__()
        self.handler: ValiqorCallbackHandler | None = None
        self._wrapped: list[tuple[Any, str]] = []

    def _instrument(self, *, tracer_provider: Any = None, **options: Any) -> None:
        assert self.tracer is not None
        self.handler = ValiqorCallbackHandler(self.tracer)
        for target in self.targets:
            with handle_internal_errors(f"wrap {target.name}"):
                self._wrap(target, _HOOKS[target.hook](self.handler, target.scope))

    def _wrap(self, target: WrapTarget, make: _scopes.Make) -> None:
        if not is_expected(target):
            return  # LangGraph not installed, or a release from before the function existed
        found = resolve(target)
        if found is None:
            _warn_missing(target)
            return
        _, owner, method = found
        patch(owner, method, make)
        self._wrapped.append((owner, method))

    def _uninstrument(self) -> None:
        if self.handler is not None:
            self.handler.enabled = False  # managers built while we were on still hold it: make it inert
        for owner, method in reversed(self._wrapped):
            unwrap(owner, method)
        self._wrapped.clear()


def _warn_missing(target: WrapTarget) -> None:
    # A warning, not a debug line: a renamed private hook silently degrades every trace of that kind of run.
    version = installed_version(target.distribution) or "(version unknown)"
    log_once(f"langchain-hook:{target.name}",
             "valiqor-trace: %s %s has no %s, which the LangChain instrumentor wraps; not wrapped, so spans "
             "of other instrumentations inside those runs attach to the enclosing chain. Use a %s release "
             "valiqor-trace is tested with, or upgrade valiqor-trace", target.distribution, version,
             target.name, target.distribution)


def _inject(handler: ValiqorCallbackHandler) -> _scopes.Make:
    """For ``_configure`` (``CallbackManager.configure``): every configured manager gets our handler.

    Except in the body of a run that was sampled out: nothing under it is recorded, so the managers
    its descendants start from leave the handler out, even one they inherited, and LangChain does
    not call it for them at all (see ``ValiqorCallbackHandler.enter_child``, which marks that body).
    """
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def configure(*args: Any, **kwargs: Any) -> Any:
            manager = original(*args, **kwargs)
            try:
                if in_unrecorded_run():
                    handler.let_go(manager)
                elif handler.enabled and handler not in manager.inheritable_handlers:
                    manager.add_handler(handler, True)
            except Exception:
                report_internal_error("langchain inject handler")
            return manager
        return configure
    return make

