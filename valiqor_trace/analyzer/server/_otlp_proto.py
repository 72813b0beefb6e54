"""OTLP protobuf messages -> the OTLP/JSON document shape that :mod:`valiqor_trace.analyzer.sources` decodes.

The server decodes both encodings with the one decoder (``parse_otlp``); this
module only turns a parsed ``ExportTraceServiceRequest`` (or ``ExportLogsServiceRequest``) into the
dict it reads.
``google.protobuf.json_format.MessageToDict`` does the same generically but is
about seven times slower, which is most of the ingest budget, so the fields of
the trace protocol are mapped directly here (ids as lowercase hex, enums as
numbers, AnyValue as its JSON form).
"""

from __future__ import annotations

import base64
from typing import Any


def request_document(request: Any) -> dict[str, Any]:
    """The OTLP/JSON form of an ``ExportTraceServiceRequest`` (or ``TracesData``)."""
    return {"resourceSpans": [
        {"resource": {"attributes": _key_values(rs.resource.attributes)},
         "scopeSpans": [{"scope": {"name": ss.scope.name, "version": ss.scope.version},
                         "spans": [_span(span) for span in ss.spans]} for ss in rs.scope_spans]}
        for rs in request.resource_spans]}


def logs_request_document(request: Any) -> dict[str, Any]:
    """The OTLP/JSON form of an ``ExportLogsServiceRequest`` (or ``LogsData``)."""
    return {"resourceLogs": [
        {"resource": {"attributes": _key_values(rl.resource.attributes)},
         "scopeLogs": [{"scope": {"name": sl.scope.name, "version": sl.scope.version},
                        "logRecords": [_log_record(record) for record in sl.log_records]} for sl in rl.scope_logs]}
        for rl in request.resource_logs]}


def _log_record(record: Any) -> dict[str, Any]:
    document = {
        "timeUnixNano": record.time_unix_nano,
        "observedTimeUnixNano": record.observed_time_unix_nano,
        "severityNumber": record.severity_number,
        "severityText": record.severity_text,
        "attributes": _key_values(record.attributes),
        "traceId": record.trace_id.hex(),
        "spanId": record.span_id.hex(),
        "eventName": getattr(record, "event_name", ""),  # a field since OTLP 1.5
    }
    if record.HasField("body"):
        document["body"] = _any_value(record.body)
    return document


def _span(span: Any) -> dict[str, Any]:
    return {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "parentSpanId": span.parent_span_id.hex(),
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "status": {"code": span.status.code, "message": span.status.message},
        "attributes": _key_values(span.attributes),
        "events": [{"name": event.name, "timeUnixNano": event.time_unix_nano,
                    "attributes": _key_values(event.attributes)} for event in span.events],
        "links": [{"traceId": link.trace_id.hex(), "spanId": link.span_id.hex(),
                   "attributes": _key_values(link.attributes)} for link in span.links],
    }


def _key_values(items: Any) -> list[dict[str, Any]]:
    return [{"key": kv.key, "value": _any_value(kv.value)} for kv in items]


def _any_value(value: Any) -> dict[str, Any] | None:
    kind = value.WhichOneof("value")
    return None if kind is None else _CONVERTERS[kind](value)


_CONVERTERS = {
    "string_value": lambda v: {"stringValue": v.string_value},
    "int_value": lambda v: {"intValue": v.int_value},
    "double_value": lambda v: {"doubleValue": v.double_value},
    "bool_value": lambda v: {"boolValue": v.bool_value},
    "array_value": lambda v: {"arrayValue": {"values": [_any_value(item) for item in v.array_value.values]}},
    "kvlist_value": lambda v: {"kvlistValue": {"values": _key_values(v.kvlist_value.values)}},
    # base64, as MessageToDict writes it (and as trace files carry it)
    "bytes_value": lambda v: {"bytesValue": base64.b64encode(v.bytes_value).decode("ascii")},
}
