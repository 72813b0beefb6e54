"""Messages sent as OpenTelemetry log events (the GenAI conventions' event mode) rebuild the item.

Live: ``opentelemetry-instrumentation-openai-v2`` in event mode over the real ``openai`` SDK (mock
transport), wired by ``valiqor_trace.init()`` (``event_mode_app.py``, its own process). Recorded: the
same app's spans and log records as the Collector's file exporter writes them, logs and traces
interleaved (``tests/fixtures/peers/genai-event-mode.jsonl``), so the join is tested without the peer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.sources import FileSource, import_file
from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.store import SpanStore

HERE = Path(__file__).parent
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "peers" / "genai-event-mode.jsonl"
MESSAGE_ATTRIBUTES = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt", "gen_ai.completion")


def _assert_item_has_the_messages(item: FAItem, truth: dict[str, Any]) -> None:
    assert item.input == truth["question"]
    assert item.output == truth["answer"]
    assert item.metadata["system_prompt"] == truth["system"]
    [call] = item.tool_calls
    assert (call.name, call.id, call.arguments, call.output, call.executed) == (
        truth["tool"], truth["call_id"], truth["arguments"], truth["tool_output"], True)
    assert item.metadata["content_captured"] is not False


def _assert_messages_only_in_log_records(store: SpanStore, trace_id: str) -> None:
    spans = store.get_trace(trace_id)
    assert not any(key in span.attributes for span in spans for key in MESSAGE_ATTRIBUTES)
    events = [event for span in spans for event in span.events]
    assert len(events) == len(store.get_logs(trace_id)) >= 2  # one per model call at least, from the logs table


def test_a_live_instrumentation_in_event_mode_writes_through_init_and_the_trace_reconstructs(tmp_path: Path) -> None:
    store_path = tmp_path / "traces.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_"))}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run([sys.executable, str(HERE / "event_mode_app.py"), "--store", str(store_path)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    truth = json.loads(result.stdout.strip().splitlines()[-1])
    store = SpanStore(store_path)
    _assert_messages_only_in_log_records(store, truth["trace_id"])
    _assert_item_has_the_messages(TracesAPI(store).reconstruct(truth["trace_id"], timeout_s=0), truth)


@pytest.fixture
def truth() -> dict[str, Any]:
    return json.loads(FIXTURE.with_suffix(".truth.json").read_text())


def test_a_collector_file_with_logs_and_traces_interleaved_imports_and_reconstructs(
        tmp_path: Path, truth: dict[str, Any]) -> None:
    kinds = [next(iter(json.loads(line))) for line in FIXTURE.read_text().splitlines()]
    assert kinds == ["resourceLogs", "resourceSpans", "resourceLogs"]  # what the test is about
    store = SpanStore(tmp_path / "traces.db")
    result = import_file(store, FIXTURE)
    assert (result.format, result.spans_read, result.spans_new, result.trace_ids) == (
        "otlp-json", 3, 3, [truth["trace_id"]])
    assert result.logs_read == result.logs_new == store.count_logs() == 2
    _assert_messages_only_in_log_records(store, truth["trace_id"])
    _assert_item_has_the_messages(TracesAPI(store).reconstruct(truth["trace_id"], timeout_s=0), truth)
    again = import_file(store, FIXTURE)
    assert (again.spans_new, again.logs_new, store.count_logs()) == (0, 0, 2)  # idempotent


def test_logs_and_spans_imported_from_separate_files_join_when_read(tmp_path: Path, truth: dict[str, Any]) -> None:
    lines = FIXTURE.read_text().splitlines()
    logs, spans = tmp_path / "logs.jsonl", tmp_path / "spans.jsonl"
    logs.write_text("\n".join(line for line in lines if line.startswith('{"resourceLogs"')) + "\n")
    spans.write_text("\n".join(line for line in lines if line.startswith('{"resourceSpans"')) + "\n")
    store = SpanStore(tmp_path / "traces.db")
    assert import_file(store, logs).logs_new == 2  # before their spans: kept, joined once the spans come
    assert import_file(store, spans).spans_new == 3
    _assert_item_has_the_messages(TracesAPI(store).reconstruct(truth["trace_id"], timeout_s=0), truth)


def test_a_file_source_joins_the_log_records_too(tmp_path: Path, truth: dict[str, Any]) -> None:
    api = TracesAPI(tmp_path / "no-store.db", sources=[FileSource(FIXTURE)])
    _assert_item_has_the_messages(api.reconstruct(truth["trace_id"], timeout_s=0), truth)
