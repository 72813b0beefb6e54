"""Spans of traces in flight, held in memory until their local root ends (bounded; evictions counted)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Sized
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

from valiqor_trace._ids import format_trace_id


@dataclass
class MonitorStats:
    """Counters of the monitor, live as ``handle.monitor.stats``; ``snapshot()`` copies them consistently.

    Attributes:
        traces_seen: traces whose local root span ended while monitoring was on.
        sampled: traces selected for analysis (by the trace-ID rule or an error span) and queued.
        sampled_on_error: of ``sampled``, those selected only because of an error span.
        analyzed: analyses that finished (stored, verdict recorded, alerts decided).
        failed: analyses that raised (each is logged; the monitor goes on).
        dropped: selected traces that were not analyzed: the worker queue was full, or shutdown came first.
        rate_limited: selected traces skipped by ``max_per_minute``.
        filtered: selected traces skipped by ``projects``/``span_names``/``feature_kinds``.
        evicted_traces: traces evicted from memory before they completed (``max_traces_in_flight``).
        evicted_spans: spans evicted from a trace over ``max_spans_per_trace``, and spans that ended after
            their trace had been evicted.
        late_spans: spans that ended after their trace had been handed over (past the grace period).
        alerted: alerts fired.
        alerts_suppressed: alerts held back by the per-failure-type cooldown.
        alert_failures: alert deliveries that failed (webhook after its retries, or ``on_alert`` raised).
    """

    traces_seen: int = 0
    sampled: int = 0
    sampled_on_error: int = 0
    analyzed: int = 0
    failed: int = 0
    dropped: int = 0
    rate_limited: int = 0
    filtered: int = 0
    evicted_traces: int = 0
    evicted_spans: int = 0
    late_spans: int = 0
    alerted: int = 0
    alerts_suppressed: int = 0
    alert_failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def snapshot(self) -> MonitorStats:
        with self._lock:
            return MonitorStats(**{name: getattr(self, name) for name in self.as_dict()})

    def as_dict(self) -> dict[str, int]:
        return {name: value for name, value in vars(self).items() if not name.startswith("_")}


class MonitoredTrace(Protocol):
    """What the analysis reads of a trace: :class:`CompletedTrace` in an app, a stored trace on the server."""

    trace_id: str
    reason: str
    has_error: bool
    evicted_spans: int

    @property
    def spans(self) -> Sized: ...

    @property
    def project_name(self) -> str | None: ...

    @property
    def root_context(self) -> SpanContext | None: ...

    def records(self) -> list[Any]: ...


@dataclass
class CompletedTrace:
    """A trace handed to the analysis: its spans (SDK ``ReadableSpan``), in the order they ended.

    Attributes:
        trace_id: 32-hex W3C trace ID.
        spans: the buffered spans, the local root last.
        root: the local root span.
        reason: why it is analyzed: ``sampled`` (trace-ID rule) or ``error`` (an error span).
        has_error: some span has status ERROR.
        evicted_spans: spans of this trace dropped by ``max_spans_per_trace``.
    """

    trace_id: str
    spans: list[ReadableSpan]
    root: ReadableSpan
    reason: str
    has_error: bool
    evicted_spans: int = 0

    @property
    def project_name(self) -> str | None:
        value = (self.root.attributes or {}).get("valiqor.project_name")
        return str(value) if value is not None else None

    @property
    def root_context(self) -> SpanContext:
        """The local root's context (the verdict span links to it)."""
        return self.root.context

    def records(self) -> list[Any]:
        """The spans as :class:`~valiqor_trace.store.SpanRecord` (what the analyzer reads)."""
        from valiqor_trace.store import span_record

        return [span_record(span) for span in self.spans]


class _Entry:
    __slots__ = ("evicted", "has_error", "root", "spans", "trace_id")

    def __init__(self, trace_id: int) -> None:
        self.trace_id = trace_id
        self.spans: deque[ReadableSpan] = deque()
        self.root: ReadableSpan | None = None
        self.has_error = False
        self.evicted = 0


class TraceBuffer:
    """Traces in flight, keyed by trace ID, oldest first. Not thread-safe: the processor locks around it."""

    def __init__(self, *, max_traces: int, max_spans: int, stats: MonitorStats, remember: int = 4096) -> None:
        self._traces: OrderedDict[int, _Entry] = OrderedDict()
        # Recently handed-over (False) or evicted (True) traces, so that their later spans are dropped.
        self._gone: OrderedDict[int, bool] = OrderedDict()
        self._max_traces = max_traces
        self._max_spans = max_spans
        self._remember = remember
        self._stats = stats

    def __len__(self) -> int:
        return len(self._traces)

    def add(self, trace_id: int, span: ReadableSpan, is_error: bool) -> _Entry | None:
        """Buffer ``span``; None when its trace was already handed over (a late span, counted)."""
        entry = self._traces.get(trace_id)
        if entry is None:
            gone = self._gone.get(trace_id)
            if gone is not None:
                # Handed over already (a late span), or evicted (the trace's later spans go too).
                if gone:
                    self._stats.evicted_spans += 1
                else:
                    self._stats.late_spans += 1
                return None
            entry = self._traces[trace_id] = _Entry(trace_id)
            if len(self._traces) > self._max_traces:
                evicted, _ = self._traces.popitem(last=False)
                self._forget(evicted, evicted=True)
                self._stats.evicted_traces += 1
        if len(entry.spans) >= self._max_spans:
            # Keep the newest children: the root (which ends last) must survive, and the
            # final LLM call usually carries the answer.
            entry.spans.popleft()
            entry.evicted += 1
            self._stats.evicted_spans += 1
        entry.spans.append(span)
        entry.has_error = entry.has_error or is_error
        return entry

    def pop(self, trace_id: int) -> _Entry | None:
        """Remove a trace to hand it over; its later spans are counted as late."""
        entry = self._traces.pop(trace_id, None)
        if entry is not None:
            self._forget(trace_id, evicted=False)
        return entry

    def _forget(self, trace_id: int, *, evicted: bool) -> None:
        self._gone[trace_id] = evicted
        if len(self._gone) > self._remember:
            self._gone.popitem(last=False)

    def drain_incomplete(self) -> int:
        """Forget every trace whose root has not ended (at shutdown); return how many."""
        count = len(self._traces)
        self._traces.clear()
        return count


def completed(entry: _Entry, reason: str) -> CompletedTrace:
    assert entry.root is not None
    return CompletedTrace(trace_id=format_trace_id(entry.trace_id), spans=list(entry.spans), root=entry.root,
                          reason=reason, has_error=entry.has_error, evicted_spans=entry.evicted)
