"""LogRecordExporter that writes log records naming a span into the embedded :class:`SpanStore`.

Instrumentations in the GenAI conventions' event mode send a model call's messages
through the OpenTelemetry Logs API; stored here, readers see them as events of their
span. A record that names no span (an ordinary application log) says nothing about a
trace and is not stored. The Logs SDK is still marked experimental (``_logs``): its
names moved between releases, so they are looked up, not assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import export as _log_export

from valiqor_trace._ids import format_span_id, format_trace_id
from valiqor_trace.store._records import LogRecord
from valiqor_trace.store._database import is_database_url
from valiqor_trace.store._span_store import SpanStore

# LogRecordExporter / LogRecordExportResult since SDK 1.39; LogExporter / LogExportResult before.
_ExporterBase: Any = getattr(_log_export, "LogRecordExporter", None) or getattr(_log_export, "LogExporter")
_ExportResult: Any = getattr(_log_export, "LogRecordExportResult", None) or getattr(_log_export, "LogExportResult")


class StoreLogRecordExporter(_ExporterBase):
    """Writes span-bound log records to the store. Meant to sit behind a BatchLogRecordProcessor.

    Args:
        store: the store to write to, or a path or PostgreSQL URL to open one at (a URL at the first export).
    """

    def __init__(self, store: SpanStore | str) -> None:
        self._target = store
        if not isinstance(store, SpanStore) and not is_database_url(store):
            self._target = SpanStore(store)

    @property
    def store(self) -> SpanStore:
        if not isinstance(self._target, SpanStore):
            self._target = SpanStore(self._target)
        return self._target

    def export(self, batch: Sequence[Any]) -> Any:
        records = [record for record in map(log_record, batch) if record is not None]
        if records:
            self.store.write_logs(records)
        return _ExportResult.SUCCESS

    def shutdown(self) -> None:
        if isinstance(self._target, SpanStore):
            self._target.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def log_record(item: Any) -> LogRecord | None:
    """The :class:`LogRecord` of an SDK log record (``ReadableLogRecord``, or ``LogData`` before SDK 1.39);
    ``None`` when it names no span."""
    record = getattr(item, "log_record", item)
    trace_id, span_id = getattr(record, "trace_id", 0) or 0, getattr(record, "span_id", 0) or 0
    if not trace_id or not span_id:
        return None
    scope = getattr(item, "instrumentation_scope", None)
    severity = getattr(record, "severity_number", None)
    return LogRecord(
        trace_id=format_trace_id(trace_id), span_id=format_span_id(span_id),
        time_unix_nano=getattr(record, "timestamp", None) or getattr(record, "observed_timestamp", None) or 0,
        event_name=getattr(record, "event_name", None) or None,
        severity_number=getattr(severity, "value", severity),
        severity_text=getattr(record, "severity_text", None) or None,
        body=_plain(getattr(record, "body", None)),
        attributes=_plain(dict(record.attributes or {})),
        scope_name=scope.name if scope is not None else None,
    )


def _plain(value: Any) -> Any:
    # the shapes the JSON round trip gives: tuples become lists, bytes their hex
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value
