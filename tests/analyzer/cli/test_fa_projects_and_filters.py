"""Runs of a trace are filed under the trace's project; `fa list` shows every project, filtered on request;
`fa run` takes the judge, the store and trace sources as flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.analyzer.traces_for_runs import truncated_answer_trace, write_otlp_file, write_to_store
from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.cli import main
from valiqor_trace.errors import ValidationError
from valiqor_trace.testing import JudgeServer

ITEM = {"input": "What is the boiling point of water?", "output": "Water boils at 100 °C at sea level.",
        "context": ["At sea level, water boils at 100 °C."]}


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], exit_code: int = 0) -> object:
    assert main(argv) == exit_code, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / ".valiqor"  # the conftest's VALIQOR_HOME


@pytest.fixture
def shop_trace(home: Path) -> str:
    trace_id, spans = truncated_answer_trace("shop")
    write_to_store(home / "traces.db", spans)
    return trace_id


def test_a_trace_run_goes_to_the_trace_project_unless_one_is_named(shop_trace: str, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    run = _json(capsys, ["fa", "run", "--trace-id", shop_trace, "--json", "--no-gate"])
    assert run["project_name"] == "shop" and run["source"] == "trace" and run["trace_id"] == shop_trace
    named = _json(capsys, ["fa", "run", "--trace-id", shop_trace, "--project-name", "audit", "--json", "--no-gate"])
    assert named["project_name"] == "audit"
    dataset = tmp_path / "items.jsonl"
    dataset.write_text(json.dumps(ITEM) + "\n", encoding="utf-8")
    assert _json(capsys, ["fa", "run", "--dataset", str(dataset), "--json"])["project_name"] == "default"

    with ValiqorClient(project_name="mine") as client:  # the client's project is for what names none
        assert client.failure_analysis.run(trace_id=shop_trace).project_name == "shop"
        assert client.failure_analysis.run(trace_id=shop_trace, project_name="p2").project_name == "p2"
        assert client.failure_analysis.run(dataset=[ITEM]).project_name == "mine"


def test_a_trace_from_another_sdk_goes_to_its_service_name(home: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "billing"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("billing-app").start_as_current_span("invoice") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        trace_id = format(span.get_span_context().trace_id, "032x")
    write_to_store(home / "traces.db", list(exporter.get_finished_spans()))
    with ValiqorClient() as client:
        assert client.failure_analysis.run(trace_id=trace_id).project_name == "billing"


def test_fa_list_shows_every_project_and_filters_by_project_trace_source_and_time(
        shop_trace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = tmp_path / "items.jsonl"
    dataset.write_text(json.dumps(ITEM) + "\n", encoding="utf-8")
    trace_run = _json(capsys, ["fa", "run", "--trace-id", shop_trace, "--json", "--no-gate"])["run_id"]
    dataset_run = _json(capsys, ["fa", "run", "--dataset", str(dataset), "--json"])["run_id"]
    with ValiqorClient() as client:
        playground_run = client.failure_analysis.playground(ITEM["input"], ITEM["output"], ITEM["context"]).run_id

    def listed(*flags: str) -> list[str]:
        return [run["run_id"] for run in _json(capsys, ["fa", "list", "--json", *flags])]

    assert listed() == [playground_run, dataset_run, trace_run]  # every project, newest first
    assert listed("--project-name", "shop") == [trace_run]
    assert listed("--trace-id", f"tr_{shop_trace}") == [trace_run]
    assert listed("--source", "trace") == [trace_run] and listed("--source", "dataset") == [dataset_run]
    assert listed("--source", "playground") == [playground_run] and listed("--source", "monitor") == []
    assert listed("--since", "1h") == listed() and listed("--since", "2100-01-01") == []
    assert listed("--project-name", "default", "--source", "dataset") == [dataset_run]

    monkeypatch.setenv("COLUMNS", "220")  # every header on one line (narrower terminals wrap them)
    assert main(["fa", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert all(column in table[0] for column in ("project", "source", "trace id", "gate"))
    row = next(line for line in table if line.startswith(trace_run)).split()
    assert "shop" in row and "trace" in row and shop_trace in row and "block" in row  # truncation gates CI
    assert main(["fa", "list", "--since", "2100-01-01"]) == 0 and capsys.readouterr().out.startswith("no runs match")
    assert main(["fa", "list", "--since", "last tuesday"]) == 1
    assert "since must be a time back from now" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # not one of the sources: a usage error
        main(["fa", "list", "--source", "api"])
    assert usage.value.code == 2 and "invalid choice: 'api'" in capsys.readouterr().err


def test_since_counts_back_from_the_clock(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    with ValiqorClient(clock=lambda: now[0]) as client:
        old = client.failure_analysis.run(dataset=[ITEM]).run_id
        now[0] += 3 * 3600
        new = client.failure_analysis.run(dataset=[ITEM]).run_id
        fa = client.failure_analysis
        assert [r.run_id for r in fa.list_runs(since="2h")] == [new] and fa.count_runs(since="2h") == 1
        assert [r.run_id for r in fa.list_runs(since="4h")] == [new, old]
        assert fa.count_runs(since="2027-01-15T08:00:00") == 2 and fa.count_runs(since="2027-01-15T10:00Z") == 1
        with pytest.raises(ValidationError, match="source must be one of"):
            fa.list_runs(source="api")


def test_fa_run_reads_a_trace_from_a_source_file_and_a_given_store(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    trace_id, spans = truncated_answer_trace("files")
    export = write_otlp_file(tmp_path / "export.binpb", spans)
    run = _json(capsys, ["fa", "run", "--trace-id", trace_id, "--source", str(export), "--json", "--no-gate"])
    assert run["project_name"] == "files" and run["summary"]["primary_failure"] == "truncated_output"
    assert main(["fa", "run", "--trace-id", trace_id, "--json"]) == 1  # not in the store, no source
    assert "not found" in capsys.readouterr().err
    write_to_store(tmp_path / "elsewhere.db", spans)
    data_dir = tmp_path / "data"
    run = _json(capsys, ["fa", "run", "--trace-id", trace_id, "--store", str(tmp_path / "elsewhere.db"),
                         "--data-dir", str(data_dir), "--json", "--no-gate"])
    assert (data_dir / "runs.db").is_file()
    assert [r["run_id"] for r in _json(capsys, ["fa", "list", "--data-dir", str(data_dir), "--json"])] == \
        [run["run_id"]]
    assert main(["fa", "run", "--trace-id", trace_id, "--source", "jaeger://", "--json"]) == 1
    assert "jaeger://HOST:PORT" in capsys.readouterr().err


def test_judge_flags_reach_the_judge_and_its_key_comes_from_the_environment_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    key = "sk-test-cli-judge-0123456789abcdef"
    dataset = tmp_path / "items.jsonl"
    dataset.write_text(json.dumps(ITEM) + "\n", encoding="utf-8")
    with JudgeServer(model="cli-judge", api_key=key) as judge:
        judge.decisions["incomplete_answer"] = ("fail", 0.9)
        plain = _json(capsys, ["fa", "run", "--dataset", str(dataset), "--json"])
        assert judge.requests == [] and any(s["detector"].startswith("llm_judge") for s in plain["detectors_skipped"])

        monkeypatch.setenv("VALIQOR_OPENAI_API_KEY", key)
        argv = ["fa", "run", "--dataset", str(dataset), "--judge-base-url", judge.base_url,
                "--judge-model", "cli-judge", "--json", "--no-gate"]
        assert main(["-v", *argv]) == 0
        out, err = capsys.readouterr()
        judged = json.loads(out)
        assert judge.requests and {r.body["model"] for r in judge.requests} == {"cli-judge"}
        assert all(r.authorization_sent and not r.problems for r in judge.requests)
        assert any(t["subcategory_id"] == "incomplete_answer" and t["decision"] == "fail"
                   for t in judged["failure_tags"])
        assert key not in out + err
    assert main(["fa", "run", "--dataset", str(dataset), "--judge-model", "m", "--base-url", "http://127.0.0.1:9"]) == 1
    assert "server's judge" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # no flag takes the judge's key: it comes from the environment only
        main(["fa", "run", "--dataset", str(dataset), "--judge-api-key", key])
    assert usage.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err
