"""Monitoring end to end on the real path: OpenAI SDK spans -> reconstruct -> FA engine -> run store,
verdict spans, and alerts to a webhook on 127.0.0.1."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import valiqor_trace
from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.fa.detectors import Detector
from valiqor_trace.analyzer.runs import RunStore
from tests.analyzer.monitor.conftest import ANSWER, CUT, App
from tests.helpers import REPO_ROOT, run_python
from valiqor_trace import MonitorConfig

KINDS = ["ok", "truncated", "tool_error"]


def start(tmp_path: Path, exporter: InMemorySpanExporter | None = None, **monitor: Any) -> Any:
    config = {"sample_rate": 1.0, "max_per_minute": None, "grace_period_s": 0.0, "alert_severity": 3.0,
              "alert_cooldown_s": 3600.0, "webhook_backoff_s": 0.01, **monitor}
    return valiqor_trace.init(project_name="shop", tracer_provider=TracerProvider(), instrument=["openai"],
                              exporters=[exporter] if exporter is not None else "none",
                              home=str(tmp_path / "home"), monitor=MonitorConfig(**config))


def test_one_alert_per_failure_type_per_cooldown_reaches_the_webhook_and_requests_all_succeed(
        tmp_path: Path, app: App, receiver, caplog: pytest.LogCaptureFixture) -> None:
    exporter = InMemorySpanExporter()
    called: list[Any] = []
    handle = start(tmp_path, exporter, webhook_url=receiver.url, on_alert=called.append)
    with caplog.at_level(logging.WARNING, logger="valiqor_trace.monitor"):
        answers = [app.ask(KINDS[n % 3]) for n in range(30)]
        assert handle.monitor.force_flush(60_000)
    handle.force_flush()

    assert answers == [ANSWER, CUT, ANSWER] * 10  # the app got exactly what the model said, every time
    bodies = receiver.received()
    assert sorted(body["failure_type"] for body in bodies) == ["tool_error", "truncated_output"]
    by_type = {body["failure_type"]: body for body in bodies}
    # Each alert names the first trace that showed its failure (later ones fall in the cooldown).
    assert by_type["truncated_output"]["trace_id"] == app.trace_ids["truncated"][0]
    assert by_type["tool_error"]["trace_id"] == app.trace_ids["tool_error"][0]
    for body in bodies:
        assert body["type"] == "valiqor.fa.alert" and body["project_name"] == "shop"
        assert body["run_id"].startswith("run_") and body["failures"][0]["subcategory_id"] == body["failure_type"]
        assert body["summary"]["should_alert"] is True
    assert [alert.trace_id for alert in called] == [body["trace_id"] for body in bodies]
    assert "sk-test-monitor-SECRET" not in repr(bodies) + caplog.text  # the app's key goes nowhere
    stats = handle.monitor.stats
    assert (stats.sampled, stats.analyzed, stats.failed) == (30, 30, 0)
    assert (stats.alerted, stats.alerts_suppressed, stats.alert_failures) == (2, 18, 0)
    assert sum("valiqor monitor alert" in record.getMessage() for record in caplog.records) == 2

    # The runs are stored, tagged as monitoring, one per trace, with the right verdicts.
    store = RunStore(tmp_path / "home" / "runs.db")
    runs = store.list_runs(project_name="shop", limit=100, offset=0)
    assert len(runs) == 30 and {run.source for run in runs} == {"monitor"}
    primary = {run.trace_id: run.primary_failure for run in runs}
    assert {primary[t] for t in app.trace_ids["truncated"]} == {"truncated_output"}
    assert {primary[t] for t in app.trace_ids["tool_error"]} == {"tool_error"}
    assert {primary[t] for t in app.trace_ids["ok"]} == {None}
    alerted_run = store.get_result(by_type["tool_error"]["run_id"])
    assert alerted_run.trace_id == by_type["tool_error"]["trace_id"] and alerted_run.summary.should_alert

    # Verdicts went back into telemetry: one fa.verdict span per analyzed trace, linked to its root.
    spans = exporter.get_finished_spans()
    roots = {format(s.context.trace_id, "032x"): s for s in spans if s.name == "answer_question"}
    verdicts = [s for s in spans if s.name == "fa.verdict"]
    assert len(verdicts) == 30
    for verdict in verdicts:
        analyzed = verdict.attributes["valiqor.fa.trace_id"]
        assert verdict.links[0].context.span_id == roots[analyzed].context.span_id
        assert verdict.attributes["valiqor.fa.run_id"] in {run.run_id for run in runs}
        assert verdict.attributes["valiqor.fa.should_alert"] is (primary[analyzed] is not None)
        assert verdict.attributes.get("valiqor.fa.primary_failure") == primary[analyzed]
        assert verdict.context.trace_id != roots[analyzed].context.trace_id
    store.close()


def test_with_the_receiver_down_the_app_is_unaffected_and_failures_are_counted(
        tmp_path: Path, app: App, closed_port_url: str) -> None:
    handle = start(tmp_path, webhook_url=closed_port_url, webhook_max_attempts=2)
    answers = [app.ask(kind) for kind in KINDS * 4]
    assert handle.monitor.force_flush(60_000)
    assert answers == [ANSWER, CUT, ANSWER] * 4
    stats = handle.monitor.stats
    assert (stats.analyzed, stats.alerted, stats.alert_failures) == (12, 2, 2)


def test_the_cooldown_ends_and_the_next_alert_counts_what_was_held_back(tmp_path: Path, app: App) -> None:
    alerts: list[Any] = []
    handle = start(tmp_path, on_alert=alerts.append, alert_cooldown_s=0.0, buckets=["generation"])
    for _ in range(3):
        app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    assert [a.failure_type for a in alerts] == ["truncated_output"] * 3  # no cooldown: every one alerts
    assert [a.trace_id for a in alerts] == app.trace_ids["truncated"]


def test_an_exception_inside_a_detector_loses_that_analysis_only(
        tmp_path: Path, app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def explode_on_tools(view: Any) -> Any:
        if view.tool_calls or view.meta.get("error_spans"):
            raise ZeroDivisionError("bug in a detector")
        return None

    broken = Detector(name="broken_detector", subcategories=("tool_error",), check=explode_on_tools)
    monkeypatch.setattr(engine, "REGISTRY", (*engine.REGISTRY, broken))
    handle = start(tmp_path)
    with caplog.at_level(logging.ERROR, logger="valiqor_trace"):
        answers = [app.ask(kind) for kind in ["ok", "tool_error", "truncated", "ok"]]
        assert handle.monitor.force_flush(60_000)
    assert answers == [ANSWER, ANSWER, CUT, ANSWER]
    stats = handle.monitor.stats
    assert (stats.analyzed, stats.failed) == (3, 1)
    failed_trace = app.trace_ids["tool_error"][0]
    assert any(failed_trace in r.getMessage() and "ZeroDivisionError" in r.getMessage() for r in caplog.records)
    store = RunStore(tmp_path / "home" / "runs.db")
    runs = {run.trace_id: run for run in store.list_runs(project_name="shop", limit=10, offset=0)}
    assert runs[failed_trace].status == "failed"  # the run says so; nothing half-stored
    assert [runs[t].status for t in app.trace_ids["ok"] + app.trace_ids["truncated"]] == ["completed"] * 3
    assert runs[app.trace_ids["truncated"][0]].primary_failure == "truncated_output"
    store.close()


def test_feature_kind_filter_skips_traces_of_other_kinds(tmp_path: Path, app: App) -> None:
    handle = start(tmp_path, feature_kinds=["agent"])
    for kind in KINDS:
        app.ask(kind)
    assert handle.monitor.force_flush(60_000)
    store = RunStore(tmp_path / "home" / "runs.db")
    runs = store.list_runs(project_name="shop", limit=10, offset=0)
    # Only the trace with a tool span is an agent trace; the others are counted as filtered.
    assert [run.trace_id for run in runs] == app.trace_ids["tool_error"]
    assert handle.monitor.stats.filtered == 2
    store.close()


def test_with_content_capture_off_only_span_level_failures_are_analyzed(tmp_path: Path, app: App) -> None:
    alerts: list[Any] = []
    handle = valiqor_trace.init(project_name="shop", tracer_provider=TracerProvider(), instrument=["openai"],
                                exporters="none", home=str(tmp_path / "home"), capture_content=False,
                                monitor=MonitorConfig(sample_rate=1.0, grace_period_s=0.0, alert_severity=3.0,
                                                      on_alert=alerts.append))
    for kind in KINDS:
        app.ask(kind)
    assert handle.monitor.force_flush(60_000)
    store = RunStore(tmp_path / "home" / "runs.db")
    primary = {run.trace_id: run.primary_failure for run in store.list_runs(project_name="shop", limit=10, offset=0)}
    # No text was recorded, and an absent answer is not read as an empty one.
    assert primary == {app.trace_ids["ok"][0]: None, app.trace_ids["truncated"][0]: "truncated_output",
                       app.trace_ids["tool_error"][0]: "tool_error"}
    assert sorted(alert.failure_type for alert in alerts) == ["tool_error", "truncated_output"]
    store.close()


class ScriptedJudge:
    """A judge that finds the answer incomplete (an ``llm_judge`` subcategory) and records whether it was traced."""

    available = True
    unavailable_reason = ""

    def __init__(self) -> None:
        self.suppressed: list[bool] = []

    def evaluate(self, request: Any) -> Any:
        from valiqor_trace.analyzer.fa.judge import JudgeResult
        from valiqor_trace.analyzer.fa.models import Finding
        from valiqor_trace._suppress import is_instrumentation_suppressed

        self.suppressed.append(is_instrumentation_suppressed())
        wanted = {s["id"] for s in request.subcategories}
        findings = [Finding(subcategory_id="incomplete_answer", decision="fail", confidence=0.9,
                            rationale="the answer stops mid-sentence", detector="scripted_judge")]
        return JudgeResult(findings=[f for f in findings if f.subcategory_id in wanted], tokens_used=42)


def test_judge_true_uses_the_clients_judge_untraced_and_default_monitoring_is_deterministic(
        tmp_path: Path, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    from valiqor_trace.analyzer.client import ValiqorClient

    judge = ScriptedJudge()
    monkeypatch.setattr(ValiqorClient, "_judge", lambda self, key: judge)
    handle = start(tmp_path, judge=True)
    app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    handle.shutdown()
    store = RunStore(tmp_path / "home" / "runs.db")
    (run,) = store.list_runs(project_name="shop", limit=10, offset=0)
    result = store.get_result(run.run_id)
    judged = [t for t in result.failures() if t.subcategory_id == "incomplete_answer"]
    assert judged and judged[0].detector_type_used == "llm_judge" and result.tokens_used == 42
    assert judge.suppressed == [True]  # the judge's own calls are never traced into the app's traces
    store.close()

    handle = start(tmp_path / "second")  # judge=False (the default): the judge is never asked
    app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    assert judge.suppressed == [True]


def test_shutdown_analyzes_what_is_complete_and_exports_its_verdicts(tmp_path: Path, app: App) -> None:
    exporter = InMemorySpanExporter()
    handle = start(tmp_path, exporter, grace_period_s=30.0)  # nothing is handed over before shutdown
    for kind in KINDS:
        app.ask(kind)
    handle.shutdown()  # the monitor drains before the exporters shut down
    verdicts = [s for s in exporter.get_finished_spans() if s.name == "fa.verdict"]
    analyzed = sorted(v.attributes["valiqor.fa.trace_id"] for v in verdicts)
    assert analyzed == sorted(t for ids in app.trace_ids.values() for t in ids)
    assert handle.monitor.stats.analyzed == 3


def test_the_example_runs_end_to_end(tmp_path: Path) -> None:
    output = run_python(f"""
        import runpy, sys
        sys.argv = ["production_monitoring.py", "--requests", "21", "--sample-rate", "1.0", "--home", {str(tmp_path / "home")!r}]
        runpy.run_path({str(REPO_ROOT / "examples" / "production_monitoring.py")!r}, run_name="__main__")
    """, cwd=tmp_path, timeout=120)
    assert "the webhook received 3 alerts:" in output
    assert "generation/truncated_output" in output and "tool_use/tool_error" in output
    # after a failed lookup the scripted model still says the order shipped: the answer ignored the failure
    assert "tool_use/tool_failure_ignored severity 4.6" in output
    assert "21 traces seen, 21 sampled" in output and "0 dropped, 0 failed" in output
