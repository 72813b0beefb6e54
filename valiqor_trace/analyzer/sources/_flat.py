"""Span lists that are not OTLP: flat span dicts, and nested exports with ``child_spans``.

Recognised field names (first found wins), covering our own ``valiqor traces show --json``
output, TRAIL/Patronus nested exports, and the common snake/camel-case dumps:

=================  ===========================================================================
id fields          ``trace_id``/``traceId``, ``span_id``/``spanId``, ``parent_span_id``/``parentSpanId``/``parent_id``
name               ``name``, ``span_name``, ``operationName``
times              ``start_time_unix_nano``/``startTimeUnixNano`` (ns), ``start_time``/``timestamp`` (ISO or ns);
                   ``end_time_unix_nano``/``endTimeUnixNano``/``end_time``, or a ``duration`` (ISO-8601 or ns)
attributes         ``attributes``, ``span_attributes`` (a dict, or OTLP ``[{key, value}]``)
status             ``status_code``/``status.code``, ``status_message``/``status.message``
events             ``events`` with ``name``/``Name``, ``time_unix_nano``/``timestamp``/``Timestamp``, ``attributes``/``Attributes``
children           ``child_spans`` (nested; their parent is the enclosing span)
=================  ===========================================================================
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from typing import Any

from valiqor_trace.analyzer.sources._decode import FieldError, duration_nanos, hex_id, key_values, span_kind, status_code, unix_nanos
from valiqor_trace.analyzer.sources._otlp import RecordError
from valiqor_trace.store import SpanEvent, SpanLink, SpanRecord


def is_span_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and any(k in value for k in ("span_id", "spanId", "spanID"))


def spans_of_document(document: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any], str | None]]:
    """(record path, span dict, parent id from nesting) for every span in a flat or nested document.

    Accepts a span dict, a list of them, or ``{"spans": [...]}`` (optionally with a top-level ``trace_id``).
    """
    if isinstance(document, Mapping) and isinstance(document.get("spans"), list) and not is_span_dict(document):
        yield from _nested(document["spans"], f"{path}spans", None)
    elif isinstance(document, list):
        yield from _nested(document, path.rstrip(".") or "", None)
    elif is_span_dict(document):
        yield from _nested([document], path.rstrip(".") or "", None)
    else:
        raise RecordError(path.rstrip(".") or "document", FieldError(
            "not a span list: expected OTLP 'resourceSpans', a list of spans, or {'spans': [...]} "
            "where each span has a 'span_id'"))


def _nested(items: list[Any], path: str, parent: str | None) -> Iterator[tuple[str, Mapping[str, Any], str | None]]:
    # Iterative walk: nested exports of long agent runs can be deep.
    stack = [(f"{path}[{i}]", item, parent) for i, item in reversed(list(enumerate(items)))]
    while stack:
        item_path, item, parent_id = stack.pop()
        if not isinstance(item, Mapping):
            raise RecordError(item_path, FieldError(f"a span must be an object, got {type(item).__name__}"))
        yield item_path, item, parent_id
        children = item.get("child_spans")
        if children:
            if not isinstance(children, list):
                raise RecordError(item_path, FieldError("field 'child_spans' must be a list"))
            own_id = item.get("span_id", item.get("spanId"))
            stack.extend((f"{item_path}.child_spans[{i}]", child, own_id)
                         for i, child in reversed(list(enumerate(children))))


def span_from_dict(item: Mapping[str, Any], *, nesting_parent: str | None = None,
                   default_trace_id: str | None = None) -> SpanRecord:
    """One :class:`SpanRecord` from a flat span dict (field names in the module docstring)."""
    trace_id = hex_id(_first(item, "trace_id", "traceId", "traceID") or default_trace_id, "trace_id", 16)
    parent_raw = _first(item, "parent_span_id", "parentSpanId", "parent_id", "parentSpanID")
    if parent_raw is None and nesting_parent is not None:
        parent_raw = nesting_parent
    name = _first(item, "name", "span_name", "operationName")
    if not isinstance(name, str):
        raise FieldError(f"field 'name' must be a string, got {type(name).__name__}")
    start = _start(item)
    declared = item.get("status")
    status = declared if isinstance(declared, Mapping) else {}
    return SpanRecord(
        trace_id=trace_id, span_id=hex_id(_first(item, "span_id", "spanId", "spanID"), "span_id", 8),
        parent_span_id=hex_id(parent_raw, "parent_span_id", 8, required=False), name=name,
        kind=span_kind(_first(item, "kind", "span_kind")), start_time_unix_nano=start,
        end_time_unix_nano=_end(item, start),
        status_code=status_code(_first(item, "status_code") or status.get("code")),
        status_message=_first(item, "status_message") or status.get("message") or None,
        attributes=_attributes(_first(item, "attributes", "span_attributes")),
        events=[_event(e, start) for e in _list(item.get("events"), "events")],
        links=[_link(link) for link in _list(item.get("links"), "links")],
        resource=_attributes(_first(item, "resource", "resource_attributes")),
        scope_name=_first(item, "scope_name") or None, scope_version=_first(item, "scope_version") or None,
    )


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in item and item[key] is not None:
            return item[key]
    return None


def _start(item: Mapping[str, Any]) -> int:
    if _first(item, "start_time_unix_nano", "startTimeUnixNano") is not None:
        return unix_nanos(_first(item, "start_time_unix_nano", "startTimeUnixNano"), "start_time_unix_nano")
    raw = _first(item, "start_time", "timestamp", "startTime")
    if raw is None:
        raise FieldError("field 'start_time_unix_nano' (or 'start_time'/'timestamp') is missing")
    return unix_nanos(raw, "start_time")


def _end(item: Mapping[str, Any], start: int) -> int | None:
    raw = _first(item, "end_time_unix_nano", "endTimeUnixNano", "end_time", "endTime")
    if raw is not None:
        return unix_nanos(raw, "end_time_unix_nano")
    duration = _first(item, "duration_ns", "duration")
    if duration is None:
        return None
    return start + duration_nanos(duration, "duration")


def _attributes(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):  # some exports stringify dicts (JSON, or Python repr)
        for parse in (json.loads, ast.literal_eval):
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(parsed, Mapping):
                return dict(parsed)
        raise FieldError(f"attributes must be an object, got text {value[:40]!r}")
    return key_values(value, "attributes")


def _list(value: Any, field: str) -> list[Any]:
    if value is None or value == "" or value == "[]":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise FieldError(f"field {field!r} must be a list") from None
    if not isinstance(value, list):
        raise FieldError(f"field {field!r} must be a list, got {type(value).__name__}")
    return value


def _event(event: Any, default_time: int) -> SpanEvent:
    if not isinstance(event, Mapping):
        raise FieldError(f"an event must be an object, got {type(event).__name__}")
    time = _first(event, "time_unix_nano", "timeUnixNano", "timestamp", "Timestamp")
    return SpanEvent(name=str(_first(event, "name", "Name") or ""),
                     time_unix_nano=unix_nanos(time, "events.timestamp") if time is not None else default_time,
                     attributes=_attributes(_first(event, "attributes", "Attributes")))


def _link(link: Any) -> SpanLink:
    if not isinstance(link, Mapping):
        raise FieldError(f"a link must be an object, got {type(link).__name__}")
    return SpanLink(trace_id=hex_id(_first(link, "trace_id", "traceId"), "links.trace_id", 16),
                    span_id=hex_id(_first(link, "span_id", "spanId"), "links.span_id", 8),
                    attributes=_attributes(link.get("attributes")))
