"""The span tree of a trace laid out as a waterfall: one row per span, in tree order, bars to scale.

Large subtrees start collapsed (their rows are sent hidden, the page's script opens them), so a trace of
thousands of spans opens with a screenful of rows; the spans FA points at, and their ancestors, are never
hidden.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from valiqor_trace.analyzer.reconstruct._classify import declared_kind
from valiqor_trace.store import SpanRecord

COLLAPSE_OVER = 50  # a span with more descendants than this starts collapsed (below the root)
_MIN_WIDTH = 0.15  # percent: a zero-length span still shows


@dataclass
class Row:
    span: SpanRecord
    depth: int
    kind: str
    offset: float  # percent of the trace's duration
    width: float
    descendants: int
    collapsed: bool = False
    hidden: bool = False
    evidence: bool = False

    @property
    def duration_ms(self) -> float | None:
        return self.span.duration_ms


def layout(spans: Sequence[SpanRecord], evidence: Collection[str] = (), keep_open: Collection[str] = ()) -> list[Row]:
    """Rows in depth-first order (children by start time); a span whose parent is missing is a root."""
    if not spans:
        return []
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in sorted(spans, key=lambda s: (s.start_time_unix_nano, s.span_id)):
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    start = min(span.start_time_unix_nano for span in spans)
    end = max(span.end_time_unix_nano or span.start_time_unix_nano for span in spans)
    total = max(end - start, 1)
    order: list[tuple[SpanRecord, int]] = []
    stack = [(span, 0) for span in reversed(children.get(None, []))]
    while stack:  # iterative: a deep trace must not hit the recursion limit
        span, depth = stack.pop()
        order.append((span, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(span.span_id, [])))
    descendants = _descendants(order)
    parents = {span.span_id: span.parent_span_id for span in spans}
    pinned = _with_ancestors(set(evidence) | set(keep_open), parents)
    rows, hide_below = [], None
    for span, depth in order:
        if hide_below is not None and depth <= hide_below:
            hide_below = None
        offset = (span.start_time_unix_nano - start) / total * 100
        width = ((span.end_time_unix_nano or span.start_time_unix_nano) - span.start_time_unix_nano) / total * 100
        row = Row(span=span, depth=depth, kind=declared_kind(span.attributes), offset=round(offset, 3),
                  width=round(max(width, _MIN_WIDTH), 3), descendants=descendants[span.span_id],
                  hidden=hide_below is not None, evidence=span.span_id in evidence)
        if depth > 0 and row.descendants > COLLAPSE_OVER and span.span_id not in pinned:
            row.collapsed = True
            if hide_below is None:
                hide_below = depth
        rows.append(row)
    _unhide_pinned(rows, pinned)
    return rows


def _descendants(order: list[tuple[SpanRecord, int]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    open_spans: list[tuple[str, int]] = []  # (span id, depth) of the current path
    for span, depth in order:
        while open_spans and open_spans[-1][1] >= depth:
            open_spans.pop()
        for ancestor, _ in open_spans:
            counts[ancestor] = counts.get(ancestor, 0) + 1
        counts.setdefault(span.span_id, 0)
        open_spans.append((span.span_id, depth))
    return counts


def _with_ancestors(span_ids: set[str], parents: dict[str, str | None]) -> set[str]:
    out = set()
    for span_id in span_ids:
        while span_id and span_id not in out and span_id in parents:
            out.add(span_id)
            span_id = parents[span_id] or ""
    return out


def _unhide_pinned(rows: list[Row], pinned: set[str]) -> None:
    for row in rows:
        if row.span.span_id in pinned:
            row.hidden = False
