"""SpanExporter that writes finished spans into the embedded :class:`SpanStore`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from valiqor_trace._ids import format_span_id, format_trace_id
from valiqor_trace._settings import DEFAULT_PROJECT, resolve_settings
from valiqor_trace.attributes import PROJECT_NAME
from valiqor_trace.store._database import is_database_url
from valiqor_trace.store._records import SpanEvent, SpanLink, SpanRecord
from valiqor_trace.store._retention import Pruned, RetentionSchedule, cutoff_of_days
from valiqor_trace.store._span_store import SpanStore


class StoreSpanExporter(SpanExporter):
    """Writes spans to the store (SQLite or PostgreSQL). Meant to sit behind a BatchSpanProcessor (it does I/O).

    Args:
        store: the store to write to, or a path or PostgreSQL URL to open one at. A URL is connected to at
            the first export, on the exporter's thread: ``init()`` never waits for a database server.
        retention_days: delete traces last active longer ago than this, at most hourly: an export that
            finds a prune due starts one on a daemon thread (so forked workers prune too); never raises.
    """

    def __init__(self, store: SpanStore | str, *, default_project: str | None = None,
                 retention_days: float | None = None) -> None:
        self._target = store
        if not isinstance(store, SpanStore) and not is_database_url(store):
            self._target = SpanStore(store)
        self._default_project = default_project
        self._retention: RetentionSchedule | None = None
        if retention_days is not None:
            days = retention_days
            self._retention = RetentionSchedule(
                lambda stop: self._prune(days, stop), describe=f"the trace store (older than {days:g} days)")

    def _prune(self, days: float, stop: Callable[[], bool]) -> Pruned:
        return self.store.prune(cutoff_of_days(days), stop=stop)

    @property
    def store(self) -> SpanStore:
        if not isinstance(self._target, SpanStore):
            self._target = SpanStore(self._target)
        return self._target

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        rows = [span_row(span) for span in spans]
        if self._default_project is not None:  # spans nobody stamped (no init() in the process)
            rows = [row if row[-1] is not None else (*row[:-1], self._default_project) for row in rows]
        self.store.write_rows(rows)
        if self._retention is not None:
            self._retention.poke()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        if self._retention is not None:
            self._retention.stop()
        if isinstance(self._target, SpanStore):
            self._target.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class LocalStoreExporter(StoreSpanExporter):
    """The store exporter configured from the environment, as ``init()`` would configure it.

    Registered as the ``valiqor`` traces exporter (``OTEL_TRACES_EXPORTER=valiqor``), so an app started by
    ``opentelemetry-instrument`` writes to the local store without ``init()`` (docs/zero-code.md): the
    file is ``VALIQOR_STORE_PATH`` or ``$VALIQOR_HOME/traces.db``, the project ``VALIQOR_PROJECT_NAME``,
    else ``OTEL_SERVICE_NAME``, else ``default``; ``VALIQOR_RETENTION_DAYS`` prunes it.
    """

    def __init__(self) -> None:
        settings = resolve_settings({})
        project = settings.project_name or os.environ.get("OTEL_SERVICE_NAME") or DEFAULT_PROJECT
        super().__init__(settings.resolved_store_path, default_project=project,
                         retention_days=settings.retention_days)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def _attrs(attributes: Any) -> dict[str, Any]:
    # BoundedAttributes holds tuples for sequences; JSON turns them into lists.
    return dict(attributes) if attributes else {}


def span_record(span: ReadableSpan) -> SpanRecord:
    """The :class:`SpanRecord` of an SDK span, without a round trip through the database."""
    ctx = span.context
    parent = span.parent
    scope = span.instrumentation_scope
    return SpanRecord(
        trace_id=format_trace_id(ctx.trace_id), span_id=format_span_id(ctx.span_id),
        parent_span_id=format_span_id(parent.span_id) if parent is not None and parent.span_id else None,
        name=span.name, kind=span.kind.name, start_time_unix_nano=span.start_time or 0,
        end_time_unix_nano=span.end_time, status_code=span.status.status_code.name,
        status_message=span.status.description, attributes=_plain(_attrs(span.attributes)),
        events=[SpanEvent(name=e.name, time_unix_nano=e.timestamp, attributes=_plain(_attrs(e.attributes)))
                for e in span.events],
        links=[SpanLink(trace_id=format_trace_id(link.context.trace_id), span_id=format_span_id(link.context.span_id),
                        attributes=_plain(_attrs(link.attributes))) for link in span.links],
        resource=_plain(_attrs(span.resource.attributes)) if span.resource else {},
        scope_name=scope.name if scope else None, scope_version=scope.version if scope else None,
    )


def _plain(attributes: dict[str, Any]) -> dict[str, Any]:
    # the same shapes a stored span has after its JSON round trip: sequences become lists
    return {k: list(v) if isinstance(v, tuple) else v for k, v in attributes.items()}


def span_row(span: ReadableSpan) -> tuple[Any, ...]:
    """The database row of an SDK span (same columns as ``record_row``)."""
    ctx = span.context
    parent = span.parent
    attributes = _attrs(span.attributes)
    scope = span.instrumentation_scope
    return (
        format_trace_id(ctx.trace_id),
        format_span_id(ctx.span_id),
        format_span_id(parent.span_id) if parent is not None and parent.span_id else None,
        span.name,
        span.kind.name,
        span.start_time or 0,
        span.end_time,
        span.status.status_code.name,
        span.status.description,
        _dumps(attributes),
        _dumps([{"name": e.name, "time_unix_nano": e.timestamp, "attributes": _attrs(e.attributes)}
                for e in span.events]),
        _dumps([{"trace_id": format_trace_id(link.context.trace_id),
                 "span_id": format_span_id(link.context.span_id),
                 "attributes": _attrs(link.attributes)} for link in span.links]),
        _dumps(_attrs(span.resource.attributes) if span.resource else {}),
        scope.name if scope else None,
        scope.version if scope else None,
        attributes.get(PROJECT_NAME),
    )
