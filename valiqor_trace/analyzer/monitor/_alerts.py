"""Alerts of monitoring: which failures alert, the per-failure-type cooldown, and delivery.

A run alerts when its ``summary.should_alert`` holds: some failing tag reaches the alert
severity and confidence. Each *failure type* (subcategory) among those tags becomes one
:class:`Alert`, unless the same type (in the same project) alerted less than
``alert_cooldown_s`` ago: then it is suppressed and counted, and the next alert of that
type says how many were held back. One outage therefore sends one alert per failure
type per cooldown, not one per request.

Delivery, in order: a log line (WARNING, logger ``valiqor_trace.monitor``), the
``on_alert`` callback, the webhook. A failing callback or webhook is logged and counted
in ``stats.alert_failures``; it never stops the monitor.

Each decision (sent, suppressed by the cooldown, failed on some channel) is handed to ``record``
(the monitor stores it in the run store's ``alerts`` table for the monitoring page); it carries the
channels' names only, never the webhook URL or its headers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from valiqor_trace.analyzer.fa.models import FailureTag, Thresholds
from valiqor_trace.analyzer.runs import AlertRecord, FAResult
from valiqor_trace.analyzer.runs._models import AlertOutcome

logger = logging.getLogger("valiqor_trace.monitor")


class Alert(BaseModel):
    """One alert: a failure type seen in one analyzed trace (the webhook's JSON body is ``to_payload()``)."""

    failure_type: str  # subcategory id, e.g. "tool_error"
    failure_name: str
    bucket_id: str
    severity: float
    confidence: float
    trace_id: str
    run_id: str
    project_name: str
    feature_kind: str | None = None
    sample_reason: str  # sampled | error
    failures: list[dict[str, Any]] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    suppressed_since_last: int = 0  # alerts of this type held back by the cooldown since the previous one
    cooldown_s: float
    created_at: str

    def to_payload(self) -> dict[str, Any]:
        return {"type": "valiqor.fa.alert", **self.model_dump(mode="json")}

    def message(self) -> str:
        return (f"valiqor monitor alert: {self.bucket_id}/{self.failure_type} ({self.failure_name}) severity "
                f"{self.severity:g} confidence {self.confidence:g} in trace {self.trace_id} of project "
                f"{self.project_name} (run {self.run_id})")


def alerting_tags(result: FAResult, thresholds: Thresholds) -> list[FailureTag]:
    """The failing tags that make ``summary.should_alert`` true."""
    return [tag for tag in result.failures()
            if tag.severity >= thresholds.alert_severity and tag.confidence >= thresholds.alert_confidence]


def _failure(tag: FailureTag) -> dict[str, Any]:
    return {"tag_id": tag.tag_id, "bucket_id": tag.bucket_id, "subcategory_id": tag.subcategory_id,
            "subcategory_name": tag.subcategory_name, "severity": tag.severity, "confidence": tag.confidence,
            "detector": tag.detector, "rationale": tag.judge_rationale,
            "span_ids": sorted({e.span_id for e in tag.evidence_items if e.span_id})}


class Cooldown:
    """Per-key cooldown: ``allow(key)`` is True at most once per ``seconds``; counts what it holds back."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def allow(self, key: tuple[str, str]) -> tuple[bool, int]:
        """(may alert now, how many were held back since the last alert of ``key``)."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.seconds:
                self._held[key] = self._held.get(key, 0) + 1
                return False, 0
            self._last[key] = now
            return True, self._held.pop(key, 0)


class Alerter:
    """Turns a monitoring run into alerts and delivers them.

    Args:
        thresholds: when a failing tag alerts.
        cooldown: the per-failure-type cooldown.
        on_alert: optional callback receiving each :class:`Alert`.
        webhook: optional :class:`~valiqor_trace.analyzer.monitor._webhook.Webhook`.
        stats: the monitor's counters (``alerted``, ``alerts_suppressed``, ``alert_failures``).
        record: optional sink of each decision as an :class:`AlertRecord` (e.g. ``RunStore.record_alert``);
            a failing sink is logged, never raised.
    """

    def __init__(self, *, thresholds: Thresholds, cooldown: Cooldown, on_alert: Callable[[Alert], Any] | None,
                 webhook: Any, stats: Any, record: Callable[[AlertRecord], Any] | None = None) -> None:
        self.thresholds = thresholds
        self.cooldown = cooldown
        self.on_alert = on_alert
        self.webhook = webhook
        self.stats = stats
        self.record = record
        self.channel = ",".join(["log", *(["callback"] if on_alert is not None else []),
                                 *(["webhook"] if webhook is not None else [])])

    def alerts_for(self, result: FAResult, trace_id: str, sample_reason: str) -> list[Alert]:
        """The alerts this run fires now (after the cooldown); suppressed ones are counted."""
        if not result.summary.should_alert:
            return []
        by_type: dict[str, list[FailureTag]] = {}
        for tag in alerting_tags(result, self.thresholds):
            by_type.setdefault(tag.subcategory_id, []).append(tag)
        alerts = []
        for failure_type, tags in by_type.items():
            allowed, held = self.cooldown.allow((result.project_name, failure_type))
            worst = max(tags, key=lambda tag: (tag.severity, tag.confidence))
            if not allowed:
                self.stats.add("alerts_suppressed")
                self._record(result.project_name, result.run_id, trace_id, worst, "suppressed")
                continue
            alerts.append(Alert(
                failure_type=failure_type, failure_name=worst.subcategory_name, bucket_id=worst.bucket_id,
                severity=worst.severity, confidence=worst.confidence, trace_id=trace_id, run_id=result.run_id,
                project_name=result.project_name, feature_kind=result.feature_kind, sample_reason=sample_reason,
                failures=[_failure(tag) for tag in tags], summary=_summary(result), suppressed_since_last=held,
                cooldown_s=self.cooldown.seconds, created_at=datetime.now(timezone.utc).isoformat()))
        return alerts

    def deliver(self, alert: Alert) -> None:
        """Log, call back, POST; count failures; record the outcome; never raise."""
        self.stats.add("alerted")
        logger.warning("%s", alert.message())
        delivered = True
        if self.on_alert is not None:
            try:
                self.on_alert(alert)
            except Exception as exc:  # noqa: BLE001 - the user's callback may raise anything; the monitor goes on
                self.stats.add("alert_failures")
                delivered = False
                logger.error("valiqor monitor: on_alert raised %s: %s (alert for trace %s)", type(exc).__name__,
                             exc, alert.trace_id)
        if self.webhook is not None and not self.webhook.post(alert.to_payload()):
            self.stats.add("alert_failures")
            delivered = False
        self._store(AlertRecord(
            created_at=alert.created_at, created_ns=time.time_ns(), project_name=alert.project_name,
            run_id=alert.run_id, trace_id=alert.trace_id, subcategory_id=alert.failure_type,
            subcategory_name=alert.failure_name, severity=alert.severity, channel=self.channel,
            outcome="sent" if delivered else "failed"))

    def _record(self, project_name: str, run_id: str, trace_id: str, tag: FailureTag, outcome: AlertOutcome) -> None:
        now_ns = time.time_ns()
        self._store(AlertRecord(
            created_at=datetime.fromtimestamp(now_ns / 1e9, timezone.utc).isoformat(), created_ns=now_ns,
            project_name=project_name, run_id=run_id, trace_id=trace_id, subcategory_id=tag.subcategory_id,
            subcategory_name=tag.subcategory_name, severity=tag.severity, channel=self.channel,
            outcome=outcome))

    def _store(self, record: AlertRecord) -> None:
        if self.record is None:
            return
        try:
            self.record(record)
        except Exception as exc:  # noqa: BLE001 - a full disk or locked store must not stop the alerts
            logger.error("valiqor monitor: could not store an alert (%s: %s)", type(exc).__name__, exc)


def _summary(result: FAResult) -> dict[str, Any]:
    summary = result.summary
    return {"should_alert": summary.should_alert, "overall_severity": summary.overall_severity,
            "overall_confidence": summary.overall_confidence, "primary_failure": summary.primary_failure,
            "primary_failure_name": summary.primary_failure_name,
            "total_failures_detected": summary.total_failures_detected,
            "buckets_affected": summary.buckets_affected}
