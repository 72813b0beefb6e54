"""Spans -> trace tree: parent/child links, depth, time order, and whether the root has arrived."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from valiqor_trace.store import SpanRecord


@dataclass
class TraceTree:
    """The spans of one trace, linked.

    Spans whose parent is not among them are treated as roots (``orphans``
    lists those that do name a parent), so a partial trace still has a shape.

    Attributes:
        trace_id: the trace's id (of the first span).
        spans: every span, in start-time order.
        roots: spans without a parent in the trace, in start-time order.
        children: span id -> its child spans, in start-time order.
        depth: span id -> distance from its root (roots are 0).
    """

    trace_id: str
    spans: list[SpanRecord]
    roots: list[SpanRecord] = field(default_factory=list)
    children: dict[str, list[SpanRecord]] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    by_id: dict[str, SpanRecord] = field(default_factory=dict)

    @property
    def has_root(self) -> bool:
        """True when the trace's root span is present: see :func:`has_root`."""
        return has_root(self.spans)

    @property
    def orphans(self) -> list[SpanRecord]:
        """Spans that name a parent the trace does not contain (it has not arrived, or was dropped)."""
        return [span for span in self.roots if span.parent_span_id is not None]

    def subtree(self, span_id: str) -> list[SpanRecord]:
        """``span_id`` and all its descendants, in start-time order."""
        out: list[SpanRecord] = []
        stack = [self.by_id[span_id]]
        while stack:
            span = stack.pop()
            out.append(span)
            stack.extend(self.children.get(span.span_id, ()))
        return sorted(out, key=_order)

    def walk(self) -> Iterable[SpanRecord]:
        """Depth-first, children in start order (a parent before its children)."""
        stack = list(reversed(self.roots))
        while stack:
            span = stack.pop()
            yield span
            stack.extend(reversed(self.children.get(span.span_id, ())))


def has_root(spans: Sequence[SpanRecord]) -> bool:
    """True when a span with no parent is present, or one entered from another service.

    A SERVER or CONSUMER span whose parent is not in the trace continues a
    trace started elsewhere (W3C ``traceparent``); it is the root as far as
    this trace's store can ever know. Any other span with a missing parent
    means the parent has not arrived yet.
    """
    ids = {span.span_id for span in spans}
    return any(span.parent_span_id is None
               or (span.parent_span_id not in ids and span.kind in ("SERVER", "CONSUMER")) for span in spans)


def _order(span: SpanRecord) -> tuple[int, int, str]:
    return (span.start_time_unix_nano, span.end_time_unix_nano or 0, span.span_id)


def build_tree(spans: Sequence[SpanRecord]) -> TraceTree:
    """Link the spans of one trace into a :class:`TraceTree`.

    Raises:
        ValueError: when ``spans`` is empty or mixes traces.
    """
    if not spans:
        raise ValueError("build_tree needs at least one span")
    ordered = sorted(spans, key=_order)
    trace_id = ordered[0].trace_id
    by_id: dict[str, SpanRecord] = {}
    for span in ordered:
        if span.trace_id != trace_id:
            raise ValueError(f"spans of two traces given ({trace_id} and {span.trace_id}); pass one trace")
        by_id.setdefault(span.span_id, span)
    tree = TraceTree(trace_id=trace_id, spans=list(by_id.values()), by_id=by_id)
    for span in tree.spans:
        parent = span.parent_span_id
        if parent is None or parent not in by_id or parent == span.span_id:
            tree.roots.append(span)
        else:
            tree.children.setdefault(parent, []).append(span)
    _set_depths(tree)
    if len(tree.depth) < len(tree.spans):
        # A parent cycle (a -> b -> a) has no root; break it so every span is reachable.
        for span in tree.spans:
            if span.span_id not in tree.depth:
                tree.roots.append(span)
                parent = span.parent_span_id
                assert parent is not None  # a span with no parent is a root and has a depth
                tree.children[parent] = [s for s in tree.children.get(parent, []) if s.span_id != span.span_id]
                _set_depths(tree)
        tree.roots.sort(key=_order)
    return tree


def _set_depths(tree: TraceTree) -> None:
    # Iterative: traces can be thousands of spans deep and recursion would overflow.
    stack = [(root, 0) for root in tree.roots]
    while stack:
        span, depth = stack.pop()
        if span.span_id in tree.depth:
            continue
        tree.depth[span.span_id] = depth
        stack.extend((child, depth + 1) for child in tree.children.get(span.span_id, ()))
