"""Remote runs as the embedded ones: mandatory metrics at run level, progress from the store, result() too early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.errors import RunFailedError, RunNotFinishedError
from valiqor_trace.analyzer.server import ServerConfig
from tests.analyzer.client.run_helpers import GatedJudge, held_run
from tests.analyzer.server.conftest import AUTH, DATASET, KEY, LiveServer, result_identity_free

MANDATORY = {"run_eval": False, "mandatory_eval_metrics": ["groundedness"], "run_security": False,
             "mandatory_security_categories": ["S3", "S5"]}


@pytest.fixture
def remote_live(live: LiveServer) -> Iterator[ValiqorClient]:
    """A remote-mode client over a real socket to the server."""
    client = ValiqorClient(base_url=live.url, api_key=KEY)
    yield client
    client.close()


def test_mandatory_metrics_and_categories_reach_the_remote_result(remote_live: ValiqorClient,
                                                                  embedded: ValiqorClient) -> None:
    there = remote_live.failure_analysis.run(dataset=DATASET, **MANDATORY)
    here = embedded.failure_analysis.run(dataset=DATASET, **MANDATORY)
    assert list(there.eval_metrics) == ["groundedness"] and set(there.security_flags) == {"S3", "S5"}
    assert result_identity_free(there) == result_identity_free(here)
    stored = remote_live.failure_analysis.get_result(there.run_id)
    assert (stored.eval_metrics, stored.security_flags) == (there.eval_metrics, there.security_flags)


def test_remote_result_before_the_run_ends_is_not_a_failure(remote_live: ValiqorClient, monkeypatch) -> None:
    import valiqor_trace.analyzer.runs._executor as executor

    reached, release = threading.Event(), threading.Event()
    analyze_item = executor.analyze_item

    def held(item, index, options, run_id=""):  # noqa: ANN001, ANN202 - the engine's signature
        if index == 1:
            reached.set()
            release.wait(60)
        return analyze_item(item, index, options, run_id=run_id)

    monkeypatch.setattr(executor, "analyze_item", held)
    handle = remote_live.failure_analysis.run_async(dataset=DATASET)
    assert reached.wait(60)
    try:
        with pytest.raises(RunNotFinishedError) as early:
            handle.result()
        status = handle.status()
    finally:
        release.set()
    assert not isinstance(early.value, RunFailedError) and early.value.run_id == handle.run_id
    assert "no result yet: it is running (1/3 items)" in str(early.value)
    assert (status.status, status.current_item) == ("running", 1)
    assert handle.wait().status == "completed" and handle.result().summary.total_items == 3


def test_server_status_shows_progress_of_a_run_another_process_runs(live: LiveServer,
                                                                    server_config: ServerConfig) -> None:
    neighbour = ValiqorClient(home=server_config.data_dir, database_url=server_config.database_url)  # another process
    judge = GatedJudge(hold_at=1)
    handle = held_run(neighbour.run_store, judge, 4)
    try:
        status = httpx.get(f"{live.url}/api/v1/fa/runs/{handle.run_id}", headers=AUTH).json()
    finally:
        judge.release.set()
    assert (status["status"], status["current_item"], status["total_items"]) == ("running", 1, 4)
    assert status["progress_percent"] == 25.0
    handle.wait()
    neighbour.close()
