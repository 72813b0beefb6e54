"""Deleting the traces whose newest activity is older than a cutoff: their spans, log records and summary
row together, a few thousand spans per transaction (see :mod:`valiqor_trace.store._retention`).

A trace's newest activity is the later of its last span's end and the last arrival of its spans, so a trace
that started long ago but got a span lately stays whole, and a file imported today is kept as long as
spans that arrived today. Log records whose trace has no span stored (spans sampled out, or sent
elsewhere) go by their own time.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable

from valiqor_trace.store._database import Database
from valiqor_trace.store._retention import DEFAULT_BATCH, Pruned, chunks_by_rows, delete_older, pause_for_writers

_NO_TRACE = "NOT EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = logs.trace_id)"


def last_activity(db: Database) -> str:
    """SQL of a ``traces`` row's newest activity (ns): its end, or its last arrival when that is later."""
    return db.greatest("COALESCE(end_ns, start_ns)", "COALESCE(last_arrival_ns, 0)")


def prune_traces(db: Database, lock: threading.Lock, older_than_ns: int, *, trace_locks: int,
                 batch: int = DEFAULT_BATCH, dry_run: bool = False,
                 stop: Callable[[], bool] | None = None) -> Pruned:
    """Delete (``dry_run``: count) the traces last active before ``older_than_ns``; see the module doc.

    ``trace_locks`` is the span store's number of per-trace advisory locks (PostgreSQL): a prune holds the
    locks of the traces it deletes, so a span of one of them arriving meanwhile waits, then starts the
    trace anew, and a trace that got a span just before is seen as active and kept.
    """
    old = f"start_ns < ? AND {last_activity(db)} < ?"  # start_ns first: the index on it finds the candidates
    if dry_run:
        with lock:
            traces, spans = db.execute(f"SELECT COUNT(*), COALESCE(SUM(span_count), 0) FROM traces WHERE {old}",
                                       (older_than_ns, older_than_ns)).fetchone()
            logs = db.execute(f"SELECT COUNT(*) FROM logs WHERE EXISTS (SELECT 1 FROM traces t WHERE "
                              f"t.trace_id = logs.trace_id AND {old})",  # logs has none of old's columns
                              (older_than_ns, older_than_ns)).fetchone()[0]
        logs += delete_older(db, lock, "logs", "time_ns", older_than_ns, also=_NO_TRACE, dry_run=True)
        return Pruned({"traces": int(traces), "spans": int(spans), "logs": int(logs)}, dry_run=True)
    counts = {"traces": 0, "spans": 0, "logs": 0}
    while not (stop and stop()):
        with lock:
            candidates = [(row[0], max(int(row[1]), 1)) for row in db.execute(
                f"SELECT trace_id, span_count FROM traces WHERE {old} ORDER BY start_ns LIMIT ?",
                (older_than_ns, older_than_ns, batch)).fetchall()]
        if not candidates:
            break
        for trace_ids in chunks_by_rows(candidates, batch):
            if stop and stop():
                break
            _delete_traces(db, lock, trace_ids, old, older_than_ns, trace_locks, counts)
            pause_for_writers()
    counts["logs"] += delete_older(db, lock, "logs", "time_ns", older_than_ns, batch=batch, also=_NO_TRACE,
                                   stop=stop)
    return Pruned(counts)


def _delete_traces(db: Database, lock: threading.Lock, trace_ids: list[str], old: str, older_than_ns: int,
                   trace_locks: int, counts: dict[str, int]) -> None:
    with lock, db.transaction():
        db.lock(*{f"trace:{zlib.crc32(trace_id.encode()) % trace_locks}" for trace_id in trace_ids})
        # looked at again under the locks: a span may have arrived since the candidates were read
        in_ids, ids = db.in_list("trace_id", trace_ids)
        still_old = [row[0] for row in db.execute(f"SELECT trace_id FROM traces WHERE {in_ids} AND {old}",
                                                  (ids, older_than_ns, older_than_ns)).fetchall()]
        if not still_old:
            return
        in_old, old_ids = db.in_list("trace_id", still_old)
        counts["spans"] += db.execute(f"DELETE FROM spans WHERE {in_old}", (old_ids,)).rowcount
        counts["logs"] += db.execute(f"DELETE FROM logs WHERE {in_old}", (old_ids,)).rowcount
        counts["traces"] += db.execute(f"DELETE FROM traces WHERE {in_old}", (old_ids,)).rowcount
        db.execute(f"DELETE FROM monitor_claims WHERE {in_old}", (old_ids,))  # the monitor's note that it took one
