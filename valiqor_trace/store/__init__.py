"""The embedded trace store (SQLite) and its reading API."""

from __future__ import annotations

from valiqor_trace.store._exporter import LocalStoreExporter, StoreSpanExporter, span_record, span_row
from valiqor_trace.store._log_exporter import StoreLogRecordExporter
from valiqor_trace.store._logs import attach_logs, log_row, row_log
from valiqor_trace.store._records import LogRecord, SpanEvent, SpanLink, SpanRecord, TraceArrival, TraceSummary
from valiqor_trace.store._span_store import MonitorCandidate, SpanStore, record_row, row_record

__all__ = [
    "LocalStoreExporter",
    "LogRecord",
    "MonitorCandidate",
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
    "SpanStore",
    "StoreLogRecordExporter",
    "StoreSpanExporter",
    "TraceArrival",
    "TraceSummary",
    "attach_logs",
    "log_row",
    "record_row",
    "row_log",
    "row_record",
    "span_record",
    "span_row",
]
