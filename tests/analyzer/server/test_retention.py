"""``valiqor serve`` with a retention: its own thread prunes old traces and runs while OTLP ingest goes on."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.analyzer.server.conftest import AUTH, DATASET, LiveServer
from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.server import ServerConfig, create_app
from valiqor_trace.store import SpanRecord, SpanStore

OLD_S = time.time() - 40 * 86_400


def _seed_old_data(config: ServerConfig, traces: int) -> str:
    """Old traces in the server's trace store and an old FA run in its run store; returns the run's id."""
    old_ns = int(OLD_S * 1e9)
    store = SpanStore(config.database_url or Path(config.data_dir or "") / "traces.db", clock=lambda: old_ns)
    store.write_spans([SpanRecord(trace_id=f"{n:032x}", span_id=f"{s:016x}", name="chat gpt-4o", kind="CLIENT",
                                  start_time_unix_nano=old_ns, end_time_unix_nano=old_ns + 1, status_code="OK")
                       for n in range(1, traces + 1) for s in range(1, 11)])
    store.close()
    with ValiqorClient(home=config.data_dir, database_url=config.database_url, clock=lambda: OLD_S) as client:
        return client.failure_analysis.run(dataset=DATASET).run_id


def _new_spans(count: int) -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for _ in range(count):
        with provider.get_tracer("app").start_as_current_span("workflow"):
            pass
    return list(memory.get_finished_spans())


def test_the_server_prunes_old_data_while_ingest_goes_on(server_config: ServerConfig,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "valiqor_trace.server")
    old_run_id = _seed_old_data(server_config, traces=1000)  # 10,000 spans: several batches
    config = dataclasses.replace(server_config, retention_days=30, retention_interval_s=0.05)
    app = create_app(config)
    state = app.state.server
    sent: list[str] = []
    failures: list[object] = []
    with LiveServer(app) as live:
        exporter = OTLPSpanExporter(endpoint=f"{live.url}/v1/traces", headers=AUTH)

        def ingest() -> None:  # the app keeps sending while the server prunes
            for _ in range(40):
                spans = _new_spans(5)
                result = exporter.export(spans)
                if result is not SpanExportResult.SUCCESS:
                    failures.append(result)
                sent.extend(f"{span.context.trace_id:032x}" for span in spans)

        sender = threading.Thread(target=ingest)
        sender.start()
        deadline = time.monotonic() + 30
        while state.client.trace_store.list_traces(start_ns=0, end_ns=int((OLD_S + 1) * 1e9)) \
                or state.client.run_store.has_run(old_run_id):
            assert time.monotonic() < deadline, "the old traces and run were not pruned"
            time.sleep(0.05)
        sender.join(60)
        assert failures == []
        deadline = time.monotonic() + 10
        while state.client.trace_store.count_spans() < len(sent):  # the writer's queue drains
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stored = {t.trace_id for t in state.client.trace_store.list_traces(limit=1000)}
        assert stored == set(sent)  # every new span kept, no old one left
        assert state.client.run_store.count_runs() == 0
        deadline = time.monotonic() + 10
        while not any("deleted 1000 traces, 10000 spans, 0 logs, 1 runs" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the server did not log what it deleted"
            time.sleep(0.05)
    state.close()


def test_a_bad_retention_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"ServerConfig\(retention_days=-3\): expected a number of days > 0"):
        ServerConfig(data_dir=str(tmp_path), retention_days=-3)
