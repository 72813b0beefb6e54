"""``executor="process"``: FA in child processes gives the same stored runs and alerts; a dying child loses one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import valiqor_trace
from valiqor_trace.analyzer.runs import RunStore
from tests.analyzer.monitor.conftest import ANSWER, CUT, App
from valiqor_trace import MonitorConfig


def start(tmp_path: Path, **monitor: Any) -> Any:
    config = {"sample_rate": 1.0, "max_per_minute": None, "grace_period_s": 0.0, "alert_severity": 3.0,
              "executor": "process", **monitor}
    return valiqor_trace.init(project_name="shop", tracer_provider=TracerProvider(), instrument=["openai"],
                              exporters="none", home=str(tmp_path / "home"), monitor=MonitorConfig(**config))


def children(handle: Any) -> list[Any]:
    return handle.monitor._worker._handler._analysis._fa._children


def test_runs_and_alerts_come_out_of_the_analysis_process(tmp_path: Path, app: App, receiver) -> None:
    handle = start(tmp_path, webhook_url=receiver.url)
    answers = [app.ask(kind) for kind in ["ok", "truncated", "tool_error"] * 3]
    assert handle.monitor.force_flush(60_000)
    assert answers == [ANSWER, CUT, ANSWER] * 3
    assert {b["failure_type"]: b["trace_id"] for b in receiver.received()} == {
        "truncated_output": app.trace_ids["truncated"][0], "tool_error": app.trace_ids["tool_error"][0]}
    (child,) = children(handle)
    assert child.process.pid is not None and child.process.poll() is None
    store = RunStore(tmp_path / "home" / "runs.db")
    runs = {run.trace_id: run for run in store.list_runs(project_name="shop", limit=20, offset=0)}
    assert len(runs) == 9 and {run.source for run in runs.values()} == {"monitor"}
    assert runs[app.trace_ids["truncated"][1]].primary_failure == "truncated_output"
    store.close()
    handle.shutdown()
    assert child.process.poll() is not None  # the child ends with the monitor


def test_a_child_that_dies_loses_one_analysis_and_is_replaced(
        tmp_path: Path, app: App, caplog: pytest.LogCaptureFixture) -> None:
    handle = start(tmp_path)
    app.ask("ok")
    assert handle.monitor.force_flush(60_000)
    (first,) = children(handle)
    first.process.kill()
    first.process.wait()
    with caplog.at_level(logging.ERROR, logger="valiqor_trace"):
        app.ask("truncated")
        assert handle.monitor.force_flush(60_000)
    app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    stats = handle.monitor.stats
    assert (stats.analyzed, stats.failed) == (2, 1)
    assert any(app.trace_ids["truncated"][0] in r.getMessage() for r in caplog.records)
    (second,) = children(handle)
    assert second is not first and second.process.poll() is None
