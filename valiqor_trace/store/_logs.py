"""Log records in the span store: their rows, and the one place they join their spans.

A log record has no id of its own, so its row is keyed by a digest of its content:
storing the same record twice (an import repeated, an exporter's retry) keeps one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from valiqor_trace.store._records import LogRecord, SpanRecord

LOG_COLUMNS = ("trace_id, span_id, record_key, time_ns, event_name, severity_number, severity_text, body, "
               "attributes, scope_name")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"), sort_keys=True)


def log_row(record: LogRecord) -> tuple[Any, ...]:
    """The database row of a :class:`LogRecord`."""
    body = None if record.body is None else _dumps(record.body)
    attributes = _dumps(record.attributes)
    content = _dumps([record.time_unix_nano, record.event_name, record.severity_number, record.severity_text,
                      body, attributes, record.scope_name])
    key = hashlib.blake2b(content.encode("utf-8"), digest_size=16).hexdigest()
    return (record.trace_id, record.span_id, key, record.time_unix_nano, record.event_name,
            record.severity_number, record.severity_text, body, attributes, record.scope_name)


def row_log(row: Sequence[Any]) -> LogRecord:
    return LogRecord(trace_id=row[0], span_id=row[1], time_unix_nano=row[3], event_name=row[4],
                     severity_number=row[5], severity_text=row[6],
                     body=None if row[7] is None else json.loads(row[7]), attributes=json.loads(row[8]),
                     scope_name=row[9])


def attach_logs(spans: list[SpanRecord], logs: Iterable[LogRecord]) -> list[SpanRecord]:
    """``spans`` with each log record that names one of them added to its events (in time order).

    Every reader joins logs to spans here: the store's ``get_trace`` and trace files alike.
    A record whose span is not among ``spans`` is left out.
    """
    by_span: dict[tuple[str, str], list[LogRecord]] = {}
    for record in logs:
        by_span.setdefault((record.trace_id, record.span_id), []).append(record)
    if not by_span:
        return spans
    out = []
    for span in spans:
        records = by_span.get((span.trace_id, span.span_id))
        if records:
            events = sorted([*span.events, *(record.as_event() for record in records)],
                            key=lambda event: event.time_unix_nano)
            span = span.model_copy(update={"events": events})
        out.append(span)
    return out
