"""Sampled production monitoring: analyze a share of live traces in the background, alert on failures.

``init(monitor=True)`` (or a :class:`MonitorConfig`) adds a :class:`MonitorProcessor` to the
tracer provider. Nothing here imports the analyzer: the default analysis
(:mod:`valiqor_trace.analyzer.monitor`) is imported on the worker thread, when the first trace is analyzed.
See ``docs/monitoring.md``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from valiqor_trace.monitor._buffer import CompletedTrace, MonitorStats
from valiqor_trace.monitor._config import ENV_FIELDS, MonitorConfig, parse_monitor
from valiqor_trace.monitor._processor import MONITOR_SCOPE, MonitorProcessor
from valiqor_trace.monitor._sampling import (
    RecordUnsampledSampler,
    record_unsampled,
    sample_threshold,
    trace_id_selected,
)

__all__ = [
    "ENV_FIELDS",
    "MONITOR_SCOPE",
    "CompletedTrace",
    "MonitorConfig",
    "MonitorProcessor",
    "MonitorStats",
    "RecordUnsampledSampler",
    "build_monitor",
    "parse_monitor",
    "record_unsampled",
    "sample_threshold",
    "trace_id_selected",
]


class _LazyAnalysis:
    """The built-in analysis, built on first use on the worker thread (the import of the analyzer is slow)."""

    def __init__(self, build: Callable[[], Callable[[CompletedTrace], Any]]) -> None:
        self._build = build
        self._analysis: Callable[[CompletedTrace], Any] | None = None
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


def build_monitor(config: MonitorConfig, *, tracer_provider: TracerProvider, project_name: str,
                  home: str) -> MonitorProcessor:
    """The processor ``init()`` adds: ``config.analyze`` if given, else FA via :mod:`valiqor_trace.analyzer.monitor`."""
    holder: dict[str, MonitorProcessor] = {}

    def build() -> Callable[[CompletedTrace], Any]:
        from valiqor_trace.analyzer.monitor import TraceAnalysis

        return TraceAnalysis.from_config(  # reads the processor's stats now: a forked child has its own
            config, tracer_provider=tracer_provider, project_name=project_name,
            run_store_path=config.run_store_path or os.path.join(home, "runs.db"), stats=holder["processor"].stats)

    if config.webhook_url and config.analyze is None:
        # Imported on this (the init) thread, not by the worker: app threads may read a module from
        # sys.modules while another thread is still importing it (the openai SDK does so for httpx).
        import httpx  # noqa: F401

    handler = config.analyze if config.analyze is not None else _LazyAnalysis(build)
    processor = MonitorProcessor(config, handler)
    holder["processor"] = processor
    return processor
