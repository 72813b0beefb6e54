"""``init(monitor=MonitorConfig(judge=True))`` with the real judge: the monitor's runs are judged, untraced."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import valiqor_trace
from valiqor_trace.testing import JudgeServer
from valiqor_trace.analyzer.runs import RunStore
from valiqor_trace import MonitorConfig


def _model(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "Paris.", "refusal": None}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})


def test_the_monitor_judges_with_the_clients_judge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    with JudgeServer(model="judge-model") as server:
        server.decisions["incomplete_answer"] = ("fail", 0.9)
        monkeypatch.setenv("VALIQOR_JUDGE_BASE_URL", server.base_url)
        monkeypatch.setenv("VALIQOR_JUDGE_MODEL", "judge-model")
        handle = valiqor_trace.init(
            project_name="shop", tracer_provider=TracerProvider(), instrument=["openai"], exporters=[exporter],
            home=str(tmp_path / "home"),
            monitor=MonitorConfig(sample_rate=1.0, max_per_minute=None, grace_period_s=0.0, judge=True))
        app = openai.OpenAI(api_key="sk-app", base_url="http://model.test/v1", max_retries=0,
                            http_client=httpx2.Client(transport=httpx2.MockTransport(_model)))
        with valiqor_trace.trace_workflow("answer") as root:
            root.set_input("What is the capital of France, and of Spain?")
            root.set_output(app.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Capitals of France and Spain?"}]
            ).choices[0].message.content)
        assert handle.monitor.force_flush(60_000)
        handle.shutdown()
        asked = len(server.requests)
    store = RunStore(tmp_path / "home" / "runs.db")
    (run,) = store.list_runs(project_name="shop", limit=10, offset=0)
    result = store.get_result(run.run_id)
    store.close()
    assert asked == 1 and result.tokens_used > 0
    judged = [t for t in result.failure_tags if t.subcategory_id == "incomplete_answer"]
    assert judged and judged[0].decision == "fail" and judged[0].detector_type_used == "llm_judge"
    exported = [s for s in exporter.get_finished_spans() if "judge-model" in json.dumps(dict(s.attributes or {}))]
    assert exported == []  # the judge request is in no span the app exported
