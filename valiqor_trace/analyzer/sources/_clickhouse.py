"""Traces where the OpenTelemetry Collector's ClickHouse exporter writes them: the ``otel_traces`` table.

One row per span: ``Timestamp`` (start, DateTime64(9)), ``TraceId``/``SpanId``/``ParentSpanId`` (hex),
``SpanName``, ``SpanKind`` (``Server`` or ``SPAN_KIND_SERVER``), ``ServiceName``, ``ResourceAttributes`` and
``SpanAttributes`` (``Map(String, String)``: every value as text, typed again by
:func:`stringified_value`), ``ScopeName``/``ScopeVersion`` (older exporters put them in the attributes),
``Duration`` (ns), ``StatusCode``/``StatusMessage``, and the nested ``Events.*`` and ``Links.*`` arrays.
The exporter's ``<table>_trace_id_ts`` table (TraceId -> first and last span start, written by a
materialized view) narrows a read to the trace's time range when it exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from valiqor_trace.analyzer.sources._clickhouse_url import ClickHouseLocation, parse_clickhouse_url
from valiqor_trace.analyzer.sources._decode import FieldError, hex_id, span_kind, status_code, stringified_value
from valiqor_trace.analyzer.sources._sql import ChdbSession, ClickHouseHttp, SqlRows
from valiqor_trace.errors import SourceError, ValidationError
from valiqor_trace.internal import normalize_trace_id
from valiqor_trace.monitor import MONITOR_SCOPE
from valiqor_trace.store import SpanEvent, SpanLink, SpanRecord, TraceSummary

LIST_WINDOW_S = 24 * 3600  # what list_traces looks back over when given no start: a day of partitions, not all
_REQUIRED = ("Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanKind", "ServiceName",
             "ResourceAttributes", "SpanAttributes", "Duration", "StatusCode", "StatusMessage", "Events.Timestamp",
             "Events.Name", "Events.Attributes", "Links.TraceId", "Links.SpanId", "Links.Attributes")
_TABLE = "{database:Identifier}.{table:Identifier}"
_SCHEMA_SQL = ("SELECT table, name FROM system.columns "
               "WHERE database = {database:String} AND table IN ({table:String}, {lookup:String})")
# The trace's time range from the lookup table, as constants ClickHouse folds before reading: the partitions
# outside it are skipped. A trace the lookup table never saw (spans written before its view existed) is read
# by trace id alone.
_WITH_WINDOW = ("WITH (SELECT (count(), min(Start), max(End)) FROM {database:Identifier}.{lookup:Identifier} "
                "WHERE TraceId = {trace_id:String}) AS trace_window ")
# Compared as whole seconds, as the lookup table keeps them (and as the table's sort key, toDateTime(Timestamp),
# is): Timestamp against the end plus INTERVAL 1 SECOND drops rows it should keep on ClickHouse 26.9 (chDB 4.4).
_IN_WINDOW = " AND (trace_window.1 = 0 OR toDateTime(Timestamp) BETWEEN trace_window.2 AND trace_window.3)"
_SPAN_COLUMNS = ("toUnixTimestamp64Nano(Timestamp) AS start_ns, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, "
                 "ResourceAttributes, SpanAttributes, Duration, StatusCode, StatusMessage, "
                 "arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) AS event_times, "
                 "`Events.Name` AS event_names, `Events.Attributes` AS event_attributes, "
                 "`Links.TraceId` AS link_trace_ids, `Links.SpanId` AS link_span_ids, "
                 "`Links.Attributes` AS link_attributes")
_ERROR = "upper(StatusCode) IN ('ERROR', 'STATUS_CODE_ERROR')"


@dataclass(frozen=True)
class _Schema:
    scope_columns: bool  # ScopeName/ScopeVersion are columns (else the attributes otel.scope.*)
    lookup: bool  # the <table>_trace_id_ts table is there


class ClickHouseSource:
    """The OpenTelemetry Collector ClickHouse exporter's trace table, read by trace id; recent traces listed.

    Args:
        url: ``clickhouse://USER:PASSWORD@HOST:8123/DATABASE?table=otel_traces`` (``clickhouses://`` for
            TLS, port 8443) or ``chdb:///PATH/TO/DIR?database=DATABASE&table=otel_traces`` (embedded);
            the database defaults to ``default``, the table to ``otel_traces``.
        timeout_s: connect and query timeout (ClickHouse over HTTP).
        runner: runs the SQL instead of the connection ``url`` names (its database and table still apply).
        clock: seconds since the epoch, for :meth:`list_traces`' default window.

    Raises:
        ValidationError: ``url`` is not one of those forms.
        SourceError: the ``clickhouse`` extra is not installed.

    Example:
        client = ValiqorClient(trace_source="clickhouse://reader@clickhouse:8123/otel")  # $VALIQOR_CLICKHOUSE_PASSWORD
        client.failure_analysis.run(trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    """

    list_window_s = LIST_WINDOW_S

    def __init__(self, url: str, *, timeout_s: float = 30.0, runner: SqlRows | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        location = parse_clickhouse_url(url)
        self._runner = runner if runner is not None else _runner(location, timeout_s)
        self.database, self.table = location.database, location.table
        self._lookup = f"{self.table}_trace_id_ts"  # the exporter's TraceId -> time range table
        kind = "chDB" if location.engine == "chdb" and runner is None else "ClickHouse"
        self.description = f"{kind} table {self.database}.{self.table} ({self._runner.where})"
        self._clock = clock
        self._schema: _Schema | None = None

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        tid = normalize_trace_id(trace_id)
        schema = self._table_schema()
        scope = "ScopeName, ScopeVersion" if schema.scope_columns else "'' AS ScopeName, '' AS ScopeVersion"
        window, in_window = (_WITH_WINDOW, _IN_WINDOW) if schema.lookup else ("", "")
        rows = self._rows(f"{window}SELECT {_SPAN_COLUMNS}, {scope} FROM {_TABLE} "
                          f"WHERE TraceId = {{trace_id:String}}{in_window} ORDER BY Timestamp", {"trace_id": tid})
        try:
            return [_span(row, scope_columns=schema.scope_columns) for row in rows]
        except (FieldError, TypeError, ValueError, KeyError) as exc:
            raise SourceError(f"{self.description}: unreadable span in trace {tid}: {exc}") from None

    def list_traces(self, *, project_name: str | None = None, start_ns: int | None = None,
                    end_ns: int | None = None, has_error: bool | None = None, limit: int = 50, offset: int = 0,
                    include_verdicts: bool = True) -> list[TraceSummary]:
        """Traces with spans from ``start_ns`` (default: :data:`LIST_WINDOW_S` ago) to ``end_ns``, newest first.

        A trace's project is its spans' ``valiqor.project_name``, else its first span's service; its root is
        its span without a parent. ``include_verdicts=False`` leaves out the monitor's ``fa.verdict`` traces.
        """
        if limit < 0 or offset < 0:
            raise ValidationError(f"limit and offset must be >= 0, got limit={limit}, offset={offset}")
        schema = self._table_schema()
        scope = "ScopeName" if schema.scope_columns else "SpanAttributes['otel.scope.name']"
        since = start_ns if start_ns is not None else int((self._clock() - self.list_window_s) * 1e9)
        params: dict[str, Any] = {"start_ns": since, "limit": limit, "offset": offset}
        where = "TraceId != '' AND Timestamp >= fromUnixTimestamp64Nano({start_ns:Int64})"
        if end_ns is not None:
            where += " AND Timestamp < fromUnixTimestamp64Nano({end_ns:Int64})"
            params["end_ns"] = end_ns
        having = ["1"]
        if has_error is not None:
            having.append("error_count > 0" if has_error else "error_count = 0")
        if not include_verdicts:
            having.append("root_scope != {monitor_scope:String}")
            params["monitor_scope"] = MONITOR_SCOPE
        if project_name is not None:
            having.append("project = {project:String}")
            params["project"] = project_name
        rows = self._rows(
            "SELECT TraceId AS trace_id, toUnixTimestamp64Nano(min(Timestamp)) AS first_ns, "
            "max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)) AS last_ns, count() AS span_count, "
            f"countIf({_ERROR}) AS error_count, argMinIf(SpanName, Timestamp, ParentSpanId = '') AS root_name, "
            f"argMinIf({scope}, Timestamp, ParentSpanId = '') AS root_scope, "
            "anyIf(SpanAttributes['valiqor.project_name'], SpanAttributes['valiqor.project_name'] != '') AS stamped, "
            "argMinIf(ServiceName, Timestamp, ServiceName != '' AND NOT startsWith(ServiceName, 'unknown_service')) "
            "AS service, if(stamped != '', stamped, service) AS project "
            f"FROM {_TABLE} WHERE {where} GROUP BY TraceId HAVING {' AND '.join(having)} "
            "ORDER BY first_ns DESC, trace_id LIMIT {limit:UInt64} OFFSET {offset:UInt64}", params)
        return [TraceSummary(trace_id=row["trace_id"], project_name=row["project"] or None,
                             root_name=row["root_name"] or None, start_time_unix_nano=int(row["first_ns"]),
                             end_time_unix_nano=int(row["last_ns"]), span_count=int(row["span_count"]),
                             error_count=int(row["error_count"])) for row in rows]

    def close(self) -> None:
        """Close the connection (the next read opens it again)."""
        self._runner.close()

    def __repr__(self) -> str:
        return f"ClickHouseSource({self.description!r})"

    def _rows(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._runner.rows(sql, {"database": self.database, "table": self.table, "lookup": self._lookup, **params})

    def _table_schema(self) -> _Schema:
        """What the table has, read once it is there (a table the exporter has not created yet is asked again)."""
        if self._schema is not None:
            return self._schema
        columns: dict[str, set[str]] = {}
        for row in self._rows(_SCHEMA_SQL, {}):
            columns.setdefault(row["table"], set()).add(row["name"])
        own = columns.get(self.table)
        if not own:
            raise SourceError(f"{self.description}: there is no table {self.database}.{self.table}. The OTel "
                              "Collector's ClickHouse exporter creates it when it starts; else name yours in "
                              "the URL (/DATABASE, ?table=NAME)")
        missing = [name for name in _REQUIRED if name not in own]
        if missing:
            raise SourceError(f"{self.description}: {self.database}.{self.table} is not a table of the OTel "
                              f"Collector's ClickHouse exporter: no column {', '.join(missing)}")
        self._schema = _Schema(scope_columns={"ScopeName", "ScopeVersion"} <= own,
                               lookup={"TraceId", "Start", "End"} <= columns.get(self._lookup, set()))
        return self._schema


def _runner(location: ClickHouseLocation, timeout_s: float) -> SqlRows:
    if location.engine == "chdb":
        return ChdbSession(location.path)
    return ClickHouseHttp(host=location.host, port=location.port, secure=location.engine == "https",
                          username=location.username, password=location.password, timeout_s=timeout_s)


def _span(row: Mapping[str, Any], *, scope_columns: bool) -> SpanRecord:
    attributes = _attributes(row["SpanAttributes"])
    if scope_columns:
        scope_name, scope_version = row["ScopeName"] or None, row["ScopeVersion"] or None
    else:  # exporters before the Scope columns wrote the scope into the span's attributes
        scope_name = attributes.pop("otel.scope.name", None)
        scope_version = attributes.pop("otel.scope.version", None)
    start = int(row["start_ns"])
    events = [SpanEvent(name=str(name), time_unix_nano=int(at), attributes=_attributes(values))
              for at, name, values in zip(row["event_times"], row["event_names"], row["event_attributes"])]
    links = [SpanLink(trace_id=hex_id(trace, "Links.TraceId", 16), span_id=hex_id(span, "Links.SpanId", 8),
                      attributes=_attributes(values))
             for trace, span, values in zip(row["link_trace_ids"], row["link_span_ids"], row["link_attributes"])]
    return SpanRecord(
        trace_id=hex_id(row["TraceId"], "TraceId", 16), span_id=hex_id(row["SpanId"], "SpanId", 8),
        parent_span_id=hex_id(row["ParentSpanId"], "ParentSpanId", 8, required=False), name=str(row["SpanName"]),
        kind=span_kind(row["SpanKind"]), start_time_unix_nano=start, end_time_unix_nano=start + int(row["Duration"]),
        status_code=status_code(row["StatusCode"]), status_message=row["StatusMessage"] or None,
        attributes=attributes, events=events, links=links, resource=_attributes(row["ResourceAttributes"]),
        scope_name=None if scope_name is None else str(scope_name),
        scope_version=None if scope_version is None else str(scope_version))


def _attributes(values: Mapping[str, str]) -> dict[str, Any]:
    return {str(key): stringified_value(value) for key, value in values.items()}
