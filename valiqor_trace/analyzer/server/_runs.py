"""The server's run pool: FA runs execute on a fixed set of worker threads.

A run is recorded in the run store when it is submitted (so it is listed and
can be polled at once) and executed by the next free worker. The pool keeps
the live jobs so status shows real progress and cancel reaches the worker.
When the server stops, runs still in flight are marked failed with the
reason; when it starts, runs a previous server process left unfinished are
too (see :func:`fail_interrupted_runs`), so none stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

from valiqor_trace.analyzer.runs import RunJob, RunStatus, RunStore

logger = logging.getLogger("valiqor_trace.server")
STOPPED_REASON = "interrupted: the server stopped before the run finished; run it again"
RESTARTED_REASON = "interrupted: the server restarted before the run finished; run it again"


class RunPool:
    """Runs FA jobs on ``workers`` daemon threads.

    Args:
        workers: how many runs execute at once; more wait in a queue.
    """

    def __init__(self, workers: int = 2) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._queue: queue.Queue[RunJob | None] = queue.Queue()
        self._live: dict[str, RunJob] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"valiqor-run-worker-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    @property
    def live_runs(self) -> int:
        with self._lock:
            return len(self._live)

    def submit(self, job: RunJob) -> None:
        """Record the run as started and queue it for a worker."""
        job.start()
        with self._lock:
            self._live[job.run_id] = job
        self._queue.put(job)

    def job(self, run_id: str) -> RunJob | None:
        """The live job of ``run_id`` (``None`` once it has ended: the store has it then)."""
        with self._lock:
            return self._live.get(run_id)

    def status(self, run_id: str) -> RunStatus | None:
        job = self.job(run_id)
        return None if job is None else job.status()

    def cancel(self, run_id: str) -> RunStatus | None:
        job = self.job(run_id)
        if job is None:
            return None
        job.cancel_requested.set()
        return job.status()

    def close(self, grace_s: float = 5.0) -> None:
        """Stop: let running jobs finish within ``grace_s``; mark the rest failed with the reason."""
        waiting = self._take_queued()
        for _ in self._threads:
            self._queue.put(None)
        with self._lock:
            running = list(self._live.values())
        deadline = time.monotonic() + grace_s
        for job in running:
            job.done.wait(max(0.0, deadline - time.monotonic()))
        for job in waiting + running:
            if not job.done.is_set():
                job.store.fail_run(job.run_id, STOPPED_REASON)
                logger.warning("run %s %s", job.run_id, STOPPED_REASON)

    def _take_queued(self) -> list[RunJob]:
        """Remove the runs no worker has started (they will not run now)."""
        taken: list[RunJob] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return taken
            if job is not None:
                taken.append(job)
                with self._lock:
                    self._live.pop(job.run_id, None)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job.execute()  # never raises; a failing run is stored as failed
            finally:
                with self._lock:
                    self._live.pop(job.run_id, None)


def fail_interrupted_runs(store: RunStore) -> list[str]:
    """Mark failed the runs a previous server process in this pid left in flight.

    The run store already fails runs whose owner process is gone; a server
    restarted in a container usually gets the same pid (1) again, which that
    check takes for alive. Nothing in this process has started a run yet, so
    every run it seems to own is an orphan.
    """
    return store.fail_runs_of_pid(os.getpid(), RESTARTED_REASON)
