"""Make a LangChain run's span the *current* span while the run's body executes.

Spans are parented by ``parent_run_id`` in the handler; this module is what makes
*other* spans started inside a run (the OpenAI client's span inside a chat model,
an embeddings call inside a retriever, a ``trace_function`` inside a tool or a
``RunnableLambda``) nest under it. Callbacks cannot do this safely on their own:
a context attached in ``on_*_start`` has no guaranteed detach in the same context
(streams yield to the caller in between; async ends may run elsewhere), and a
leaked attach glues later, unrelated requests into one trace. So every attach here
is undone in the frame that made it:

- chains, tools, LangGraph nodes: LangChain runs each child inside a *copied*
  context that it prepares with ``_set_config_context``; we attach the parent
  run's span inside that copy, which is thrown away with it (no detach needed);
- chat models: ``_generate_with_cache`` (invoke, batch, generate) receives the run
  manager, so the span is attached around the call; ``stream``/``astream`` start
  their run inside the generator, so each step runs in a *scope* that the run's
  ``on_chat_model_start`` claims, and the step's wrapper detaches what was attached;
- LLMs and retrievers: the same scopes around ``generate``/``stream`` and
  ``invoke``/``ainvoke``.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import Span

from valiqor_trace.instrumentors._nesting import span_context
from valiqor_trace.internal import report_internal_error

LLM = "llm"
RETRIEVAL = "retrieval"
FRAMEWORK = "langchain"


class Scope:
    """A pending "current span" slot: the first run of ``kind`` started inside it claims it."""

    __slots__ = ("kind", "span", "token", "marker")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.span: Span | None = None
        self.token: object | None = None
        self.marker: contextvars.Token[Scope | None] | None = None


_pending: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("valiqor_langchain_scope", default=None)
# Set in the context where a claim attached, so the releasing frame knows the attach is its own
# (a callback run outside the caller's context, e.g. in an executor, attached into a copy).
_attached: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("valiqor_langchain_attached", default=None)


def attach_span(span: Span, kind: str | None) -> object:
    return otel_context.attach(span_context(span, framework=FRAMEWORK, llm=kind == LLM))


def claim(kind: str, span: Span) -> None:
    """Called by the handler right after it started ``span``: become current if a scope waits for it."""
    scope = _pending.get()
    if scope is None or scope.kind != kind or scope.span is not None:
        return
    scope.span = span
    scope.token = attach_span(span, kind)
    scope.marker = _attached.set(scope)


def _release(scope: Scope) -> None:
    if scope.token is None:
        return
    if _attached.get() is scope and scope.marker is not None:
        _attached.reset(scope.marker)
        otel_context.detach(scope.token)  # type: ignore[arg-type]
    scope.token = scope.marker = None


class _Step:
    """One step of a scoped call: open the scope (re-attaching a claimed span), then close it."""

    __slots__ = ("scope", "pending_token", "token")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __enter__(self) -> None:
        self.pending_token = _pending.set(self.scope)
        span = self.scope.span
        self.token = attach_span(span, self.scope.kind) if span is not None else None

    def __exit__(self, *exc_info: Any) -> None:
        try:
            _release(self.scope)
            if self.token is not None:
                otel_context.detach(self.token)  # type: ignore[arg-type]
            _pending.reset(self.pending_token)
        except Exception:
            report_internal_error("langchain scope release")


# --- replacements (see valiqor_trace.instrumentors._base.patch) -----------------------------------------
#
# Each factory returns ``make(original) -> replacement``; a method's replacement and original take ``self``
# first. Plain functions rather than wrapt wrappers: several of these run many times per request.

Make = Callable[[Callable[..., Any]], Callable[..., Any]]


def scoped_call(kind: str) -> Make:
    """For a plain method whose run starts inside it (retriever ``invoke``, LLM ``generate``)."""
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def scoped(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _Step(Scope(kind)):
                return original(self, *args, **kwargs)
        return scoped
    return make


def scoped_async_call(kind: str) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        async def scoped(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _Step(Scope(kind)):
                return await original(self, *args, **kwargs)
        return scoped
    return make


def scoped_stream(kind: str) -> Make:
    """For a generator method whose run starts at its first step (``stream``)."""
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def scoped(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _scoped_iterator(original(self, *args, **kwargs), Scope(kind))
        return scoped
    return make


def scoped_async_stream(kind: str) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def scoped(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _scoped_async_iterator(original(self, *args, **kwargs), Scope(kind))
        return scoped
    return make


def _scoped_iterator(generator: Generator[Any, Any, Any], scope: Scope) -> Iterator[Any]:
    """Drive ``generator`` step by step inside ``scope``; ``send``/``throw``/``close`` reach it unchanged."""
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        with _Step(scope):
            try:
                item = generator.throw(to_throw) if to_throw is not None else generator.send(to_send)
            except StopIteration as stop:
                return stop.value
        to_send, to_throw = None, None
        try:
            to_send = yield item
        except GeneratorExit:
            generator.close()
            raise
        except BaseException as exc:
            to_throw = exc


async def _scoped_async_iterator(generator: AsyncGenerator[Any, Any], scope: Scope) -> AsyncIterator[Any]:
    to_send: Any = None
    to_throw: BaseException | None = None
    while True:
        with _Step(scope):
            try:
                if to_throw is not None:
                    item = await generator.athrow(to_throw)
                else:
                    item = await generator.asend(to_send)
            except StopAsyncIteration:
                return
        to_send, to_throw = None, None
        try:
            to_send = yield item
        except GeneratorExit:
            await generator.aclose()
            raise
        except BaseException as exc:
            to_throw = exc


def run_call(span_of: Callable[[Any], Span | None], kind: str,
             leave: Callable[[Any], None] = lambda run_manager: None) -> Make:
    """For a method that receives its ``run_manager``: the run's span is current during the call.

    ``leave(run_manager)`` is called first when that span is not recorded (see the handler's ``leave``).
    """
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def in_run(self: Any, *args: Any, **kwargs: Any) -> Any:
            span = _enter(span_of, leave, _run_manager(args, kwargs))
            if span is None:
                return original(self, *args, **kwargs)
            token = attach_span(span, kind)
            try:
                return original(self, *args, **kwargs)
            finally:
                otel_context.detach(token)  # type: ignore[arg-type]
        return in_run
    return make


def run_async_call(span_of: Callable[[Any], Span | None], kind: str,
                   leave: Callable[[Any], None] = lambda run_manager: None) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        async def in_run(self: Any, *args: Any, **kwargs: Any) -> Any:
            span = _enter(span_of, leave, _run_manager(args, kwargs))
            if span is None:
                return await original(self, *args, **kwargs)
            token = attach_span(span, kind)
            try:
                return await original(self, *args, **kwargs)
            finally:
                otel_context.detach(token)  # type: ignore[arg-type]
        return in_run
    return make


def _run_manager(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    run_manager = kwargs.get("run_manager")
    if run_manager is None:  # _generate_with_cache(messages, stop, run_manager) / helpers' run_managers
        managers = kwargs.get("run_managers", args[2] if len(args) > 2 else None)
        run_manager = managers[0] if isinstance(managers, list) and len(managers) == 1 else managers
    return run_manager


def _enter(span_of: Callable[[Any], Span | None], leave: Callable[[Any], None], run_manager: Any) -> Span | None:
    """The span to make current for ``run_manager``'s run (None: none)."""
    try:
        run_id = getattr(run_manager, "run_id", None)
        span = span_of(run_id) if run_id is not None else None
        if span is not None and not span.is_recording():
            leave(run_manager)
        return span
    except Exception:
        report_internal_error("langchain run scope")
        return None


def run_stream(span_of: Callable[[Any], Span | None], kind: str) -> Make:
    """For a generator that receives ``run_manager=``: the run's span is current at every step."""
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def in_run(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _scoped_iterator(original(self, *args, **kwargs), _claimed_scope(span_of, kind, kwargs))
        return in_run
    return make


def run_async_stream(span_of: Callable[[Any], Span | None], kind: str) -> Make:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def in_run(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _scoped_async_iterator(original(self, *args, **kwargs), _claimed_scope(span_of, kind, kwargs))
        return in_run
    return make


def _claimed_scope(span_of: Callable[[Any], Span | None], kind: str, kwargs: dict[str, Any]) -> Scope:
    scope = Scope(kind)
    try:
        run_id = getattr(kwargs.get("run_manager"), "run_id", None)
        scope.span = span_of(run_id) if run_id is not None else None
    except Exception:
        report_internal_error("langchain run scope")
    return scope


def config_context_hook(enter_child: Callable[[Any], None]) -> Make:
    """For ``_set_config_context(config, ...)``, which LangChain runs inside the child's copied context.

    ``enter_child(callbacks)`` (the handler's) makes the parent run's span current there.
    """
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def set_config_context(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            try:
                config = args[0] if args else kwargs.get("config")
                if isinstance(config, dict):
                    callbacks = config.get("callbacks")
                    if callbacks is not None:
                        enter_child(callbacks)
            except Exception:
                report_internal_error("langchain config context")
            return result
        return set_config_context
    return make
