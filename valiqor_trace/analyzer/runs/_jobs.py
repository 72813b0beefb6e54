"""Server runs as jobs in the run store: queued by any replica, claimed by exactly one, held under a lease.

A job is a run row with its request (``job``: the items and options, never a key) and status ``queued``.
A replica claims the oldest one in one transaction — ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL,
the ``BEGIN IMMEDIATE`` write lock on SQLite — setting ``lease_owner`` (``host:pid:random``),
``lease_expires_ns`` and ``attempts + 1``. While it runs the job, the replica renews the lease (and reads
the job's cancel flag). A replica that dies stops renewing: once the lease has expired, the job is
claimable again and another replica runs it from the start. The result is stored only while its owner
still holds the lease (:meth:`RunStore.finish_run`), so a run is never lost and never finished twice.

Runs of the embedded client are not jobs: they run in the caller's process, as before.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.runs._store import PROCESS_HOST, RunStore, _pid_alive

_JOB_COLUMNS = "run_id, project_name, created_ns, job, attempts, cancel_requested"


class JobRequest(BaseModel):
    """What a queued run needs to run on any replica. Never holds a key."""

    input_type: str
    trace_id: str | None = None
    source: str
    options: dict[str, Any]  # FailureAnalysisOptions as dumped (the key is never dumped)
    items: list[FAItem]
    # the request carried its own judge key: only the replica holding it in memory can run the job
    key_in_request: bool = False


@dataclass(frozen=True)
class ClaimedJob:
    """A job this replica now holds."""

    run_id: str
    project_name: str
    created_ns: int
    request: JobRequest
    attempts: int
    cancel_requested: bool
    owner: str


def new_owner_id() -> str:
    """``host:pid:random``: unique per replica, and readable in the run row."""
    return f"{PROCESS_HOST}:{os.getpid()}:{secrets.token_hex(4)}"


class JobQueue:
    """The job statements over a run store's database (its connection and lock).

    Args:
        store: the run store.
        owner: this replica's lease owner id.
        lease_ns: how long a claim or a renewal holds a job.
    """

    def __init__(self, store: RunStore, owner: str, lease_ns: int) -> None:
        self.store = store
        self.owner = owner
        self.lease_ns = lease_ns
        self._db = store._db
        self._lock = store._lock

    def enqueue(self, *, run_id: str, project_name: str, feature_kind: str | None, created_at: str,
                created_ns: int, total_items: int, options: dict[str, Any], request: JobRequest,
                now_ns: int, claim: bool = False) -> None:
        """Record a run as a queued job (``claim``: already held by this replica, for a key-carrying run)."""
        status, owner, expires, attempts = ("running", self.owner, now_ns + self.lease_ns, 1) if claim else \
            ("queued", None, None, 0)
        pid, host = (os.getpid(), PROCESS_HOST) if claim else (None, None)
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (run_id, project_name, status, input_type, feature_kind, trace_id, source, "
                "created_at, created_ns, owner_pid, owner_host, total_items, options, job, lease_owner, "
                "lease_expires_ns, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, project_name, status, request.input_type, feature_kind, request.trace_id, request.source,
                 created_at, created_ns, pid, host, total_items, json.dumps(options, default=str), request.model_dump_json(), owner,
                 expires, attempts))

    def claim(self, now_ns: int, run_id: str | None = None) -> ClaimedJob | None:
        """Take the oldest claimable job (or the queued job ``run_id``); None when there is none.

        Claimable: queued, or running under a lease that has expired (its replica stopped renewing it).
        """
        where = "status = 'queued'" if run_id is not None else \
            "(status = 'queued' OR (status = 'running' AND lease_expires_ns < ?))"
        params: list[Any] = [run_id] if run_id is not None else [now_ns]
        lock_rows = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE
        with self._lock, self._db.transaction():
            row = self._db.execute(
                f"SELECT run_id FROM runs WHERE job IS NOT NULL AND {'run_id = ? AND ' if run_id else ''}{where} "
                f"ORDER BY created_ns, run_id LIMIT 1{lock_rows}", params).fetchone()
            if row is None:
                return None
            self._db.execute(
                "UPDATE runs SET status = 'running', lease_owner = ?, lease_expires_ns = ?, attempts = attempts + 1, "
                "items_done = 0, owner_pid = ?, owner_host = ? WHERE run_id = ?",
                (self.owner, now_ns + self.lease_ns, os.getpid(), PROCESS_HOST, row[0]))
            claimed = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM runs WHERE run_id = ?", (row[0],)).fetchone()
        return ClaimedJob(run_id=claimed[0], project_name=claimed[1], created_ns=claimed[2],
                          request=JobRequest.model_validate_json(claimed[3]), attempts=claimed[4],
                          cancel_requested=bool(claimed[5]), owner=self.owner)

    def held(self, run_id: str) -> ClaimedJob | None:
        """A job this replica already holds (a key-carrying run it queued itself), as a claim."""
        with self._lock:
            row = self._db.execute(f"SELECT {_JOB_COLUMNS} FROM runs WHERE run_id = ? AND lease_owner = ? "
                                   "AND status = 'running' AND job IS NOT NULL", (run_id, self.owner)).fetchone()
        if row is None:
            return None
        return ClaimedJob(run_id=row[0], project_name=row[1], created_ns=row[2],
                          request=JobRequest.model_validate_json(row[3]), attempts=row[4],
                          cancel_requested=bool(row[5]), owner=self.owner)

    def renew(self, run_ids: list[str], now_ns: int) -> dict[str, bool]:
        """Extend this replica's leases on ``run_ids``; return run id -> cancel requested, for the jobs it
        still holds (one left out was taken over: its replica must stop it and store nothing)."""
        if not run_ids:
            return {}
        in_runs, run_list = self._db.in_list("run_id", run_ids)
        with self._lock, self._db.transaction():
            self._db.execute(f"UPDATE runs SET lease_expires_ns = ? WHERE lease_owner = ? AND status = 'running' "
                             f"AND job IS NOT NULL AND {in_runs}", (now_ns + self.lease_ns, self.owner, run_list))
            rows = self._db.execute(f"SELECT run_id, cancel_requested FROM runs WHERE lease_owner = ? "
                                    f"AND status = 'running' AND job IS NOT NULL AND {in_runs}",
                                    (self.owner, run_list)).fetchall()
        return {row[0]: bool(row[1]) for row in rows}

    def release(self, run_id: str) -> bool:
        """Hand a job this replica holds back to the queue (it stops before finishing it)."""
        with self._lock:
            return self._db.execute(
                "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_ns = NULL, items_done = 0 "
                "WHERE run_id = ? AND lease_owner = ? AND status = 'running' AND job IS NOT NULL",
                (run_id, self.owner)).rowcount == 1

    def request_cancel(self, run_id: str) -> bool:
        """Raise the cancel flag of an unfinished job (its replica reads it when it renews the lease)."""
        with self._lock:
            return self._db.execute("UPDATE runs SET cancel_requested = 1 WHERE run_id = ? AND job IS NOT NULL "
                                    "AND status IN ('queued', 'running')", (run_id,)).rowcount == 1

    def expire_dead_leases(self) -> list[str]:
        """Make claimable at once the jobs held by dead processes of this host and pid namespace (or by this
        pid there: the process before this one), instead of after their lease. A replica elsewhere, or in
        another container, is never judged by a pid: its leases expire."""
        host = PROCESS_HOST
        with self._lock:
            rows = self._db.execute("SELECT run_id, owner_pid FROM runs WHERE job IS NOT NULL AND status = 'running' "
                                    "AND owner_host = ? AND lease_owner != ?", (host, self.owner)).fetchall()
            dead = [run_id for run_id, pid in rows if pid == os.getpid() or not _pid_alive(pid)]
            for run_id in dead:
                self._db.execute("UPDATE runs SET lease_expires_ns = 0 WHERE run_id = ? AND status = 'running'",
                                 (run_id,))
        return dead

