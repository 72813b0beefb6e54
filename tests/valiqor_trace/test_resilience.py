"""A broken, down, slow or saturated exporter never changes what the app sees, nor blocks it."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import valiqor_trace
from tests.helpers import OTLPReceiver


class AppError(Exception):
    pass


@valiqor_trace.trace_function("compute")
def compute(x: int) -> dict:
    if x < 0:
        raise AppError(f"negative: {x}")
    return {"value": x * 3}


def _call_app(n: int) -> tuple[list, list]:
    results, errors = [], []
    for i in range(n):
        with valiqor_trace.trace_workflow("req"):
            results.append(compute(i))
            error = AppError("x")
            try:
                compute(-1)
            except AppError as exc:
                errors.append(exc)
                assert exc is not error and str(exc) == "negative: -1"
    return results, errors


class RaisingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence) -> SpanExportResult:
        self.calls += 1
        raise RuntimeError("exporter is broken")

    def shutdown(self) -> None:
        raise RuntimeError("and cannot shut down")


class BlockedExporter(SpanExporter):
    """Blocks every export until released: stands in for a hung network call."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported = 0

    def export(self, spans: Sequence) -> SpanExportResult:
        self.release.wait(30)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


def test_raising_exporter_leaves_app_results_and_exceptions_unchanged(tracer_provider) -> None:
    exporter = RaisingExporter()
    handle = valiqor_trace.init(exporters=[exporter], tracer_provider=tracer_provider, instrument=False)
    results, errors = _call_app(5)
    handle.force_flush()
    assert results == [{"value": i * 3} for i in range(5)] and len(errors) == 5
    assert exporter.calls >= 1
    assert handle.stats["custom:RaisingExporter"].failed == 15
    handle.shutdown()  # the exporter's failing shutdown is swallowed too


def test_calls_complete_while_the_exporter_is_hung(tracer_provider) -> None:
    exporter = BlockedExporter()
    handle = valiqor_trace.init(exporters=[exporter], tracer_provider=tracer_provider, instrument=False,
                                schedule_delay_ms=1)
    results, _ = _call_app(50)  # would hang here if any span export ran on the calling thread
    assert not exporter.release.is_set() and len(results) == 50
    exporter.release.set()
    assert handle.force_flush(10000)
    assert exporter.exported == 150


def test_full_queue_drops_are_counted_and_logged_once(tracer_provider, caplog) -> None:
    exporter = BlockedExporter()
    handle = valiqor_trace.init(exporters=[exporter], tracer_provider=tracer_provider, instrument=False,
                                max_queue_size=8, schedule_delay_ms=1)
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        results, _ = _call_app(40)  # 120 spans into a queue of 8 behind a hung exporter
    assert len(results) == 40
    stats = handle.stats["custom:BlockedExporter"]
    assert stats.dropped >= 100
    assert sum("export queue is full" in r.getMessage() for r in caplog.records) == 1
    exporter.release.set()
    handle.force_flush(10000)
    assert exporter.exported + stats.dropped == 120


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_collector_down_counts_failures_and_app_runs(tracer_provider) -> None:
    handle = valiqor_trace.init(endpoint=f"http://127.0.0.1:{_closed_port()}", exporters=["otlp"],
                                tracer_provider=tracer_provider, instrument=False, export_timeout_ms=500)
    results, errors = _call_app(3)
    assert len(results) == 3 and len(errors) == 3
    handle.shutdown(timeout_ms=3000)
    assert handle.stats["otlp"].failed == 9 and handle.stats["otlp"].exported == 0


@pytest.mark.slow
def test_slow_collector_does_not_slow_the_app_and_still_receives(tracer_provider) -> None:
    with OTLPReceiver(delay_s=1.0) as receiver:
        handle = valiqor_trace.init(endpoint=receiver.endpoint, exporters=["otlp"],
                                    tracer_provider=tracer_provider, instrument=False, schedule_delay_ms=1)
        results, _ = _call_app(10)
        assert len(results) == 10 and receiver.spans() == []  # the app finished before the first reply
        assert handle.force_flush(10000)
        assert len(receiver.spans()) == 30
