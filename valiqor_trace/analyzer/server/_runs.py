"""The server's run pool: FA runs are jobs in the run store, executed by whichever replica claims them.

``submit`` records a run as a queued job (its items and options; see
:mod:`valiqor_trace.analyzer.runs._jobs`) and wakes a worker of this replica; every worker also polls
the store, so a job queued by another replica sharing the database is run by the first one free. A
replica holds each job it runs under a lease that a keeper thread renews, reading the job's cancel flag
at the same time, so a cancel reaches the run wherever it executes. A replica that dies stops renewing:
after the lease the job is claimed again and restarted from the start (``attempts`` counts the starts).

A run whose request carried its own OpenAI key cannot be run elsewhere (the key is never stored): this
replica claims it at once and, should it stop first, the run is failed with the reason.

When the server stops, runs still in flight after the grace period go back to the queue (the next
server or another replica runs them). Runs that are not jobs (the playground's) and that a previous
process in this pid left unfinished are failed at start (:func:`fail_interrupted_runs`), as before.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from valiqor_trace.analyzer.fa.options import FailureAnalysisOptions
from valiqor_trace.analyzer.runs import ClaimedJob, JobQueue, RunJob, RunStatus, RunStore, new_owner_id
from valiqor_trace.analyzer.runs._models import FINISHED_STATES

logger = logging.getLogger("valiqor_trace.server")
STOPPED_REASON = "interrupted: the server stopped before the run finished; run it again"
RESTARTED_REASON = "interrupted: the server restarted before the run finished; run it again"
KEY_LOST_REASON = ("interrupted: the server replica running it stopped, and the OpenAI key came with the request "
                   "(keys are never stored, so no other replica can run it); run it again")
DEFAULT_LEASE_S = 30.0
POLL_S = 0.5  # how often an idle worker looks for jobs other replicas queued


class RunPool:
    """Runs FA jobs on ``workers`` daemon threads; any replica sharing the run store may run any job.

    Args:
        fa: the server's embedded FailureAnalysisAPI (it builds a claimed job's run).
        workers: how many runs execute at once in this replica.
        lease_s: how long a replica holds a job without renewing it (renewed every third of it, at most
            every second); a replica killed mid-run leaves its job to another after this long.
        poll_s: how often an idle worker looks for queued jobs.
        only_own: run only the jobs this pool queued (``valiqor ui``), never other replicas' queued ones.
    """

    def __init__(self, fa: Any, workers: int = 2, *, lease_s: float = DEFAULT_LEASE_S, poll_s: float = POLL_S,
                 clock: Callable[[], float] = time.time, only_own: bool = False) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if lease_s <= 0:
            raise ValueError(f"run lease must be > 0 seconds, got {lease_s}")
        self._fa = fa
        self._clock = clock
        self.jobs = JobQueue(fa._client.run_store, new_owner_id(), int(lease_s * 1e9))
        self._renew_every_s = min(lease_s / 3, 1.0)
        self._poll_s = poll_s
        self._live: dict[str, RunJob] = {}
        self._held: collections.deque[str] = collections.deque()  # key-carrying jobs this replica holds
        self._keys: dict[str, str] = {}  # their keys: in memory only, never stored
        self._only_own = only_own
        self._own: collections.deque[str] = collections.deque()  # only_own: the jobs this pool queued, in order
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        resumed = self.jobs.expire_dead_leases()
        if resumed:
            logger.warning("%d run(s) a stopped server on this host left running will start again", len(resumed))
        self._threads = [threading.Thread(target=self._work, name=f"valiqor-run-worker-{n}", daemon=True)
                         for n in range(workers)]
        self._threads.append(threading.Thread(target=self._keep_leases, name="valiqor-run-leases", daemon=True))
        for thread in self._threads:
            thread.start()

    @property
    def live_runs(self) -> int:
        with self._lock:
            return len(self._live)

    def _now_ns(self) -> int:
        return int(self._clock() * 1e9)

    def submit(self, job: RunJob, options: FailureAnalysisOptions) -> None:
        """Queue ``job`` (validated by ``FailureAnalysisAPI._prepare``) as a job any replica may run."""
        request = self._fa._job_request(job, options)
        spec = job.spec
        self.jobs.enqueue(run_id=job.run_id, project_name=spec.project_name, feature_kind=spec.options.feature_kind,
                          created_at=job.created_at, created_ns=job.created_ns,
                          total_items=len(job.items), options=spec.recorded_options, request=request,
                          now_ns=self._now_ns(), claim=request.key_in_request)
        with self._lock:
            if request.key_in_request:
                self._keys[job.run_id] = str(options.openai_api_key)
                self._held.append(job.run_id)
            elif self._only_own:
                self._own.append(job.run_id)
        self._wake.set()

    def job(self, run_id: str) -> RunJob | None:
        """The job of ``run_id`` while this replica runs it (``None`` otherwise: the store has it)."""
        with self._lock:
            return self._live.get(run_id)

    def status(self, run_id: str) -> RunStatus | None:
        job = self.job(run_id)
        return None if job is None else job.status()

    def ended(self, run_id: str) -> bool:
        """Whether the run has ended, wherever it ran."""
        job = self.job(run_id)
        if job is not None:
            return job.done.is_set()
        row = self.jobs.store.get_status_row(run_id)
        return row is not None and row["status"] in FINISHED_STATES

    def cancel(self, run_id: str) -> RunStatus | None:
        """Cancel a run: here, in the job's row for the replica running it, or at once if still queued.

        Returns the live status when this replica runs it, else None (the store's status is then current).
        """
        job = self.job(run_id)
        if job is not None:
            job.cancel_requested.set()
        if not self.jobs.request_cancel(run_id) or job is not None:
            return None if job is None else job.status()
        claimed = self.jobs.claim(self._now_ns(), run_id=run_id)  # still queued: end it now, with no item analyzed
        if claimed is not None:
            self._run(claimed)
        return None

    def close(self, grace_s: float = 5.0) -> None:
        """Stop: let running jobs finish within ``grace_s``; hand the rest back to the queue."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            running = list(self._live.values())
            held, self._held = list(self._held), collections.deque()
        deadline = time.monotonic() + grace_s
        for job in running:
            job.done.wait(max(0.0, deadline - time.monotonic()))
        for job in running:
            if not job.done.is_set():
                job.abandoned.set()
                self._give_back(job.run_id)
        for run_id in held:
            self._give_back(run_id)

    def _give_back(self, run_id: str) -> None:
        with self._lock:
            key = self._keys.pop(run_id, None)
        try:
            if key is not None:  # nobody else could run it
                self.jobs.store.fail_run(run_id, STOPPED_REASON, lease_owner=self.jobs.owner)
                logger.warning("run %s %s", run_id, STOPPED_REASON)
            elif self.jobs.release(run_id):
                logger.warning("run %s goes back to the queue: the server stopped before it finished", run_id)
        except Exception:  # noqa: BLE001 - stopping must not fail: the lease expires anyway
            logger.warning("run %s: could not hand it back (its lease will expire)", run_id, exc_info=True)

    # -- the workers ------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                claimed, key = self._next_job()
            except Exception:  # noqa: BLE001 - the database may be away for a while: keep polling
                logger.warning("could not look for queued runs; retrying", exc_info=True)
                claimed, key = None, None
            if claimed is None:
                self._wake.wait(self._poll_s)
                self._wake.clear()
                continue
            if self._stop.is_set():
                self._give_back(claimed.run_id)
                return
            self._run(claimed, key)

    def _next_job(self) -> tuple[ClaimedJob | None, str | None]:
        with self._lock:
            run_id = self._held.popleft() if self._held else None
            key = self._keys.pop(run_id, None) if run_id else None
        if run_id is not None:
            return self.jobs.held(run_id), key
        if not self._only_own:
            return self.jobs.claim(self._now_ns()), None
        with self._lock:
            own = self._own.popleft() if self._own else None
        return (self.jobs.claim(self._now_ns(), run_id=own) if own else None), None

    def _run(self, claimed: ClaimedJob, key: str | None = None) -> None:
        """Execute a claimed job to its end (never raises: a run that cannot start is failed with the reason)."""
        if claimed.request.key_in_request and key is None:
            self.jobs.store.fail_run(claimed.run_id, KEY_LOST_REASON, lease_owner=claimed.owner)
            return
        try:
            job = self._fa._job_of(claimed, key)
        except Exception as exc:  # noqa: BLE001 - e.g. options this replica's judge settings cannot run
            self.jobs.store.fail_run(claimed.run_id, f"run {claimed.run_id} failed: {exc}", lease_owner=claimed.owner)
            return
        if claimed.cancel_requested:
            job.cancel_requested.set()
        job.state = "running"
        with self._lock:
            self._live[job.run_id] = job
        try:
            job.execute()  # never raises; a failing run is stored as failed
        finally:
            with self._lock:
                self._live.pop(job.run_id, None)

    def _keep_leases(self) -> None:
        """Renew the leases of the jobs this replica holds; pass on cancels and lost leases to them."""
        while not self._stop.wait(self._renew_every_s):
            with self._lock:
                live = dict(self._live)
                run_ids = [*live, *self._held]
            try:
                held = self.jobs.renew(run_ids, self._now_ns())
            except Exception:  # noqa: BLE001 - retried next tick; finishing stays conditional on the lease
                logger.warning("could not renew the leases of %d run(s)", len(run_ids), exc_info=True)
                continue
            for run_id, job in live.items():
                if run_id not in held and not job.done.is_set():
                    logger.warning("run %s was taken over by another replica (lease lost): stopping it here", run_id)
                    job.abandoned.set()
                elif held.get(run_id):
                    job.cancel_requested.set()


def fail_interrupted_runs(store: RunStore) -> list[str]:
    """Mark failed the runs (not jobs) a previous server process in this pid left in flight.

    The run store already fails runs whose owner process is gone; a server
    restarted in a container usually gets the same pid (1) again, which that
    check takes for alive. Nothing in this process has started a run yet, so
    every run it seems to own is an orphan. Jobs are resumed instead (:class:`RunPool`).
    """
    return store.fail_runs_of_pid(os.getpid(), RESTARTED_REASON)
