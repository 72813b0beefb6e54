"""The reconstruction rules: span views -> one :class:`FAItem`.

- input: the user's request that started the trace: the input of the shallowest
  agent/chain/workflow/function span that records one; else the last user
  message sent to the first LLM call (with one user message, that one).
- output: the final answer: the output of the shallowest such span that records
  one; else the last LLM output that is not a tool request. When the outermost
  agent/chain span recorded no output and ended in error, the run gave no answer:
  the output is empty and the error is ``metadata["output_error"]``.
- context: every retrieved document, in retrieval order, de-duplicated; without document text, the
  prompt's context variables, else the messages that carried it (see ``_context``).
- tool_calls: see :mod:`valiqor_trace.analyzer.reconstruct._join`.

``docs/reconstruction.md`` explains each rule and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._classify import error_of
from valiqor_trace.analyzer.reconstruct._context import context_of
from valiqor_trace.analyzer.reconstruct._cost import call_cost, cost_fact
from valiqor_trace.analyzer.reconstruct._join import join_tool_calls
from valiqor_trace.analyzer.reconstruct._tree import TraceTree
from valiqor_trace.analyzer.reconstruct._values import finish_reason
from valiqor_trace.attributes import CAPTURE_CONTENT, PROJECT_NAME, SERVICE_NAME


def build_item(tree: TraceTree, views: Sequence[v.SpanView]) -> FAItem:
    """Apply the rules to ``views`` (all spans of the trace, or of one turn)."""
    llm_views = _distinct_llm_calls(tree, views)
    input_text, input_ids = _input(tree, views, llm_views)
    failed = _failed_run(tree, views)
    output_text, output_ids = _output(tree, views, llm_views, failed)
    context, context_ids = context_of(views, llm_views, input_text)
    tool_calls = join_tool_calls(views, tree)
    metadata = _facts(views, llm_views, tool_calls)
    if failed is not None and not output_ids:  # no span above the failed run answered instead
        metadata[TraceFacts.OUTPUT_ERROR] = _error_entry(failed)
    metadata[TraceFacts.INPUT_SPAN_IDS] = input_ids
    metadata[TraceFacts.OUTPUT_SPAN_IDS] = output_ids
    metadata[TraceFacts.CONTEXT_SPAN_IDS] = context_ids
    has_text = bool(input_text or output_text or any(context)
                    or any(call.output or call.arguments for call in tool_calls))
    metadata[TraceFacts.CONTENT_CAPTURED] = _content_captured(views, llm_views, has_text)
    if not tree.has_root:
        metadata[TraceFacts.ROOT_MISSING] = True
    project = trace_project(tree)
    if project:
        metadata[TraceFacts.PROJECT] = project
    return FAItem(input=input_text, output=output_text, context=context, tool_calls=tool_calls,
                  trace_id=tree.trace_id, metadata=metadata)


def trace_project(tree: TraceTree) -> str | None:
    """The project the trace's spans name (its roots' first), else the service that emitted them."""
    ordered = [*tree.roots, *tree.spans]
    for span in ordered:
        stamped = span.attributes.get(PROJECT_NAME)
        if isinstance(stamped, str) and stamped:
            return stamped
    for span in ordered:
        service = span.resource.get(SERVICE_NAME)
        if isinstance(service, str) and service and not service.startswith("unknown_service"):
            return service  # "unknown_service[:exe]" is the OTel SDK's placeholder for an unnamed service
    return None


def _content_captured(views: Sequence[v.SpanView], llm_views: list[v.SpanView], has_text: bool) -> bool:
    """False when the text of the trace was never recorded: valiqor-trace stamps ``capture_content`` off,
    and other instrumentors (OTel GenAI's default among them) leave out every message: LLM calls
    with no text anywhere in the trace were not silent calls, they were recorded without content."""
    if any(view.span.attributes.get(CAPTURE_CONTENT) is False for view in views):
        return False
    return has_text or not llm_views


def _distinct_llm_calls(tree: TraceTree, views: Sequence[v.SpanView]) -> list[v.SpanView]:
    """LLM views, minus those recorded inside another LLM span (a client SDK call under a framework's
    model span is the same call seen twice: the outer one counts, unless it recorded no messages)."""
    llm = {view.span_id: view for view in views if view.llm is not None}
    kept = []
    for view in llm.values():
        outer = _llm_ancestor(tree, view, llm)
        outer_call = outer.llm if outer is not None else None
        if outer_call is None or not (outer_call.input_messages or outer_call.output_messages):
            kept.append(view)
    dropped_outer = {outer.span_id for outer in (_llm_ancestor(tree, view, llm) for view in kept)
                     if outer is not None}
    return [view for view in kept if view.span_id not in dropped_outer]


def _llm_ancestor(tree: TraceTree, view: v.SpanView, llm: dict[str, v.SpanView]) -> v.SpanView | None:
    parent = view.span.parent_span_id
    for _ in range(3):  # the client span sits right under the framework's, or a step or two below
        if parent is None or parent not in tree.by_id:
            return None
        if parent in llm:
            return llm[parent]
        parent = tree.by_id[parent].parent_span_id
    return None


def _shallowest(tree: TraceTree, views: Sequence[v.SpanView], attribute: str, *, latest: bool = False
                ) -> v.SpanView | None:
    """The least deep entry span recording ``attribute``; among equals the first (or the last, ``latest``)."""
    best: v.SpanView | None = None
    for view in views:
        if view.kind not in v.ENTRY_KINDS and view.kind != v.OTHER:
            continue
        if getattr(view, attribute) in (None, ""):
            continue
        depth, best_depth = tree.depth.get(view.span_id, 0), tree.depth.get(best.span_id, 0) if best else 0
        if best is None or depth < best_depth or (latest and depth == best_depth and view.end >= best.end):
            best = view
    return best


def _input(tree: TraceTree, views: Sequence[v.SpanView], llm_views: list[v.SpanView]) -> tuple[str, list[str]]:
    entry = _shallowest(tree, views, "input")
    if entry is not None:
        return entry.input or "", [entry.span_id]
    for view in llm_views:  # already in start order
        assert view.llm is not None  # llm_views are the views with an LLM call
        users = [m for m in view.llm.input_messages if m.role == "user" and m.text]
        if users:
            return users[-1].text or "", [view.span_id]
        texts = [m for m in view.llm.input_messages if m.text and m.role != "system"]
        if texts:
            return texts[0].text or "", [view.span_id]
    return "", []


def _failed_run(tree: TraceTree, views: Sequence[v.SpanView]) -> v.SpanView | None:
    """The outermost agent/chain/workflow/function span (the last among equals), when it ended in error
    without recording an output."""
    outer: v.SpanView | None = None
    for view in views:
        if view.kind not in v.ENTRY_KINDS:
            continue
        depth, outer_depth = tree.depth.get(view.span_id, 0), tree.depth.get(outer.span_id, 0) if outer else 0
        if outer is None or depth < outer_depth or (depth == outer_depth and view.end >= outer.end):
            outer = view
    if outer is None or outer.output not in (None, "") or not outer.span.is_error:
        return None
    return outer


def _output(tree: TraceTree, views: Sequence[v.SpanView], llm_views: list[v.SpanView],
            failed: v.SpanView | None) -> tuple[str, list[str]]:
    entry = _shallowest(tree, views, "output", latest=True)  # several top-level steps: the last one answers
    if failed is not None and (entry is None or _answers_after(tree, failed, entry)):
        # The run failed before answering: a step's log or the last model text inside it is not an answer.
        return "", []
    if entry is not None:
        return entry.output or "", [entry.span_id]
    for view in sorted(llm_views, key=lambda x: (x.end, x.start), reverse=True):
        assert view.llm is not None
        answer = view.llm.answer
        if answer:
            return answer, [view.span_id]
    return "", []


def _answers_after(tree: TraceTree, failed: v.SpanView, entry: v.SpanView) -> bool:
    """True when the failed run outranks ``entry`` as the answer: a deeper output is a step's, not the
    run's, and at equal depth the span that ended last answers (here: failed to)."""
    failed_depth, entry_depth = tree.depth.get(failed.span_id, 0), tree.depth.get(entry.span_id, 0)
    return entry_depth > failed_depth or (entry_depth == failed_depth and failed.end >= entry.end)


def _facts(views: Sequence[v.SpanView], llm_views: list[v.SpanView], tool_calls: list[Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {TraceFacts.SPAN_COUNT: len(views), TraceFacts.LLM_CALL_COUNT: len(llm_views),
                             TraceFacts.TOOL_CALL_COUNT: sum(1 for call in tool_calls if call.executed)}
    models: list[str] = []
    definitions: dict[str, dict[str, Any]] = {}
    finish_reasons: list[str] = []
    usage = {"input_tokens": 0, "output_tokens": 0}
    system_prompt, system_span = None, None
    user_turns: list[str] = []
    for view in llm_views:
        call = view.llm
        assert call is not None
        model = call.response_model or call.request_model
        if model and model not in models:
            models.append(model)
        for definition in call.tool_definitions:
            definitions.setdefault(definition["name"], definition)
        finish_reasons.extend(finish_reason(reason) for reason in call.finish_reasons)
        usage["input_tokens"] += call.input_tokens or 0
        usage["output_tokens"] += call.output_tokens or 0
        if system_prompt is None:
            system_prompt = call.system_prompt or _system_text(call)
            system_span = view.span_id if system_prompt else None
        _add_user_turns(user_turns, call)
        if call.response_format is not None and TraceFacts.RESPONSE_FORMAT not in facts:
            facts[TraceFacts.RESPONSE_FORMAT] = call.response_format
    if system_prompt:
        facts[TraceFacts.SYSTEM_PROMPT] = system_prompt
        facts[TraceFacts.SYSTEM_PROMPT_SPAN_ID] = system_span
    if user_turns:
        facts[TraceFacts.USER_TURNS] = user_turns
    facts[TraceFacts.MODELS] = models
    facts[TraceFacts.TOOL_DEFINITIONS] = list(definitions.values())
    facts[TraceFacts.FINISH_REASONS] = finish_reasons
    facts[TraceFacts.TOKEN_USAGE] = usage
    starts = [view.start for view in views]
    ends = [view.end for view in views]
    facts[TraceFacts.LATENCY_MS] = (max(ends) - min(starts)) / 1e6 if views else 0.0
    facts[TraceFacts.ERROR_SPANS] = [_error_entry(view) for view in views if view.span.is_error]
    facts[TraceFacts.CONVENTION] = _dominant_convention(views)
    costs = [call_cost(view) for view in llm_views]
    facts[TraceFacts.COST] = cost_fact(costs)
    facts[TraceFacts.LLM_CALLS] = [_llm_call_entry(view, cost) for view, cost in zip(llm_views, costs)]
    return facts


_CALL_OUTPUT_CAP = 4000
_PROMPT_HEAD = 2000  # instructions open a prompt: the system message, a planning request


def _llm_call_entry(view: v.SpanView, cost_usd: float | None) -> dict[str, Any]:
    call = view.llm
    assert call is not None
    text = "\n".join(m.text for m in call.output_messages if m.text)
    return {"span_id": view.span_id, "parent_span_id": view.span.parent_span_id, "name": view.span.name,
            "model": call.response_model or call.request_model,
            "finish_reasons": [finish_reason(reason) for reason in call.finish_reasons],
            "output": text[:_CALL_OUTPUT_CAP], "tool_requests": [r.name for r in call.requests],
            "tool_call_ids": [r.id for r in call.requests if r.id],
            "instructions": _instructions(call), "stop_sequences": list(call.stop_sequences), "cost_usd": cost_usd}


def _instructions(call: v.LLMCall) -> str:
    """The opening of the call's first and last input messages with text (the system prompt, the request
    it answers), where prompts state how the output must look; capped, since later calls resend history."""
    texts = [m.text for m in call.input_messages if m.text]
    chosen = texts[:1] + texts[-1:] if len(texts) > 1 else texts
    return "\n\n".join(text[:_PROMPT_HEAD] for text in chosen)


_USER_TURNS_CAP = 50
_USER_TURN_CHARS = 4000


def _add_user_turns(turns: list[str], call: v.LLMCall) -> None:
    """The user messages of ``call`` not yet in ``turns``: each call of a chat resends the earlier turns."""
    for message in call.input_messages:
        if len(turns) >= _USER_TURNS_CAP:
            return
        text = (message.text or "")[:_USER_TURN_CHARS]
        if message.role == "user" and text and text not in turns:
            turns.append(text)


def _system_text(call: v.LLMCall) -> str | None:
    texts = [m.text for m in call.input_messages if m.role == "system" and m.text]
    return "\n\n".join(texts) if texts else None


def _error_entry(view: v.SpanView) -> dict[str, Any]:
    error_type, message = error_of(view.span)
    return {"span_id": view.span_id, "name": view.span.name, "kind": view.kind, "error_type": error_type,
            "message": message}


def _dominant_convention(views: Sequence[v.SpanView]) -> str | None:
    counts: dict[str, int] = {}
    for view in views:
        if view.convention and (view.kind != v.OTHER or view.llm is not None):
            counts[view.convention] = counts.get(view.convention, 0) + 1
    return max(counts, key=lambda name: counts[name]) if counts else None
