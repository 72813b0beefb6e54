"""Deleting what the run store holds past a cutoff: finished runs with their inputs and tags (the
production monitor's verdict runs among them), alert decisions, judge-cache entries and rate-limit events,
a few thousand rows per transaction (see ``valiqor_trace.internal.delete_older``).

A run goes whole (row, inputs, tags in one transaction) and only once it has ended: a queued or running job
stays whatever its age, for its worker to finish. A judge-cache entry goes by when its verdict was stored
(a hit does not refresh it): it is asked again when needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from valiqor_trace.internal import DEFAULT_BATCH, Pruned, chunks_by_rows, delete_older, pause_for_writers

if TYPE_CHECKING:
    from valiqor_trace.internal import Database

_ENDED = "status NOT IN ('queued', 'running')"
# time-keyed tables: (table, its time column), each indexed on it (run-store migration "9")
_BY_TIME = (("alerts", "created_ns"), ("judge_cache", "created_ns"), ("rate_events", "at_ns"))


def prune_runs(db: Database, lock: threading.Lock, older_than_ns: int, *, batch: int = DEFAULT_BATCH,
               dry_run: bool = False, stop: Callable[[], bool] | None = None) -> Pruned:
    """Delete (``dry_run``: count) what was created before ``older_than_ns``; see the module doc."""
    old = f"created_ns < ? AND {_ENDED}"
    if dry_run:
        counts = {"runs": _count(db, lock, f"SELECT COUNT(*) FROM runs WHERE {old}", older_than_ns)}
        for child in ("run_inputs", "tags"):
            counts[child] = _count(db, lock, f"SELECT COUNT(*) FROM {child} c WHERE EXISTS (SELECT 1 FROM runs "
                                             f"WHERE runs.run_id = c.run_id AND {old})", older_than_ns)
    else:
        counts = {"runs": 0, "run_inputs": 0, "tags": 0}
        while not (stop and stop()):
            with lock:  # rows per run: its inputs (one per item) and tags, counted through the run index
                candidates = [(row[0], 1 + int(row[1]) + int(row[2])) for row in db.execute(
                    f"SELECT run_id, total_items, (SELECT COUNT(*) FROM tags t WHERE t.run_id = runs.run_id) "
                    f"FROM runs WHERE {old} ORDER BY created_ns LIMIT ?", (older_than_ns, batch)).fetchall()]
            if not candidates:
                break
            for run_ids in chunks_by_rows(candidates, batch):
                _delete_runs(db, lock, run_ids, counts)
                pause_for_writers()
    for table, column in _BY_TIME:
        counts[table] = delete_older(db, lock, table, column, older_than_ns, batch=batch, dry_run=dry_run,
                                     stop=stop)
    return Pruned(counts, dry_run=dry_run)


def _delete_runs(db: Database, lock: threading.Lock, run_ids: list[str], counts: dict[str, int]) -> None:
    with lock, db.transaction():
        # looked at again inside the transaction: a job queued again meanwhile (a lease) must keep its tags
        in_candidates, candidates = db.in_list("run_id", run_ids)
        ended = [row[0] for row in db.execute(f"SELECT run_id FROM runs WHERE {in_candidates} AND {_ENDED}",
                                              (candidates,)).fetchall()]
        if not ended:
            return
        in_runs, ids = db.in_list("run_id", ended)  # children first: PostgreSQL enforces their references
        counts["tags"] += db.execute(f"DELETE FROM tags WHERE {in_runs}", (ids,)).rowcount
        counts["run_inputs"] += db.execute(f"DELETE FROM run_inputs WHERE {in_runs}", (ids,)).rowcount
        counts["runs"] += db.execute(f"DELETE FROM runs WHERE {in_runs}", (ids,)).rowcount


def _count(db: Database, lock: threading.Lock, sql: str, older_than_ns: int) -> int:
    with lock:
        return int(db.execute(sql, (older_than_ns,)).fetchone()[0])
