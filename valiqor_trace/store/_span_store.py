"""The trace store: spans in a SQLite file (WAL, the embedded default) or in PostgreSQL, safe for several
writing processes."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from valiqor_trace import attributes
from valiqor_trace._ids import normalize_trace_id
from valiqor_trace.monitor._processor import MONITOR_SCOPE, VERDICT_SPAN_NAME
from valiqor_trace.store._database import (
    Database,
    PostgresDatabase,
    SQLiteDatabase,
    apply_migrations,
    describe,
    is_database_url,
    open_database,
)
from valiqor_trace.store._logs import LOG_COLUMNS, attach_logs, log_row, row_log
from valiqor_trace.store._prune_traces import prune_traces
from valiqor_trace.store._records import LogRecord, SpanEvent, SpanLink, SpanRecord, TraceArrival, TraceSummary
from valiqor_trace.store._retention import DEFAULT_BATCH, Pruned, reclaim_space, vacuum_database


@dataclass(frozen=True)
class MonitorCandidate:
    """A trace monitoring on ingest may claim (see :meth:`SpanStore.monitor_candidates`)."""

    trace_id: str
    has_error: bool
    last_arrival_ns: int

@dataclass(frozen=True)
class BatchesWritten:
    """What :meth:`SpanStore.write_batches` stored: new spans, new log records, and the traces they name."""

    spans_new: int
    logs_new: int
    trace_ids: list[str]


# Numbered migrations, written for SQLite; PostgreSQL's column types are mapped from them
# (valiqor_trace/store/_database.py). Never edit one that has shipped: add the next.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE spans (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        parent_span_id TEXT,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER,
        status_code TEXT NOT NULL,
        status_message TEXT,
        attributes TEXT NOT NULL,
        events TEXT NOT NULL,
        links TEXT NOT NULL,
        resource TEXT NOT NULL,
        scope_name TEXT,
        scope_version TEXT,
        project_name TEXT,
        PRIMARY KEY (trace_id, span_id)
    );
    CREATE TABLE traces (
        trace_id TEXT PRIMARY KEY,
        project_name TEXT,
        root_name TEXT,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER,
        span_count INTEGER NOT NULL,
        error_count INTEGER NOT NULL
    );
    CREATE INDEX traces_by_project_time ON traces (project_name, start_ns);
    CREATE INDEX traces_by_time ON traces (start_ns);
    """,
    # 2: when spans of a trace last arrived, and whether they came from a file: a trace without its root
    # span is analyzed as it is once nothing more can come (valiqor_trace/analyzer/traces_api.py).
    """
    ALTER TABLE traces ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE traces ADD COLUMN last_arrival_ns INTEGER
    """,
    # 3: log records that name a span (the GenAI conventions' event mode sends messages as log records);
    # readers see them as events of their span (valiqor_trace/store/_logs.py). Keyed by a digest of the
    # record, which has no id of its own, so storing one twice keeps one.
    """
    CREATE TABLE logs (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        record_key TEXT NOT NULL,
        time_ns INTEGER NOT NULL,
        event_name TEXT,
        severity_number INTEGER,
        severity_text TEXT,
        body TEXT,
        attributes TEXT NOT NULL,
        scope_name TEXT,
        PRIMARY KEY (trace_id, span_id, record_key)
    ) WITHOUT ROWID
    """,
    # 4: monitoring on ingest (valiqor serve --monitor). Each server claims a trace here before analyzing it,
    # so a trace is analyzed once however many servers share the database; traces are found by arrival time.
    """
    CREATE TABLE monitor_claims (
        trace_id TEXT PRIMARY KEY,
        claimed_ns INTEGER NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX traces_by_arrival ON traces (last_arrival_ns)
    """,
    # 5: retention deletes log records whose trace has no span by their
    # time (valiqor_trace/store/_prune_traces.py); traces and spans are found by traces_by_time and the keys.
    "CREATE INDEX logs_by_time ON logs (time_ns)",
    # 6: a monitor claim is a lease until its analysis ends (then NULL): a server killed with claimed traces
    # still queued leaves them to another server when the lease runs out, instead of never analyzing them.
    # Claims made before it are finished ones.
    "ALTER TABLE monitor_claims ADD COLUMN expires_ns INTEGER",
)

_SPAN_COLUMNS = ("trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, status_message, "
                 "attributes, events, links, resource, scope_name, scope_version, project_name")
# (input, output) token keys, current GenAI names first: a span carrying both spellings counts once
_USAGE_KEYS = ((attributes.GEN_AI_USAGE_INPUT_TOKENS, attributes.GEN_AI_USAGE_OUTPUT_TOKENS),
               (attributes.GEN_AI_USAGE_PROMPT_TOKENS, attributes.GEN_AI_USAGE_COMPLETION_TOKENS))
# PostgreSQL: writers of the same trace take one of these locks (by a hash of the trace id) before they
# store its spans, so the trace's summary is recomputed by the last of them with every span in view. A fixed
# number, because an import of many traces in one transaction must not take one lock per trace.
_TRACE_LOCKS = 64
_Batch = tuple[Sequence[tuple[Any, ...]], Sequence[tuple[Any, ...]]]
_SPAN_TYPES = ("text", "text", "text", "text", "text", "bigint", "bigint", "text", "text", "text", "text", "text",
               "text", "text", "text", "text")
_LOG_TYPES = ("text", "text", "text", "bigint", "text", "bigint", "text", "text", "text", "text")


def _pg_insert(table: str, columns: str, types: Sequence[str]) -> str:
    # A batch travels as one JSON array of rows: one parameter that the C JSON encoder writes and PostgreSQL
    # reads in one pass (measured cheaper than executemany, and than psycopg's array parameters), with no
    # temporary table, so it also works through a transaction-mode connection pooler.
    fields = ", ".join(f"(row ->> {index})::{kind}" for index, kind in enumerate(types))
    return (f"INSERT INTO {table} ({columns}) SELECT {fields} FROM jsonb_array_elements(?::jsonb) AS batch(row) "
            "ON CONFLICT DO NOTHING")


_PG_INSERT_SPANS = _pg_insert("spans", _SPAN_COLUMNS, _SPAN_TYPES)
_PG_INSERT_LOGS = _pg_insert("logs", LOG_COLUMNS, _LOG_TYPES)


def _json_rows(rows: Sequence[Sequence[Any]]) -> str:
    """Rows as a JSON array for :func:`_pg_insert`. PostgreSQL text cannot hold NUL: a NUL in a value (an
    imported span can carry anything) is stored as U+FFFD instead of failing the batch."""
    payload = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    if "\\u0000" not in payload:  # the rare case pays for the per-value look
        return payload
    return json.dumps([[value.replace("\0", "\ufffd") if isinstance(value, str) else value for value in row]
                       for row in rows], ensure_ascii=False, separators=(",", ":"))


# A trace's project and root name: those of its root span (else its earliest span). PostgreSQL takes both in
# the same pass over the trace's spans; SQLite looks them up per trace.
_ROOT_FIRST = {
    "sqlite": """(SELECT project_name FROM spans r WHERE r.trace_id = s.trace_id AND r.project_name IS NOT NULL
                  ORDER BY r.parent_span_id IS NOT NULL, r.start_ns LIMIT 1),
                 (SELECT name FROM spans r WHERE r.trace_id = s.trace_id
                  ORDER BY r.parent_span_id IS NOT NULL, r.start_ns LIMIT 1)""",
    "postgresql": """(array_agg(s.project_name ORDER BY s.parent_span_id IS NOT NULL, s.start_ns)
                      FILTER (WHERE s.project_name IS NOT NULL))[1],
                     (array_agg(s.name ORDER BY s.parent_span_id IS NOT NULL, s.start_ns))[1]""",
}


class SpanStore:
    """Read and write spans in a SQLite file (the default) or a PostgreSQL database.

    One connection per instance, guarded by a lock, so an instance may be
    shared between threads. Several processes may write the same store: on
    SQLite, WAL mode lets readers run beside one writer, and writers wait for
    each other (busy timeout) instead of failing; on PostgreSQL, several
    servers write at once (``docs/deploy.md``).

    Args:
        path: the SQLite file (its directory is created if missing), or a ``postgresql://`` URL.
        create: False for readers: a missing file raises ``FileNotFoundError`` instead of
            being created empty (a look-up from the wrong directory must not leave a store behind).
        clock: now in ns since the epoch: when spans arrive (retention counts from it).

    Raises:
        StoreUnavailableError: PostgreSQL could not be reached.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        if not create and not is_database_url(self.path) and not os.path.exists(self.path):
            raise FileNotFoundError(f"no trace store at {os.path.abspath(self.path)}: nothing has been written "
                                    "there (valiqor_trace.init() writes it; valiqor traces import FILE fills it)")
        self._lock = threading.Lock()
        self._db = open_database(self.path)
        apply_migrations(self._db, "spans", _MIGRATIONS)
        # PostgreSQL: reads have a connection of their own, so the API never waits behind a write transaction
        # (which may wait for another server's trace locks). SQLite's readers never wait for its writer.
        self._read_db, self._read_lock = self._db, self._lock
        if isinstance(self._db, PostgresDatabase):
            self._read_db, self._read_lock = open_database(self.path), threading.Lock()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    def __repr__(self) -> str:
        return f"SpanStore({describe(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()
        if self._read_db is not self._db:
            with self._read_lock:
                self._read_db.close()

    # -- writing -----------------------------------------------------------------

    def write_rows(self, rows: Sequence[tuple[Any, ...]], *, logs: Sequence[tuple[Any, ...]] = (),
                   imported: bool = False) -> int:
        """Insert span rows (see :func:`span_row`) and log rows (see :func:`log_row`) in one transaction;
        return how many spans were new.

        A span already stored (same trace and span id) is left as it is, and so is
        a log record already stored, so writing the same batch twice stores nothing
        twice. ``imported`` marks the traces as read from a file: their spans are
        all there will ever be.
        """
        return self.write_batch(rows, logs, imported=imported)[0]

    def write_batch(self, rows: Sequence[tuple[Any, ...]], logs: Sequence[tuple[Any, ...]], *,
                    imported: bool = False) -> tuple[int, int]:
        """Like :meth:`write_rows`; returns (new spans, new log records)."""
        if not rows and not logs:
            return 0, 0
        if isinstance(self._db, PostgresDatabase):
            written = self._write_postgres([(rows, logs)], imported=imported)
            return written.spans_new, written.logs_new
        with self._lock, self._db.transaction():
            inserted = self._db.executemany(
                f"INSERT INTO spans ({_SPAN_COLUMNS}) VALUES ({', '.join('?' * 16)}) ON CONFLICT DO NOTHING", rows)
            if inserted or (imported and rows):
                self._refresh_traces({row[0] for row in rows}, imported=imported)
            logs_inserted = self._db.executemany(
                f"INSERT INTO logs ({LOG_COLUMNS}) VALUES ({', '.join('?' * 10)}) ON CONFLICT DO NOTHING", logs)
        return inserted, logs_inserted

    def write_batches(self, batches: Iterable[_Batch], *, imported: bool = False) -> BatchesWritten:
        """Store (span rows, log rows) batches all or nothing, as :meth:`write_batch` stores one.

        For input too large to hold at once (a trace file): each batch is staged as it comes (SQLite:
        temporary tables of this connection, kept on disk past its page cache; PostgreSQL: ``COPY`` into
        a temporary table inside the one transaction), and the whole is copied in at the end. If
        ``batches`` raises, nothing is stored; other writers are not locked out while the input is read.
        """
        if isinstance(self._db, PostgresDatabase):
            # a connection of its own for as long as the input takes to read: this store's connection (the
            # server's ingest) goes on meanwhile, and the transaction locks out no other writer
            importer = open_database(self.path)
            try:
                return self._write_postgres(batches, imported=imported, db=importer, lock=threading.Lock())
            finally:
                importer.close()
        stage = f"temp.staged_{uuid.uuid4().hex}"
        db = self._db
        assert isinstance(db, SQLiteDatabase)
        with self._lock:
            db.execute(f"CREATE TABLE {stage}_spans AS SELECT {_SPAN_COLUMNS} FROM spans WHERE 1 = 0")
            db.execute(f"CREATE TABLE {stage}_logs AS SELECT {LOG_COLUMNS} FROM logs WHERE 1 = 0")
        try:
            for rows, logs in batches:
                with self._lock, db.transaction("BEGIN"):  # the temp schema only: takes no store lock
                    db.executemany(f"INSERT INTO {stage}_spans VALUES ({', '.join('?' * 16)})", rows)
                    db.executemany(f"INSERT INTO {stage}_logs VALUES ({', '.join('?' * 10)})", logs)
            with self._lock, db.transaction():
                inserted = db.execute(f"INSERT INTO spans ({_SPAN_COLUMNS}) SELECT {_SPAN_COLUMNS} "
                                      f"FROM {stage}_spans WHERE 1 = 1 ORDER BY rowid ON CONFLICT DO NOTHING").rowcount
                span_traces = {row[0] for row in db.execute(f"SELECT DISTINCT trace_id FROM {stage}_spans")}
                if inserted or (imported and span_traces):
                    self._refresh_traces(span_traces, imported=imported)
                logs_inserted = db.execute(f"INSERT INTO logs ({LOG_COLUMNS}) SELECT {LOG_COLUMNS} "
                                           f"FROM {stage}_logs WHERE 1 = 1 ORDER BY rowid ON CONFLICT DO NOTHING"
                                           ).rowcount
                trace_ids = [row[0] for row in db.execute(
                    f"SELECT trace_id FROM {stage}_spans UNION SELECT trace_id FROM {stage}_logs ORDER BY 1")]
        finally:
            with self._lock:
                db.execute(f"DROP TABLE IF EXISTS {stage}_spans")
                db.execute(f"DROP TABLE IF EXISTS {stage}_logs")
        return BatchesWritten(spans_new=inserted, logs_new=logs_inserted, trace_ids=trace_ids)

    def _write_postgres(self, batches: Iterable[_Batch], *, imported: bool, db: Database | None = None,
                        lock: threading.Lock | None = None) -> BatchesWritten:
        # Each batch is one INSERT (see _pg_insert): no statement per row, and ON CONFLICT keeps one
        # of each span when a retry or another replica stores it too. The summaries of the traces written are
        # recomputed at the end under their trace locks, so the last writer of a trace sees all its spans.
        db = db or self._db
        assert isinstance(db, PostgresDatabase)
        inserted = logs_inserted = 0
        span_traces: set[str] = set()
        log_traces: set[str] = set()
        with lock or self._lock, db.transaction():
            for rows, logs in batches:
                if rows:
                    inserted += db.execute(_PG_INSERT_SPANS, (_json_rows(rows),)).rowcount
                    span_traces.update(row[0] for row in rows)
                if logs:
                    logs_inserted += db.execute(_PG_INSERT_LOGS, (_json_rows(logs),)).rowcount
                    log_traces.update(row[0] for row in logs)
            if inserted or (imported and span_traces):
                db.lock(*{f"trace:{zlib.crc32(trace_id.encode()) % _TRACE_LOCKS}" for trace_id in span_traces})
                self._refresh_traces(span_traces, imported=imported, db=db)
        return BatchesWritten(spans_new=inserted, logs_new=logs_inserted, trace_ids=sorted(span_traces | log_traces))

    def write_spans(self, spans: Iterable[SpanRecord], *, logs: Iterable[LogRecord] = (),
                    imported: bool = False) -> int:
        """Insert :class:`SpanRecord` (and :class:`LogRecord`) objects; see :meth:`write_rows`."""
        return self.write_rows([record_row(span) for span in spans], logs=[log_row(log) for log in logs],
                               imported=imported)

    def write_logs(self, logs: Iterable[LogRecord]) -> int:
        """Insert log records that name a span; return how many were new."""
        return self.write_batch((), [log_row(log) for log in logs])[1]

    def _refresh_traces(self, trace_ids: set[str], *, imported: bool, db: Database | None = None) -> None:
        # Recomputed from the spans, so late or out-of-order spans keep the summary right.
        # A trace once imported stays imported; every write counts as an arrival.
        db = db or self._db
        in_traces, trace_list = db.in_list("s.trace_id", sorted(trace_ids))
        db.execute(
            f"""
            INSERT INTO traces (trace_id, project_name, root_name, start_ns, end_ns, span_count, error_count,
                                imported, last_arrival_ns)
            SELECT s.trace_id, {_ROOT_FIRST[db.dialect]},
                   MIN(s.start_ns), MAX(s.end_ns), COUNT(*),
                   SUM(CASE WHEN s.status_code = 'ERROR' THEN 1 ELSE 0 END), ?, ?
            FROM spans s WHERE {in_traces} GROUP BY s.trace_id
            ON CONFLICT (trace_id) DO UPDATE SET
                project_name = excluded.project_name, root_name = excluded.root_name,
                start_ns = excluded.start_ns, end_ns = excluded.end_ns, span_count = excluded.span_count,
                error_count = excluded.error_count,
                imported = {db.greatest("traces.imported", "excluded.imported")},
                last_arrival_ns = excluded.last_arrival_ns
            """,
            (int(imported), self._clock(), trace_list),
        )

    # -- retention ---------------------------------------------------------------

    def prune(self, older_than_ns: int, *, batch: int = DEFAULT_BATCH, dry_run: bool = False,
              reclaim: bool = True, stop: Callable[[], bool] | None = None) -> Pruned:
        """Delete the traces whose newest activity (last span end or last arrival) is before
        ``older_than_ns`` (ns since the epoch) — spans, log records and summary together, never half a
        trace — ``batch`` spans or so per transaction, so writers never wait long.

        Args:
            dry_run: count what would go; delete nothing.
            reclaim: SQLite: give the freed space back to the file system afterwards (stores created with
                incremental auto-vacuum; see :meth:`vacuum` for older ones).
            stop: checked between batches; True ends the prune early (its owner is closing).

        Returns:
            Rows deleted per table: ``traces``, ``spans``, ``logs``.
        """
        pruned = prune_traces(self._db, self._lock, older_than_ns, trace_locks=_TRACE_LOCKS, batch=batch,
                              dry_run=dry_run, stop=stop)
        if reclaim and pruned.total and not dry_run:
            reclaim_space(self._db, self._lock, stop=stop)
        return pruned

    def vacuum(self) -> None:
        """Rewrite a SQLite file to its smallest size, turning on incremental auto-vacuum if it was made
        without it (blocks writers meanwhile); PostgreSQL: ``VACUUM (ANALYZE)`` the store's tables."""
        vacuum_database(self._db, self._lock, ("spans", "logs", "traces"))

    # -- reading -----------------------------------------------------------------

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        """Every stored span of ``trace_id`` (``tr_`` prefix accepted), oldest first; [] if none.

        The log records that name a span are among its events (see :meth:`get_logs`).
        """
        tid = normalize_trace_id(trace_id)
        with self._read_lock:
            rows = self._read_db.execute(
                f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", (tid,)
            ).fetchall()
            log_rows = self._read_db.execute(
                f"SELECT {LOG_COLUMNS} FROM logs WHERE trace_id = ? ORDER BY time_ns", (tid,)).fetchall() \
                if rows else []
        return attach_logs([row_record(row) for row in rows], [row_log(row) for row in log_rows])

    def get_span(self, trace_id: str, span_id: str) -> SpanRecord | None:
        """One stored span (with the log records that name it among its events), or None."""
        tid = normalize_trace_id(trace_id)
        with self._read_lock:
            rows = self._read_db.execute(f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = ? AND span_id = ?",
                                      (tid, span_id.lower())).fetchall()
            log_rows = self._read_db.execute(
                f"SELECT {LOG_COLUMNS} FROM logs WHERE trace_id = ? AND span_id = ? ORDER BY time_ns",
                (tid, span_id.lower())).fetchall() if rows else []
        spans = attach_logs([row_record(row) for row in rows], [row_log(row) for row in log_rows])
        return spans[0] if spans else None

    def get_logs(self, trace_id: str) -> list[LogRecord]:
        """The stored log records of ``trace_id``, oldest first."""
        with self._read_lock:
            rows = self._read_db.execute(f"SELECT {LOG_COLUMNS} FROM logs WHERE trace_id = ? ORDER BY time_ns",
                                      (normalize_trace_id(trace_id),)).fetchall()
        return [row_log(row) for row in rows]

    def trace_arrival(self, trace_id: str) -> TraceArrival | None:
        """Whether ``trace_id`` was imported from a file and when its spans last arrived; None if not stored."""
        with self._read_lock:
            row = self._read_db.execute("SELECT imported, last_arrival_ns FROM traces WHERE trace_id = ?",
                                     (normalize_trace_id(trace_id),)).fetchone()
        return None if row is None else TraceArrival(imported=bool(row[0]), last_arrival_ns=row[1])

    def wait_for_trace(self, trace_id: str, *, timeout_s: float = 5.0, poll_s: float = 0.05) -> list[SpanRecord]:
        """Like :meth:`get_trace`, but waits up to ``timeout_s`` for the spans to arrive."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.get_trace(trace_id)
            if spans or time.monotonic() >= deadline:
                return spans
            time.sleep(poll_s)

    def list_traces(self, *, project_name: str | None = None, start_ns: int | None = None,
                    end_ns: int | None = None, has_error: bool | None = None,
                    limit: int = 50, offset: int = 0, include_verdicts: bool = True) -> list[TraceSummary]:
        """Stored traces, newest first, filtered by project, start time range and errors.

        ``include_verdicts=False`` leaves out the production monitor's own traces: each ``fa.verdict``
        span it records after analyzing a trace starts a trace of its own, rooted in the monitor's scope.
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        clauses, params = _trace_filters(project_name, start_ns, end_ns, has_error)
        if not include_verdicts:
            clauses.append("NOT EXISTS (SELECT 1 FROM spans r WHERE r.trace_id = traces.trace_id "
                           "AND r.parent_span_id IS NULL AND r.scope_name = ?)")
            params.append(MONITOR_SCOPE)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read_lock:
            rows = self._read_db.execute(
                "SELECT trace_id, project_name, root_name, start_ns, end_ns, span_count, error_count "
                f"FROM traces {where} ORDER BY start_ns DESC, trace_id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [TraceSummary(trace_id=r[0], project_name=r[1], root_name=r[2], start_time_unix_nano=r[3],
                             end_time_unix_nano=r[4], span_count=r[5], error_count=r[6]) for r in rows]

    def search_traces(self, *, project_name: str | None = None, start_ns: int | None = None,
                      end_ns: int | None = None, has_error: bool | None = None, text: str | None = None,
                      only_ids: Sequence[str] | None = None, exclude_ids: Sequence[str] | None = None,
                      include_verdicts: bool = True,
                      limit: int = 50, offset: int = 0) -> tuple[int, list[TraceSummary]]:
        """(how many traces match, one page of them newest first): :meth:`list_traces` plus a text filter.

        ``text`` matches the root span's name, the project or the trace id (case-insensitive substring);
        ``only_ids`` keeps those traces only, ``exclude_ids`` leaves those out (the web UI's "has failures"
        filter, from the run store).
        """
        clauses, params = _trace_filters(project_name, start_ns, end_ns, has_error)
        if text:
            pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clauses.append("(lower(root_name) LIKE ? ESCAPE '\\' OR lower(project_name) LIKE ? ESCAPE '\\' "
                           "OR trace_id LIKE ? ESCAPE '\\')")
            params += [pattern, pattern, pattern]
        if only_ids is not None:
            condition, param = self._db.in_list("trace_id", only_ids)
            clauses.append(condition)
            params.append(param)
        if exclude_ids:
            condition, param = self._db.in_list("trace_id", exclude_ids)
            clauses.append(f"NOT ({condition})")
            params.append(param)
        if not include_verdicts:
            # the root's name first: only a trace named like a verdict costs a look at its root span's scope
            clauses.append("(root_name IS NULL OR root_name <> ? OR NOT EXISTS (SELECT 1 FROM spans r WHERE "
                           "r.trace_id = traces.trace_id AND r.parent_span_id IS NULL AND r.scope_name = ?))")
            params += [VERDICT_SPAN_NAME, MONITOR_SCOPE]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read_lock:
            total = self._read_db.execute(f"SELECT COUNT(*) FROM traces {where}", params).fetchone()[0]
            rows = self._read_db.execute(
                "SELECT trace_id, project_name, root_name, start_ns, end_ns, span_count, error_count "
                f"FROM traces {where} ORDER BY start_ns DESC, trace_id LIMIT ? OFFSET ?",
                (*params, limit, offset)).fetchall()
        return total, [TraceSummary(trace_id=r[0], project_name=r[1], root_name=r[2], start_time_unix_nano=r[3],
                                    end_time_unix_nano=r[4], span_count=r[5], error_count=r[6]) for r in rows]

    def token_usage(self, trace_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """trace id -> (input tokens, output tokens) summed over its model-call spans.

        A model call recorded twice (a framework's span with the client library's span as its child, both
        carrying usage) counts once: a span whose parent carries usage is left out.
        """
        if not trace_ids:
            return {}
        number = self._db.json_number
        keys_in = ", ".join(number("s.attributes", k) for k, _ in _USAGE_KEYS)
        keys_out = ", ".join(number("s.attributes", k) for _, k in _USAGE_KEYS)
        has_usage = " OR ".join(f"{number('p.attributes', k)} IS NOT NULL" for k, _ in _USAGE_KEYS)
        tokens_in, tokens_out = f"COALESCE({keys_in}, 0)", f"COALESCE({keys_out}, 0)"
        in_traces, trace_list = self._db.in_list("s.trace_id", trace_ids)
        with self._read_lock:
            rows = self._read_db.execute(
                f"SELECT s.trace_id, SUM({tokens_in}), SUM({tokens_out}) FROM spans s "
                f"WHERE {in_traces} AND NOT EXISTS (SELECT 1 FROM spans p "
                f"WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id AND ({has_usage})) "
                "GROUP BY s.trace_id", (trace_list,)).fetchall()
        return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows}

    def monitor_candidates(self, *, arrived_after_ns: int, quiet_since_ns: int, rootless_quiet_since_ns: int,
                           sample_bound: int, errors: bool, limit: int,
                           now_ns: int | None = None) -> list[MonitorCandidate]:
        """Traces that monitoring on ingest should decide now, oldest arrival first: unclaimed ones, then
        those whose claim ran out before their analysis ended (at ``now_ns``, default the clock).

        A trace qualifies when its spans last arrived in (``arrived_after_ns``, ``quiet_since_ns``] and either
        its root span (no parent) is stored or nothing arrived since ``rootless_quiet_since_ns``; it is
        selected by the trace-ID rule (low 64 bits below ``sample_bound``) or, with ``errors``, has an error
        span. Traces imported from files and the monitor's own verdict traces never qualify.
        """
        now_ns = time.time_ns() if now_ns is None else now_ns
        selected = [self._low_bits_below(sample_bound)]
        if errors:
            selected.append("t.error_count > 0")
        with self._read_lock:
            rows = self._read_db.execute(
                "SELECT t.trace_id, t.error_count, t.last_arrival_ns FROM traces t "
                "WHERE t.last_arrival_ns > ? AND t.last_arrival_ns <= ? AND t.imported = 0 "
                f"AND ({' OR '.join(selected)}) "
                "AND NOT EXISTS (SELECT 1 FROM monitor_claims c WHERE c.trace_id = t.trace_id "
                "AND (c.expires_ns IS NULL OR c.expires_ns > ?)) "
                "AND (t.last_arrival_ns <= ? OR EXISTS (SELECT 1 FROM spans r WHERE r.trace_id = t.trace_id "
                "AND r.parent_span_id IS NULL)) "
                "AND (t.root_name IS NULL OR t.root_name <> ? OR NOT EXISTS (SELECT 1 FROM spans r "
                "WHERE r.trace_id = t.trace_id AND r.parent_span_id IS NULL AND r.scope_name = ?)) "
                "ORDER BY t.last_arrival_ns, t.trace_id LIMIT ?",
                (arrived_after_ns, quiet_since_ns, now_ns, rootless_quiet_since_ns, VERDICT_SPAN_NAME,
                 MONITOR_SCOPE, limit)).fetchall()
            # traces whose claim ran out unfinished (the server that took them died), whenever they arrived
            rows += self._read_db.execute(
                "SELECT t.trace_id, t.error_count, t.last_arrival_ns FROM monitor_claims c JOIN traces t "
                "ON t.trace_id = c.trace_id WHERE c.expires_ns IS NOT NULL AND c.expires_ns <= ? "
                "ORDER BY c.expires_ns LIMIT ?", (now_ns, limit)).fetchall()
        return [MonitorCandidate(trace_id=r[0], has_error=r[1] > 0, last_arrival_ns=r[2]) for r in rows]

    def _low_bits_below(self, bound: int) -> str:
        # The trace-ID rule in SQL: the last 16 hex digits, compared as text with the bound in 16 hex digits
        # (equal-width lowercase hex orders as the numbers do; byte order on PostgreSQL whatever its locale).
        if bound <= 0:
            return "1 = 0"
        if bound > 0xFFFFFFFFFFFFFFFF:
            return "1 = 1"
        collate = ' COLLATE "C"' if self._db.dialect == "postgresql" else ""
        return f"substr(t.trace_id, 17){collate} < '{bound:016x}'"

    def claim_trace(self, trace_id: str, reason: str, *, lease_ns: int = 600 * 10**9,
                    now_ns: int | None = None) -> bool:
        """Claim ``trace_id`` for monitoring until :meth:`finish_claim` (or ``lease_ns`` from now, when the
        claimer died first); True for the one caller (of any server) that claimed it."""
        now_ns = time.time_ns() if now_ns is None else now_ns
        with self._lock:
            return self._db.execute(
                "INSERT INTO monitor_claims (trace_id, claimed_ns, reason, expires_ns) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (trace_id) DO UPDATE SET claimed_ns = excluded.claimed_ns, reason = excluded.reason, "
                "expires_ns = excluded.expires_ns "
                "WHERE monitor_claims.expires_ns IS NOT NULL AND monitor_claims.expires_ns <= ?",
                (trace_id, now_ns, reason, now_ns + lease_ns, now_ns)).rowcount == 1

    def finish_claim(self, trace_id: str, *, decided: bool = True) -> None:
        """End a claim: ``decided`` (analyzed, or left out by the rules) for good; else given back to be
        decided again (the analysis queue was full)."""
        with self._lock:
            if decided:
                self._db.execute("UPDATE monitor_claims SET expires_ns = NULL WHERE trace_id = ?", (trace_id,))
            else:
                self._db.execute("DELETE FROM monitor_claims WHERE trace_id = ?", (trace_id,))

    def project_names(self) -> list[str]:
        """The projects that have traces, sorted."""
        with self._read_lock:
            rows = self._read_db.execute("SELECT DISTINCT project_name FROM traces WHERE project_name IS NOT NULL "
                                      "ORDER BY project_name").fetchall()
        return [row[0] for row in rows]

    def count_spans(self) -> int:
        with self._read_lock:
            return self._read_db.execute("SELECT COUNT(*) FROM spans").fetchone()[0]

    def count_logs(self) -> int:
        with self._read_lock:
            return self._read_db.execute("SELECT COUNT(*) FROM logs").fetchone()[0]

    def defer_checkpoints(self, pages: int) -> None:
        """Let the WAL grow to ``pages`` pages before a commit checkpoints it (default 1000).

        A checkpoint fsyncs; a busy single writer (``valiqor serve``) commits faster
        with fewer, larger ones, and calls :meth:`checkpoint` when it is idle. SQLite only.
        """
        if self._db.dialect == "sqlite":
            with self._lock:
                self._db.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")

    def checkpoint(self) -> None:
        """Copy the WAL into the database now, without waiting for readers (PASSIVE). SQLite only."""
        if self._db.dialect != "sqlite":
            return
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _trace_filters(project_name: str | None, start_ns: int | None, end_ns: int | None,
                   has_error: bool | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if project_name is not None:
        clauses.append("project_name = ?")
        params.append(project_name)
    if start_ns is not None:
        clauses.append("start_ns >= ?")
        params.append(start_ns)
    if end_ns is not None:
        clauses.append("start_ns < ?")
        params.append(end_ns)
    if has_error is not None:
        clauses.append("error_count > 0" if has_error else "error_count = 0")
    return clauses, params


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


def record_row(span: SpanRecord) -> tuple[Any, ...]:
    """The database row of a :class:`SpanRecord`."""
    project = span.attributes.get("valiqor.project_name")
    return (
        span.trace_id, span.span_id, span.parent_span_id, span.name, span.kind,
        span.start_time_unix_nano, span.end_time_unix_nano, span.status_code, span.status_message,
        _dumps(span.attributes), _dumps([e.model_dump() for e in span.events]),
        _dumps([link.model_dump() for link in span.links]), _dumps(span.resource),
        span.scope_name, span.scope_version,
        project if isinstance(project, str) else None,  # imported spans can carry anything; the column is text
    )


def row_record(row: Sequence[Any]) -> SpanRecord:
    return SpanRecord(
        trace_id=row[0], span_id=row[1], parent_span_id=row[2], name=row[3], kind=row[4],
        start_time_unix_nano=row[5], end_time_unix_nano=row[6], status_code=row[7], status_message=row[8],
        attributes=json.loads(row[9]), events=[SpanEvent(**e) for e in json.loads(row[10])],
        links=[SpanLink(**link) for link in json.loads(row[11])], resource=json.loads(row[12]),
        scope_name=row[13], scope_version=row[14],
    )
