"""Several real ``valiqor serve`` processes on one database: spans of one trace arrive at different replicas,
FA runs queued through any replica run once, a replica killed mid-run (SIGKILL) leaves its run to another,
a cancel reaches the replica running the run, and the survivors never answer 500.

The commands are the ones docs/deploy.md shows ("Several replicas on PostgreSQL"). A judge on 127.0.0.1
(:class:`valiqor_trace.testing.JudgeServer`) answering each item after a delay holds runs long enough for the
kill and the cancel to land mid-run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import postgres
from tests.helpers import REPO_ROOT
from valiqor_trace.testing import JudgeServer

KEY = "replica-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
LEASE_S = 2.0
ITEMS_PER_RUN = 8
JUDGE_DELAY_S = 0.3  # per item: a run of 8 items takes about 2.5 s


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Replica:
    """One ``python -m valiqor_trace.cli serve`` process."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"{name}.log"
        command = [sys.executable, "-m", "valiqor_trace.cli", "serve", "--port", str(self.port), "--api-key", KEY,
                   "--workers", "1", "--decode-workers", "0", "--run-lease-s", str(LEASE_S), *args]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=self.url, headers=AUTH, timeout=30)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log.read_text()}"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{self.name} did not start:\n{self.log.read_text()}"
            time.sleep(0.1)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 500, (self.name, method, path, response.status_code, response.text)
        return response

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _environment(home: Path, judge: JudgeServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_", "OPENAI_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), VALIQOR_HOME=str(home), VALIQOR_JUDGE_BASE_URL=judge.base_url,
               VALIQOR_JUDGE_MODEL=judge.model, VALIQOR_JUDGE_CONCURRENCY="1")
    return env


@pytest.fixture
def judge() -> Iterator[JudgeServer]:
    with JudgeServer(delay_s=JUDGE_DELAY_S) as server:
        yield server


def _dataset(run: int, items: int = ITEMS_PER_RUN) -> list[dict[str, Any]]:
    # distinct text per run and item: the judge's cache (shared in the database) must not answer for it
    return [{"input": f"Run {run}, question {i}: what is the capital of France?",
             "output": f"Answer {run}.{i}: the capital of France is Berlin.",
             "context": ["Paris is the capital and largest city of France."]} for i in range(items)]


def _span(trace_id: str, index: int) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": trace_id, "spanId": f"{index + 1:016x}", "name": f"step {index}", "kind": 1,
                            "startTimeUnixNano": str(1_700_000_000_000_000_000 + index * 1000),
                            "endTimeUnixNano": str(1_700_000_001_000_000_000 + index * 1000)}
    if index:
        span["parentSpanId"] = f"{1:016x}"
    return span


def _otlp(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                               "scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}]}]}


def _wait(what: str, condition: Callable[[], Any], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def _wait_status(what: str, read: Callable[[], dict[str, Any]], wanted: str, timeout_s: float = 60) -> dict:
    def reached() -> dict[str, Any] | None:
        status = read()
        return status if status["status"] == wanted else None

    return _wait(what, reached, timeout_s)


def _rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_replicas_on_postgresql_store_each_span_once_and_finish_each_run_once(tmp_path: Path,
                                                                              judge: JudgeServer) -> None:
    with postgres.fresh_schema() as url:
        env = _environment(tmp_path / "home", judge)
        replicas = [Replica(f"replica{n}", ["--database-url", url], env, tmp_path) for n in range(3)]
        try:
            for replica in replicas:
                replica.wait_ready()
            _check_replicas(url, replicas)
        finally:
            for replica in replicas:
                replica.stop()
    for replica in replicas[1:]:
        assert "Traceback" not in replica.log.read_text(), replica.log.read_text()


def _check_replicas(url: str, replicas: list[Replica]) -> None:
    # spans of each trace arrive at every replica, each span once, some twice (an exporter's retry)
    traces = [f"{n + 1:032x}" for n in range(3)]
    for trace_id in traces:
        for index in range(6):
            replicas[index % 3].call("POST", "/v1/traces", json=_otlp(_span(trace_id, index)))
        replicas[1].call("POST", "/v1/traces", json=_otlp(_span(trace_id, 2)))  # a retried batch

    # runs queued through different replicas; each replica runs one at a time
    run_ids = [replicas[n % 3].call("POST", "/api/v1/fa/runs", json={"dataset": _dataset(n), "wait_s": 0})
               .json()["run_id"] for n in range(4)]

    # kill the replica running a job once it is mid-run
    owner, victim_run = _wait("a run in progress", lambda: next(iter(_rows(
        url, "SELECT lease_owner, run_id FROM runs WHERE status = 'running' AND items_done >= 1 "
             "AND items_done < total_items ORDER BY created_ns")), None))
    pid = int(owner.split(":")[1])
    victim = next(replica for replica in replicas if replica.process.pid == pid)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(10)
    survivors = [replica for replica in replicas if replica is not victim]

    def status(run_id: str, via: int = 0) -> dict[str, Any]:
        return survivors[via % 2].call("GET", f"/api/v1/fa/runs/{run_id}").json()

    for n, run_id in enumerate(run_ids):
        done = _wait_status(f"run {run_id} to complete", lambda: status(run_id, n), "completed")
        assert done["current_item"] == ITEMS_PER_RUN
        assert done["attempts"] == (2 if run_id == victim_run else 1), (run_id, done)

    # every run stored once: its items once, its tags once, its result readable on every survivor
    for run_id in run_ids:
        inputs = _rows(url, "SELECT item_index FROM run_inputs WHERE run_id = %s ORDER BY item_index", (run_id,))
        assert [row[0] for row in inputs] == list(range(ITEMS_PER_RUN))
        tags = _rows(url, "SELECT item_index, subcategory_id FROM tags WHERE run_id = %s", (run_id,))
        assert tags and len(tags) == len(set(tags)), run_id
        for survivor in survivors:
            result = survivor.call("GET", f"/api/v1/fa/runs/{run_id}/result").json()
            assert result["status"] == "completed" and len(result["failure_tags"]) == len(tags)
    assert len({len(_rows(url, "SELECT 1 FROM tags WHERE run_id = %s", (r,))) for r in run_ids}) == 1

    # every span once, whichever replica received it; each survivor reads whole traces
    stored = _rows(url, "SELECT trace_id, span_id FROM spans")
    assert len(stored) == len(set(stored)) == 3 * 6
    for trace_id in traces:
        for survivor in survivors:
            assert len(survivor.call("GET", f"/api/v1/traces/{trace_id}").json()) == 6

    # a cancel sent to one replica stops the run where it executes
    long_run = survivors[0].call("POST", "/api/v1/fa/runs", json={"dataset": _dataset(99, 40), "wait_s": 0}
                                 ).json()["run_id"]
    runner_owner = _wait("the long run to start", lambda: next(iter(_rows(
        url, "SELECT lease_owner FROM runs WHERE run_id = %s AND status = 'running' AND items_done >= 1",
        (long_run,))), None))[0]
    other = next(s for s in survivors if s.process.pid != int(runner_owner.split(":")[1]))
    other.call("POST", f"/api/v1/fa/runs/{long_run}/cancel")
    cancelled = _wait_status("the cancel", lambda: status(long_run), "cancelled", 20)
    assert 0 < cancelled["current_item"] < 40
    assert len(_rows(url, "SELECT 1 FROM run_inputs WHERE run_id = %s", (long_run,))) == cancelled["current_item"]


def test_a_sqlite_server_killed_mid_run_runs_it_again_when_restarted(tmp_path: Path, judge: JudgeServer) -> None:
    """One server per SQLite data directory (several are not a supported deployment); after a SIGKILL the
    restarted server picks the interrupted run up at once, without waiting for the lease."""
    env = _environment(tmp_path / "home", judge)
    data = ["--data-dir", str(tmp_path / "data")]
    first = Replica("first", data, env, tmp_path)
    try:
        first.wait_ready()
        run_id = first.call("POST", "/api/v1/fa/runs", json={"dataset": _dataset(1), "wait_s": 0}).json()["run_id"]
        _wait("the run to be mid-way", lambda: 1 <= first.call("GET", f"/api/v1/fa/runs/{run_id}").json()[
            "current_item"] < ITEMS_PER_RUN)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    finally:
        first.stop()
    second = Replica("second", [*data, "--run-lease-s", "600"], env, tmp_path)  # a long lease: not waited for
    try:
        second.wait_ready()
        done = _wait_status("the run to complete", lambda: second.call("GET", f"/api/v1/fa/runs/{run_id}").json(),
                            "completed", 30)
        assert done["attempts"] == 2 and done["current_item"] == ITEMS_PER_RUN
        assert len(second.call("GET", f"/api/v1/fa/runs/{run_id}/inputs").json()) == ITEMS_PER_RUN
    finally:
        second.stop()
    assert "Traceback" not in second.log.read_text(), second.log.read_text()
