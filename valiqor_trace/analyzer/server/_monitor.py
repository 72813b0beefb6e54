"""Monitoring on ingest (``valiqor serve --monitor``): analyze a share of the traces the server receives.

The same decisions, analysis, verdicts and alerts as in-app monitoring (``docs/monitoring.md``), fed from
the span store instead of an app's memory, so apps in any language that export OTLP are monitored. A
background thread of the server looks at the store every ``poll_s`` (never the ingest path): a trace is
complete when its root span (no parent) is stored and nothing of it arrived for ``grace_period_s``; a
trace whose root never arrives is taken once nothing of it arrived for the server's ``trace_timeout_s``,
as ``run(trace_id=...)`` takes it (analyzed without its root). Servers sharing one database claim each
trace in the store's ``monitor_claims`` table before analyzing it, so it is analyzed once, whichever
servers its spans reached; a claim is a lease until the analysis ends, so a server killed with claimed
traces still queued leaves them to another when the lease (10 minutes) runs out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from valiqor_trace.analyzer.monitor import StoredTrace, TraceAnalysis
from valiqor_trace.internal import handle_internal_errors
from valiqor_trace.monitor import MonitorConfig, MonitorStats, SelectionRules, Worker
from valiqor_trace.store import MonitorCandidate, SpanStore, StoreSpanExporter

logger = logging.getLogger("valiqor_trace.server")
_BATCH = 100  # traces decided per look at the store: bounded work per tick
# A trace whose spans arrived shortly before this server started may still be waiting for its
# decision (its server stopped, or it restarted): look back this far once.
_LOOKBACK_S = 300.0
# Arrival times are stamped by whichever server stored the spans: allow for their clocks and commits.
_CLOCK_MARGIN_S = 5.0


class IngestMonitor:
    """The server's monitor: finds complete traces in the store, claims them, and analyzes them in the background.

    Args:
        config: the same settings as in-app monitoring (``run_store_path`` defaults to the server's run store).
        store_file: the span store (SQLite file or PostgreSQL URL); the monitor opens its own connection.
        run_store_file: where runs go unless ``config.run_store_path`` says otherwise.
        project_name: project of traces whose root span names none.
        rootless_after_s: how long after its last span a trace without a root span is taken as it is.
        clock_ns: wall-clock nanoseconds (arrival times are wall-clock); injectable for tests.
    """

    def __init__(self, config: MonitorConfig, *, store_file: str, run_store_file: str, project_name: str,
                 rootless_after_s: float, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.config = config
        self.stats = MonitorStats()
        self._rules = SelectionRules(config, self.stats)
        self._clock_ns = clock_ns
        self._store = SpanStore(store_file)
        # Verdict spans go into the store, where `traces list --all` and the web UI show them.
        self._provider = TracerProvider(resource=Resource.create({"service.name": "valiqor-serve"}))
        self._provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(self._store,
                                                                                default_project=project_name)))
        handler: Callable[[Any], Any] = config.analyze or TraceAnalysis.from_config(
            config, tracer_provider=self._provider, project_name=project_name,
            run_store_path=config.run_store_path or run_store_file, stats=self.stats)
        self._worker = Worker(self._finishing(handler), stats=self.stats, queue_size=config.queue_size,
                              workers=config.workers)
        self._grace_ns = int(config.grace_period_s * 1e9)
        self._rootless_ns = int(max(rootless_after_s, config.grace_period_s) * 1e9)
        self._floor_ns = clock_ns() - self._rootless_ns - int(_LOOKBACK_S * 1e9)
        self.poll_s = min(max(config.grace_period_s / 2, 0.05), 1.0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="valiqor-serve-monitor", daemon=True)
        self._thread.start()

    def _finishing(self, handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``handler`` that ends the trace's claim when its analysis ends, whatever the outcome: until then
        the claim is a lease another server takes over if this one dies."""
        def handle(trace: StoredTrace) -> Any:
            try:
                return handler(trace)
            finally:
                with handle_internal_errors("monitoring on ingest: ending a claim"):
                    self._store.finish_claim(trace.trace_id)
        return handle

    def _loop(self) -> None:
        while not self._stopping.wait(self.poll_s):
            with handle_internal_errors("monitoring on ingest"):
                self.tick()

    def tick(self) -> int:
        """Decide the traces that are complete now (at most ``_BATCH``); return how many were handed over."""
        now = self._clock_ns()
        candidates = self._store.monitor_candidates(
            arrived_after_ns=self._floor_ns, quiet_since_ns=now - self._grace_ns,
            rootless_quiet_since_ns=now - self._rootless_ns, sample_bound=self._rules.bound,
            errors=self.config.always_on_error, limit=_BATCH, now_ns=now)
        handed = 0
        for candidate in candidates:
            if not self._worker.has_room():
                return handed  # the rest wait, unclaimed, for the next tick or another server
            handed += self._decide(candidate)
        if len(candidates) < _BATCH:
            # Every trace that went quiet before this has been decided: later looks start here.
            self._floor_ns = max(self._floor_ns, now - self._rootless_ns - int(_CLOCK_MARGIN_S * 1e9))
        return handed

    def _decide(self, candidate: MonitorCandidate) -> int:
        reason = self._rules.reason(int(candidate.trace_id, 16), candidate.has_error)
        if reason is None or not self._store.claim_trace(candidate.trace_id, reason, now_ns=self._clock_ns()):
            return 0  # another server claimed it first
        self.stats.add("traces_seen")
        trace = StoredTrace(candidate.trace_id, self._store.get_trace(candidate.trace_id), reason,
                            candidate.has_error)
        if not self._rules.admit(trace.project_name, (span.name for span in trace.spans)):
            self._store.finish_claim(candidate.trace_id)  # decided: not analyzed
            return 0
        self.stats.add("sampled")
        if reason == "error":
            self.stats.add("sampled_on_error")
        if self._worker.submit(trace):
            return 1
        self._store.finish_claim(candidate.trace_id, decided=False)  # the queue filled up: decided again later
        return 0

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the analyses handed over so far are finished (tests, scripts)."""
        return self._worker.wait_idle(timeout_s)

    def close(self) -> None:
        """Stop looking, finish queued analyses (up to ``shutdown_timeout_s``), close the stores. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join(timeout=5.0)
        self._worker.stop(self.config.shutdown_timeout_s)
        self._provider.shutdown()  # closes the monitor's span store too
