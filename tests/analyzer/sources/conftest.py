"""A small real trace (SDK spans, our convention) and its encodings in the formats the readers take."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import valiqor_trace
from valiqor_trace.attributes import GEN_AI_OPERATION_NAME, GEN_AI_TOOL_NAME
from valiqor_trace import SpanScope
from valiqor_trace.store import SpanRecord, row_record, span_row
from valiqor_trace.testing import capture_spans


@pytest.fixture
def sdk_spans() -> list[Any]:
    """Finished SDK spans of one trace: a workflow, a failing tool and a retrieval, with events and a link."""
    with capture_spans() as exporter:
        with valiqor_trace.trace_workflow("answer") as workflow:
            workflow.set_input({"question": "Where is Ada?"})
            with SpanScope("retrieval kb", "retrieval", {"valiqor.retrieval.documents": json.dumps(
                    [{"id": "d1", "content": "Ada is in London."}])}):
                pass
            try:
                with SpanScope("execute_tool locate", "tool", {GEN_AI_OPERATION_NAME: "execute_tool",
                                                               GEN_AI_TOOL_NAME: "locate", "retries": 2,
                                                               "tags": ("a", "b"), "ratio": 0.5}):
                    raise TimeoutError("locator down")
            except TimeoutError:
                pass
            workflow.set_output("London.")
    return list(exporter.get_finished_spans())


@pytest.fixture
def records(sdk_spans: list[Any]) -> list[SpanRecord]:
    """The same spans as the store keeps them."""
    return sorted((row_record(span_row(span)) for span in sdk_spans), key=lambda s: s.start_time_unix_nano)


def hex_ids(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and v else hex_ids(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [hex_ids(item) for item in node]
    return node


@pytest.fixture
def otlp_request(sdk_spans: list[Any]) -> Any:
    """The OTLP ExportTraceServiceRequest the real exporter would send."""
    return encode_spans(sdk_spans)


@pytest.fixture
def otlp_json_document(otlp_request: Any) -> dict[str, Any]:
    """OTLP/JSON (hex ids), as the collector's file exporter writes it."""
    return hex_ids(MessageToDict(otlp_request))


def by_start(spans: list[SpanRecord]) -> list[dict[str, Any]]:
    return [span.model_dump() for span in sorted(spans, key=lambda s: s.start_time_unix_nano)]
