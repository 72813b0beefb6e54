"""The ingest queue: a bounded in-memory queue of span (and log record) batches, drained into the SpanStore
by one thread.

Requests hand over a decoded batch and wait for its commit, so a 200 means
the spans are committed (they survive a crash of the server process). The writer commits what is waiting together (group
commit: several requests, one transaction), and a failed transaction fails
every batch in it, whole: a batch is stored entirely or not at all. When the
queue holds ``max_spans`` spans, :meth:`SpanWriter.submit` refuses at once
(:class:`QueueFull`) so the server answers 503 with ``Retry-After`` instead of
buffering without bound.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from valiqor_trace.store import SpanStore

logger = logging.getLogger("valiqor_trace.server")

Row = tuple[Any, ...]
_MAX_ROWS_PER_COMMIT = 8192
_CHECKPOINT_PAGES = 16_384  # 64 MB of WAL at most between checkpoints
_IDLE_CHECKPOINT_S = 0.5  # a checkpoint waits for this long a pause in the traffic


class _Batch:
    """One request's rows: spans and log records, stored together or not at all."""

    __slots__ = ("rows", "log_rows", "future", "size")

    def __init__(self, rows: Sequence[Row], log_rows: Sequence[Row], future: Future[None]) -> None:
        self.rows, self.log_rows, self.future = rows, log_rows, future
        self.size = len(rows) + len(log_rows)


class QueueFull(Exception):
    """The ingest queue is full; the caller should retry after ``retry_after_s``."""

    def __init__(self, queued_spans: int, retry_after_s: int) -> None:
        self.queued_spans = queued_spans
        self.retry_after_s = retry_after_s
        super().__init__(f"ingest queue full ({queued_spans} spans waiting); retry in {retry_after_s}s")


class SpanWriter:
    """Owns the span store's writes for the server.

    Args:
        store: where spans go.
        max_spans: most spans waiting in memory before new batches are refused.
    """

    def __init__(self, store: SpanStore, *, max_spans: int = 100_000) -> None:
        self.store = store
        self.max_spans = max_spans
        self._unchecked = False  # committed since the last checkpoint
        # Commits are most of ingest's cost when every ~4 MB of WAL triggers a checkpoint (an fsync):
        # let the WAL grow while busy, and checkpoint in the pauses.
        store.defer_checkpoints(_CHECKPOINT_PAGES)
        self._pending: deque[_Batch] = deque()
        self._queued_spans = 0
        self.refused_batches = 0  # turned away with QueueFull since start (reported by /health)
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._drain, name="valiqor-span-writer", daemon=True)
        self._thread.start()

    @property
    def queued_spans(self) -> int:
        return self._queued_spans

    def submit(self, rows: Sequence[Row], log_rows: Sequence[Row] = ()) -> Future[None]:
        """Queue one batch of span rows and log rows; its future is done when the batch is committed
        (or failed, whole). Log records count as spans toward ``max_spans``.

        Raises:
            QueueFull: back-pressure; nothing was queued.
            RuntimeError: the writer is stopped.
        """
        future: Future[None] = Future()
        with self._cond:
            if self._stopping:
                raise RuntimeError("the span writer is stopped")
            batch = _Batch(rows, log_rows, future)
            if self._queued_spans and self._queued_spans + batch.size > self.max_spans:
                self.refused_batches += 1
                raise QueueFull(self._queued_spans, retry_after_s=1)
            self._pending.append(batch)
            self._queued_spans += batch.size
            self._cond.notify()
        return future

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout_s)

    def _drain(self) -> None:
        while True:
            group = self._take_group()
            if group is None:
                return
            if not group:  # idle for a while: fold the WAL into the database now, not on a busy commit
                self._checkpoint()
                continue
            self._commit(group)
            with self._cond:
                self._queued_spans -= sum(batch.size for batch in group)

    def _take_group(self) -> list[_Batch] | None:
        """The next batches to commit together; ``[]`` when a checkpoint is due; ``None`` once stopped."""
        with self._cond:
            while not self._pending:
                if self._stopping:
                    return None
                if not self._unchecked:
                    self._cond.wait()
                elif not self._cond.wait(_IDLE_CHECKPOINT_S) and not self._pending and not self._stopping:
                    return []
            group = [self._pending.popleft()]
            size = group[0].size
            while self._pending and size + self._pending[0].size <= _MAX_ROWS_PER_COMMIT:
                group.append(self._pending.popleft())
                size += group[-1].size
            return group

    def _commit(self, group: list[_Batch]) -> None:
        rows = group[0].rows if len(group) == 1 else [row for batch in group for row in batch.rows]
        log_rows = group[0].log_rows if len(group) == 1 else [row for batch in group for row in batch.log_rows]
        try:
            self.store.write_rows(rows, logs=log_rows)  # one transaction: all of these batches, or none of them
        except Exception as exc:  # noqa: BLE001 - disk full, locked past the busy timeout...: fail these, keep serving
            logger.warning("could not store %d batch(es) (%d spans, %d log records): %s", len(group), len(rows),
                           len(log_rows), exc)
            for batch in group:
                batch.future.set_exception(exc)
            return
        self._unchecked = True
        for batch in group:
            batch.future.set_result(None)

    def _checkpoint(self) -> None:
        self._unchecked = False
        try:
            self.store.checkpoint()
        except Exception as exc:  # noqa: BLE001 - a later checkpoint (or SQLite's own) catches up
            logger.debug("idle WAL checkpoint failed: %s", exc)
