"""A trace read back from the span store, as the monitoring analysis reads it (``valiqor serve --monitor``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanContext, TraceFlags

from valiqor_trace.analyzer.reconstruct import build_tree, trace_project
from valiqor_trace.store import SpanRecord


@dataclass
class StoredTrace:
    """The spans of one stored trace, selected for monitoring (a :class:`~valiqor_trace.monitor.MonitoredTrace`).

    Attributes:
        trace_id: 32-hex W3C trace ID.
        spans: every stored span of the trace (log records that name a span among its events).
        reason: ``sampled`` (trace-ID rule) or ``error`` (an error span).
        has_error: some span has status ERROR.
        evicted_spans: always 0 (nothing is evicted from the store).
    """

    trace_id: str
    spans: list[SpanRecord]
    reason: str
    has_error: bool
    evicted_spans: int = 0

    @property
    def root(self) -> SpanRecord | None:
        """The span without a parent; else (its root never arrived) the earliest span whose parent is missing."""
        ids = {span.span_id for span in self.spans}
        tops = [span for span in self.spans if span.parent_span_id is None or span.parent_span_id not in ids]
        tops.sort(key=lambda span: (span.parent_span_id is not None, span.start_time_unix_nano, span.span_id))
        return tops[0] if tops else None

    @property
    def project_name(self) -> str | None:
        """The project the spans name, else the service that sent them (as the reconstructed item says)."""
        return trace_project(build_tree(self.spans)) if self.spans else None

    @property
    def root_context(self) -> SpanContext | None:
        """The root's context (the verdict span links to it); it was sent by another process, hence remote."""
        root = self.root
        if root is None:
            return None
        return SpanContext(int(self.trace_id, 16), int(root.span_id, 16), is_remote=True,
                           trace_flags=TraceFlags(TraceFlags.SAMPLED))

    def records(self) -> list[Any]:
        return list(self.spans)
