"""Property tests of the OTLP decoders (Hypothesis): no input gets anything but the decoder's own error.

The same decoders read ``POST /v1/traces`` bodies and trace files, so each property is checked on
both: random JSON trees shaped like OTLP (any field may hold any JSON instead), protobuf
requests with odd values (ids of any length, unknown enums, deep values), and real requests
truncated, mutated or replaced by random bytes. Whatever is accepted must be storable: a batch
the store refuses would fail the commit it shares with other clients' batches and be retried.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from valiqor_trace.errors import ImportFormatError
from valiqor_trace.analyzer.server._otlp_decode import IngestError, decode_request
from valiqor_trace.analyzer.sources import read_trace_file
from valiqor_trace.store import SpanStore

# OTLP_FUZZ_EXAMPLES=5000 for a longer hunt; the default keeps the suite quick on two cores.
FUZZ = settings(max_examples=int(os.environ.get("OTLP_FUZZ_EXAMPLES", "300")), deadline=None, derandomize=True,
                database=None, suppress_health_check=list(HealthCheck))

# -- random JSON, and JSON trees shaped like OTLP where any field may be any JSON ------------------------

TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["", "\ud800", "a\udfffb", "\x00", "SPAN_KIND_CLIENT"]))
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)


def _or_anything(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the right shape, sometimes any JSON at all."""
    return st.one_of(strategy, strategy, strategy, ANY_JSON)


def _message(required: dict[str, st.SearchStrategy], optional: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    return _or_anything(st.fixed_dictionaries({k: _or_anything(v) for k, v in required.items()},
                                              optional={k: _or_anything(v) for k, v in optional.items()}))


def _ids(size: int) -> st.SearchStrategy:
    right = st.binary(min_size=size, max_size=size)
    return st.one_of(right.map(bytes.hex), right.map(bytes.hex), st.binary(max_size=size + 3).map(bytes.hex),
                     right.map(lambda raw: base64.b64encode(raw).decode()))


TIMES = st.one_of(st.integers(min_value=-1, max_value=2**64), st.integers(min_value=0, max_value=2**63).map(str),
                  st.sampled_from(["2024-05-01T12:00:00Z", "0", "1e9", "-5"]), st.floats())
SCALARS = st.one_of(
    st.builds(lambda v: {"stringValue": v}, TEXT), st.builds(lambda v: {"boolValue": v}, st.booleans()),
    st.builds(lambda v: {"intValue": v}, st.integers() | st.integers().map(str)),
    st.builds(lambda v: {"doubleValue": v}, st.floats() | st.sampled_from(["NaN", "Infinity", "x"])),
    st.builds(lambda v: {"bytesValue": v}, st.sampled_from(["AAE=", "not base64!"])), st.just({}))
ANY_VALUES = st.recursive(_or_anything(SCALARS), lambda inner: _or_anything(st.one_of(
    st.builds(lambda vs: {"arrayValue": {"values": vs}}, st.lists(inner, max_size=3)),
    st.builds(lambda kvs: {"kvlistValue": {"values": kvs}},
              st.lists(st.fixed_dictionaries({"key": TEXT, "value": inner}), max_size=3)))), max_leaves=8)
KEY_VALUES = st.lists(_message({"key": TEXT}, {"value": ANY_VALUES}), max_size=3)
EVENTS = st.lists(_message({"name": TEXT}, {"timeUnixNano": TIMES, "attributes": KEY_VALUES}), max_size=2)
LINKS = st.lists(_message({"traceId": _ids(16), "spanId": _ids(8)}, {"attributes": KEY_VALUES}), max_size=2)
SPANS = _message(
    {"traceId": _ids(16), "spanId": _ids(8), "name": TEXT, "startTimeUnixNano": TIMES},
    {"parentSpanId": _ids(8), "kind": st.integers(-1, 7) | st.sampled_from(["SPAN_KIND_SERVER", "BOGUS"]),
     "endTimeUnixNano": TIMES, "attributes": KEY_VALUES, "events": EVENTS, "links": LINKS,
     "status": _message({}, {"code": st.integers(-1, 4) | st.sampled_from(["STATUS_CODE_ERROR", "NOPE"]),
                             "message": TEXT})})
SCOPE_SPANS = _message({"spans": st.lists(SPANS, max_size=3)},
                       {"scope": _message({}, {"name": TEXT, "version": TEXT})})
RESOURCE_SPANS = _message({"scopeSpans": st.lists(SCOPE_SPANS, max_size=2)},
                          {"resource": _message({}, {"attributes": KEY_VALUES})})
JSON_REQUESTS = st.fixed_dictionaries({"resourceSpans": _or_anything(st.lists(RESOURCE_SPANS, max_size=2))})

# -- protobuf: requests with odd values, and real ones cut or mutated -------------------------------------


def _sdk_request_bytes() -> bytes:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("fuzz", "1.0")
    with tracer.start_as_current_span("workflow") as root:
        root.set_attribute("valiqor.project_name", "fuzz")
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.usage.input_tokens", 12)
            span.set_attribute("tags", ["a", "b"])
            span.set_attribute("temperature", 0.5)
            span.add_event("gen_ai.choice", {"index": 0})
    return encode_spans(exporter.get_finished_spans()).SerializeToString()


REAL_REQUEST = _sdk_request_bytes()


def _fill_value(draw: Any, value: AnyValue, depth: int) -> None:
    choice = draw(st.integers(0, 6 if depth < 40 else 3))
    if choice == 0:
        value.string_value = draw(st.text(max_size=8))
    elif choice == 1:
        value.int_value = draw(st.integers(-(2**63), 2**63 - 1))
    elif choice == 2:
        value.double_value = draw(st.floats())
    elif choice == 3:
        value.bytes_value = draw(st.binary(max_size=4))
    elif choice == 4:
        for _ in range(draw(st.integers(0, 2))):
            _fill_value(draw, value.array_value.values.add(), depth + 1)
    elif choice == 5:
        _fill_value(draw, value.kvlist_value.values.add(key="k").value, depth + 1)
    else:  # a long chain, deeper than MAX_VALUE_DEPTH sometimes
        for _ in range(draw(st.integers(0, 40))):
            value = value.kvlist_value.values.add(key="deep").value
        value.bool_value = True


FIXED64 = st.one_of(st.integers(0, 2**63 - 1), st.integers(2**63 - 2, 2**64 - 1))  # both sides of SQLite's limit


def _raw_ids(size: int) -> st.SearchStrategy:
    right = st.binary(min_size=size, max_size=size)
    return st.one_of(right, right, right, st.binary(max_size=size + 1))


@st.composite
def proto_requests(draw: Any) -> bytes:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        scope = request.resource_spans.add().scope_spans.add()
        scope.scope.name = draw(st.text(max_size=5))
        for _ in range(draw(st.integers(0, 3))):
            span = scope.spans.add(trace_id=draw(_raw_ids(16)), span_id=draw(_raw_ids(8)),
                                   parent_span_id=draw(st.just(b"") | _raw_ids(8)), name=draw(st.text(max_size=8)),
                                   kind=draw(st.integers(0, 7)), start_time_unix_nano=draw(FIXED64),
                                   end_time_unix_nano=draw(FIXED64))
            span.status.code = draw(st.integers(0, 3))
            _fill_value(draw, span.attributes.add(key=draw(st.text(max_size=5))).value, 0)
            if draw(st.booleans()):
                link = span.links.add(trace_id=draw(_raw_ids(16)), span_id=draw(_raw_ids(8)))
                _fill_value(draw, link.attributes.add(key="l").value, 0)
    return request.SerializeToString()


@st.composite
def mutated_requests(draw: Any) -> bytes:
    data = bytearray(draw(st.sampled_from([REAL_REQUEST])) if draw(st.booleans()) else draw(proto_requests()))
    how = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "random"]))
    at = draw(st.integers(0, len(data)))
    if how == "truncate":
        return bytes(data[:at])
    if how == "flip" and data:
        data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
    elif how == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=6))
    elif how == "delete":
        del data[at:at + draw(st.integers(1, 6))]
    elif how == "random":
        return draw(st.binary(max_size=200))
    return bytes(data)


PROTOBUF_BODIES = st.one_of(proto_requests(), mutated_requests())

# -- the properties -----------------------------------------------------------------------------------------


def _decode_or_400(body: bytes, media_type: str, store: SpanStore) -> None:
    """The decoder answers rows (storable) or its own 400 naming what is wrong; nothing else."""
    try:
        batch = decode_request(body, media_type)
    except IngestError as exc:
        assert exc.status == 400 and str(exc), exc
        raise
    if batch.rejected:
        assert batch.error_message.startswith("resourceSpans["), batch.error_message
    store.write_rows(batch.rows)


def test_otlp_json_bodies_decode_or_get_a_400(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "traces.db")

    @FUZZ
    @given(document=JSON_REQUESTS)
    def check(document: dict) -> None:
        try:
            _decode_or_400(json.dumps(document).encode(), "json", store)  # lone surrogates as \ud800 escapes
        except IngestError as exc:  # every 400 of a JSON object names the path to the field at fault
            assert "resourceSpans" in str(exc), str(exc)

    check()


def test_otlp_protobuf_bodies_decode_or_get_a_400(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "traces.db")

    @FUZZ
    @given(body=PROTOBUF_BODIES)
    def check(body: bytes) -> None:
        try:
            _decode_or_400(body, "protobuf", store)
        except IngestError:
            pass  # its own error, checked above

    check()


def _import_or_refuse(path: Path, store: SpanStore) -> None:
    """A trace file is read whole (and stored) or refused with ImportFormatError naming it."""
    try:
        trace_file = read_trace_file(path)
    except ImportFormatError as exc:
        assert str(path) in str(exc), exc
        return
    store.write_spans(trace_file.spans)


def test_trace_files_read_or_get_an_import_format_error(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "traces.db")
    folder = tmp_path / "files"
    folder.mkdir()

    @FUZZ
    @given(lines=st.lists(JSON_REQUESTS, min_size=1, max_size=2), body=PROTOBUF_BODIES)
    def check(lines: list[dict], body: bytes) -> None:
        jsonl = folder / "export.jsonl"
        jsonl.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        _import_or_refuse(jsonl, store)
        document = folder / "export.json"
        document.write_bytes(json.dumps(lines[0], indent=1).encode())
        _import_or_refuse(document, store)
        binary = folder / "export.binpb"
        binary.write_bytes(body)
        _import_or_refuse(binary, store)

    check()


@pytest.fixture(scope="module")
def ingest_app(tmp_path_factory: pytest.TempPathFactory, module_database_url: str | None):
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=str(tmp_path_factory.mktemp("otlp-fuzz")), database_url=module_database_url))
    yield app
    app.state.server.close()


def test_the_receiver_answers_200_or_400_and_a_400_stores_nothing(ingest_app) -> None:
    from starlette.testclient import TestClient

    http = TestClient(ingest_app)
    store = ingest_app.state.server.client.trace_store

    @settings(FUZZ, max_examples=max(FUZZ.max_examples // 5, 20))
    @given(document=JSON_REQUESTS, body=PROTOBUF_BODIES)
    def check(document: dict, body: bytes) -> None:
        for content, content_type in ((json.dumps(document).encode(), "application/json"),
                                      (body, "application/x-protobuf")):
            before = store.count_spans()
            response = http.post("/v1/traces", content=content, headers={"content-type": content_type})
            assert response.status_code in (200, 400), (response.status_code, response.content[:300])
            if response.status_code == 400:
                assert store.count_spans() == before, response.content[:300]

    check()
