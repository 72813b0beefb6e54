"""The monitor's worker: a bounded queue and the thread(s) that analyze completed traces.

The analysis is a collaborator (``handler``), so it can be replaced or made to fail in
tests. Whatever it raises loses that one analysis: the error is logged with the trace ID
and counted in ``stats.failed``, and the worker takes the next trace.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from valiqor_trace._guard import log_once, logger
from valiqor_trace._suppress import suppress_instrumentation
from valiqor_trace.monitor._buffer import MonitorStats

_POLL_S = 0.1


class Worker:
    """Runs ``handler`` on each submitted trace (a :class:`MonitoredTrace`) in ``workers`` daemon threads (never
    blocks the submitter)."""

    def __init__(self, handler: Callable[[Any], Any], *, stats: MonitorStats, queue_size: int,
                 workers: int = 1) -> None:
        self._handler = handler
        self._stats = stats
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._in_progress = 0  # submitted and not finished
        self._threads = [threading.Thread(target=self._loop, name=f"valiqor-monitor-worker-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def has_room(self) -> bool:
        """Whether a trace submitted now would be queued (not dropped)."""
        return not self._stopping.is_set() and not self._queue.full()

    def submit(self, trace: Any) -> bool:
        """Queue ``trace``; False (and counted as dropped) when the queue is full or the worker stopped."""
        if self._stopping.is_set():
            self._stats.add("dropped")
            return False
        with self._idle:
            self._in_progress += 1
        try:
            self._queue.put_nowait(trace)
        except queue.Full:
            self._finished()
            self._stats.add("dropped")
            log_once("monitor-queue-full", "valiqor-trace monitor: the analysis queue is full (%d traces); dropping "
                     "traces (counted in handle.monitor.stats.dropped). Lower sample_rate or raise queue_size.",
                     self._queue.maxsize)
            return False
        return True

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                trace = self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            try:
                self._run(trace)
            finally:
                self._finished()

    def _run(self, trace: Any) -> None:
        try:
            # The analysis' own I/O (run store, judge, webhook) must never be traced into the app's traces.
            with suppress_instrumentation():
                self._handler(trace)
        except Exception as exc:  # noqa: BLE001 - one analysis is lost, whatever it raised; the monitor goes on
            self._stats.add("failed")
            logger.error("valiqor-trace monitor: the analysis of trace %s failed (%s: %s); it is skipped and "
                         "counted in handle.monitor.stats.failed", trace.trace_id, type(exc).__name__, exc)
            log_once(f"monitor-failed:{type(exc).__name__}", "valiqor-trace monitor: first %s traceback",
                     type(exc).__name__, level=logging.DEBUG, exc_info=True)
        else:
            self._stats.add("analyzed")

    def _finished(self) -> None:
        with self._idle:
            self._in_progress -= 1
            if self._in_progress <= 0:
                self._idle.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every submitted trace is finished; False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._in_progress > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def stop(self, timeout_s: float) -> None:
        """Finish queued traces for up to ``timeout_s``, then stop; what is left is counted as dropped."""
        self.wait_idle(timeout_s)
        self._stopping.set()
        left = 0
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
            left += 1
            self._finished()
        if left:
            self._stats.add("dropped", left)
            logger.warning("valiqor-trace monitor: shutdown timed out; %d queued traces were not analyzed", left)
        for thread in self._threads:
            thread.join(timeout=0.5)  # daemon threads: an analysis still running never holds up exit
        close = getattr(self._handler, "close", None)
        if close is not None and not any(thread.is_alive() for thread in self._threads):
            try:
                close()  # the analysis' resources (run store, webhook client, analysis processes)
            except Exception as exc:  # noqa: BLE001 - shutdown must finish
                logger.warning("valiqor-trace monitor: closing the analysis failed: %s", exc)
