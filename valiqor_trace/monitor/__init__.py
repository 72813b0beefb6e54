"""Sampled production monitoring: analyze a share of live traces in the background, alert on failures.

``init(monitor=True)`` (or a :class:`MonitorConfig`) adds a :class:`MonitorProcessor` to the
tracer provider. This package is part of the tracing core and knows nothing of Failure Analysis:
``init()`` hands :func:`build_monitor` the default analysis (FA, from the analyzer), which the
processor builds on its worker thread when the first trace is analyzed. See ``docs/monitoring.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from valiqor_trace.monitor._buffer import CompletedTrace, MonitoredTrace, MonitorStats
from valiqor_trace.monitor._config import ENV_FIELDS, MonitorConfig, parse_monitor
from valiqor_trace.monitor._processor import MONITOR_SCOPE, VERDICT_SPAN_NAME, MonitorProcessor
from valiqor_trace.monitor._rules import SelectionRules
from valiqor_trace.monitor._sampling import (
    RecordUnsampledSampler,
    record_unsampled,
    sample_threshold,
    trace_id_selected,
)
from valiqor_trace.monitor._worker import Worker

__all__ = [
    "ENV_FIELDS",
    "MONITOR_SCOPE",
    "VERDICT_SPAN_NAME",
    "CompletedTrace",
    "MonitorConfig",
    "MonitorProcessor",
    "MonitorStats",
    "MonitoredTrace",
    "RecordUnsampledSampler",
    "SelectionRules",
    "Worker",
    "build_monitor",
    "parse_monitor",
    "record_unsampled",
    "sample_threshold",
    "trace_id_selected",
]


Analysis = Callable[[CompletedTrace], Any]
# Builds the default analysis from the processor's counters (on the worker thread; again in a forked child).
AnalysisFactory = Callable[[MonitorStats], Analysis]


class _LazyAnalysis:
    """The default analysis, built on first use on the worker thread (building it may import slow modules)."""

    def __init__(self, build: Callable[[], Analysis]) -> None:
        self._build = build
        self._analysis: Analysis | None = None
        self._lock = threading.Lock()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's analysis (SQLite connections and pipes are not shared)."""
        self._lock = threading.Lock()
        self._analysis = None

    def close(self) -> None:
        close = getattr(self._analysis, "close", None)
        if close is not None:
            close()

    def __call__(self, trace: CompletedTrace) -> Any:
        if self._analysis is None:
            with self._lock:
                if self._analysis is None:
                    self._analysis = self._build()
        return self._analysis(trace)


def build_monitor(config: MonitorConfig, *, default_analysis: AnalysisFactory) -> MonitorProcessor:
    """The processor ``init()`` adds: it runs ``config.analyze`` if given, else ``default_analysis(stats)``.

    ``default_analysis`` is called on the worker thread when the first trace is analyzed (and again in a
    forked child), with the processor's counters of that process.
    """
    holder: dict[str, MonitorProcessor] = {}

    def build() -> Analysis:
        return default_analysis(holder["processor"].stats)  # read now: a forked child has its own stats

    handler = config.analyze if config.analyze is not None else _LazyAnalysis(build)
    processor = MonitorProcessor(config, handler)
    holder["processor"] = processor
    return processor
