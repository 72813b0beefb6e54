"""The verdict of a monitoring run, recorded back into telemetry as a small span.

The ``fa.verdict`` span starts a trace of its own (the analyzed trace is finished and
may have been exported already), with a span link to the analyzed trace's local root and
``valiqor.fa.trace_id`` naming it, so it can be found from either side in any trace
backend. It is emitted under the ``valiqor_trace.monitor`` tracer, which the monitor
never buffers, analyzes or alerts on. Attributes hold no content (ids, numbers, names).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, SpanKind

from valiqor_trace.analyzer.runs import FAResult
from valiqor_trace.attributes import PROJECT_NAME
from valiqor_trace.internal import VERDICT_RUN_ID, VERSION
from valiqor_trace.monitor import MONITOR_SCOPE, VERDICT_SPAN_NAME, MonitoredTrace

# valiqor.fa.* keys of the verdict span.
FA_RUN_ID = VERDICT_RUN_ID  # "valiqor.fa.run_id": the sampler recognizes verdict spans by it
FA_TRACE_ID = "valiqor.fa.trace_id"
FA_SHOULD_ALERT = "valiqor.fa.should_alert"
FA_PRIMARY_FAILURE = "valiqor.fa.primary_failure"
FA_PRIMARY_FAILURE_NAME = "valiqor.fa.primary_failure_name"
FA_SEVERITY = "valiqor.fa.severity"
FA_CONFIDENCE = "valiqor.fa.confidence"
FA_FAILURES = "valiqor.fa.failures"
FA_FAILURE_TYPES = "valiqor.fa.failure_types"
FA_BUCKETS = "valiqor.fa.buckets"
FA_FEATURE_KIND = "valiqor.fa.feature_kind"
FA_SAMPLE_REASON = "valiqor.fa.sample_reason"
FA_STATUS = "valiqor.fa.status"


def verdict_attributes(result: FAResult, trace: MonitoredTrace) -> dict[str, Any]:
    summary = result.summary
    attributes: dict[str, Any] = {
        FA_RUN_ID: result.run_id, FA_TRACE_ID: trace.trace_id, FA_SHOULD_ALERT: summary.should_alert,
        FA_SEVERITY: float(summary.overall_severity), FA_CONFIDENCE: float(summary.overall_confidence),
        FA_FAILURES: summary.total_failures_detected,
        FA_FAILURE_TYPES: sorted({tag.subcategory_id for tag in result.failures()}),
        FA_BUCKETS: list(summary.buckets_affected), FA_SAMPLE_REASON: trace.reason, FA_STATUS: result.status,
        # filed under the analyzed trace's project, whichever process (an app, a server) recorded it
        PROJECT_NAME: result.project_name,
    }
    if summary.primary_failure:
        attributes[FA_PRIMARY_FAILURE] = summary.primary_failure
        attributes[FA_PRIMARY_FAILURE_NAME] = summary.primary_failure_name or summary.primary_failure
    if result.feature_kind:
        attributes[FA_FEATURE_KIND] = result.feature_kind
    return attributes


class VerdictRecorder:
    """Emits one ``fa.verdict`` span per analyzed trace on ``tracer_provider``."""

    def __init__(self, tracer_provider: TracerProvider) -> None:
        self._tracer = tracer_provider.get_tracer(MONITOR_SCOPE, VERSION)

    def record(self, result: FAResult, trace: MonitoredTrace) -> None:
        # The run id goes in the start attributes: RecordUnsampledSampler always samples such spans.
        span = self._tracer.start_span(VERDICT_SPAN_NAME, kind=SpanKind.INTERNAL,
                                       attributes=verdict_attributes(result, trace),
                                       links=_link_to(trace),
                                       context=_no_parent())
        span.end()


def _link_to(trace: MonitoredTrace) -> list[Link]:
    root = trace.root_context
    return [] if root is None else [Link(root, {"valiqor.link": "analyzed_trace"})]


def _no_parent() -> Any:
    """An empty context: the verdict never becomes a child of whatever span the worker thread might see."""
    from opentelemetry.context import Context

    return Context()
