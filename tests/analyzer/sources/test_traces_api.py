"""TracesAPI: waiting for the root span, clear errors, listing, and the ``valiqor traces`` commands."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from valiqor_trace.errors import NotFoundError, TraceIncompleteError, ValidationError, ValiqorError
from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.cli import Cli
from valiqor_trace.store import SpanRecord, SpanStore


def test_reconstruct_waits_for_a_root_span_that_arrives_late(tmp_path: Path, records: list[SpanRecord]) -> None:
    store = SpanStore(tmp_path / "traces.db")
    root = next(s for s in records if s.parent_span_id is None)
    store.write_spans([s for s in records if s is not root])  # children end (and export) first
    arrived = threading.Event()

    def export_root_later() -> None:
        SpanStore(store.path).write_spans([root])  # another connection, as the app's exporter would be
        arrived.set()

    timer = threading.Timer(0.3, export_root_later)
    timer.start()
    try:
        item = TracesAPI(store).reconstruct(root.trace_id, timeout_s=30)
    finally:
        timer.cancel()
    assert arrived.is_set()
    assert (item.input, item.output) == ("Where is Ada?", "London.")


def test_a_root_that_never_arrives_is_a_clear_timeout(tmp_path: Path, records: list[SpanRecord]) -> None:
    store = SpanStore(tmp_path / "traces.db")
    store.write_spans([s for s in records if s.parent_span_id is not None])
    with pytest.raises(TraceIncompleteError) as caught:
        TracesAPI(store).reconstruct(records[0].trace_id, timeout_s=0.2)
    error = caught.value
    assert isinstance(error, TimeoutError) and isinstance(error, ValiqorError)
    assert error.span_count == len(records) - 1 and records[0].trace_id in str(error)
    assert "not the root span within 0.2s" in str(error) and "timeout_s" in str(error)


def test_unknown_and_malformed_trace_ids(tmp_path: Path) -> None:
    api = TracesAPI(SpanStore(tmp_path / "traces.db"))
    with pytest.raises(NotFoundError, match=r"trace a{32} not found; looked in: local store .*traces\.db"):
        api.reconstruct("tr_" + "A" * 32, timeout_s=0.05)
    with pytest.raises(NotFoundError):
        api.get("a" * 32)
    with pytest.raises(ValidationError, match="not a W3C trace id"):
        api.reconstruct("1234", timeout_s=0)
    with pytest.raises(ValidationError, match="split must be None or 'turns'"):
        api.reconstruct("a" * 32, split="pages")


def test_get_list_and_split(tmp_path: Path, records: list[SpanRecord]) -> None:
    api = TracesAPI(SpanStore(tmp_path / "traces.db"))
    api.store.write_spans(records)
    assert [s.span_id for s in api.get(records[0].trace_id)] == [s.span_id for s in records]
    [summary] = api.list()
    assert (summary.trace_id, summary.span_count, summary.error_count, summary.root_name) == \
        (records[0].trace_id, len(records), 1, "answer")
    assert api.list(has_error=False) == []
    turns = api.reconstruct(records[0].trace_id, split="turns", timeout_s=0)
    assert [t.input for t in turns] == ["Where is Ada?"]  # no LLM call: the whole trace is one turn


def _cli() -> Cli:
    import valiqor_trace.analyzer.cli._traces
    import valiqor_trace.cli._traces

    cli = Cli()
    valiqor_trace.cli._traces.register(cli)  # `valiqor traces show|list`
    valiqor_trace.analyzer.cli._traces.register(cli)  # adds `import` and `reconstruct` to the same group
    return cli


def _run(argv: list[str]) -> int:
    args = _cli().parser.parse_args(argv)
    return args.func(args)


def test_cli_import_then_reconstruct(tmp_path: Path, otlp_json_document: dict, records: list[SpanRecord],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps(otlp_json_document) + "\n")
    store = str(tmp_path / "traces.db")
    assert _run(["traces", "import", str(export), "--store", store]) == 0
    assert _run(["traces", "import", str(export), "--store", store]) == 0
    out = capsys.readouterr().out
    assert f"{export}: {len(records)} spans ({len(records)} new)" in out and f"({0} new)" in out
    assert _run(["traces", "reconstruct", "tr_" + records[0].trace_id, "--store", store, "--json"]) == 0
    item = json.loads(capsys.readouterr().out)
    assert (item["input"], item["output"], item["context"]) == ("Where is Ada?", "London.", ["Ada is in London."])
    assert _run(["traces", "reconstruct", records[0].trace_id, "--store", store]) == 0
    text = capsys.readouterr().out
    assert "input   Where is Ada?" in text and "tool    locate(" in text and "TimeoutError: locator down" in text


def test_cli_import_reports_a_bad_file_and_keeps_going(tmp_path: Path, otlp_json_document: dict,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"resourceSpans": [\n')
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(otlp_json_document) + "\n")
    assert _run(["traces", "import", str(bad), str(good), "--store", str(tmp_path / "t.db")]) == 1
    captured = capsys.readouterr()
    assert f"cannot import {bad}, line 2, column 1: invalid JSON" in captured.err
    assert f"{good}:" in captured.out


def test_cli_reconstruct_says_when_the_run_failed_before_answering(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = SpanStore(tmp_path / "traces.db")
    agent = SpanRecord(trace_id="ef" * 16, span_id="a" * 16, name="CodeAgent.run", start_time_unix_nano=1,
                       end_time_unix_nano=9, status_code="ERROR", status_message="AgentGenerationError: overloaded",
                       attributes={"openinference.span.kind": "AGENT", "input.value": '{"task": "Fix it."}'})
    step = SpanRecord(trace_id="ef" * 16, span_id="b" * 16, parent_span_id="a" * 16, name="Step 1",
                      start_time_unix_nano=2, end_time_unix_nano=3,
                      attributes={"openinference.span.kind": "CHAIN", "output.value": "Execution logs: ok"})
    store.write_spans([agent, step])
    assert _run(["traces", "reconstruct", "ef" * 16, "--store", str(store.path)]) == 0
    text = capsys.readouterr().out
    assert "output  - (no answer: CodeAgent.run ended in error: AgentGenerationError: overloaded)" in text
    assert "Execution logs" not in text
