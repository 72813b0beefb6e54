"""OTLP trace (and log) data as JSON -> :class:`SpanRecord`.

Reads the OTLP/JSON encoding (hex ids, as the collector's file exporter and
OTLP/HTTP JSON write it) and the protobuf JSON mapping (base64 ids, as
``MessageToDict`` and Grafana Tempo write it); ``resourceSpans`` or Tempo's
``batches``, ``scopeSpans`` or the older ``instrumentationLibrarySpans``.

Log records (``resourceLogs``) that name a span are read as :class:`LogRecord`:
the GenAI conventions' event mode sends messages that way, and readers see each
one as an event of its span (``valiqor_trace.store.attach_logs``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from valiqor_trace.analyzer.sources import _otlp_values
from valiqor_trace.analyzer.sources._decode import FieldError, hex_id, otlp_span_kind, otlp_status_code, unix_nanos
from valiqor_trace.store import LogRecord, SpanEvent, SpanLink, SpanRecord

SIGNALS = ("traces", "logs")
# OTLP SeverityNumber names (the protobuf JSON mapping writes enums by name): 1-24 after UNSPECIFIED.
_SEVERITIES = {f"SEVERITY_NUMBER_{name}{n if n > 1 else ''}": 1 + 4 * level + n - 1
               for level, name in enumerate(("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"))
               for n in range(1, 5)}
_SEVERITIES["SEVERITY_NUMBER_UNSPECIFIED"] = 0


@dataclass
class OtlpBatch:
    """What one OTLP document held."""

    spans: list[SpanRecord] = field(default_factory=list)
    # the log records that name a span (those that name none say nothing about a trace and are skipped)
    logs: list[LogRecord] = field(default_factory=list)
    # the spans and log records left out (``parse_otlp(..., keep_going=True)``), each naming its path and field
    rejected: list[RecordError] = field(default_factory=list)


class RecordError(ValueError):
    """A field error with the path of the record it is in (``resourceSpans[0].scopeSpans[1].spans[4]``)."""

    def __init__(self, path: str, error: Exception | str) -> None:
        self.path = path
        self.reason = str(error)
        super().__init__(f"{path}: {error}")


def is_otlp(document: Any) -> bool:
    return isinstance(document, Mapping) and any(
        key in document for key in ("resourceSpans", "resource_spans", "batches", "resourceLogs", "resource_logs"))


def parse_otlp(document: Any, *, keep_going: bool = False, signals: tuple[str, ...] = SIGNALS) -> OtlpBatch:
    """All spans and span-bound log records of one OTLP JSON document.

    Every field read is type-checked (ids of the right length, known enum
    values, AnyValues of the right type, times a store can hold).

    Args:
        keep_going: leave out a span or log record with a bad field, keeping its
            error in ``rejected`` (OTLP partial success), instead of raising it.
        signals: what to read: ``"traces"`` (resourceSpans), ``"logs"`` (resourceLogs), or both.

    Raises:
        RecordError: naming the record path and the field at fault; always for
            errors above the span level (``resourceSpans[0].scopeSpans: expected a list, got int``).
    """
    if not isinstance(document, dict):
        raise RecordError("document", f"expected an OTLP object with 'resourceSpans', got {_kind(document)}")
    batch = OtlpBatch()
    if "traces" in signals:
        _read_spans(document, batch, keep_going)
    if "logs" in signals:
        _read_logs(document, batch, keep_going)
    return batch


def _read_spans(document: dict[str, Any], batch: OtlpBatch, keep_going: bool) -> None:
    for path, resource, scope, spans in _walk(document, ("resourceSpans", "resource_spans", "batches"),
                                              ("scopeSpans", "scope_spans", "instrumentationLibrarySpans"), "spans"):
        scope_name, scope_version = _scope(scope, path)
        for i, span in enumerate(spans):
            try:
                batch.spans.append(_span(span, resource, scope_name, scope_version))
            except (FieldError, TypeError, ValueError) as exc:  # the span path is built only for a bad span
                _reject(batch, RecordError(f"{path}.spans[{i}]", exc), keep_going)


def _read_logs(document: dict[str, Any], batch: OtlpBatch, keep_going: bool) -> None:
    for path, _resource, scope, records in _walk(document, ("resourceLogs", "resource_logs"),
                                                 ("scopeLogs", "scope_logs"), "logRecords"):
        scope_name, _version = _scope(scope, path)
        for i, record in enumerate(records):
            try:
                log = _log_record(record, scope_name)
            except (FieldError, TypeError, ValueError) as exc:
                _reject(batch, RecordError(f"{path}.logRecords[{i}]", exc), keep_going)
                continue
            if log is not None:
                batch.logs.append(log)


def _reject(batch: OtlpBatch, error: RecordError, keep_going: bool) -> None:
    if not keep_going:
        raise error
    batch.rejected.append(error)


def _walk(document: dict[str, Any], resource_keys: tuple[str, ...], scope_keys: tuple[str, ...],
          item_key: str) -> Iterator[tuple[str, dict[str, Any], Any, list[Any]]]:
    """(scope path, resource attributes, scope, items) for each scope entry; structure errors raise RecordError."""
    for resource_key in resource_keys:
        resources = document.get(resource_key)
        if resources is None:
            continue
        for r, entry in enumerate(_list(resources, resource_key)):
            path = f"{resource_key}[{r}]"
            _entry(entry, path)
            resource = _object(entry.get("resource"), f"{path}.resource")
            try:
                attributes = _otlp_values.attributes(resource.get("attributes"), "attributes")
            except FieldError as exc:
                raise RecordError(f"{path}.resource", exc) from None
            for scope_key in scope_keys:
                for s, scope_entry in enumerate(_list(entry.get(scope_key), f"{path}.{scope_key}")):
                    scope_path = f"{path}.{scope_key}[{s}]"
                    _entry(scope_entry, scope_path)
                    scope = scope_entry.get("scope", scope_entry.get("instrumentationLibrary"))
                    items = _list(scope_entry.get(item_key), f"{scope_path}.{item_key}")
                    yield scope_path, attributes, scope, items


def _scope(scope: Any, path: str) -> tuple[str | None, str | None]:
    """(name, version) of an InstrumentationScope."""
    if scope is None:
        return None, None
    scope = _object(scope, f"{path}.scope")
    name, version = scope.get("name"), scope.get("version")
    for key, text in (("name", name), ("version", version)):
        if text is not None and not isinstance(text, str):
            raise RecordError(f"{path}.scope.{key}", f"expected a string, got {_kind(text)}")
    return name or None, version or None


def _span(span: Any, resource: dict[str, Any], scope_name: str | None, scope_version: str | None) -> SpanRecord:
    if not isinstance(span, dict):
        raise FieldError(f"a span must be an object, got {_kind(span)}")
    name = span.get("name")
    if not isinstance(name, str):
        raise FieldError(f"field 'name' must be a string, got {_kind(name)}")
    start = unix_nanos(span.get("startTimeUnixNano", span.get("start_time_unix_nano")), "startTimeUnixNano")
    end_raw = span.get("endTimeUnixNano", span.get("end_time_unix_nano"))
    status = span.get("status")
    code, message = _status(status) if status is not None else ("UNSET", None)
    return SpanRecord(
        trace_id=hex_id(_get(span, "traceId", "trace_id"), "traceId", 16, pad=False),
        span_id=hex_id(_get(span, "spanId", "span_id"), "spanId", 8, pad=False),
        parent_span_id=hex_id(_get(span, "parentSpanId", "parent_span_id"), "parentSpanId", 8, required=False,
                              pad=False),
        name=name, kind=otlp_span_kind(span.get("kind")), start_time_unix_nano=start,
        end_time_unix_nano=unix_nanos(end_raw, "endTimeUnixNano") if end_raw not in (None, "", "0", 0) else None,
        status_code=code, status_message=message,
        attributes=_otlp_values.attributes(span.get("attributes"), "attributes"),
        events=[_event(event, i, start) for i, event in enumerate(_items(span.get("events"), "events"))],
        links=[_link(link, i) for i, link in enumerate(_items(span.get("links"), "links"))],
        resource=resource, scope_name=scope_name, scope_version=scope_version,
    )


def _get(record: dict[str, Any], key: str, alternate: str) -> Any:
    """A field by its OTLP/JSON name or its protobuf name. (OTLP ids have exactly 16/8 bytes: ``pad=False``.)"""
    return record.get(key, record.get(alternate))


def _status(status: Any) -> tuple[str, str | None]:
    if not isinstance(status, dict):
        raise FieldError(f"field 'status' must be an object, got {_kind(status)}")
    message = status.get("message")
    if message is not None and not isinstance(message, str):
        raise FieldError(f"field 'status.message' must be a string, got {_kind(message)}")
    return otlp_status_code(status.get("code")), message or None


def _event(event: Any, index: int, start: int) -> SpanEvent:
    field_ = f"events[{index}]"
    if not isinstance(event, dict):
        raise FieldError(f"field {field_!r} must be an object, got {_kind(event)}")
    name = event.get("name")
    if name is not None and not isinstance(name, str):
        raise FieldError(f"field '{field_}.name' must be a string, got {_kind(name)}")
    time = event.get("timeUnixNano", event.get("time_unix_nano"))
    return SpanEvent(name=name or "",
                     time_unix_nano=start if time is None else unix_nanos(time, f"{field_}.timeUnixNano"),
                     attributes=_otlp_values.attributes(event.get("attributes"), f"{field_}.attributes"))


def _link(link: Any, index: int) -> SpanLink:
    field_ = f"links[{index}]"
    if not isinstance(link, dict):
        raise FieldError(f"field {field_!r} must be an object, got {_kind(link)}")
    return SpanLink(trace_id=hex_id(_get(link, "traceId", "trace_id"), f"{field_}.traceId", 16, pad=False),
                    span_id=hex_id(_get(link, "spanId", "span_id"), f"{field_}.spanId", 8, pad=False),
                    attributes=_otlp_values.attributes(link.get("attributes"), f"{field_}.attributes"))


def _log_record(record: Any, scope_name: str | None) -> LogRecord | None:
    """The record, or ``None`` when it names no span (a log line that says nothing about a trace)."""
    if not isinstance(record, dict):
        raise FieldError(f"a log record must be an object, got {_kind(record)}")
    span_id = hex_id(_get(record, "spanId", "span_id"), "spanId", 8, required=False, pad=False)
    trace_id = hex_id(_get(record, "traceId", "trace_id"), "traceId", 16, required=False, pad=False)
    attributes = _otlp_values.attributes(record.get("attributes"), "attributes")  # checked even when skipped
    if span_id is None or trace_id is None:
        return None
    name = _get(record, "eventName", "event_name")
    if name is not None and not isinstance(name, str):
        raise FieldError(f"field 'eventName' must be a string, got {_kind(name)}")
    severity_text = _get(record, "severityText", "severity_text")
    if severity_text is not None and not isinstance(severity_text, str):
        raise FieldError(f"field 'severityText' must be a string, got {_kind(severity_text)}")
    body = record.get("body")
    time = _get(record, "timeUnixNano", "time_unix_nano") or _get(record, "observedTimeUnixNano",
                                                                  "observed_time_unix_nano")
    return LogRecord(trace_id=trace_id, span_id=span_id,
                     time_unix_nano=unix_nanos(time, "timeUnixNano") if time not in (None, "", "0", 0) else 0,
                     event_name=name or None, severity_number=_severity(_get(record, "severityNumber",
                                                                             "severity_number")),
                     severity_text=severity_text or None,
                     body=None if body is None else _otlp_values.value(body, "body"),
                     attributes=attributes, scope_name=scope_name)


def _severity(value: Any) -> int | None:
    """An OTLP ``SeverityNumber``: 0-24 or its name; ``None`` when absent or unspecified."""
    if value is None:
        return None
    number = _SEVERITIES.get(value.strip().upper()) if isinstance(value, str) and not value.strip().isdigit() \
        else value
    if isinstance(number, str):
        number = int(number)
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 24:
        raise FieldError(f"field 'severityNumber' must be a SeverityNumber (0-24 or SEVERITY_NUMBER_INFO, ...), "
                         f"got {value!r:.40}")
    return number or None


def _list(value: Any, path: str) -> list[Any]:
    """``value`` as a list (``None`` is empty); anything else is a RecordError at ``path``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(path, f"expected a list, got {_kind(value)}")
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    """``value`` as an object (``None`` is empty); anything else is a RecordError at ``path``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(path, f"expected an object, got {_kind(value)}")
    return value


def _entry(value: Any, path: str) -> None:
    """An entry of resourceSpans / scopeSpans must be an object (a null one too is an error)."""
    if not isinstance(value, dict):
        raise RecordError(path, f"expected an object, got {_kind(value)}")


def _items(value: Any, field_: str) -> list[Any]:
    """A span's repeated field (events, links); ``None`` is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(f"field {field_!r} must be a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
