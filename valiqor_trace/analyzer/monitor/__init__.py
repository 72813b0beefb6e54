"""The analysis side of sampled production monitoring (the processor is in :mod:`valiqor_trace.monitor`).

The core's monitor knows nothing of FA: ``init()`` hands its processor a factory that imports this
package on the worker thread at the first trace and builds :class:`TraceAnalysis` (``from_config``),
which the worker then calls with each completed trace: reconstruct the FA item from the
buffered spans, run FA through the run executor (stored with ``source="monitor"`` and the
trace ID), record a ``fa.verdict`` span, and fire alerts (log line, callback, webhook)
with a per-failure-type cooldown. See ``docs/monitoring.md``.
"""

from __future__ import annotations

from valiqor_trace.analyzer.monitor._alerts import Alert, Alerter, Cooldown, alerting_tags
from valiqor_trace.analyzer.monitor._analysis import MonitorOutcome, TraceAnalysis, run_fa
from valiqor_trace.analyzer.monitor._stored import StoredTrace
from valiqor_trace.analyzer.monitor._verdict import VERDICT_SPAN_NAME, VerdictRecorder, verdict_attributes
from valiqor_trace.analyzer.monitor._webhook import Webhook

__all__ = [
    "VERDICT_SPAN_NAME",
    "Alert",
    "Alerter",
    "Cooldown",
    "MonitorOutcome",
    "StoredTrace",
    "TraceAnalysis",
    "VerdictRecorder",
    "Webhook",
    "alerting_tags",
    "run_fa",
    "verdict_attributes",
]
