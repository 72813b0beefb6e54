"""The callback handler that turns LangChain runs into spans.

One handler per instrumentor, injected into every callback manager. Runs map to
spans by ``run_id``; a run's parent is the span of its ``parent_run_id``, unless a
live span started inside that parent's body is current (a ``trace_function`` in a
``RunnableLambda``, a node body in LangGraph): then that span is the parent, so
the tree follows what actually ran inside what. A root run's parent is the app's
active span (a ``trace_workflow``, a web request), so one request is one trace.

The handler never attaches a context in a callback; see :mod:`._scopes` for how
run bodies get their span as the current one.

A run that is not recorded (the sampler drops it, instrumentation is suppressed, the
SDK is disabled) is decided once: its descendants share its :class:`_Run`, and their
callbacks do nothing but that bookkeeping (no attributes, no serialization, no message
conversion). The run's non-recording span stays current in their bodies, so a client
span inside (OpenAI) sees an unsampled parent and is not recorded either.

When the run was sampled out, LangChain is also told to stop calling this handler for
anything under it (:meth:`ValiqorCallbackHandler.enter_child`, :meth:`ValiqorCallbackHandler.leave`):
a not-sampled request then costs its root's sampling decision and little else. That leans
on how LangChain hands handler lists from a manager to its child runs; should a release
do it differently, the bookkeeping above still keeps the whole tree unrecorded (tested).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.langchain import _attributes as attrs
from valiqor_trace.instrumentors.langchain import _scopes
from valiqor_trace.internal import (
    RETRIEVAL,
    get_content_policy,
    is_instrumentation_suppressed,
    record_documents,
    record_query,
    report_internal_error,
    retrieval_attributes,
    retrieval_span_name,
    should_raise,
)
from valiqor_trace.attributes import (
    ERROR_TYPE,
    GEN_AI_AGENT_NAME,
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_DESCRIPTION,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_TYPE,
    INPUT,
    OUTPUT,
    SPAN_KIND,
)

HIDDEN_TAG = "langsmith:hidden"  # LangChain/LangGraph plumbing runs, hidden in LangSmith too
_NOT_ERRORS = ("GraphBubbleUp", "GraphInterrupt", "ParentCommand")  # LangGraph control flow, not failures


class _Run:
    """A run we saw start: its span, or (hidden/unrecorded runs) the span its children attach to."""

    __slots__ = ("span", "stand_in", "kind", "name", "graph", "recorded", "sampled_out")

    def __init__(self, span: Span | None, kind: str, name: str, stand_in: Span | None = None,
                 recorded: bool = True, sampled_out: bool = False) -> None:
        self.span = span
        self.stand_in = stand_in
        self.kind = kind
        self.name = name
        self.graph = False
        self.recorded = recorded  # False: neither this run nor anything under it is recorded
        # Its own span was not recorded (sampler, disabled SDK) and is its stand-in, made current with the
        # unrecorded mark in the bodies below. Not so for suppressed runs: their stand-in is a recorded ancestor's.
        self.sampled_out = sampled_out

    @property
    def parent_span(self) -> Span | None:
        """The span this run's children hang under."""
        return self.span if self.span is not None else self.stand_in


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Our code inside LangChain's callbacks: never raises into the app (re-raised under tests).

    Callbacks of runs under an unrecorded run return here, before any of the method's work.
    """
    where = f"langchain {method.__name__}"

    if method.__name__.endswith("_start"):
        def guarded(self: ValiqorCallbackHandler, *args: Any, **kwargs: Any) -> None:
            try:
                if not self.enabled:
                    return  # uninstrumented: start nothing new, but still end the runs already started
                parent = self._runs.get(kwargs.get("parent_run_id"))  # type: ignore[arg-type]
                if parent is not None and not parent.recorded:
                    self._runs[kwargs["run_id"]] = parent  # the same decision, and the same stand-in, for the child
                    return
                if is_instrumentation_suppressed():  # children attach to the visible parent, as hidden runs' do
                    stand_in = parent.parent_span if parent is not None else None
                    self._runs[kwargs["run_id"]] = _Run(None, "", "", stand_in, recorded=False)
                    return
                method(self, *args, **kwargs)
            except Exception:
                report_internal_error(where)
    elif method.__name__.endswith(("_end", "_error")):
        def guarded(self: ValiqorCallbackHandler, *args: Any, **kwargs: Any) -> None:
            try:
                run = self._runs.get(kwargs.get("run_id"))  # type: ignore[arg-type]
                if run is not None and not run.recorded:
                    self._runs.pop(kwargs["run_id"], None)
                    return
                method(self, *args, **kwargs)
            except Exception:
                report_internal_error(where)
    else:
        def guarded(self: ValiqorCallbackHandler, *args: Any, **kwargs: Any) -> None:
            try:
                run = self._runs.get(kwargs.get("run_id"))  # type: ignore[arg-type]
                if run is not None and not run.recorded:
                    return
                method(self, *args, **kwargs)
            except Exception:
                report_internal_error(where)
    guarded.__name__ = method.__name__
    guarded.__doc__ = method.__doc__
    return guarded


def _started_inside(current: Span, parent: Span) -> bool:
    """True when ``current`` is a live span of ``parent``'s trace that started after it (so inside its body)."""
    if current is parent or not current.is_recording():
        return False
    if current.get_span_context().trace_id != parent.get_span_context().trace_id:
        return False
    current_start, parent_start = getattr(current, "start_time", None), getattr(parent, "start_time", None)
    return isinstance(current_start, int) and isinstance(parent_start, int) and current_start >= parent_start


def _is_control_flow(error: BaseException) -> bool:
    return any(cls.__name__ in _NOT_ERRORS for cls in type(error).__mro__)


def record_error(span: Span, error: BaseException) -> None:
    """Status ERROR, ``error.type`` and the exception event; control-flow exits are not errors."""
    if isinstance(error, GeneratorExit) or _is_control_flow(error):
        span.add_event("run stopped", {"reason": type(error).__name__})
        return
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


class ValiqorCallbackHandler(BaseCallbackHandler):
    """LangChain callbacks -> OpenTelemetry spans with GenAI attributes."""

    # Inline: callbacks of async runs execute in the caller's task, where its context is.
    run_inline = True

    def __init__(self, tracer: trace.Tracer) -> None:
        super().__init__()
        self.tracer = tracer
        self.enabled = True
        # run_id -> run. No lock: every access is one atomic dict get, set or pop, and a run's own callbacks
        # never run concurrently with each other.
        self._runs: dict[UUID, _Run] = {}

    @property
    def raise_error(self) -> bool:  # type: ignore[override]
        """Under tests our internal errors must surface; in production LangChain never sees one."""
        return should_raise()

    # --- run bookkeeping ------------------------------------------------------------------------------------

    def span_of(self, run_id: UUID | None) -> Span | None:
        """The span a child of ``run_id`` attaches to (None for unknown runs)."""
        run = self._runs.get(run_id) if run_id is not None else None
        return run.parent_span if run is not None else None

    def enter_child(self, callbacks: Any) -> None:
        """In a child run's own copy of the context (see :func:`._scopes.config_context_hook`), before the child
        starts: make the parent run's span current there.

        A sampled-out parent's span goes in even where the child's manager no longer calls this handler: the
        span's unrecorded mark on the context (:func:`.._nesting.in_unrecorded_run`) keeps the handler out of
        every manager configured below, and client spans inside see the unsampled parent.
        """
        parent_run_id = getattr(callbacks, "parent_run_id", None)
        run = self._runs.get(parent_run_id) if parent_run_id is not None else None
        if run is None or not (run.sampled_out or self in (getattr(callbacks, "handlers", None) or ())):
            return
        span = run.parent_span
        if span is not None and trace.get_current_span() is not span:  # already current: runs under an
            # unrecorded run share one. Never detached, on purpose: this context is a copy LangChain discards.
            _scopes.attach_span(span, None)

    def leave(self, run_manager: Any) -> None:
        """A run that is not recorded is about to run its body (a sampled-out model call): stop hearing from it.

        Its manager lets go of this handler (new lists: others may share them) and the run is forgotten
        now rather than at its end, so LangChain calls us for nothing more of it: not its end, not its
        tokens, and it no longer asks whether we stream (an ``isinstance`` against a runtime ``Protocol``,
        ~10 µs per model call on Python 3.11). Should a release still call us, the run is unknown: a no-op.
        """
        run_id = getattr(run_manager, "run_id", None)
        if run_id is not None and self in (getattr(run_manager, "handlers", None) or ()):
            self.let_go(run_manager)
            self._runs.pop(run_id, None)

    def let_go(self, manager: Any) -> None:
        """``manager``, and the managers LangChain derives from it, stop calling this handler."""
        if self in manager.handlers or self in manager.inheritable_handlers:
            # New lists rather than remove(): a run's manager shares its lists with the manager it came from.
            manager.handlers = [h for h in manager.handlers if h is not self]
            manager.inheritable_handlers = [h for h in manager.inheritable_handlers if h is not self]

    def _start(self, run_id: UUID, parent_run_id: UUID | None, kind: str, name: str, span_name: str,
               attributes: dict[str, Any], tags: Sequence[str] | None = None, scope: str | None = None) -> Span | None:
        """Start the run's span; None when the run records nothing (its callbacks then add nothing).

        ``scope``: the kind of :mod:`._scopes` slot the run's span claims (it becomes current in the body).
        """
        parent = self.span_of(parent_run_id)
        if tags and HIDDEN_TAG in tags:
            self._put(run_id, _Run(None, kind, name, stand_in=parent))
            return None
        context = None  # the current context: the app's span, or a span started inside the parent's body
        if parent is not None and not _started_inside(trace.get_current_span(), parent):
            context = trace.set_span_in_context(parent)
        span = self.tracer.start_span(span_name, context=context, attributes={SPAN_KIND: kind, **attributes})
        recorded = span.is_recording()
        # Not recorded (sampled out, SDK disabled): the unsampled span stays the parent of what runs inside.
        self._put(run_id, _Run(span, kind, name) if recorded
                  else _Run(None, kind, name, span, recorded=False, sampled_out=True))
        if scope is not None:
            _scopes.claim(scope, span)
        return span if recorded else None

    def _put(self, run_id: UUID, run: _Run) -> None:
        self._runs[run_id] = run

    def _pop(self, run_id: UUID) -> _Run | None:
        return self._runs.pop(run_id, None)

    def _span(self, run_id: UUID) -> Span | None:
        run = self._runs.get(run_id)
        return run.span if run is not None else None

    def _end(self, run_id: UUID, error: BaseException | None = None) -> None:
        run = self._pop(run_id)
        if run is None or run.span is None:
            return
        try:
            if error is not None:
                record_error(run.span, error)
        finally:
            run.span.end()

    # --- chains, agents and graph nodes -----------------------------------------------------------------------

    @_guarded
    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, tags: list[str] | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        name = attrs.run_name(serialized, kwargs, "chain")
        metadata = metadata or {}
        attributes: dict[str, Any] = {}
        if kwargs.get("run_type"):
            attributes[attrs.RUN_TYPE] = str(kwargs["run_type"])
        is_graph_node = "langgraph_node" in metadata and any(tag.startswith("graph:step:") for tag in tags or ())
        if is_graph_node:
            attributes[attrs.GRAPH_NODE] = str(metadata["langgraph_node"])
            if isinstance(metadata.get("langgraph_step"), int):
                attributes[attrs.GRAPH_STEP] = metadata["langgraph_step"]
            self._mark_graph(parent_run_id)
        if name == "AgentExecutor":
            span = self._start(run_id, parent_run_id, "agent", name, f"invoke_agent {name}",
                               {**attributes, GEN_AI_OPERATION_NAME: "invoke_agent", GEN_AI_AGENT_NAME: name}, tags)
        else:
            span = self._start(run_id, parent_run_id, "chain", name, f"chain {name}", attributes, tags)
        if span is not None and get_content_policy().capture:
            genai.set_json_content(span, INPUT, inputs)

    def _mark_graph(self, run_id: UUID | None) -> None:
        """A run whose children are graph steps is a LangGraph graph: an agent invocation."""
        run = self._runs.get(run_id) if run_id is not None else None
        if run is None or run.graph or run.span is None:
            return
        run.graph = True
        run.span.update_name(f"invoke_agent {run.name}")
        run.span.set_attributes({SPAN_KIND: "agent", GEN_AI_OPERATION_NAME: "invoke_agent",
                                 GEN_AI_AGENT_NAME: run.name})

    @_guarded
    def on_chain_end(self, outputs: Any, *, run_id: UUID, inputs: Any = None, **kwargs: Any) -> None:
        span = self._span(run_id)
        try:
            if span is not None and get_content_policy().capture:
                content: dict[str, Any] = {}
                if inputs is not None:  # streamed runs start with a placeholder and report the real input here
                    genai.put_json_content(content, INPUT, inputs)
                genai.put_json_content(content, OUTPUT, outputs)
                if content:
                    span.set_attributes(content)
        finally:
            self._end(run_id)

    @_guarded
    def on_chain_error(self, error: BaseException, *, run_id: UUID, inputs: Any = None, **kwargs: Any) -> None:
        span = self._span(run_id)
        try:
            if span is not None and inputs is not None and get_content_policy().capture:
                genai.set_json_content(span, INPUT, inputs)
        finally:
            self._end(run_id, error)

    @_guarded
    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        if span is None:
            return
        event = {GEN_AI_TOOL_NAME: str(getattr(action, "tool", ""))}
        text = get_content_policy().text(getattr(action, "tool_input", None))
        if text is not None:
            event[GEN_AI_TOOL_CALL_ARGUMENTS] = text
        span.add_event("agent_action", event)

    @_guarded
    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        if span is not None:
            text = get_content_policy().text(getattr(finish, "return_values", None))
            span.add_event("agent_finish", {"output": text} if text is not None else {})

    # --- chat models and LLMs -------------------------------------------------------------------------------

    def _start_model(self, operation: str, serialized: dict[str, Any] | None, run_id: UUID,
                     parent_run_id: UUID | None, tags: list[str] | None, metadata: dict[str, Any] | None,
                     kwargs: dict[str, Any]) -> Span | None:
        model, attributes = attrs.model_request(serialized, metadata, kwargs)
        attributes[GEN_AI_OPERATION_NAME] = operation
        name = attrs.run_name(serialized, kwargs, operation)
        return self._start(run_id, parent_run_id, "llm", name, f"{operation} {model}" if model else operation,
                           attributes, tags, _scopes.LLM)

    @_guarded
    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID,
                            parent_run_id: UUID | None = None, tags: list[str] | None = None,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        span = self._start_model("chat", serialized, run_id, parent_run_id, tags, metadata, kwargs)
        if span is not None:
            attrs.record_model_input(span, messages[0] if messages else [], None,
                                     kwargs.get("invocation_params") or {})

    @_guarded
    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, tags: list[str] | None = None,
                     metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        span = self._start_model("text_completion", serialized, run_id, parent_run_id, tags, metadata, kwargs)
        if span is not None:
            attrs.record_model_input(span, None, prompts, kwargs.get("invocation_params") or {})

    @_guarded
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        try:
            if span is not None:
                attrs.record_model_output(span, response)
        finally:
            self._end(run_id)

    @_guarded
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        response = kwargs.get("response")
        try:
            if span is not None and response is not None and getattr(response, "generations", None):
                attrs.record_model_output(span, response)  # what streamed before the failure
        finally:
            self._end(run_id, error)

    # --- retrievers -----------------------------------------------------------------------------------------

    @_guarded
    def on_retriever_start(self, serialized: dict[str, Any] | None, query: str, *, run_id: UUID,
                           parent_run_id: UUID | None = None, tags: list[str] | None = None,
                           metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        name = attrs.run_name(serialized, kwargs, "retriever")
        span = self._start(run_id, parent_run_id, RETRIEVAL, name, retrieval_span_name(name),
                           retrieval_attributes(), tags, _scopes.RETRIEVAL)
        if span is not None:
            record_query(span, query)

    @_guarded
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        try:
            if span is not None:
                record_documents(span, list(documents))
        finally:
            self._end(run_id)

    @_guarded
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # --- tools ----------------------------------------------------------------------------------------------

    @_guarded
    def on_tool_start(self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID,
                      parent_run_id: UUID | None = None, tags: list[str] | None = None,
                      metadata: dict[str, Any] | None = None, inputs: dict[str, Any] | None = None,
                      **kwargs: Any) -> None:
        name = attrs.run_name(serialized, kwargs, "tool")
        attributes: dict[str, Any] = {GEN_AI_OPERATION_NAME: "execute_tool", GEN_AI_TOOL_NAME: name,
                                      GEN_AI_TOOL_TYPE: "function"}
        description = (serialized or {}).get("description")
        if isinstance(description, str) and description:
            attributes[GEN_AI_TOOL_DESCRIPTION] = description
        if kwargs.get("tool_call_id"):
            attributes[GEN_AI_TOOL_CALL_ID] = str(kwargs["tool_call_id"])
        span = self._start(run_id, parent_run_id, "tool", name, f"execute_tool {name}", attributes, tags)
        if span is not None and get_content_policy().capture:
            genai.set_json_content(span, GEN_AI_TOOL_CALL_ARGUMENTS, inputs if inputs is not None else input_str)

    @_guarded
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._span(run_id)
        try:
            if span is not None:
                self._record_tool_result(span, output)
        finally:
            self._end(run_id)

    @staticmethod
    def _record_tool_result(span: Span, output: Any) -> None:
        result, failure = attrs.tool_result(output)
        call_id = getattr(output, "tool_call_id", None)  # langchain-core 0.3 passes the id only on the ToolMessage
        if isinstance(call_id, str) and call_id:
            span.set_attribute(GEN_AI_TOOL_CALL_ID, call_id)
        if get_content_policy().capture:
            genai.set_json_content(span, GEN_AI_TOOL_CALL_RESULT, result)
        if failure is not None:  # handle_tool_error turned an exception into the tool's answer
            span.set_attribute(ERROR_TYPE, "tool_error")
            # The failure text is the tool's output, so content: the policy decides whether it shows.
            span.set_status(Status(StatusCode.ERROR, get_content_policy().text(failure[:500]) or "tool error"))

    @_guarded
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)
