"""What the monitor leaves behind, seen from the command line: `traces list` hides its fa.verdict traces unless
--all, `fa list --source monitor` finds its runs, and `traces show --run-id` marks the spans their evidence names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

import valiqor_trace
from tests.analyzer.monitor.conftest import App
from valiqor_trace import MonitorConfig
from valiqor_trace.cli import main


def test_verdict_traces_are_hidden_and_evidence_spans_are_marked(tmp_path: Path, app: App,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / ".valiqor"  # VALIQOR_HOME: where the CLI reads by default
    handle = valiqor_trace.init(project_name="shop", tracer_provider=TracerProvider(), instrument=["openai"],
                                exporters=["store"], home=str(home),
                                monitor=MonitorConfig(sample_rate=1.0, max_per_minute=None, grace_period_s=0.0))
    app.ask("ok")
    app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    handle.force_flush()
    handle.shutdown()
    asked = app.trace_ids["ok"] + app.trace_ids["truncated"]

    assert main(["traces", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(t["trace_id"] for t in listed) == sorted(asked)
    assert main(["traces", "list"]) == 0
    assert "fa.verdict" not in capsys.readouterr().out
    assert main(["traces", "list", "--all", "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)
    verdicts = [t for t in everything if t["trace_id"] not in asked]
    assert len(everything) == 4 and [t["root_name"] for t in verdicts] == ["fa.verdict"] * 2

    truncated = app.trace_ids["truncated"][0]
    assert main(["fa", "list", "--source", "monitor", "--trace-id", truncated, "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert (run["project_name"], run["source"], run["primary_failure"]) == ("shop", "monitor", "truncated_output")

    monkeypatch.setenv("COLUMNS", "200")  # one line per span (a narrower terminal wraps the marks)
    assert main(["traces", "show", truncated, "--run-id", run["run_id"]]) == 0
    tree = capsys.readouterr().out.splitlines()
    marked = {re.search(r"\(([0-9a-f]{16})\)  ◆ (.*)$", line).groups() for line in tree if "◆" in line}
    assert main(["fa", "result", "--run-id", run["run_id"], "--json"]) == 0
    tags = json.loads(capsys.readouterr().out)["failure_tags"]
    evidence = {e["span_id"] for t in tags if t["decision"] == "fail" for e in t["evidence_items"] if e["span_id"]}
    assert marked == {(span_id, "evidence: truncated_output") for span_id in evidence}
    assert any(re.search(r"chat gpt-4o-mini .*◆ evidence: truncated_output$", line) for line in tree)
    assert main(["traces", "show", app.trace_ids["ok"][0], "--run-id", run["run_id"]]) == 1
    assert f"did not analyze trace {app.trace_ids['ok'][0]}: it analyzed {truncated}" in capsys.readouterr().err
