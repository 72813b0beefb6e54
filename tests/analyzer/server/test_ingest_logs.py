"""``POST /v1/logs``: log records that name a span are stored and the trace rebuilt by id has their messages.

Over a real uvicorn server: the real OTLP log and span exporters, and plain httpx posting the recorded
event-mode trace (JSON, gzip, protobuf); the same auth and errors as ``/v1/traces``.
"""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import httpx
from google.protobuf.json_format import ParseDict
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.analyzer.server.conftest import AUTH, LiveServer
from tests.helpers import REPO_ROOT

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "peers" / "genai-event-mode.jsonl"
PROTOBUF = {"content-type": "application/x-protobuf"}


def _base64_ids(node: Any) -> Any:
    """OTLP/JSON's hex ids as the protobuf JSON mapping (ParseDict) wants them."""
    if isinstance(node, dict):
        return {k: (base64.b64encode(bytes.fromhex(v)).decode() if k in ("traceId", "spanId", "parentSpanId") and v
                    else _base64_ids(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_base64_ids(item) for item in node]
    return node


def test_the_recorded_event_mode_trace_posted_to_traces_and_logs_rebuilds_with_its_messages(
        app, http: httpx.Client) -> None:
    truth = json.loads(FIXTURE.with_suffix(".truth.json").read_text())
    first_logs, spans, second_logs = (json.loads(line) for line in FIXTURE.read_text().splitlines())
    as_gzip_json = http.post("/v1/logs", content=gzip.compress(json.dumps(first_logs).encode()),
                             headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert (as_gzip_json.status_code, as_gzip_json.json()) == (200, {})
    assert http.post("/v1/traces", json=spans).status_code == 200
    request = ParseDict(_base64_ids(second_logs), ExportLogsServiceRequest())
    as_protobuf = http.post("/v1/logs", content=request.SerializeToString(), headers=PROTOBUF)
    assert as_protobuf.status_code == 200
    assert not ExportLogsServiceResponse.FromString(as_protobuf.content).HasField("partial_success")
    assert app.state.server.client.trace_store.count_logs() == 2

    item = http.get(f"/api/v1/traces/{truth['trace_id']}/reconstruct").json()
    assert (item["input"], item["output"]) == (truth["question"], truth["answer"])
    assert item["metadata"]["system_prompt"] == truth["system"]
    assert [(c["name"], c["output"], c["executed"]) for c in item["tool_calls"]] == [
        (truth["tool"], truth["tool_output"], True)]


def test_an_app_with_the_real_otlp_exporters_sends_its_message_events_to_the_server(live: LiveServer,
                                                                                      http: httpx.Client) -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"{live.url}/v1/traces", headers=AUTH, compression=Compression.Gzip)))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(
        endpoint=f"{live.url}/v1/logs", headers=AUTH, compression=Compression.Gzip)))
    logger = logger_provider.get_logger("genai")
    with tracer_provider.get_tracer("app").start_as_current_span("chat gpt-4o", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}) as span:
        logger.emit(LogRecord(event_name="gen_ai.system.message", body={"content": "Answer in French."}))
        logger.emit(LogRecord(event_name="gen_ai.user.message", body={"content": "Where is Ada?"}))
        logger.emit(LogRecord(event_name="gen_ai.choice", body={
            "index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Ada est à Londres."}}))
    logger.emit(LogRecord(body="a plain application log, in no span"))  # accepted, not stored
    logger_provider.shutdown()
    tracer_provider.shutdown()

    item = http.get(f"/api/v1/traces/{span.get_span_context().trace_id:032x}/reconstruct").json()
    assert (item["input"], item["output"]) == ("Where is Ada?", "Ada est à Londres.")
    assert item["metadata"]["system_prompt"] == "Answer in French."


def test_logs_ingest_has_the_same_auth_and_errors_as_traces(live: LiveServer, http: httpx.Client) -> None:
    record = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b171", "timeUnixNano": "1",
              "eventName": "gen_ai.user.message", "body": {"kvlistValue": {"values": [
                  {"key": "content", "value": {"stringValue": "hi"}}]}}}

    def request(*records: dict) -> dict:
        return {"resourceLogs": [{"scopeLogs": [{"scope": {"name": "genai"}, "logRecords": list(records)}]}]}

    with live.client() as anonymous:
        assert anonymous.post("/v1/logs", json=request(record)).status_code == 401
    assert http.post("/v1/logs", content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    structure = http.post("/v1/logs", json={"resourceLogs": [{"scopeLogs": 7}]})
    assert structure.status_code == 400
    assert structure.json()["message"] == ("invalid ExportLogsServiceRequest: resourceLogs[0].scopeLogs: "
                                           "expected a list, got int")
    partial = http.post("/v1/logs", json=request(record, {**record, "spanId": "eee19b"}))
    assert partial.status_code == 200
    assert partial.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    assert partial.json()["partialSuccess"]["errorMessage"].startswith(
        "resourceLogs[0].scopeLogs[0].logRecords[1]: field 'spanId' is not a 16-hex-character id")
    every_one_bad = http.post("/v1/logs", json=request({**record, "severityNumber": 99}))
    assert every_one_bad.status_code == 400
    assert "no log record could be read" in every_one_bad.json()["message"]
    assert "field 'severityNumber' must be a SeverityNumber" in every_one_bad.json()["message"]
    cut = http.post("/v1/logs", content=ExportLogsServiceRequest().SerializeToString() + b"\x0a\xff\xff",
                    headers=PROTOBUF)
    assert cut.status_code == 400 and b"not a valid protobuf ExportLogsServiceRequest" in cut.content
