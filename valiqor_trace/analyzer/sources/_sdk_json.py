"""What the OpenTelemetry Python SDK prints: ``ReadableSpan.to_json()`` and ``ReadableLogRecord.to_json()``.

``ConsoleSpanExporter`` writes one pretty-printed ``to_json()`` object per span, one after
another (``ConsoleLogExporter`` the same for log records); apps also write ``to_json(indent=None)``
as JSON lines. Ids are ``0x``-prefixed hex inside ``context``, times ISO-8601 (microseconds),
the kind ``SpanKind.CLIENT``. The scope is not printed, so spans read from here have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valiqor_trace.analyzer.sources._decode import FieldError, hex_id, status_code, unix_nanos
from valiqor_trace.store import LogRecord, SpanEvent, SpanLink, SpanRecord


def is_sdk_span(value: Any) -> bool:
    context = value.get("context") if isinstance(value, dict) else None
    return isinstance(context, dict) and "span_id" in context and "trace_id" in context


def is_sdk_log(value: Any) -> bool:
    return isinstance(value, dict) and "observed_timestamp" in value and "severity_number" in value


def span_from_sdk_json(item: Mapping[str, Any]) -> SpanRecord:
    """The :class:`SpanRecord` of one ``ReadableSpan.to_json()`` object."""
    context = item["context"]
    name = item.get("name")
    if not isinstance(name, str):
        raise FieldError(f"field 'name' must be a string, got {_kind(name)}")
    start = unix_nanos(item.get("start_time"), "start_time")
    end = item.get("end_time")
    status = _mapping(item.get("status"), "status")
    resource = _mapping(item.get("resource"), "resource")
    return SpanRecord(
        trace_id=_id(context.get("trace_id"), "context.trace_id", 16),
        span_id=_id(context.get("span_id"), "context.span_id", 8),
        parent_span_id=_optional_id(item.get("parent_id"), "parent_id", 8),
        name=name, kind=_kind_name(item.get("kind")), start_time_unix_nano=start,
        end_time_unix_nano=unix_nanos(end, "end_time") if end is not None else None,
        status_code=status_code(status.get("status_code")), status_message=status.get("description") or None,
        attributes=dict(_mapping(item.get("attributes"), "attributes")),
        events=[_event(event, i, start) for i, event in enumerate(_list(item.get("events"), "events"))],
        links=[_link(link, i) for i, link in enumerate(_list(item.get("links"), "links"))],
        resource=dict(_mapping(resource.get("attributes"), "resource.attributes")),
    )


def log_from_sdk_json(item: Mapping[str, Any]) -> LogRecord | None:
    """The :class:`LogRecord` of one ``ReadableLogRecord.to_json()`` object; ``None`` when it names no span."""
    trace_id = _optional_id(item.get("trace_id"), "trace_id", 16)
    span_id = _optional_id(item.get("span_id"), "span_id", 8)
    if trace_id is None or span_id is None:
        return None
    time = item.get("timestamp") or item.get("observed_timestamp")
    severity = item.get("severity_number")
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)):
        raise FieldError(f"field 'severity_number' must be an integer, got {_kind(severity)}")
    event_name = item.get("event_name")
    return LogRecord(trace_id=trace_id, span_id=span_id,
                     time_unix_nano=unix_nanos(time, "timestamp") if time else 0,
                     event_name=event_name if isinstance(event_name, str) and event_name else None,
                     severity_number=severity or None, severity_text=item.get("severity_text") or None,
                     body=item.get("body"), attributes=dict(_mapping(item.get("attributes"), "attributes")))


def _id(value: Any, field: str, size: int) -> str:
    return hex_id(_unprefixed(value), field, size, pad=False)


def _optional_id(value: Any, field: str, size: int) -> str | None:
    return hex_id(_unprefixed(value), field, size, required=False, pad=False)


def _unprefixed(value: Any) -> Any:
    return value.removeprefix("0x") if isinstance(value, str) else value


def _kind_name(value: Any) -> str:
    text = str(value or "SpanKind.INTERNAL").removeprefix("SpanKind.")
    if text not in ("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"):
        raise FieldError(f"field 'kind' must be SpanKind.INTERNAL, SpanKind.CLIENT, ..., got {value!r:.40}")
    return text


def _event(event: Any, index: int, start: int) -> SpanEvent:
    event = _mapping(event, f"events[{index}]")
    time = event.get("timestamp")
    return SpanEvent(name=str(event.get("name") or ""),
                     time_unix_nano=unix_nanos(time, f"events[{index}].timestamp") if time else start,
                     attributes=dict(_mapping(event.get("attributes"), f"events[{index}].attributes")))


def _link(link: Any, index: int) -> SpanLink:
    link = _mapping(link, f"links[{index}]")
    context = _mapping(link.get("context"), f"links[{index}].context")
    return SpanLink(trace_id=_id(context.get("trace_id"), f"links[{index}].context.trace_id", 16),
                    span_id=_id(context.get("span_id"), f"links[{index}].context.span_id", 8),
                    attributes=dict(_mapping(link.get("attributes"), f"links[{index}].attributes")))


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"field {field!r} must be an object, got {_kind(value)}")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(f"field {field!r} must be a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
