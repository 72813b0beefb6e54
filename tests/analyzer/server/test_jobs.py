"""The job queue under the server's runs, on both engines: each queued job is claimed by exactly one of
several competing replicas, an expired lease makes a job claimable again, and only the holder of the lease
can store the result."""

from __future__ import annotations

import threading
from pathlib import Path

from valiqor_trace.analyzer.fa.engine import AnalysisOptions, validate_options
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.runs import JobQueue, JobRequest, RunJob, RunSpec, RunStore

LEASE_NS = 10**9


def _store(tmp_path: Path, database_url: str | None) -> RunStore:
    return RunStore(database_url or tmp_path / "runs.db")


def _enqueue(queue: JobQueue, run_id: str, created_ns: int) -> None:
    request = JobRequest(input_type="dataset", source="dataset", options={},
                         items=[FAItem(input="What is 2 + 2?", output="5")])
    queue.enqueue(run_id=run_id, project_name="p", feature_kind=None, created_at="2026-01-01T00:00:00+00:00",
                  created_ns=created_ns, total_items=1, options={}, request=request, now_ns=0)


def test_competing_replicas_claim_each_job_exactly_once(tmp_path: Path, database_url: str | None) -> None:
    stores = [_store(tmp_path, database_url) for _ in range(3)]  # three connections, as three replicas have
    queues = [JobQueue(store, f"host:{n}:x", LEASE_NS) for n, store in enumerate(stores)]
    for n in range(30):
        _enqueue(queues[0], f"run_{n:02d}", n)
    claimed: list[list[str]] = [[] for _ in queues]

    def drain(index: int) -> None:
        while (job := queues[index].claim(now_ns=1)) is not None:
            claimed[index].append(job.run_id)

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [run_id for runs in claimed for run_id in runs]
    try:
        assert sorted(every) == [f"run_{n:02d}" for n in range(30)]  # each once, none lost
        assert stores[0].get_status_row("run_07")["status"] == "running"
        assert stores[0].get_status_row("run_07")["attempts"] == 1
    finally:
        for store in stores:
            store.close()


def test_an_expired_lease_passes_the_job_on_and_only_the_new_holder_finishes_it(
        tmp_path: Path, database_url: str | None) -> None:
    store = _store(tmp_path, database_url)
    dead, alive = JobQueue(store, "host:1:dead", LEASE_NS), JobQueue(store, "host:2:alive", LEASE_NS)
    try:
        _enqueue(dead, "run_x", 1)
        first = dead.claim(now_ns=0)
        assert first is not None and alive.claim(now_ns=LEASE_NS - 1) is None  # held
        assert dead.renew(["run_x"], now_ns=LEASE_NS // 2) == {"run_x": False}
        assert alive.claim(now_ns=LEASE_NS + 1) is None  # renewed: still held
        second = alive.claim(now_ns=2 * LEASE_NS)
        assert second is not None and second.attempts == 2
        assert dead.renew(["run_x"], now_ns=2 * LEASE_NS) == {}  # the old holder learns it lost the job

        options = AnalysisOptions()
        validate_options(options)
        results = []
        for holder in (first, second):
            spec = RunSpec(project_name="p", input_type="dataset", options=options, run_id="run_x")
            job = RunJob(spec, list(holder.request.items), store, created_ns=holder.created_ns,
                         lease_owner=holder.owner, attempts=holder.attempts)
            job.execute()
            results.append(job.result)
        assert results[0] is None and results[1] is not None  # the stale holder stored nothing
        assert store.get_status_row("run_x") == {"status": "completed", "total_items": 1, "error": None,
                                                 "items_done": 1, "attempts": 2}
        tags = store.get_tags("run_x")
        assert len(tags) == len(results[1].failure_tags) and len({t.tag_id for t in tags}) == len(tags)
        assert alive.request_cancel("run_x") is False  # finished: nothing to cancel
    finally:
        store.close()


def test_a_viewer_on_a_shared_database_runs_only_what_it_was_asked(tmp_path: Path,
                                                                    database_url: str | None) -> None:
    """`valiqor ui --database-url` pointed at production: it leaves the replicas' queued runs to them, and the
    analysis its own user asks for still runs."""
    import time

    import httpx

    from tests.helpers import LiveServer
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    store = _store(tmp_path, database_url)
    queue = JobQueue(store, "elsewhere:1:x", LEASE_NS)
    viewer = create_app(ServerConfig(data_dir=str(tmp_path / "ui"), database_url=database_url, viewer=True))
    try:
        _enqueue(queue, "run_of_a_replica", 1)
        with LiveServer(viewer) as live:
            asked = httpx.post(f"{live.url}/api/v1/fa/runs", json={"dataset": [{"input": "2 + 2?", "output": "4"}],
                                                                    "wait_s": 10}, timeout=30).json()
            assert asked["status"] == "completed"
            time.sleep(1.2)  # more than two of its polls
        assert store.get_status_row("run_of_a_replica")["status"] == "queued"
    finally:
        viewer.state.server.close()
        store.close()
