"""Spans -> trace tree -> FA item: pure functions, no I/O.

Reads the spans of valiqor-trace itself, the OpenTelemetry GenAI semantic
conventions (current attributes, the older ``gen_ai.prompt``/``gen_ai.completion``
attributes and per-message events), OpenInference, OpenLLMetry and LiteLLM's callback. The rules
are in :mod:`valiqor_trace.analyzer.reconstruct._rules` and ``docs/reconstruction.md``.

Example:
    spans = store.get_trace(trace_id)
    item = reconstruct_item(spans)
    print(item.input, item.output, item.context, item.tool_calls)
"""

from __future__ import annotations

from collections.abc import Sequence

from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.reconstruct._classify import view_of
from valiqor_trace.analyzer.reconstruct._cost import call_cost
from valiqor_trace.analyzer.reconstruct._litellm import merge_raw_requests
from valiqor_trace.analyzer.reconstruct._rules import build_item, trace_project
from valiqor_trace.analyzer.reconstruct._tree import TraceTree, build_tree, has_root
from valiqor_trace.analyzer.reconstruct._turns import split_turns
from valiqor_trace.analyzer.reconstruct._views import SpanView
from valiqor_trace.store import SpanRecord

__all__ = ["SpanView", "TraceTree", "build_tree", "has_root", "llm_span_costs", "reconstruct_item", "reconstruct_turns",
           "span_views", "trace_project"]


def span_views(tree: TraceTree) -> dict[str, SpanView]:
    """span id -> what the span means, for every span of ``tree`` (in start order)."""
    views = {span.span_id: view_of(span) for span in tree.spans}
    merge_raw_requests(tree, views)  # a view that needs its child's: LiteLLM's request span and its raw request
    return views


def llm_span_costs(spans: Sequence[SpanRecord] | TraceTree) -> dict[str, float | None]:
    """span id -> estimated USD of the model call on it (None: unknown), for every LLM span (docs/cost.md).

    Every LLM span is listed, also one nested in another (a client call under a framework's model span);
    the item's ``cost`` fact counts such a call once.
    """
    tree = spans if isinstance(spans, TraceTree) else build_tree(spans)
    return {span_id: call_cost(view) for span_id, view in span_views(tree).items() if view.llm is not None}


def reconstruct_item(spans: Sequence[SpanRecord] | TraceTree) -> FAItem:
    """The FA item of one trace: input, output, context, tool calls and trace facts.

    Args:
        spans: every span of one trace (any order), or its tree.

    Raises:
        ValueError: when no span is given or spans of several traces are mixed.
    """
    tree = spans if isinstance(spans, TraceTree) else build_tree(spans)
    views = span_views(tree)
    return build_item(tree, list(views.values()))


def reconstruct_turns(spans: Sequence[SpanRecord] | TraceTree) -> list[FAItem]:
    """One FA item per independent LLM interaction of the trace (e.g. each turn of a chat session)."""
    tree = spans if isinstance(spans, TraceTree) else build_tree(spans)
    views = span_views(tree)
    return [build_item(tree, group) for group in split_turns(tree, views)]
