"""Remote mode: every ValiqorClient method over HTTP gives what embedded mode gives, with the same errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.fa.models import Thresholds
from valiqor_trace.errors import (
    AuthenticationError,
    DatasetError,
    ImportFormatError,
    NotFoundError,
    RateLimitError,
    RunFailedError,
    ValidationError,
)
from tests.analyzer.server.conftest import DATASET, KEY, LiveServer, result_identity_free


def test_dataset_run_equals_embedded(remote: ValiqorClient, embedded: ValiqorClient) -> None:
    options = {"feature_kind": "rag", "thresholds": Thresholds(gate_severity=2.0)}
    there = remote.failure_analysis.run(dataset=DATASET, **options)
    here = embedded.failure_analysis.run(dataset=DATASET, **options)
    assert there.summary.total_items == 3 and there.failures()  # the output-less item fails something
    assert result_identity_free(there) == result_identity_free(here)
    assert (result_identity_free(remote.failure_analysis.get_result(there.run_id))
            == result_identity_free(embedded.failure_analysis.get_result(here.run_id)))
    shown = remote.failure_analysis.get_result(there.run_id, include_passing=False)  # what `fa result` prints
    assert result_identity_free(shown) == result_identity_free(
        embedded.failure_analysis.get_result(here.run_id, include_passing=False))
    assert shown.failure_tags and all(tag.decision != "pass" for tag in shown.failure_tags)
    assert any(tag.decision == "pass" for tag in there.failure_tags)


def test_history_methods_equal_embedded(remote: ValiqorClient, embedded: ValiqorClient) -> None:
    runs = {}
    for client in (remote, embedded):
        runs[client] = client.failure_analysis.run(dataset=DATASET, project_name="history")
        client.failure_analysis.run(dataset=DATASET[:1], project_name="history")
    for client, other in ((remote, embedded),):
        fa, other_fa = client.failure_analysis, other.failure_analysis
        run_id, other_id = runs[client].run_id, runs[other].run_id
        assert fa.count_runs("history") == other_fa.count_runs("history") == 2
        assert [r.total_items for r in fa.list_runs("history")] == [r.total_items for r in other_fa.list_runs("history")]
        assert len(fa.list_runs("history", limit=1, offset=1)) == 1
        assert ([t.subcategory_id for t in fa.get_tags(run_id, decision="fail")]
                == [t.subcategory_id for t in other_fa.get_tags(other_id, decision="fail")])
        assert fa.get_run_inputs(run_id) == other_fa.get_run_inputs(other_id)
        assert fa.get_status(run_id).status == "completed" and fa.get_status(run_id).progress_percent == 100.0
        assert fa.get_taxonomy() == other_fa.get_taxonomy()
        assert fa.get_subcategories(bucket_id="retrieval") == other_fa.get_subcategories(bucket_id="retrieval")
        assert fa.get_bucket_details("tool_use") == other_fa.get_bucket_details("tool_use")
        mine, theirs = fa.get_insights("history"), other_fa.get_insights("history")
        assert mine == theirs and mine["total_runs"] == 2
        assert fa.get_trends("7d", "history")["points"][-1]["runs"] == 2


def test_async_run_reports_progress_and_cancels(remote: ValiqorClient) -> None:
    handle = remote.failure_analysis.run_async(dataset=DATASET * 10)
    seen = []
    result = handle.wait(on_progress=seen.append)
    assert seen[-1].status == "completed" and seen[-1].current_item == 30 and result.summary.total_items == 30
    assert not handle.is_running() and handle.result() == result
    assert handle.cancel().status == "completed"  # cancelling a finished run changes nothing


def test_a_slow_run_answers_202_then_polls(app, http, remote: ValiqorClient, monkeypatch) -> None:
    import valiqor_trace.analyzer.client._remote._failure_analysis as remote_fa

    response = http.post("/api/v1/fa/runs", json={"dataset": DATASET, "wait_s": 0})
    assert response.status_code == 202
    accepted = response.json()
    assert response.headers["location"] == accepted["status_url"] == f"/api/v1/fa/runs/{accepted['run_id']}"
    status = http.get(accepted["status_url"]).json()
    while status["status"] == "running":
        status = http.get(accepted["status_url"]).json()
    assert http.get(accepted["result_url"]).json()["summary"]["total_items"] == 3
    # run() follows a 202 transparently
    monkeypatch.setattr(remote_fa, "SYNC_WAIT_S", 0.0)
    assert remote.failure_analysis.run(dataset=DATASET).summary.total_items == 3


def test_trace_methods_equal_embedded(remote: ValiqorClient, embedded: ValiqorClient, tmp_path: Path) -> None:
    fixture = next((Path(__file__).parents[2] / "fixtures").rglob("*.jsonl"))
    there, here = remote.traces.import_file(fixture), embedded.traces.import_file(fixture)
    assert (there.path, there.format, there.spans_read, there.spans_new, there.trace_ids) == (
        here.path, here.format, here.spans_read, here.spans_new, here.trace_ids) and there.spans_new > 0
    assert remote.traces.import_file(fixture).spans_new == 0
    trace_id = there.trace_ids[0]
    assert remote.traces.get(trace_id) == embedded.traces.get(trace_id)
    assert remote.traces.list() == embedded.traces.list()
    assert remote.traces.list(has_error=True, limit=1) == embedded.traces.list(has_error=True, limit=1)
    assert remote.traces.reconstruct(trace_id) == embedded.traces.reconstruct(trace_id)
    assert remote.traces.reconstruct(trace_id, split="turns") == embedded.traces.reconstruct(trace_id, split="turns")
    there_run = remote.failure_analysis.run(trace_id=f"tr_{trace_id}")
    here_run = embedded.failure_analysis.run(trace_id=trace_id)
    assert result_identity_free(there_run) == result_identity_free(here_run) and there_run.trace_id == trace_id


def _raised(call) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def test_errors_have_the_same_type_message_and_attributes(remote: ValiqorClient, embedded: ValiqorClient,
                                                          tmp_path: Path) -> None:
    bad_file = tmp_path / "broken.jsonl"
    bad_file.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 3}]}]}]}\n')
    calls = [
        lambda c: c.failure_analysis.run(dataset=[{"input": 3}, {"output": "x"}]),
        lambda c: c.failure_analysis.run(dataset=[]),
        lambda c: c.failure_analysis.run(),
        lambda c: c.failure_analysis.run(trace_id="not-a-trace"),
        lambda c: c.failure_analysis.run(dataset=DATASET, buckets=["no_such_bucket"]),
        lambda c: c.failure_analysis.get_bucket_details("nope"),
        lambda c: c.traces.import_file(bad_file),
        lambda c: c.traces.reconstruct("abc"),
    ]
    for call in calls:
        there = _raised(lambda call=call: call(remote))
        here = _raised(lambda call=call: call(embedded))
        assert type(there) is type(here), (there, here)
        assert str(there) == str(here).replace(str(embedded.config.home), str(remote.config.home))
        assert getattr(there, "problems", None) == getattr(here, "problems", None)
    missing = _raised(lambda: remote.failure_analysis.run(trace_id="0af7651916cd43dd8448eb211c80319c"))
    assert isinstance(missing, NotFoundError) and missing.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert missing.sources and "local store" in missing.sources[0]
    no_run = _raised(lambda: remote.failure_analysis.get_result("run_nope"))
    assert isinstance(no_run, NotFoundError) and "no run 'run_nope' on this server" in str(no_run)
    assert str(remote.config.home) not in str(no_run) and ".db" not in str(no_run)  # not the server's files
    assert isinstance(_raised(lambda: remote.traces.import_file(bad_file)), ImportFormatError)
    assert isinstance(_raised(lambda: remote.failure_analysis.run(dataset=[{}])), DatasetError)
    assert isinstance(_raised(lambda: remote.failure_analysis.list_runs(limit=0)), ValidationError)


def test_playground_limit_is_a_rate_limit_error_with_retry_after(remote: ValiqorClient) -> None:
    for _ in range(2):
        assert remote.failure_analysis.playground("What is 2+2?", "4").status == "completed"
    error = _raised(lambda: remote.failure_analysis.playground("What is 2+2?", "4"))
    assert isinstance(error, RateLimitError) and 0 < error.retry_after_s <= 60
    assert "2 calls a minute" in str(error)


def test_a_failed_run_raises_run_failed(app, remote: ValiqorClient, monkeypatch) -> None:
    import valiqor_trace.analyzer.runs._executor as executor

    def broken(*args, **kwargs):
        raise RuntimeError("detector exploded")

    monkeypatch.setattr(executor, "analyze_item", broken)
    error = _raised(lambda: remote.failure_analysis.run(dataset=DATASET))
    assert isinstance(error, RunFailedError) and "detector exploded" in str(error)
    handle = remote.failure_analysis.run_async(dataset=DATASET)
    assert isinstance(_raised(handle.wait), RunFailedError)
    assert remote.failure_analysis.get_status(handle.run_id).status == "failed"


def test_wrong_key_and_no_key_are_authentication_errors(live: LiveServer) -> None:
    for key in (None, "wrong-key"):
        client = ValiqorClient(base_url=live.url, api_key=key)
        error = _raised(client.failure_analysis.get_taxonomy)
        assert isinstance(error, AuthenticationError)
        assert ("missing API key" if key is None else "not valid") in str(error)
    assert httpx.get(f"{live.url}/health").json()["status"] == "ok"


def test_base_url_from_the_environment_switches_to_remote(live: LiveServer, monkeypatch) -> None:
    monkeypatch.setenv("VALIQOR_BASE_URL", live.url)
    monkeypatch.setenv("VALIQOR_API_KEY", KEY)
    client = ValiqorClient()
    assert "mode='remote'" in repr(client) and KEY not in repr(client)
    assert client.failure_analysis.run(dataset=DATASET[:1]).summary.total_items == 1


def test_oversized_uploads_are_refused_without_storing(http, app) -> None:
    response = http.post("/api/v1/traces/import?filename=big.jsonl", content=b"{" * (65 * 1024 * 1024))
    assert response.status_code == 400 and "exceeds 64 MiB" in response.json()["error"]["message"]
    assert app.state.server.client.trace_store.count_spans() == 0


def test_trace_sources_are_the_servers_in_remote_mode(remote: ValiqorClient) -> None:
    from valiqor_trace.analyzer.sources import FileSource

    with pytest.raises(ValidationError, match="reads the server's trace store"):
        remote.traces.add_source(FileSource("spans.jsonl"))


def test_a_key_that_cannot_be_a_header_is_a_validation_error(http) -> None:
    response = http.post("/api/v1/fa/runs", json={"dataset": DATASET[:1], "openai_api_key": "sk-\u00fe\u00ff"})
    assert response.status_code == 400 and "openai_api_key" in response.json()["error"]["message"]
