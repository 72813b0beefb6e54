"""OTLP/HTTP ingest: the real OTLP exporter, JSON, gzip, partial success, limits and back-pressure."""

from __future__ import annotations

import gzip
import json
import threading

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.analyzer.server.conftest import AUTH, LiveServer

PROTOBUF = {"content-type": "application/x-protobuf"}


def _finished_spans(count: int = 3, *, traces: int = 1) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("ingest-test")
    for t in range(traces):
        with tracer.start_as_current_span(f"workflow {t}") as root:
            root.set_attribute("valiqor.project_name", "ingest")
            for i in range(count - 1):
                with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", 10 + i)
                    span.set_attribute("tags", ["a", "b"])
                    span.add_event("gen_ai.choice", {"index": i})
    return exporter.get_finished_spans()


def _stored(app) -> int:
    return app.state.server.client.trace_store.count_spans()


def test_real_otlp_exporter_with_gzip_stores_every_span(app, live: LiveServer) -> None:
    spans = _finished_spans(4)
    exporter = OTLPSpanExporter(endpoint=f"{live.url}/v1/traces", headers=AUTH, compression=Compression.Gzip)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    trace_id = format(spans[0].context.trace_id, "032x")
    stored = {span.span_id: span for span in app.state.server.client.trace_store.get_trace(trace_id)}
    assert len(stored) == 4
    chat = next(span for span in spans if span.name == "chat gpt-4o-mini")
    record = stored[format(chat.context.span_id, "016x")]
    assert record.parent_span_id == format(chat.parent.span_id, "016x")
    assert record.attributes["gen_ai.usage.input_tokens"] == chat.attributes["gen_ai.usage.input_tokens"]
    assert record.attributes["tags"] == ["a", "b"]
    assert record.events[0].name == "gen_ai.choice" and record.scope_name == "ingest-test"
    assert app.state.server.client.traces.list()[0].project_name == "ingest"


def test_protobuf_response_is_a_standard_export_response(app, http) -> None:
    body = encode_spans(_finished_spans(2)).SerializeToString()
    response = http.post("/v1/traces", content=body, headers=PROTOBUF)
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")
    again = http.post("/v1/traces", content=gzip.compress(body), headers={**PROTOBUF, "content-encoding": "gzip"})
    assert again.status_code == 200 and _stored(app) == 2  # the same spans twice are stored once


def _json_span(span_id: str, trace_id: str = "5b8efff798038103d269b633813fc60c", **extra) -> dict:
    return {"traceId": trace_id, "spanId": span_id, "name": "chat m", "kind": 3,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}], **extra}


def _json_request(*spans: dict) -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
                                                            "value": {"stringValue": "svc"}}]},
                               "scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}]}]}


def test_otlp_json_with_a_bad_span_is_a_partial_success(app, http) -> None:
    request = _json_request(_json_span("eee19b7ec3c1b174"), _json_span("eee19b7ec3c1b175", traceId="xyz"),
                            _json_span("eee19b7ec3c1b176"))
    response = http.post("/v1/traces", json=request)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "spans[1]" in partial["errorMessage"] and "traceId" in partial["errorMessage"]
    assert _stored(app) == 2


def test_a_span_nested_too_deep_is_refused_alone(app, http) -> None:
    deep: dict = {"stringValue": "leaf"}
    for _ in range(40):
        deep = {"kvlistValue": {"values": [{"key": "k", "value": deep}]}}
    request = _json_request(_json_span("eee19b7ec3c1b174"),
                            _json_span("eee19b7ec3c1b175", attributes=[{"key": "deep", "value": deep}]))
    response = http.post("/v1/traces", json=request)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "'deep' is nested deeper than 32 levels" in response.json()["partialSuccess"]["errorMessage"]
    assert _stored(app) == 1
    # the hand-built protobuf of the malformed-request test is valid when shallow: its refusal is the depth
    assert http.post("/v1/traces", content=_deep_protobuf_request(5), headers=PROTOBUF).status_code == 200
    assert _stored(app) == 2


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand (the library refuses to build what we test)."""
    length, size = b"", len(payload)
    while True:
        length += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            break
    return bytes([number << 3 | 2]) + length + payload


def _deep_protobuf_request(levels: int) -> bytes:
    value = _field(1, b"leaf")  # AnyValue.string_value
    for _ in range(levels):  # AnyValue.kvlist_value -> KeyValueList.values -> KeyValue{key, value}
        value = _field(6, _field(1, _field(1, b"k") + _field(2, value)))
    span = (_field(1, bytes(range(1, 17))) + _field(2, bytes(range(1, 9))) + _field(5, b"deep")
            + _field(9, _field(1, b"deep") + _field(2, value)))
    return _field(1, _field(2, _field(2, span)))


def test_malformed_requests_get_4xx_and_store_nothing(app, http) -> None:
    good = encode_spans(_finished_spans(3)).SerializeToString()
    deep_json = ("[" * 100_000 + "]" * 100_000).encode()
    deep_attribute: dict = {"stringValue": "x"}
    for _ in range(200):
        deep_attribute = {"kvlistValue": {"values": [{"key": "k", "value": deep_attribute}]}}
    deep_span = _json_span("eee19b7ec3c1b174", attributes=[{"key": "deep", "value": deep_attribute}])
    cases = [
        ("truncated protobuf", good[: len(good) // 2], PROTOBUF, 400),
        ("protobuf nested 60 deep", _deep_protobuf_request(60), PROTOBUF, 400),
        ("JSON sent as protobuf", json.dumps(_json_request(_json_span("eee19b7ec3c1b174"))).encode(), PROTOBUF, 400),
        ("protobuf sent as JSON", good, {"content-type": "application/json"}, 400),
        ("wrong content type", good, {"content-type": "text/plain"}, 415),
        ("no content type", good, {"content-type": ""}, 415),
        ("deeply nested JSON", deep_json, {"content-type": "application/json"}, 400),
        ("attribute nested 200 deep", json.dumps(_json_request(deep_span)).encode(),
         {"content-type": "application/json"}, 400),
        ("JSON array", b"[1, 2]", {"content-type": "application/json"}, 400),
        ("broken gzip", b"\x1f\x8b\x08\x00garbage", {**PROTOBUF, "content-encoding": "gzip"}, 400),
        ("truncated gzip", gzip.compress(good)[:-20], {**PROTOBUF, "content-encoding": "gzip"}, 400),
        ("unknown encoding", good, {**PROTOBUF, "content-encoding": "br"}, 415),
        ("every span bad", json.dumps(_json_request(_json_span("nothex!"))).encode(),
         {"content-type": "application/json"}, 400),
    ]
    for name, body, headers, status in cases:
        response = http.post("/v1/traces", content=body, headers=headers)
        assert response.status_code == status, (name, response.status_code, response.content[:200])
        assert response.content, name  # a google.rpc.Status that says why
    assert _stored(app) == 0


_GOOD_ID = "5b8efff798038103d269b633813fc60c"


@pytest.mark.parametrize(("body", "expected"), [
    ({"resourceSpans": [{"scopeSpans": 7}]}, "resourceSpans[0].scopeSpans: expected a list, got int"),
    ({"resourceSpans": "all of them"}, "resourceSpans: expected a list, got str"),
    ({"resourceSpans": [None]}, "resourceSpans[0]: expected an object, got null"),
    ({"resourceSpans": [{"resource": 5}]}, "resourceSpans[0].resource: expected an object, got int"),
    ({"resourceSpans": [{"scopeSpans": [{"scope": {"name": 5}, "spans": []}]}]},
     "resourceSpans[0].scopeSpans[0].scope.name: expected a string, got int"),
    ({"resourceSpans": [{"scopeSpans": [{"spans": {"0": {}}}]}]},
     "resourceSpans[0].scopeSpans[0].spans: expected a list, got dict"),
    (_json_request(_json_span("eee19b7ec3c1b174", kind=9)), "spans[0]: field 'kind' must be a SpanKind"),
    (_json_request(_json_span("eee19b7ec3c1b174", status={"code": "BROKEN"})),
     "spans[0]: field 'status.code' must be a StatusCode"),
    (_json_request(_json_span("eee19b7ec3c1b174", traceId=_GOOD_ID[:30])),
     "spans[0]: field 'traceId' is not a 32-hex-character id"),
    (_json_request(_json_span("eee19b7ec3c1b174", startTimeUnixNano=str(2**64 - 1))),
     "spans[0]: field 'startTimeUnixNano' is out of range"),
    (_json_request(_json_span("eee19b7ec3c1b174", attributes=[{"key": "n", "value": {"intValue": "ten"}}])),
     "spans[0]: field attributes['n'] has an intValue that is not an integer: 'ten'"),
    (_json_request(_json_span("eee19b7ec3c1b174", events=[{"name": "e", "attributes": [{"key": "k", "value": 3}]}])),
     "spans[0]: field events[0].attributes['k'] is not an AnyValue"),
    (_json_request(_json_span("eee19b7ec3c1b174", name="chat \ud800")),
     "resourceSpans[0].scopeSpans[0].spans[0].name: the string has a lone UTF-16 surrogate"),
], ids=["scopeSpans-int", "resourceSpans-str", "resource-null", "resource-int", "scope-name-int", "spans-dict",
        "kind-9", "status-code", "short-trace-id", "time-past-int64", "intValue-text", "event-value-int",
        "lone-surrogate"])
def test_a_malformed_otlp_json_body_is_a_400_naming_the_field(app, http, body: dict, expected: str) -> None:
    response = http.post("/v1/traces", content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    assert response.status_code == 400, response.content
    assert response.json()["code"] == 3 and expected in response.json()["message"]
    assert _stored(app) == 0


def test_a_malformed_protobuf_span_is_refused_naming_the_field(app, http) -> None:
    request = encode_spans(_finished_spans(2))
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[0].kind = 9  # an enum value protobuf keeps, that no SpanKind has
    spans[1].trace_id = spans[1].trace_id[:5]
    response = http.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 400
    from google.rpc.status_pb2 import Status

    message = Status.FromString(response.content).message
    assert "spans[0]: field 'kind' must be a SpanKind" in message  # the first bad span is named
    spans[0].kind = 3
    partial = http.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert partial.status_code == 200  # the other span is good now: OTLP partial success
    rejected = ExportTraceServiceResponse.FromString(partial.content).partial_success
    assert rejected.rejected_spans == 1 and "spans[1]: field 'traceId' is not a 32-hex-character id" in \
        rejected.error_message
    assert _stored(app) == 1


def test_bodies_over_the_limit_get_413_and_store_nothing(app, http, live: LiveServer) -> None:
    big = b"\x00" * (50 * 1024 * 1024)
    response = http.post("/v1/traces", content=big, headers=PROTOBUF)
    assert response.status_code == 413 and b"limit" in response.content
    bomb = gzip.compress(b"\x00" * (40 * 1024 * 1024))  # small on the wire, 40 MB inflated
    response = http.post("/v1/traces", content=bomb, headers={**PROTOBUF, "content-encoding": "gzip"})
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(50):
            yield b"\x00" * (1024 * 1024)

    with httpx.Client() as client:
        response = client.post(f"{live.url}/v1/traces", content=chunks(), headers={**PROTOBUF, **AUTH})
    assert response.status_code == 413
    assert _stored(app) == 0


class _HeldStore:
    """A real SpanStore whose writes wait until released (or fail), to see back-pressure."""

    def __init__(self, store, *, fail: bool = False) -> None:
        self.store = store
        self.release = threading.Event()
        self.fail = fail

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def write_rows(self, rows, *, logs=()) -> int:
        self.release.wait(10)
        if self.fail:
            raise OSError("disk full")
        return self.store.write_rows(rows, logs=logs)


def test_full_queue_answers_503_with_retry_after_and_recovers(tmp_path, database_url: str | None) -> None:
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=str(tmp_path / "s"), database_url=database_url, max_queued_spans=600))
    held = _HeldStore(app.state.server.writer.store)
    app.state.server.writer.store = held
    batch = encode_spans(_finished_spans(512, traces=1)).SerializeToString()
    other = encode_spans(_finished_spans(512, traces=1)).SerializeToString()
    try:
        with LiveServer(app) as live, httpx.Client(base_url=live.url, headers=PROTOBUF, timeout=20) as client:
            first: list[httpx.Response] = []
            sender = threading.Thread(target=lambda: first.append(client.post("/v1/traces", content=batch)))
            sender.start()
            for _ in range(1000):  # until the first batch waits in the queue (its commit is held)
                if app.state.server.writer.queued_spans >= 512:
                    break
                sender.join(0.01)
            assert app.state.server.writer.queued_spans == 512, first
            refused = client.post("/v1/traces", content=other)
            assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
            held.release.set()
            sender.join(10)
            assert first[0].status_code == 200
            assert client.post("/v1/traces", content=other).status_code == 200  # the retry goes through
        assert app.state.server.client.trace_store.count_spans() == 1024
    finally:
        app.state.server.close()


def test_a_batch_the_store_cannot_take_is_503_and_not_half_written(tmp_path, database_url: str | None) -> None:
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=str(tmp_path / "s"), database_url=database_url))
    held = _HeldStore(app.state.server.writer.store, fail=True)
    held.release.set()
    app.state.server.writer.store = held
    try:
        with LiveServer(app) as live, live.client() as client:
            response = client.post("/v1/traces", content=encode_spans(_finished_spans(5)).SerializeToString(),
                                   headers=PROTOBUF)
            assert response.status_code == 503 and "retry-after" in response.headers
            assert held.store.count_spans() == 0
            held.fail = False
            assert client.post("/v1/traces", content=encode_spans(_finished_spans(5)).SerializeToString(),
                               headers=PROTOBUF).status_code == 200
            assert held.store.count_spans() == 5
    finally:
        app.state.server.close()


def test_decode_processes_give_the_same_answers(tmp_path, database_url: str | None) -> None:
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=str(tmp_path / "s"), database_url=database_url, decode_workers=1))
    try:
        with LiveServer(app) as live, live.client() as http:
            spans = _finished_spans(6)
            assert http.post("/v1/traces", content=encode_spans(spans).SerializeToString(),
                             headers=PROTOBUF).status_code == 200
            partial = http.post("/v1/traces", json=_json_request(_json_span("eee19b7ec3c1b174"),
                                                                  _json_span("bad", traceId="nothex")))
            assert partial.json()["partialSuccess"]["rejectedSpans"] == "1"
            truncated = http.post("/v1/traces", content=b"\x0a\xff\xff", headers=PROTOBUF)
            assert truncated.status_code == 400 and b"not a valid protobuf" in truncated.content
            assert _stored(app) == 7
    finally:
        app.state.server.close()


def test_protobuf_fast_path_reads_exactly_what_the_file_importer_reads() -> None:
    from google.protobuf.json_format import MessageToDict

    from valiqor_trace.analyzer.server._otlp_proto import request_document
    from valiqor_trace.analyzer.sources._otlp import parse_otlp

    spans = _finished_spans(4, traces=2)
    request = encode_spans(spans)
    extra = request.resource_spans[0].scope_spans[0].spans[1]
    for key, field, value in (("d", "double_value", 0.25), ("b", "bool_value", True), ("raw", "bytes_value", b"\x00\xff"),
                              ("i", "int_value", -7)):
        setattr(extra.attributes.add(key=key).value, field, value)
    link = extra.links.add(trace_id=bytes(range(16)), span_id=bytes(range(8)))
    link.attributes.add(key="why").value.string_value = "retry"
    ours = parse_otlp(request_document(request)).spans
    assert ours == parse_otlp(MessageToDict(request)).spans  # the decoder trace files go through
    record = next(span for span in ours if span.span_id == extra.span_id.hex())
    assert record.attributes["d"] == 0.25 and record.attributes["b"] is True and record.attributes["i"] == -7
    assert record.links[0].attributes == {"why": "retry"}


def test_the_real_exporter_rides_out_back_pressure(tmp_path, database_url: str | None) -> None:
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=str(tmp_path / "s"), database_url=database_url, max_queued_spans=600))
    held = _HeldStore(app.state.server.writer.store)
    app.state.server.writer.store = held
    try:
        with LiveServer(app) as live:
            blocker = threading.Thread(target=httpx.post, args=(f"{live.url}/v1/traces",),
                                       kwargs={"content": encode_spans(_finished_spans(512)).SerializeToString(),
                                               "headers": PROTOBUF, "timeout": 20})
            blocker.start()
            for _ in range(1000):
                if app.state.server.writer.queued_spans >= 512:
                    break
                blocker.join(0.01)
            results = []
            exporter = OTLPSpanExporter(endpoint=f"{live.url}/v1/traces", timeout=20)
            sender = threading.Thread(target=lambda: results.append(exporter.export(_finished_spans(200))))
            sender.start()
            for _ in range(1000):  # the exporter was told 503 + Retry-After at least once
                if app.state.server.writer.refused_batches:
                    break
                sender.join(0.01)
            assert app.state.server.writer.refused_batches >= 1
            held.release.set()
            sender.join(20)
            blocker.join(20)
            assert results == [SpanExportResult.SUCCESS]
            assert httpx.get(f"{live.url}/health").json()["refused_batches"] >= 1
        assert app.state.server.client.trace_store.count_spans() == 712
    finally:
        app.state.server.close()
