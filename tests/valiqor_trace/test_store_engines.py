"""The stores on PostgreSQL: chosen by a URL everywhere a store is named, migrated on open (from empty, from an
older schema, by several processes at once), and a clear error when the server is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import valiqor_trace
from tests import postgres
from tests.helpers import REPO_ROOT
from valiqor_trace import StoreUnavailableError, ValiqorClient
from valiqor_trace.analyzer.runs import RunStore
from valiqor_trace.analyzer.runs import _store as run_store_module
from valiqor_trace.internal import apply_migrations, open_database
from valiqor_trace.store import SpanStore
from valiqor_trace.store import _span_store as span_store_module
from valiqor_trace.store._database import schema_version


@pytest.fixture
def pg_url() -> str:
    with postgres.fresh_schema() as url:
        yield url


def test_an_empty_database_gets_both_schemas_and_reopening_changes_nothing(pg_url: str) -> None:
    for _ in range(2):
        SpanStore(pg_url).close()
        RunStore(pg_url).close()
    db = open_database(pg_url)
    assert schema_version(db, "spans") == len(span_store_module._MIGRATIONS)
    assert schema_version(db, "runs") == len(run_store_module._MIGRATIONS)
    tables = {row[0] for row in db.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = current_schema()")}
    assert {"spans", "traces", "logs", "runs", "run_inputs", "tags", "alerts", "judge_cache",
            "valiqor_schema"} <= tables
    # nanosecond times do not fit PostgreSQL's 32-bit INTEGER: the mapped schema uses BIGINT
    types = dict(db.execute("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = 'spans'").fetchall())
    assert types["start_ns"] == "bigint" and types["attributes"] == "text"
    db.close()


def test_a_database_left_at_an_older_version_is_upgraded_and_keeps_its_runs(pg_url: str) -> None:
    db = open_database(pg_url)
    apply_migrations(db, "runs", run_store_module._MIGRATIONS[:3])  # before sources were relabelled (4)
    db.execute("INSERT INTO runs (run_id, project_name, status, input_type, source, created_at, created_ns, "
               "total_items, result) VALUES ('run_old', 'p', 'completed', 'dataset', 'api', "
               "'2026-01-01T00:00:00+00:00', 1, 1, '{\"source\": \"api\"}')")
    db.close()
    store = RunStore(pg_url)
    [info] = store.list_runs()
    assert (info.run_id, info.source) == ("run_old", "dataset")
    assert store._db.execute("SELECT result FROM runs").fetchone()[0] == '{"source": "dataset"}'
    assert schema_version(store._db, "runs") == len(run_store_module._MIGRATIONS)
    store.close()


OPENER = """
import sys
from valiqor_trace.analyzer.runs import RunStore
from valiqor_trace.store import SpanStore
SpanStore(sys.argv[1]).close()
RunStore(sys.argv[1]).close()
"""


def test_servers_starting_together_on_a_new_database_migrate_it_once(pg_url: str) -> None:
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", OPENER, pg_url], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    db = open_database(pg_url)
    assert db.execute("SELECT component, version FROM valiqor_schema ORDER BY 1").fetchall() == \
        [("runs", len(run_store_module._MIGRATIONS)), ("spans", len(span_store_module._MIGRATIONS))]
    db.close()


def test_init_writes_spans_to_postgresql_and_the_client_analyzes_them_by_trace_id(pg_url: str,
                                                                                 tmp_path: Path) -> None:
    handle = valiqor_trace.init("pg-app", database_url=pg_url, instrument=False, home=str(tmp_path / "unused"))
    with valiqor_trace.trace_workflow("answer") as workflow:
        workflow.set_input("What is the capital of France?")
        workflow.set_output("The capital of France is Berlin.")
        trace_id = valiqor_trace.current_trace_id()
    handle.shutdown()
    assert not (tmp_path / "unused").exists()  # nothing went to a SQLite file

    client = ValiqorClient(database_url=pg_url, home=str(tmp_path / "unused"))
    result = client.failure_analysis.run(trace_id=trace_id)
    assert result.trace_id == trace_id and result.status == "completed"
    assert [run.run_id for run in client.failure_analysis.list_runs()] == [result.run_id]
    client.close()
    assert not (tmp_path / "unused").exists()


def test_the_traces_cli_reads_a_postgresql_store(pg_url: str, tmp_path: Path) -> None:
    store = SpanStore(pg_url)
    from valiqor_trace.store import SpanRecord

    store.write_spans([SpanRecord(trace_id="cd" * 16, span_id="1" * 16, name="checkout", start_time_unix_nano=1,
                                  end_time_unix_nano=2, attributes={"valiqor.project_name": "shop"})])
    store.close()
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "valiqor_trace.cli", "traces", "list", "--store", pg_url],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "cd" * 16 in out.stdout and "checkout" in out.stdout and "shop" in out.stdout


def test_an_unreachable_server_is_one_clear_error_without_the_password() -> None:
    postgres.require()  # psycopg must be installed for the error to be about the server
    url = "postgresql://valiqor:s3cret-pw@127.0.0.1:9/valiqor"  # port 9: nothing listens
    with pytest.raises(StoreUnavailableError) as caught:
        SpanStore(url)
    message = str(caught.value)
    assert "127.0.0.1:9" in message and "s3cret-pw" not in message and "Check that the server runs" in message
    assert "\n" not in message and "\t" not in message and "?." not in message
    with pytest.raises(StoreUnavailableError) as caught:
        ValiqorClient(database_url=url).failure_analysis.list_runs()
    assert "s3cret-pw" not in str(caught.value)


def test_a_search_path_naming_no_existing_schema_says_which_and_how_to_create_it() -> None:
    postgres.require()
    url = postgres.URL.replace("postgres@", "postgres:s3cret-pw@", 1)
    url += ("&" if "?" in url else "?") + "options=-csearch_path%3Dvq_not_created"
    for opener in (SpanStore, RunStore):
        with pytest.raises(StoreUnavailableError) as caught:
            opener(url)
        message = str(caught.value)
        assert "vq_not_created" in message and "CREATE SCHEMA" in message and "s3cret-pw" not in message
    served = subprocess.run([sys.executable, "-m", "valiqor_trace.cli", "serve", "--port", "0", "--database-url", url],
                            capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    assert served.returncode == 1
    assert served.stderr.startswith("valiqor serve: PostgreSQL at ") and "CREATE SCHEMA" in served.stderr
    assert len(served.stderr.strip().splitlines()) == 1 and "s3cret-pw" not in served.stderr


def test_a_database_url_that_is_not_postgresql_is_refused_with_the_fix() -> None:
    with pytest.raises(valiqor_trace.ValidationError, match="postgresql://"):
        ValiqorClient(database_url="mysql://db/valiqor")
    with pytest.raises(ValueError, match="postgresql://"):
        valiqor_trace.init(database_url="sqlite:///x.db")


def test_a_store_whose_connection_the_server_dropped_reconnects(pg_url: str) -> None:
    """A PostgreSQL restart or failover drops every connection: the stores open a new one on the next call
    instead of failing until the process restarts."""
    from valiqor_trace.store import SpanRecord

    store = SpanStore(pg_url)
    runs = RunStore(pg_url)
    span = SpanRecord(trace_id="ab" * 16, span_id="1" * 16, name="root", start_time_unix_nano=1, end_time_unix_nano=2)
    store.write_spans([span])
    with postgres.admin() as admin:
        for db in (store._db, store._read_db, runs._db):
            admin.execute("SELECT pg_terminate_backend(%s)", (db.raw.info.backend_pid,))
    assert [s.name for s in store.get_trace("ab" * 16)] == ["root"]  # a read: run again on a new connection
    assert runs.list_runs() == []
    with postgres.admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._db.raw.info.backend_pid,))
    import psycopg

    with pytest.raises(psycopg.OperationalError):  # a write in a transaction fails as a whole (the writer retries)
        store.write_spans([span.model_copy(update={"span_id": "2" * 16})])
    assert store.write_spans([span.model_copy(update={"span_id": "2" * 16})]) == 1  # and the next one goes through
    assert store.count_spans() == 2
    store.close()
    runs.close()
