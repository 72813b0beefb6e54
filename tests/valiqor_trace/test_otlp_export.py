"""Spans reach a real OTLP collector (HTTP/protobuf and gRPC) as well as the embedded store."""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from pathlib import Path

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

import valiqor_trace
from tests.helpers import OTLPReceiver
from valiqor_trace.store import SpanStore


def _traced_app() -> str:
    @valiqor_trace.trace_function
    def step(x: int) -> int:
        return x * 2

    with valiqor_trace.trace_workflow("request") as wf:
        step(1)
        step(2)
    return wf.trace_id


def test_http_endpoint_receives_the_same_spans_as_the_store(tracer_provider) -> None:
    with OTLPReceiver() as receiver:
        handle = valiqor_trace.init(endpoint=receiver.endpoint, tracer_provider=tracer_provider, instrument=False)
        trace_id = _traced_app()
        assert handle.force_flush(5000)
        received = receiver.spans()
        stored = SpanStore(handle.store_path).get_trace(trace_id)

    assert sorted(p.name for p in handle.pipelines) == ["otlp", "store"]
    assert sorted(s.name for s in received) == ["request", "step", "step"]
    assert {s.trace_id.hex() for s in received} == {trace_id}
    assert {s.span_id.hex() for s in received} == {s.span_id for s in stored}
    root = next(s for s in received if s.name == "request")
    assert all(s.parent_span_id == root.span_id for s in received if s.name == "step")
    attributes = {kv.key: kv.value.string_value for kv in root.attributes}
    assert attributes["valiqor.project_name"] == "default"
    assert handle.stats["otlp"].exported == 3 and handle.stats["otlp"].failed == 0


def test_otel_env_endpoint_enables_otlp(tracer_provider, monkeypatch) -> None:
    with OTLPReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        handle = valiqor_trace.init(tracer_provider=tracer_provider, instrument=False)
        _traced_app()
        handle.force_flush(5000)
        assert len(receiver.spans()) == 3


class _GrpcCollector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list = []
        self.lock = threading.Lock()

    def Export(self, request, context):  # noqa: N802 - the gRPC method name
        with self.lock:
            self.spans.extend(s for r in request.resource_spans for sc in r.scope_spans for s in sc.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


def test_grpc_endpoint_receives_spans(tracer_provider) -> None:
    collector = _GrpcCollector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        handle = valiqor_trace.init(endpoint=f"http://127.0.0.1:{port}", protocol="grpc",
                                    exporters=["otlp"], tracer_provider=tracer_provider, instrument=False)
        trace_id = _traced_app()
        assert handle.force_flush(10000)
    finally:
        handle.shutdown()
        server.stop(0)
    assert sorted(s.name for s in collector.spans) == ["request", "step", "step"]
    assert {s.trace_id.hex() for s in collector.spans} == {trace_id}


def test_several_exporters_at_once_including_a_users_own(tracer_provider, tmp_path: Path) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    mine = InMemorySpanExporter()
    handle = valiqor_trace.init(exporters=["store", "console", mine], tracer_provider=tracer_provider,
                                instrument=False)
    trace_id = _traced_app()
    handle.force_flush()
    assert [p.name for p in handle.pipelines] == ["store", "console", "custom:InMemorySpanExporter"]
    assert len(mine.get_finished_spans()) == 3
    assert len(handle.store.get_trace(trace_id)) == 3


def test_refused_auth_is_explained_once_per_status_without_the_secret(tracer_provider, caplog) -> None:
    secret = "s3cret-otlp-key"
    with OTLPReceiver(status=401) as receiver, caplog.at_level(logging.DEBUG):
        handle = valiqor_trace.init(endpoint=receiver.endpoint, headers={"Authorization": f"Bearer {secret}"},
                                    exporters=["otlp"], tracer_provider=tracer_provider, instrument=False)
        for _ in range(3):  # three batches, each refused
            _traced_app()
            handle.force_flush(5000)
        receiver.status = 403
        _traced_app()
        handle.force_flush(5000)
        handle.shutdown()

    assert handle.stats["otlp"].failed == 12 and handle.stats["otlp"].exported == 0
    url = f"{receiver.endpoint}/v1/traces"
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]  # what a user sees
    about_401 = [message for message in shown if "401" in message]
    assert about_401 == [
        f"valiqor-trace: OTLP export to {url}: 401 Unauthorized — check the API key / headers setting "
        "(sent: authorization, from init(headers=...)); set it with init(headers=...), VALIQOR_OTLP_HEADERS or "
        "OTEL_EXPORTER_OTLP_HEADERS. Refused spans are counted in handle.stats['otlp'].failed; "
        "this is logged again only if the status changes."]
    about_403 = [message for message in shown if "403" in message]
    assert len(about_403) == 1 and about_403[0].startswith(f"valiqor-trace: OTLP export to {url}: 403 Forbidden — ")
    assert shown == about_401 + about_403  # no SDK line per batch, no second generic line
    for record in caplog.records:  # every level, every logger (urllib3's debug lines too)
        assert secret not in record.getMessage() and secret not in str(record.args) \
            and secret not in (record.exc_text or "")


def test_a_refused_export_never_logs_credentials_carried_by_the_endpoint(tracer_provider, caplog) -> None:
    secret = "p4ss-in-url"
    with OTLPReceiver(status=401) as receiver, caplog.at_level(logging.DEBUG):
        endpoint = f"http://user:{secret}@127.0.0.1:{receiver.port}/v1/traces"
        handle = valiqor_trace.init(endpoint=endpoint, exporters=["otlp"], tracer_provider=tracer_provider,
                                    instrument=False)
        _traced_app()
        handle.force_flush(5000)
        handle.shutdown()
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(shown) == 1 and shown[0].startswith(
        f"valiqor-trace: OTLP export to http://127.0.0.1:{receiver.port}/v1/traces: 401 Unauthorized — check the "
        "API key / headers setting (no headers were sent)")
    assert all(secret not in r.getMessage() and secret not in str(r.args) for r in caplog.records)


def test_a_refused_export_names_env_headers_written_as_name_colon_value_without_the_key(
        tracer_provider, caplog, monkeypatch) -> None:
    # 'Authorization: Bearer <key>==' (the curl form) has '=' only in the key's padding: what precedes it is
    # read as the header name, so the name carries most of the key.
    secret = "sk-proj-abcdefghijklmnop0123456789"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization: Bearer {secret}==")
    with OTLPReceiver(status=401) as receiver, caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        handle = valiqor_trace.init(endpoint=receiver.endpoint, exporters=["otlp"], tracer_provider=tracer_provider,
                                    instrument=False)
        _traced_app()
        handle.force_flush(5000)
        handle.shutdown()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("valiqor_trace")]
    assert len(ours) == 1 and "(sent: authorization: ..., from OTEL_EXPORTER_OTLP_HEADERS)" in ours[0]
    assert secret[:12] not in ours[0]
