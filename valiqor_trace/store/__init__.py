"""The embedded trace store (SQLite) and its reading API."""

from __future__ import annotations

from valiqor_trace.store._exporter import LocalStoreExporter, StoreSpanExporter, span_record, span_row
from valiqor_trace.store._records import SpanEvent, SpanLink, SpanRecord, TraceArrival, TraceSummary
from valiqor_trace.store._sqlite import SpanStore, record_row, row_record

__all__ = [
    "LocalStoreExporter",
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
    "SpanStore",
    "StoreSpanExporter",
    "TraceArrival",
    "TraceSummary",
    "record_row",
    "row_record",
    "span_record",
    "span_row",
]
