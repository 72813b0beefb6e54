"""OTLP trace (and log) data as JSON -> :class:`SpanRecord`.

Reads the OTLP/JSON encoding (hex ids, as the collector's file exporter and
OTLP/HTTP JSON write it) and the protobuf JSON mapping (base64 ids, as
``MessageToDict`` and Grafana Tempo write it); ``resourceSpans`` or Tempo's
``batches``, ``scopeSpans`` or the older ``instrumentationLibrarySpans``.

Log records that belong to a span (the GenAI per-message events, emitted
through the Logs API by the official OpenAI instrumentation) become events of
that span, so the reconstruction sees them where the span is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.sources._decode import FieldError, any_value, hex_id, key_values, span_kind, status_code, unix_nanos
from valiqor_trace.store import SpanEvent, SpanLink, SpanRecord


@dataclass
class OtlpBatch:
    """What one OTLP document held."""

    spans: list[SpanRecord] = field(default_factory=list)
    # (trace id, span id) -> events from log records that name that span
    log_events: dict[tuple[str, str], list[SpanEvent]] = field(default_factory=dict)


class RecordError(ValueError):
    """A field error with the path of the record it is in (``resourceSpans[0].scopeSpans[1].spans[4]``)."""

    def __init__(self, path: str, error: Exception) -> None:
        self.path = path
        super().__init__(f"{path}: {error}")


def is_otlp(document: Any) -> bool:
    return isinstance(document, Mapping) and any(
        key in document for key in ("resourceSpans", "resource_spans", "batches", "resourceLogs", "resource_logs"))


def parse_otlp(document: Mapping[str, Any]) -> OtlpBatch:
    """All spans and span-bound log records of one OTLP JSON document.

    Raises:
        RecordError: naming the record path and the field at fault.
    """
    batch = OtlpBatch()
    for path, resource, scope, span in _walk(document, ("resourceSpans", "resource_spans", "batches"),
                                             ("scopeSpans", "scope_spans", "instrumentationLibrarySpans"), "spans"):
        try:
            batch.spans.append(_span(span, resource, scope))
        except (FieldError, TypeError, ValueError) as exc:
            raise RecordError(path, exc) from None
    for path, _resource, scope, record in _walk(document, ("resourceLogs", "resource_logs"),
                                                ("scopeLogs", "scope_logs"), "logRecords"):
        try:
            _log_event(batch, record, scope)
        except (FieldError, TypeError, ValueError) as exc:
            raise RecordError(path, exc) from None
    return batch


def _walk(document: Mapping[str, Any], resource_keys: tuple[str, ...], scope_keys: tuple[str, ...],
          item_key: str) -> Iterator[tuple[str, dict[str, Any], Mapping[str, Any], Mapping[str, Any]]]:
    for resource_key in resource_keys:
        resources = document.get(resource_key)
        if resources is None:
            continue
        for r, entry in enumerate(_list(resources, resource_key)):
            path = f"{resource_key}[{r}]"
            entry = _mapping(entry, path)
            resource = key_values((entry.get("resource") or {}).get("attributes"), f"{path}.resource.attributes")
            for scope_key in scope_keys:
                for s, scope_entry in enumerate(_list(entry.get(scope_key) or [], f"{path}.{scope_key}")):
                    scope_path = f"{path}.{scope_key}[{s}]"
                    scope_entry = _mapping(scope_entry, scope_path)
                    scope = scope_entry.get("scope") or scope_entry.get("instrumentationLibrary") or {}
                    for i, item in enumerate(_list(scope_entry.get(item_key) or [], f"{scope_path}.{item_key}")):
                        yield f"{scope_path}.{item_key}[{i}]", resource, scope, _mapping(item, "span")


def _span(span: Mapping[str, Any], resource: dict[str, Any], scope: Mapping[str, Any]) -> SpanRecord:
    name = span.get("name")
    if not isinstance(name, str):
        raise FieldError(f"field 'name' must be a string, got {type(name).__name__}")
    start = unix_nanos(span.get("startTimeUnixNano", span.get("start_time_unix_nano")), "startTimeUnixNano")
    end_raw = span.get("endTimeUnixNano", span.get("end_time_unix_nano"))
    status = span.get("status") or {}
    return SpanRecord(
        trace_id=hex_id(span.get("traceId", span.get("trace_id")), "traceId", 16),
        span_id=hex_id(span.get("spanId", span.get("span_id")), "spanId", 8),
        parent_span_id=hex_id(span.get("parentSpanId", span.get("parent_span_id")), "parentSpanId", 8,
                              required=False),
        name=name, kind=span_kind(span.get("kind")), start_time_unix_nano=start,
        end_time_unix_nano=unix_nanos(end_raw, "endTimeUnixNano") if end_raw not in (None, "", "0", 0) else None,
        status_code=status_code(_mapping(status, "status").get("code")), status_message=status.get("message") or None,
        attributes=key_values(span.get("attributes"), "attributes"),
        events=[SpanEvent(name=str(e.get("name", "")), time_unix_nano=unix_nanos(
                    e.get("timeUnixNano", e.get("time_unix_nano", start)), "events.timeUnixNano"),
                    attributes=key_values(e.get("attributes"), "events.attributes"))
                for e in (_mapping(e, "events") for e in _list(span.get("events") or [], "events"))],
        links=[SpanLink(trace_id=hex_id(link.get("traceId"), "links.traceId", 16),
                        span_id=hex_id(link.get("spanId"), "links.spanId", 8),
                        attributes=key_values(link.get("attributes"), "links.attributes"))
               for link in (_mapping(x, "links") for x in _list(span.get("links") or [], "links"))],
        resource=resource, scope_name=scope.get("name") or None, scope_version=scope.get("version") or None,
    )


def _log_event(batch: OtlpBatch, record: Mapping[str, Any], scope: Mapping[str, Any]) -> None:
    span_id = hex_id(record.get("spanId", record.get("span_id")), "spanId", 8, required=False)
    trace_id = hex_id(record.get("traceId", record.get("trace_id")), "traceId", 16, required=False)
    if span_id is None or trace_id is None:
        return  # a log line that belongs to no span says nothing about a trace
    attributes = key_values(record.get("attributes"), "attributes")
    name = record.get("eventName") or attributes.pop("event.name", None) or scope.get("name") or "log"
    if record.get("body") is not None:
        attributes["body"] = any_value(record["body"])
    time = record.get("timeUnixNano") or record.get("observedTimeUnixNano") or 0
    batch.log_events.setdefault((trace_id, span_id), []).append(
        SpanEvent(name=str(name), time_unix_nano=unix_nanos(time, "timeUnixNano") if time else 0,
                  attributes=attributes))


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise FieldError(f"field {path!r} must be a list, got {type(value).__name__}")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FieldError(f"{path!r} must be an object, got {type(value).__name__}")
    return value


def attach_log_events(spans: list[SpanRecord], log_events: dict[tuple[str, str], list[SpanEvent]]) -> list[SpanRecord]:
    """Spans with the log-record events that name them appended (time order)."""
    if not log_events:
        return spans
    out = []
    for span in spans:
        extra = log_events.get((span.trace_id, span.span_id))
        if extra:
            events = sorted([*span.events, *extra], key=lambda e: e.time_unix_nano)
            span = span.model_copy(update={"events": events})
        out.append(span)
    return out

