"""Split a trace into turns: one group of spans per independent LLM interaction.

From the root, descend through spans that record no input of their own and
hold a single LLM-bearing child (wrappers such as ``main`` or a session span).
The children there are grouped in time order: each child that holds an LLM
call starts a new turn, unless it continues the previous one (it answers a
tool request of that turn, or is itself a tool execution); retrievals and
other spans join the turn they precede (a RAG lookup belongs to the answer
that follows it).
"""

from __future__ import annotations

from collections.abc import Sequence

from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._tree import TraceTree


def split_turns(tree: TraceTree, views: dict[str, v.SpanView]) -> list[list[v.SpanView]]:
    """Groups of views, one per turn, each in start order; a trace without LLM calls is one turn."""
    has_llm = _llm_bearing(tree, views)
    level = list(tree.roots)
    while True:
        bearing = [span for span in level if has_llm.get(span.span_id)]
        if len(bearing) != 1:
            break
        only = views[bearing[0].span_id]
        if only.kind == v.LLM or only.input is not None:
            break
        level = tree.children.get(only.span_id, [])
    if sum(1 for span in level if has_llm.get(span.span_id)) <= 1:
        return [[views[span.span_id] for span in tree.spans]]
    groups: list[list[str]] = []
    pending: list[str] = []
    open_requests: set[str] = set()
    for span in level:
        view = views[span.span_id]
        subtree = tree.subtree(span.span_id)
        if not has_llm.get(span.span_id):
            if view.kind == v.TOOL and groups:
                groups[-1].extend(s.span_id for s in subtree)
            else:
                pending.extend(s.span_id for s in subtree)
            continue
        sub_views = [views[s.span_id] for s in subtree]
        if groups and _continues(sub_views, open_requests):
            groups[-1].extend(pending + [s.span_id for s in subtree])
        else:
            groups.append(pending + [s.span_id for s in subtree])
            open_requests = set()
        pending = []
        open_requests |= {r.id for x in sub_views if x.llm for r in x.llm.requests if r.id}
    if pending and groups:
        groups[-1].extend(pending)
    order = {span.span_id: index for index, span in enumerate(tree.spans)}
    return [[views[i] for i in sorted(group, key=order.__getitem__)] for group in groups]


def _continues(sub_views: Sequence[v.SpanView], open_requests: set[str]) -> bool:
    for view in sub_views:
        if view.llm is None:
            continue
        answered = {m.tool_call_id for m in view.llm.input_messages if m.role == "tool" and m.tool_call_id}
        if answered & open_requests:
            return True
    return False


def _llm_bearing(tree: TraceTree, views: dict[str, v.SpanView]) -> dict[str, bool]:
    """span id -> True when the span or a descendant is an LLM call (children before parents)."""
    result: dict[str, bool] = {}
    for span in reversed(list(tree.walk())):
        result[span.span_id] = views[span.span_id].llm is not None or any(
            result.get(child.span_id, False) for child in tree.children.get(span.span_id, ()))
    return result
