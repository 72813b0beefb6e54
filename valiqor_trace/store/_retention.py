"""Retention: deleting what is older than a cutoff in small batches, giving the space back, and doing it
now and then on a thread of its own.

Every batch is its own short transaction (a few thousand rows at most), so writers — OTLP ingest, the
app's exporter — wait at most one batch for a prune, never for all of it. On SQLite the freed pages go
back to the file system through ``PRAGMA incremental_vacuum`` on stores created with
``auto_vacuum = INCREMENTAL`` (every store created since this release; an older one keeps its size until
a one-off ``VACUUM`` converts it: ``valiqor traces prune --vacuum``). On PostgreSQL plain batched
``DELETE`` s leave dead rows that autovacuum makes reusable; why not time partitions: docs/deploy.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from valiqor_trace._guard import should_raise
from valiqor_trace.store._database import Database

DEFAULT_BATCH = 1000  # rows per transaction: tens of ms of a SQLite writer's time at most
# A pause between batches: a thread waiting for the store's lock (the server's span writer) gets it, instead
# of losing every race to the prune's next batch (Python's locks are not first come, first served).
_PAUSE_S = 0.005
NS_PER_DAY = 86_400 * 10**9
_VACUUM_STEP_PAGES = 1024  # pages given back per step (4 MiB at the default page size), the lock freed between
logger = logging.getLogger("valiqor_trace.retention")


@dataclass(frozen=True)
class Pruned:
    """What a prune deleted (or, for a dry run, would delete): rows per table, in the order they were named.

    Attributes:
        rows: table -> rows, e.g. ``{"traces": 3, "spans": 120, "logs": 4}``.
        dry_run: nothing was deleted; ``rows`` is what would be.
    """

    rows: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def __add__(self, other: Pruned) -> Pruned:
        return Pruned({**self.rows, **other.rows}, dry_run=self.dry_run or other.dry_run)

    def __str__(self) -> str:
        return ", ".join(f"{count} {table}" for table, count in self.rows.items())


def cutoff_of_days(days: float, *, now_ns: int | None = None) -> int:
    """The cutoff (ns since the epoch) of a retention of ``days``: what is older goes."""
    return (time.time_ns() if now_ns is None else now_ns) - int(days * NS_PER_DAY)


def chunks_by_rows(candidates: Sequence[tuple[str, int]], batch: int) -> Iterator[list[str]]:
    """Group ``(key, rows)`` pairs so each group holds about ``batch`` rows (a bigger one alone, whole)."""
    group: list[str] = []
    rows = 0
    for key, count in candidates:
        if group and rows + count > batch:
            yield group
            group, rows = [], 0
        group.append(key)
        rows += count
    if group:
        yield group


def pause_for_writers() -> None:
    """Between two batches of a prune: let a writer that waits for the store go first."""
    time.sleep(_PAUSE_S)


def delete_older(db: Database, lock: threading.Lock, table: str, column: str, cutoff_ns: int, *,
                 batch: int = DEFAULT_BATCH, dry_run: bool = False, also: str = "",
                 stop: Callable[[], bool] | None = None) -> int:
    """Delete ``table``'s rows whose ``column`` (a time in ns, indexed) is older than ``cutoff_ns``, the
    oldest ``batch`` at a time, each batch one statement; return how many (a dry run: how many would go).

    ``also`` is an extra SQL condition on the rows (with no parameters). Batches are cut by time, not by a
    row id (which PostgreSQL lacks): each deletes up to the ``batch``-th oldest time, so rows that share
    it go together.
    """
    condition = f"{column} < ?" + (f" AND {also}" if also else "")
    if dry_run:
        with lock:
            return int(db.execute(f"SELECT COUNT(*) FROM {table} WHERE {condition}", (cutoff_ns,)).fetchone()[0])
    deleted = 0
    while not (stop and stop()):
        with lock:
            count = db.execute(
                f"DELETE FROM {table} WHERE {condition} AND {column} <= (SELECT MAX({column}) FROM "
                f"(SELECT {column} FROM {table} WHERE {condition} ORDER BY {column} LIMIT ?) oldest)",
                (cutoff_ns, cutoff_ns, batch)).rowcount
        deleted += max(count, 0)
        if count <= 0:
            break
        pause_for_writers()
    return deleted


def reclaim_space(db: Database, lock: threading.Lock, *, stop: Callable[[], bool] | None = None) -> int:
    """SQLite with incremental auto-vacuum: give the pages a prune freed back to the file system, a step
    at a time; return how many. Elsewhere nothing (PostgreSQL: autovacuum makes the space reusable)."""
    if db.dialect != "sqlite":
        return 0
    with lock:
        if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # 2: INCREMENTAL
            return 0
    freed = 0
    while not (stop and stop()):
        with lock:
            free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
            if free == 0:
                break
            db.execute(f"PRAGMA incremental_vacuum({_VACUUM_STEP_PAGES})").fetchall()  # each row: a step
            freed += min(free, _VACUUM_STEP_PAGES)
        pause_for_writers()
    with lock:  # the file shrinks once the WAL holding the truncation is copied back
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return freed


def vacuum_database(db: Database, lock: threading.Lock, tables: Sequence[str]) -> None:
    """A full ``VACUUM``: SQLite rewrites the file (and turns incremental auto-vacuum on for a store made
    before it was the default; it needs free disk about the file's size and blocks writers meanwhile);
    PostgreSQL marks the tables' dead rows reusable and refreshes their statistics."""
    with lock:
        if db.dialect == "sqlite":
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        else:
            db.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


class RetentionSchedule:
    """Runs ``prune`` off the caller's threads, at most once per ``interval_s``; it never raises.

    Two ways to drive it: :meth:`start` (a daemon thread that prunes ``first_after_s`` after the start,
    then every ``interval_s``: the server, the client) or :meth:`poke` from a thread that runs anyway (a
    cheap clock check that starts a short-lived daemon thread when a prune is due: ``init()``'s exporter,
    which keeps working in forked workers, where a thread started before the fork would not).

    Args:
        prune: deletes what is too old and returns what it deleted; gets a ``stop`` callable to check
            between batches (True: the owner is closing).
        describe: where it prunes, for the log line.
        log: how to log what was deleted (default: INFO on ``valiqor_trace.retention``).
    """

    def __init__(self, prune: Callable[[Callable[[], bool]], Pruned], *, describe: str,
                 interval_s: float = 3600.0, first_after_s: float = 30.0,
                 log: Callable[..., Any] | None = None) -> None:
        self._prune = prune
        self._describe = describe
        self.interval_s = interval_s
        self.first_after_s = min(first_after_s, interval_s)
        self._log = log or logger.info
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_due = time.monotonic()
        self.last: Pruned | None = None  # what the latest prune deleted

    def start(self) -> None:
        """Prune on a daemon thread of its own until :meth:`stop`."""
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="valiqor-retention", daemon=True)
                self._thread.start()

    def poke(self) -> None:
        """Start a prune on a daemon thread if one is due and none is running (cheap when not due)."""
        now = time.monotonic()
        if now < self._next_due or self._stop.is_set():
            return
        with self._guard:
            if now < self._next_due or (self._thread is not None and self._thread.is_alive()):
                return
            self._next_due = now + self.interval_s
            self._thread = threading.Thread(target=self.run_once, name="valiqor-retention", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop pruning; a prune in progress ends after its current batch."""
        self._stop.set()
        with self._guard:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def _loop(self) -> None:
        delay = self.first_after_s
        while not self._stop.wait(delay):
            self.run_once()
            delay = self.interval_s

    def run_once(self) -> None:
        """Prune now, on this thread; log what went, or why it failed (never raising)."""
        started = time.monotonic()
        try:
            pruned = self._prune(self._stop.is_set)
        except Exception:  # noqa: BLE001 - a failed prune must never stop ingest or the app; tried again later
            if self._stop.is_set():  # a store closed under a prune at shutdown is not worth a line
                return
            if should_raise():  # tests see the bug
                raise
            logger.warning("retention: pruning %s failed; trying again in %.0f s", self._describe,
                           self.interval_s, exc_info=True)
            return
        self.last = pruned
        if pruned.total:
            self._log("retention: deleted %s from %s in %.1f s", pruned, self._describe,
                      time.monotonic() - started)
