"""ClickHouseSource on the OTel Collector ClickHouse exporter's real tables: the SQL runs on chDB (ClickHouse
embedded), and over HTTP through clickhouse-connect against ClickHouse's HTTP interface served by chDB."""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb", reason="needs the clickhouse extra (pip install 'valiqor-trace[clickhouse]')")

from tests.analyzer.sources.clickhouse_tables import ChdbTables, ClickHouseOverHttp, exporter_rows, exporter_sql
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import valiqor_trace
from valiqor_trace import ClickHouseSource, SpanScope
from valiqor_trace.analyzer.sources import trace_source
from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.errors import AuthenticationError, NotFoundError, SourceError, ValidationError
from valiqor_trace.store import SpanRecord
from valiqor_trace.testing import capture_spans

SECRET = "ch-pa55-IN-THE-URL-0451"


def _by_start(spans: list[SpanRecord]) -> list[dict[str, Any]]:
    return [span.model_dump() for span in sorted(spans, key=lambda s: (s.start_time_unix_nano, s.span_id))]


def _other_trace(project: str = "billing", *, fail: bool = False) -> list[Any]:
    with capture_spans(project_name=project) as exporter:
        with valiqor_trace.trace_workflow("invoice") as workflow:
            workflow.set_input("Total of invoice 7?")
            if fail:
                try:
                    with SpanScope("execute_tool sum", "tool", {}):
                        raise ValueError("no such invoice")
                except ValueError:
                    pass
            workflow.set_output("12 EUR")
    return list(exporter.get_finished_spans())


class Recording:
    """A runner that records each statement and its parameters on the way to the real one."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.where, self.calls = inner, inner.where, []

    def rows(self, sql: str, parameters: Any) -> list[dict[str, Any]]:
        self.calls.append((sql, dict(parameters)))
        return self.inner.rows(sql, parameters)

    def close(self) -> None:
        self.inner.close()


def test_a_trace_reads_back_exactly_as_the_store_keeps_it(tmp_path: Path, sdk_spans: list[Any],
                                                          records: list[SpanRecord]) -> None:
    tables = ChdbTables(tmp_path / "ch")
    tables.insert_spans(sdk_spans)
    source = ClickHouseSource(tables.url)
    trace_id = records[0].trace_id
    spans = source.get_trace(f"tr_{trace_id}")
    # ids, parents, kinds, times to the nanosecond, statuses, scope, resource, events and links; and the
    # attributes the exporter wrote as text are typed again: retries=2, tags=["a", "b"], ratio=0.5.
    assert _by_start(spans) == _by_start(records)
    tool = next(span for span in spans if span.name == "execute_tool locate")
    assert (tool.attributes["retries"], tool.attributes["tags"], tool.attributes["ratio"]) == (2, ["a", "b"], 0.5)
    assert tool.status_code == "ERROR" and tool.events[0].name == "exception"
    assert source.get_trace("ab" * 16) == []


def test_an_unknown_trace_is_not_found_and_the_message_names_the_table(tmp_path: Path,
                                                                        sdk_spans: list[Any]) -> None:
    tables = ChdbTables(tmp_path / "ch")
    tables.insert_spans(sdk_spans)
    api = TracesAPI(tmp_path / "no-store.db", [trace_source(tables.url)])
    with pytest.raises(NotFoundError) as missing:
        api.get("0af7651916cd43dd8448eb211c80319c")
    assert "trace 0af7651916cd43dd8448eb211c80319c not found" in str(missing.value)
    assert f"chDB table otel.otel_traces (chDB in {tables.path})" in str(missing.value)


def test_recent_traces_are_listed_newest_first_with_filters(tmp_path: Path, sdk_spans: list[Any]) -> None:
    tables = ChdbTables(tmp_path / "ch")
    tables.insert_spans(sdk_spans)  # "answer": its tool span failed
    time.sleep(0.01)
    newer = _other_trace()
    tables.insert_spans(newer)
    tables.insert_rows(_days_earlier(exporter_rows(encode_spans(_other_trace("archive"))), 3))  # outside a day
    source = ClickHouseSource(tables.url)

    listed = source.list_traces()
    newer_id, answer_id = format(newer[0].context.trace_id, "032x"), format(sdk_spans[0].context.trace_id, "032x")
    assert [t.trace_id for t in listed] == [newer_id, answer_id]
    assert (listed[0].root_name, listed[0].project_name, listed[0].span_count, listed[0].error_count) == (
        "invoice", "billing", 1, 0)
    assert listed[0].start_time_unix_nano == newer[0].start_time
    assert listed[0].end_time_unix_nano == newer[0].end_time
    assert (listed[1].root_name, listed[1].span_count, listed[1].error_count) == ("answer", len(sdk_spans), 1)
    assert [t.trace_id for t in source.list_traces(has_error=True)] == [answer_id]
    assert [t.trace_id for t in source.list_traces(has_error=False)] == [newer_id]
    assert [t.trace_id for t in source.list_traces(project_name="billing")] == [newer_id]
    assert [t.trace_id for t in source.list_traces(limit=1, offset=1)] == [answer_id]
    everything = source.list_traces(start_ns=0)
    assert len(everything) == 3 and everything[-1].project_name == "archive"
    with pytest.raises(ValidationError, match="limit and offset must be >= 0"):
        source.list_traces(limit=-1)


def test_a_table_with_another_name_and_without_the_lookup_table(tmp_path: Path, sdk_spans: list[Any],
                                                                records: list[SpanRecord]) -> None:
    tables = ChdbTables(tmp_path / "ch", database="observability", table="llm_spans", lookup=False)
    tables.insert_spans(sdk_spans)
    assert "llm_spans_trace_id_ts" not in {row["name"] for row in tables.query("SHOW TABLES FROM observability")}
    source = ClickHouseSource(f"chdb://{tables.path}?database=observability&table=llm_spans")
    assert source.description == f"chDB table observability.llm_spans (chDB in {tables.path})"
    assert _by_start(source.get_trace(records[0].trace_id)) == _by_start(records)
    assert [t.trace_id for t in source.list_traces()] == [records[0].trace_id]
    # the exporter's default names find nothing there, and say why
    with pytest.raises(SourceError, match="there is no table default.otel_traces"):
        ClickHouseSource(f"chdb://{tables.path}").get_trace(records[0].trace_id)


def _days_earlier(rows: list[dict[str, Any]], days: int) -> list[dict[str, Any]]:
    for row in rows:
        seconds, _, nanos = row["Timestamp"].partition(".")
        row["Timestamp"] = f"{int(seconds) - days * 86400}.{nanos}"
    return rows


def test_the_lookup_table_narrows_the_read_and_a_trace_it_never_saw_is_still_found(
        tmp_path: Path, sdk_spans: list[Any], records: list[SpanRecord]) -> None:
    tables = ChdbTables(tmp_path / "ch", lookup=False)
    tables.insert_spans(sdk_spans)  # written before the lookup table and its view existed
    creates, _ = exporter_sql("otel", "otel_traces")
    tables.query(creates[1])  # the exporter's lookup table and view, as a newer exporter creates them
    tables.query(creates[2])
    later = _other_trace()
    tables.insert_spans(later)  # the view sees this one
    tables.insert_rows(_days_earlier(exporter_rows(encode_spans(_other_trace("archive"))), 3))  # another partition
    runner = Recording(ClickHouseSource(tables.url)._runner)
    source = ClickHouseSource(tables.url, runner=runner)

    later_id = format(later[0].context.trace_id, "032x")
    assert len(source.get_trace(later_id)) == len(later)
    sql, params = runner.calls[-1]
    plan = "\n".join(row["explain"] for row in tables.query(f"EXPLAIN indexes = 1 {sql}", params))
    kept, total = map(int, re.search(r"Min-Max.*?Parts: (\d+)/(\d+)", plan, re.S).groups())
    assert 1 <= kept < total  # the part(s) of the trace's seconds; never the one three days back

    assert _by_start(source.get_trace(records[0].trace_id)) == _by_start(records)  # not in the view: still read


def test_an_older_exporters_table_with_the_scope_in_the_attributes(tmp_path: Path, sdk_spans: list[Any],
                                                                   records: list[SpanRecord]) -> None:
    """Exporters before the ScopeName/ScopeVersion columns wrote otel.scope.name/version into SpanAttributes
    and the Duration as Int64."""
    from chdb import session

    (create, *_), _ = exporter_sql("otel", "otel_traces")
    create = "\n".join(line for line in create.splitlines() if "ScopeName" not in line and "ScopeVersion" not in line)
    path = tmp_path / "ch"
    path.mkdir()
    with session.Session(str(path)) as opened:
        opened.query("CREATE DATABASE otel")
        opened.query(create.replace("Duration UInt64", "Duration Int64"))
        rows = exporter_rows(encode_spans(sdk_spans))
        for row in rows:
            name, version = row.pop("ScopeName"), row.pop("ScopeVersion")
            row["SpanAttributes"].update({"otel.scope.name": name, "otel.scope.version": version})
        opened.query("INSERT INTO otel.otel_traces FORMAT JSONEachRow\n" + "\n".join(json.dumps(row) for row in rows))
    source = ClickHouseSource(f"chdb://{path}?database=otel")
    assert _by_start(source.get_trace(records[0].trace_id)) == _by_start(records)


def test_a_table_that_is_not_the_exporters_says_which_columns_it_lacks(tmp_path: Path) -> None:
    from chdb import session

    path = tmp_path / "ch"
    path.mkdir()
    with session.Session(str(path)) as opened:
        opened.query("CREATE TABLE default.otel_traces (TraceId String, SpanId String) ENGINE = MergeTree ORDER BY TraceId")
    with pytest.raises(SourceError, match="not a table of the OTel Collector's ClickHouse exporter: no column "
                                          "Timestamp, ParentSpanId"):
        ClickHouseSource(f"chdb://{path}").get_trace("ab" * 16)


@pytest.mark.parametrize(("url", "problem"), [
    ("clickhouse://", "names no host"),
    ("clickhouse://ch:port/otel", "the port is not a number"),
    ("clickhouse://ch:8123/otel/traces", "the path is the database, one name"),
    ("clickhouse://ch:8123/otel?tabel=spans", "unknown option 'tabel'; this URL takes ?table=NAME"),
    ("clickhouse://ch:8123/otel?table=spans;DROP", "table 'spans;DROP' is not a ClickHouse table or database name"),
    ("clickhouse://ch:8123/otel?table=a&table=b", "option 'table' is given twice"),
    ("chdb://", "names no directory"),
    ("chdb:///data?database=a.b", "database 'a.b' is not a ClickHouse table or database name"),
])
def test_a_bad_url_says_what_is_wrong_and_never_shows_the_password(url: str, problem: str) -> None:
    url = url.replace("clickhouse://", f"clickhouse://reader:{SECRET}@", 1) if url != "clickhouse://" else url
    with pytest.raises(ValidationError) as bad:
        trace_source(url)
    assert problem in str(bad.value) and SECRET not in str(bad.value)


def test_a_chdb_directory_that_does_not_exist_is_not_created(tmp_path: Path) -> None:
    source = trace_source(f"chdb://{tmp_path / 'missing'}")
    with pytest.raises(SourceError, match="no chDB database directory at .*missing; check the chdb:// path"):
        source.get_trace("ab" * 16)
    assert not (tmp_path / "missing").exists()


def test_chdb_busy_with_another_directory_in_this_process_is_a_clear_error(tmp_path: Path,
                                                                          sdk_spans: list[Any]) -> None:
    from chdb import session

    tables = ChdbTables(tmp_path / "ch")
    tables.insert_spans(sdk_spans)
    (tmp_path / "other").mkdir()
    with session.Session(str(tmp_path / "other")):  # the app's own chDB, on another directory
        with pytest.raises(SourceError, match="chDB serves one directory per process: close any other chDB session"):
            ClickHouseSource(tables.url).get_trace("ab" * 16)
    assert ClickHouseSource(tables.url).get_trace("ab" * 16) == []  # once it is closed, the table reads


@pytest.mark.parametrize(("module", "url"), [("chdb", "chdb:///data"), ("clickhouse_connect", "clickhouse://ch")])
def test_without_the_extra_one_error_names_it(monkeypatch: pytest.MonkeyPatch, module: str, url: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an import of a package that is not installed does
    with pytest.raises(SourceError) as missing:
        trace_source(url)
    assert f"needs the {module.replace('_', '-')} package: pip install 'valiqor-trace[clickhouse]'" in str(missing.value)


def test_clickhouse_connect_over_http_reads_and_lists_the_same(tmp_path: Path, sdk_spans: list[Any],
                                                               records: list[SpanRecord],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    tables = ChdbTables(tmp_path / "ch")
    tables.insert_spans(sdk_spans)
    trace_id = records[0].trace_id
    with caplog.at_level(logging.DEBUG), ClickHouseOverHttp(tables, username="reader", password=SECRET) as server:
        source = trace_source(f"clickhouse://reader:{SECRET}@127.0.0.1:{server.port}/otel")
        assert _by_start(source.get_trace(trace_id)) == _by_start(records)
        assert [t.trace_id for t in source.list_traces()] == [trace_id]
        with pytest.raises(NotFoundError):
            TracesAPI(tmp_path / "no-store.db", [source]).get("ab" * 16)
        source.close()

        wrong = trace_source(f"clickhouse://reader:not-{SECRET}@127.0.0.1:{server.port}/otel")
        with pytest.raises(AuthenticationError) as refused:
            wrong.get_trace(trace_id)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = trace_source(f"clickhouse://reader:{SECRET}@127.0.0.1:{closed_port}/otel")
    with pytest.raises(SourceError) as unreachable:
        down.get_trace(trace_id)

    assert all("Authorization" in request["headers"] for request in server.requests)
    assert all(SECRET not in request["path"] + request["body"] for request in server.requests)
    assert "refused the credentials" in str(refused.value) and "AUTHENTICATION_FAILED" in str(refused.value)
    assert f"http://reader:...@127.0.0.1:{closed_port}" in str(unreachable.value)
    shown = [repr(source), source.description, str(refused.value), str(unreachable.value), caplog.text]
    assert f"ClickHouse table otel.otel_traces (http://reader:...@127.0.0.1:{server.port})" in shown[1]
    assert all(SECRET not in text and f"not-{SECRET}" not in text for text in shown)


def test_the_password_can_come_from_the_environment_instead_of_the_command_line(
        tmp_path: Path, sdk_spans: list[Any], records: list[SpanRecord], monkeypatch: pytest.MonkeyPatch) -> None:
    tables = ChdbTables(tmp_path / "ch")
    tables.insert_spans(sdk_spans)
    monkeypatch.setenv("VALIQOR_CLICKHOUSE_PASSWORD", SECRET)
    with ClickHouseOverHttp(tables, username="reader", password=SECRET) as server:
        source = trace_source(f"clickhouse://reader@127.0.0.1:{server.port}/otel")
        assert len(source.get_trace(records[0].trace_id)) == len(records)
    assert source.description == f"ClickHouse table otel.otel_traces (http://reader:...@127.0.0.1:{server.port})"
