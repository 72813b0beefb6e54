"""One monitoring analysis: buffered spans -> FA item -> FA run (stored) -> verdict span -> alerts.

This is the default ``handler`` of the monitor's worker (see :mod:`valiqor_trace.monitor`);
it runs on the worker thread, never on a request. The FA itself goes through the same
run executor as ``client.failure_analysis.run()`` (:func:`valiqor_trace.analyzer.runs.launch`), so a
monitoring run is stored, listed and read like any other, with ``source="monitor"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from valiqor_trace.analyzer.fa.engine import STRUCTURAL_SUBCATEGORIES, AnalysisOptions, infer_feature_kind, validate_options
from valiqor_trace.analyzer.fa.models import Thresholds
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.monitor._alerts import Alert, Alerter, Cooldown
from valiqor_trace.analyzer.monitor._verdict import VerdictRecorder
from valiqor_trace.analyzer.monitor._webhook import Webhook
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.analyzer.runs import FAResult, RunJob, RunSpec, RunStore, launch
from valiqor_trace.internal import get_content_policy, log_once
from valiqor_trace.monitor import MonitorConfig, MonitoredTrace

RunFA = Callable[[RunSpec, list[FAItem], RunStore], FAResult]


def run_fa(spec: RunSpec, items: list[FAItem], store: RunStore) -> FAResult:
    """Run FA on the calling thread through the run executor; the run is stored (``RunFailedError`` if it fails)."""
    return launch(RunJob(spec, items, store), background=False).result()


@dataclass
class MonitorOutcome:
    """What one analysis produced (returned to the worker, handy in tests)."""

    trace_id: str
    result: FAResult | None = None  # None when a feature_kinds filter skipped the trace
    alerts: list[Alert] = field(default_factory=list)


class TraceAnalysis:
    """Analyze one completed trace: reconstruct, run FA (stored), record the verdict, alert.

    Args:
        options: the FA options (validated here).
        run_store: where runs are stored.
        project_name: project of traces whose root span carries none.
        alerter: decides and delivers alerts.
        verdicts: records verdict spans (None: no verdict spans).
        stats: the monitor's counters.
        feature_kinds: analyze only traces of these kinds (None: all).
        fa: the FA step (default :func:`run_fa`); a collaborator, so tests can make it fail.
    """

    def __init__(self, *, options: AnalysisOptions, run_store: RunStore, project_name: str, alerter: Alerter,
                 verdicts: VerdictRecorder | None, stats: Any, feature_kinds: tuple[str, ...] | None = None,
                 fa: RunFA = run_fa, sample_rate: float | None = None) -> None:
        validate_options(options)
        self.options = options
        self.run_store = run_store
        self.project_name = project_name
        self.alerter = alerter
        self.verdicts = verdicts
        self.stats = stats
        self.feature_kinds = feature_kinds
        self.sample_rate = sample_rate
        self._fa = fa

    @classmethod
    def from_config(cls, config: MonitorConfig, *, tracer_provider: TracerProvider, project_name: str,
                    run_store_path: str, stats: Any, fa: RunFA = run_fa) -> TraceAnalysis:
        """The analysis ``init(monitor=...)`` uses, built from its :class:`MonitorConfig`."""
        thresholds = Thresholds(alert_severity=config.alert_severity, alert_confidence=config.alert_confidence)
        if not get_content_policy().capture:
            log_once("monitor-no-content", "valiqor-trace monitor: capture_content is off, so the spans carry no "
                     "text and only span-level failures are analyzed (%s)", ", ".join(STRUCTURAL_SUBCATEGORIES),
                     level=logging.INFO)
        options = AnalysisOptions(
            feature_kind=config.feature_kind, buckets=_list(config.buckets), subcategories=_list(config.subcategories),
            run_eval=True, run_security=True, run_scan=False, thresholds=thresholds,
            judge=_judge(project_name) if config.judge else None)
        webhook = None
        if config.webhook_url:
            webhook = Webhook(config.webhook_url, headers=config.webhook_headers, timeout_s=config.webhook_timeout_s,
                              max_attempts=config.webhook_max_attempts, backoff_s=config.webhook_backoff_s)
        run_store = RunStore(run_store_path)
        alerter = Alerter(thresholds=thresholds, cooldown=Cooldown(config.alert_cooldown_s),
                          on_alert=config.on_alert, webhook=webhook, stats=stats, record=run_store.record_alert)
        if config.executor == "process" and fa is run_fa:
            from valiqor_trace.analyzer.monitor._process import ProcessFA

            fa = ProcessFA(options, run_store_path=run_store_path, project_name=project_name,
                           processes=config.workers)
        return cls(options=options, run_store=run_store, project_name=project_name, alerter=alerter,
                   verdicts=VerdictRecorder(tracer_provider) if config.emit_verdict else None, stats=stats,
                   feature_kinds=config.feature_kinds, fa=fa, sample_rate=config.sample_rate)

    def __call__(self, trace: MonitoredTrace) -> MonitorOutcome:
        item = reconstruct_item(trace.records())
        if self.feature_kinds is not None:
            kind = self.options.feature_kind or infer_feature_kind(item)
            if kind not in self.feature_kinds:
                self.stats.add("filtered")
                return MonitorOutcome(trace.trace_id)
        spec = RunSpec(project_name=trace.project_name or self.project_name, input_type="trace", options=self.options,
                       trace_id=trace.trace_id, source="monitor", recorded_options=self._recorded(trace))
        result = self._fa(spec, [item], self.run_store)
        if self.verdicts is not None:
            self.verdicts.record(result, trace)
        alerts = self.alerter.alerts_for(result, trace.trace_id, trace.reason)
        for alert in alerts:
            self.alerter.deliver(alert)
        return MonitorOutcome(trace.trace_id, result, alerts)

    def close(self) -> None:
        """Release the run store, the webhook client and any analysis processes."""
        close_fa = getattr(self._fa, "close", None)
        if close_fa is not None:
            close_fa()
        if self.alerter.webhook is not None:
            self.alerter.webhook.close()
        self.run_store.close()

    def _recorded(self, trace: MonitoredTrace) -> dict[str, Any]:
        return {**self.options.recorded(), "judge": self.options.judge is not None,
                "monitor": {"sample_reason": trace.reason, "sample_rate": self.sample_rate,
                            "span_count": len(trace.spans), "evicted_spans": trace.evicted_spans}}


def _list(values: tuple[str, ...] | None) -> list[str] | None:
    return list(values) if values is not None else None


def _judge(project_name: str) -> Any:
    """The judge ``ValiqorClient`` would use (key, model and base URL from its settings), or None."""
    from valiqor_trace.analyzer.client import ValiqorClient

    return ValiqorClient(project_name=project_name)._judge(None)
