"""Which completed traces monitoring analyzes: the sample reason, the filters and the rate limit.

Shared by the in-app processor and the server's monitoring on ingest, so both decide alike:
the trace-ID rule or an error span gives the reason, then ``projects``/``span_names`` filter
and ``max_per_minute`` limits (each skip counted in the monitor's stats).
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from valiqor_trace._guard import log_once
from valiqor_trace.monitor._buffer import MonitorStats
from valiqor_trace.monitor._config import MonitorConfig
from valiqor_trace.monitor._sampling import LOW_64_BITS, sample_threshold


class SelectionRules:
    """The decisions of :class:`~valiqor_trace.monitor.MonitorConfig` on one trace, with their counters.

    Args:
        config: the rules.
        stats: counts ``filtered`` and ``rate_limited``.
        clock: monotonic seconds (the rate limit's window).
    """

    def __init__(self, config: MonitorConfig, stats: MonitorStats, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.stats = stats
        self.bound = sample_threshold(config.sample_rate)
        self._clock = clock
        self._starts: deque[float] = deque()  # analysis start times within the last minute
        self._lock = threading.Lock()

    def reason(self, trace_id: int, has_error: bool) -> str | None:
        """``sampled`` (the trace-ID rule), ``error`` (an error span, with ``always_on_error``), or None."""
        if (trace_id & LOW_64_BITS) < self.bound:
            return "sampled"
        if self.config.always_on_error and has_error:
            return "error"
        return None

    def admit(self, project_name: str | None, span_names: Iterable[str]) -> bool:
        """Whether a selected trace passes the filters and the rate limit (a skip is counted)."""
        if not self.passes_filters(project_name, span_names):
            self.stats.add("filtered")
            return False
        if not self._take_rate_slot():
            self.stats.add("rate_limited")
            log_once("monitor-rate-limited", "valiqor-trace monitor: max_per_minute=%s reached; further traces are "
                     "skipped (counted as rate_limited)", self.config.max_per_minute)
            return False
        return True

    def passes_filters(self, project_name: str | None, span_names: Iterable[str]) -> bool:
        config = self.config
        if config.projects is not None and project_name not in config.projects:
            return False
        if config.span_names is not None:
            patterns = config.span_names
            if not any(fnmatch.fnmatchcase(name, pattern) for name in span_names for pattern in patterns):
                return False
        return True  # feature_kinds needs the reconstructed item: the analysis applies it

    def _take_rate_slot(self) -> bool:
        limit = self.config.max_per_minute
        if limit is None:
            return True
        now = self._clock()
        with self._lock:
            while self._starts and self._starts[0] <= now - 60.0:
                self._starts.popleft()
            if len(self._starts) >= limit:
                return False
            self._starts.append(now)
            return True

    def after_fork(self, stats: MonitorStats) -> None:
        """In a forked child: fresh counters and lock, an empty rate window."""
        self.stats = stats
        self._lock = threading.Lock()
        self._starts.clear()
