"""The monitor's span processor: buffer spans, notice complete traces, decide, hand over.

On the request path (``on_end``) it only appends the finished span to its trace's buffer
under a lock: a few microseconds. A background "completer" thread waits out the grace
period after a local root span ends, applies the rules (trace-ID rule, errors, filters,
rate limit) and puts the trace on the bounded queue of the worker (:mod:`._worker`).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from valiqor_trace._content import get_content_policy
from valiqor_trace._guard import handle_internal_errors, logger, report_internal_error
from valiqor_trace._processors import policed
from valiqor_trace.monitor._buffer import CompletedTrace, MonitorStats, TraceBuffer, completed
from valiqor_trace.monitor._config import MonitorConfig
from valiqor_trace.monitor._rules import SelectionRules
from valiqor_trace.monitor._sampling import LOW_64_BITS
from valiqor_trace.monitor._worker import Worker

# Spans of this instrumentation scope (the verdicts) are never buffered, analyzed or alerted on.
MONITOR_SCOPE = "valiqor_trace.monitor"
VERDICT_SPAN_NAME = "fa.verdict"  # the one span the monitor emits under MONITOR_SCOPE (a trace of its own)
_IDLE_POLL_S = 1.0


class MonitorProcessor(SpanProcessor):
    """Sampled production monitoring, as a span processor (added by ``init(monitor=...)``).

    Args:
        config: what to analyze and how.
        handler: the analysis of one :class:`CompletedTrace` (runs on the worker thread); its
            exceptions are logged and counted, never raised.
        clock: monotonic seconds (injectable for tests of the rate limit).
    """

    def __init__(self, config: MonitorConfig, handler: Callable[[CompletedTrace], Any], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.stats = MonitorStats()
        self._clock = clock
        self._rules = SelectionRules(config, self.stats, clock=clock)
        self._bound = self._rules.bound
        self._keep_all = config.always_on_error  # an error may show up in any trace: buffer them all
        self._lock = threading.Lock()
        self._buffer = TraceBuffer(max_traces=config.max_traces_in_flight, max_spans=config.max_spans_per_trace,
                                   stats=self.stats)
        self._due: deque[tuple[float, int]] = deque()  # (hand-over time, trace id), in time order
        self._closed = False
        self._handler = handler
        self._start_threads()
        if hasattr(os, "register_at_fork"):
            reinit = weakref.WeakMethod(self._after_fork_in_child)
            os.register_at_fork(after_in_child=lambda: (method := reinit()) is not None and method())

    def _start_threads(self) -> None:
        self._wake = threading.Event()
        self._worker = Worker(self._handler, stats=self.stats, queue_size=self.config.queue_size,
                              workers=self.config.workers)
        self._completer = threading.Thread(target=self._complete_loop, name="valiqor-monitor-completer",
                                           daemon=True)
        self._completer.start()

    def _after_fork_in_child(self) -> None:
        """A forked child (gunicorn, celery prefork) gets fresh buffers, counters and threads of its own."""
        if self._closed:
            return
        self._lock = threading.Lock()
        self.stats = MonitorStats()
        self._buffer = TraceBuffer(max_traces=self.config.max_traces_in_flight,
                                   max_spans=self.config.max_spans_per_trace, stats=self.stats)
        self._due.clear()
        self._rules.after_fork(self.stats)
        reset = getattr(self._handler, "after_fork", None)
        if reset is not None:
            reset()  # the analysis reopens its run store and processes in this process
        self._start_threads()

    # -- request path --------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        # The guard's except-block form rather than handle_internal_errors(): this runs for every span of
        # the app, and a bare try costs nothing until something raises.
        try:
            self._buffer_span(span)
        except Exception:
            report_internal_error("monitor on_end")

    def _buffer_span(self, span: ReadableSpan) -> None:
        if self._closed:
            return
        scope = span.instrumentation_scope
        if scope is not None and scope.name == MONITOR_SCOPE:
            return
        trace_id = span.context.trace_id
        if not self._keep_all and (trace_id & LOW_64_BITS) >= self._bound:
            return  # never analyzed: do not hold its spans
        parent = span.parent
        is_root = parent is None or parent.is_remote
        is_error = span.status.status_code is StatusCode.ERROR
        span = policed(span, get_content_policy())  # another library's text is analyzed as it is exported
        with self._lock:
            entry = self._buffer.add(trace_id, span, is_error)
            if entry is not None and is_root:
                entry.root = span
                self._due.append((self._clock() + self.config.grace_period_s, trace_id))

    # -- background ----------------------------------------------------------------------

    def _complete_loop(self) -> None:
        while not self._closed:
            with handle_internal_errors("monitor completer"):
                wait = self._hand_over_due(flush=False)
                self._wake.wait(wait)
                self._wake.clear()

    def _hand_over_due(self, *, flush: bool) -> float:
        """Hand over every trace whose grace period is over (all, with ``flush``); return the next wait."""
        now = self._clock()
        ready = []
        with self._lock:
            while self._due and (flush or self._due[0][0] <= now):
                _, trace_id = self._due.popleft()
                entry = self._buffer.pop(trace_id)
                if entry is not None and entry.root is not None:
                    ready.append(entry)
            wait = self._due[0][0] - now if self._due else _IDLE_POLL_S
        for entry in ready:
            self._decide(entry)
        return min(max(wait, 0.005), _IDLE_POLL_S)

    def _decide(self, entry: Any) -> None:
        self.stats.add("traces_seen")
        reason = self._rules.reason(entry.trace_id, entry.has_error)
        if reason is None:
            return
        trace = completed(entry, reason)
        if not self._rules.admit(trace.project_name, (span.name for span in trace.spans)):
            return
        self.stats.add("sampled")
        if reason == "error":
            self.stats.add("sampled_on_error")
        self._worker.submit(trace)

    # -- lifecycle -----------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Hand over every completed trace now and wait for the worker to finish them."""
        self._hand_over_due(flush=True)
        return self._worker.wait_idle(timeout_millis / 1000)

    def shutdown(self, timeout_s: float | None = None) -> None:
        """Analyze what is complete (within ``shutdown_timeout_s``), drop the rest (counted). Idempotent."""
        if self._closed:
            return
        timeout = self.config.shutdown_timeout_s if timeout_s is None else timeout_s
        self._hand_over_due(flush=True)
        self._closed = True
        self._wake.set()
        with self._lock:
            incomplete = self._buffer.drain_incomplete()
        if incomplete:
            logger.debug("valiqor-trace monitor: %d traces were still open at shutdown (not analyzed)", incomplete)
        self._worker.stop(timeout)
        self._completer.join(timeout=1.0)

    def __repr__(self) -> str:
        stats = self.stats
        return (f"<MonitorProcessor sample_rate={self.config.sample_rate} sampled={stats.sampled} "
                f"analyzed={stats.analyzed} dropped={stats.dropped} alerted={stats.alerted}>")

    def pending(self) -> int:
        """Traces buffered in memory right now (complete or not)."""
        with self._lock:
            return len(self._buffer)
