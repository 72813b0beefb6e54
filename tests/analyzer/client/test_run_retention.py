"""Retention of the run store: ``RunStore.prune`` deletes finished runs (inputs and tags with them), alerts,
judge-cache entries and rate-limit events older than a cutoff, on both engines; ``ValiqorClient(
retention_days=...)`` does it on its own."""

from __future__ import annotations

import time
from pathlib import Path

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.runs import RunStore
from valiqor_trace.analyzer.runs._models import AlertRecord

DAY_S = 86_400
NOW_S = time.time()
OLD_S = NOW_S - 40 * DAY_S
CUTOFF_NS = int((NOW_S - 30 * DAY_S) * 1e9)
DATASET = [
    {"input": "What is the capital of France?", "output": "The capital of France is Berlin.",
     "context": ["Paris is the capital and largest city of France."]},
    {"input": "Summarize the refund policy.", "output": ""},
]


def _client(tmp_path: Path, database_url: str | None, at_s: float, **settings: object) -> ValiqorClient:
    return ValiqorClient(home=str(tmp_path / "home"), database_url=database_url, clock=lambda: at_s, **settings)


def _alert(created_s: float, run_id: str) -> AlertRecord:
    return AlertRecord(created_at="2020-01-01T00:00:00Z", created_ns=int(created_s * 1e9), project_name="shop",
                       run_id=run_id, trace_id="0" * 32, subcategory_id="empty_output",
                       subcategory_name="Empty output", severity=4.0, channel="log", outcome="sent")


def test_prune_deletes_old_finished_runs_with_their_inputs_and_tags_and_keeps_the_rest(
        tmp_path: Path, database_url: str | None) -> None:
    old = _client(tmp_path, database_url, OLD_S)
    old_run = old.failure_analysis.run(dataset=DATASET)
    assert old_run.failure_tags  # tags and inputs are there to be deleted
    old.close()
    new = _client(tmp_path, database_url, NOW_S)
    new_run = new.failure_analysis.run(dataset=DATASET)
    store: RunStore = new.run_store
    old_ns = int(OLD_S * 1e9)
    for run_id, source in (("run_monitor_old", "monitor"), ("run_still_running", "dataset")):
        store.start_run(run_id=run_id, project_name="shop", input_type="trace", feature_kind=None, trace_id=None,
                        source=source, created_at="2020-01-01T00:00:00Z", created_ns=old_ns, total_items=1,
                        options={})
    store.fail_run("run_monitor_old", "the model server was down")  # a monitor verdict run that ended
    store.record_alert(_alert(OLD_S, "run_monitor_old"))
    store.record_alert(_alert(NOW_S, new_run.run_id))
    store.put_judge_verdicts("k-old", model="m", prompt_version="1", verdicts="[]", tokens=1)  # clock: now
    RunStore(database_url or tmp_path / "home" / "runs.db", clock=lambda: old_ns).put_judge_verdicts(
        "k-older", model="m", prompt_version="1", verdicts="[]", tokens=1)
    # a limit nobody has used since (a use of the same name would drop its expired events itself)
    assert store.take_rate_slot("playground:retired", old_ns, [(10, 86_400 * 10**9)]) is None
    assert store.take_rate_slot("playground", int(NOW_S * 1e9), [(10, 60 * 10**9)]) is None

    inputs, tags = len(old_run.inputs), len(old_run.failure_tags)
    expected = {"runs": 2, "run_inputs": inputs, "tags": tags, "alerts": 1, "judge_cache": 1, "rate_events": 1}
    planned = store.prune(CUTOFF_NS, dry_run=True)
    assert planned.rows == expected and planned.dry_run
    assert store.count_runs() == 4
    assert store.prune(CUTOFF_NS, batch=3).rows == expected  # a run with its rows never split

    assert {run.run_id for run in store.list_runs()} == {new_run.run_id, "run_still_running"}
    assert store.get_result(old_run.run_id) is None and store.get_tags(old_run.run_id) == []
    assert store.get_inputs(old_run.run_id) == []
    assert len(store.get_tags(new_run.run_id)) == len(new_run.failure_tags)
    assert [a.run_id for a in store.list_alerts()] == [new_run.run_id]
    assert store.get_judge_verdicts("k-older") is None and store.get_judge_verdicts("k-old") == "[]"
    assert store.prune(CUTOFF_NS).total == 0
    new.close()


def test_the_client_prunes_its_run_store_when_given_retention_days(tmp_path: Path,
                                                                   database_url: str | None) -> None:
    old = _client(tmp_path, database_url, OLD_S)
    old_run_id = old.failure_analysis.run(dataset=DATASET).run_id
    old.close()
    client = _client(tmp_path, database_url, NOW_S, retention_days=30)
    new_run_id = client.failure_analysis.run(dataset=DATASET).run_id
    deadline = time.monotonic() + 10
    while client.failure_analysis.list_runs() and old_run_id in {r.run_id for r in client.failure_analysis.list_runs()}:
        assert time.monotonic() < deadline, "the old run was not pruned"
        time.sleep(0.05)
    assert [r.run_id for r in client.failure_analysis.list_runs()] == [new_run_id]
    client.close()
