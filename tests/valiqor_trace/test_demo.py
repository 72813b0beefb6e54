"""``valiqor demo`` — the README's main job — finds every failure its apps plant, by trace ID."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT
from valiqor_trace import ValiqorClient

pytest.importorskip("langchain_openai")


def test_demo_traces_four_requests_and_finds_the_planted_failures(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "valiqor_trace.cli", "demo"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    trace_ids = re.findall(r"^trace ([0-9a-f]{32})", out.stdout, re.M)
    assert len(trace_ids) == 4 and "scripted local model" in out.stdout

    client = ValiqorClient(project_name="valiqor-demo", home=str(tmp_path / ".valiqor"))
    runs = {run.trace_id: run for run in client.failure_analysis.list_runs(limit=10)}
    assert set(runs) == set(trace_ids) and all(run.input_type == "trace" for run in runs.values())
    found = [{tag.subcategory_id for tag in client.failure_analysis.get_tags(runs[t].run_id, decision="fail")}
             for t in trace_ids]
    assert "entity_fabrication" in found[0]  # John Carter / Denver are in no retrieved page
    assert "tool_error" in found[1]  # get_weather failed and the app told the model so
    assert found[2] & {"numeric_mismatch", "contradicts_source", "context_ignored"}  # 30 days vs 14 days
    assert "indirect_prompt_injection" in found[3]  # the retrieved page carries instructions

    tags = client.failure_analysis.get_tags(runs[trace_ids[1]].run_id, decision="fail")
    tool_error = next(tag for tag in tags if tag.subcategory_id == "tool_error")
    assert any(e.span_id for e in tool_error.evidence_items)  # evidence points at the spans
    assert client.traces.get(trace_ids[2])  # the trace itself is in the local store
