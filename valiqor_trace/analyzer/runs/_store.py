"""The run store: FA runs, their inputs and tags, in SQLite (WAL) or PostgreSQL, with numbered migrations.

A run's row is written when it starts (so it can be listed and polled) and
its items and tags in one transaction when it ends, so a run is never stored
half-way. While it runs, its row carries how many items it has analyzed
(``items_done``, written now and then: see :mod:`valiqor_trace.analyzer.runs._progress`), so
any process can read its progress. A run left ``running`` by a process that died is marked ``failed``
the next time a store is opened, unless it is a server job: those go back to the queue
(:mod:`valiqor_trace.analyzer.runs._jobs`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from valiqor_trace.analyzer.fa.models import FailureTag, RunSummary, SkippedDetector
from valiqor_trace.analyzer.runs._models import AlertRecord, FAResult, RunInfo, RunInput
from valiqor_trace.analyzer.runs._prune import prune_runs
from valiqor_trace.internal import (
    DEFAULT_BATCH,
    apply_migrations,
    describe_store,
    open_database,
    reclaim_space,
    vacuum_database,
)

if TYPE_CHECKING:
    from valiqor_trace.internal import Database, Pruned

Migration = str | dict[str, str]


def _process_host() -> str:
    """Where a pid means one process: this host, and its pid namespace. Containers of one replicated service
    may share a hostname and all run as pid 1; their pid namespaces differ, so no replica ever takes
    another's pid (alive elsewhere) for its own or for a dead one."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: the hostname alone
        return socket.gethostname()
    return f"{socket.gethostname()}/pidns-{namespace}"  # no ":": owner ids are host:pid:token


PROCESS_HOST = _process_host()
_HOST = PROCESS_HOST

# Rows are kept in insertion order for a listing's tie-break: SQLite has rowid, PostgreSQL a sequence.
_ALERTS_TABLE = """
    CREATE TABLE alerts (
        created_ns INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        project_name TEXT NOT NULL,
        run_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        subcategory_id TEXT NOT NULL,
        subcategory_name TEXT NOT NULL,
        severity REAL NOT NULL,
        channel TEXT NOT NULL,
        outcome TEXT NOT NULL{order}
    );
    CREATE INDEX alerts_by_project ON alerts (project_name, created_ns)
    """

# Numbered migrations, written for SQLite; PostgreSQL's column types are mapped from them
# (valiqor_trace/store/_database.py), or given beside them where the two differ. Never edit one that has
# shipped: add the next.
_MIGRATIONS: tuple[Migration, ...] = (
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        project_name TEXT NOT NULL,
        status TEXT NOT NULL,
        input_type TEXT NOT NULL,
        feature_kind TEXT,
        trace_id TEXT,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_ns INTEGER NOT NULL,
        owner_pid INTEGER,
        total_items INTEGER NOT NULL,
        duration_ms REAL NOT NULL DEFAULT 0,
        tokens_used INTEGER NOT NULL DEFAULT 0,
        partial INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        summary TEXT,
        result TEXT
    );
    CREATE INDEX runs_by_project ON runs (project_name, created_ns);
    CREATE TABLE run_inputs (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        item_index INTEGER NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (run_id, item_index)
    );
    CREATE TABLE tags (
        tag_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        item_index INTEGER NOT NULL,
        bucket_id TEXT NOT NULL,
        subcategory_id TEXT NOT NULL,
        decision TEXT NOT NULL,
        severity REAL NOT NULL,
        confidence REAL NOT NULL,
        created_ns INTEGER NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX tags_by_run ON tags (run_id, item_index);
    CREATE INDEX tags_by_time ON tags (created_ns);
    CREATE TABLE rate_events (
        name TEXT NOT NULL,
        at_ns INTEGER NOT NULL
    );
    CREATE INDEX rate_events_by_name ON rate_events (name, at_ns)
    """,
    # 2: LLM-judge verdict cache (valiqor_trace/analyzer/judge). Keyed by a SHA-256 of (prompt version, model, server,
    # rubric, messages); holds the parsed verdicts and their cost only: never a key, never the prompt.
    """
    CREATE TABLE judge_cache (
        cache_key TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        verdicts TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        created_ns INTEGER NOT NULL
    )
    """,
    # 3: progress in the store, so a run's status reads true from any process. Runs stored before it
    # get the count of items they analyzed (a cancelled run keeps only those); unfinished ones, 0.
    """
    ALTER TABLE runs ADD COLUMN items_done INTEGER NOT NULL DEFAULT 0;
    UPDATE runs SET items_done = (SELECT COUNT(*) FROM run_inputs i WHERE i.run_id = runs.run_id)
        WHERE status IN ('completed', 'cancelled')
    """,
    # 4: a run's source says where its input came from: dataset | trace | monitor | playground (RUN_SOURCES).
    # Runs stored before it said "api" or "cli" for both datasets and traces: they get their input type,
    # in the row and in the stored result. Runs are listed by trace too.
    {"sqlite": """
     UPDATE runs SET source = input_type WHERE source NOT IN ('monitor', 'playground');
     UPDATE runs SET result = json_set(result, '$.source', source) WHERE result IS NOT NULL;
     CREATE INDEX runs_by_trace ON runs (trace_id, created_ns)
     """,
     "postgresql": """
     UPDATE runs SET source = input_type WHERE source NOT IN ('monitor', 'playground');
     UPDATE runs SET result = jsonb_set(result::jsonb, '{source}', to_jsonb(source))::text WHERE result IS NOT NULL;
     CREATE INDEX runs_by_trace ON runs (trace_id, created_ns)
     """},
    # 5: the production monitor's alert decisions (sent, suppressed by the cooldown, failed), for the
    # monitoring page. Stores opened by older versions simply lack them; no secret is kept.
    {"sqlite": _ALERTS_TABLE.format(order=""),
     "postgresql": _ALERTS_TABLE.format(order=",\n        seq BIGSERIAL").replace("INTEGER", "BIGINT").replace(
         "REAL", "DOUBLE PRECISION")},
    # 6: the host of the process that runs a run, beside its pid: a pid says whether a run's owner is alive
    # only on the host that started it (several servers may share one PostgreSQL database).
    "ALTER TABLE runs ADD COLUMN owner_host TEXT",
    # 7: server runs are jobs any replica may run (valiqor_trace/analyzer/runs/_jobs.py): the request (items and
    # options, never a key; cleared when the run ends), the lease of the replica running it, how many times one
    # started it, and a cancel flag the running replica reads. Runs of the embedded client have no job.
    """
    ALTER TABLE runs ADD COLUMN job TEXT;
    ALTER TABLE runs ADD COLUMN lease_owner TEXT;
    ALTER TABLE runs ADD COLUMN lease_expires_ns INTEGER;
    ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX runs_jobs ON runs (status, created_ns) WHERE job IS NOT NULL
    """,
    # 8: retention deletes by age (valiqor_trace/analyzer/runs/_prune.py);
    # the project-first indexes cannot find every project's old rows without a scan.
    """
    CREATE INDEX runs_by_time ON runs (created_ns);
    CREATE INDEX alerts_by_time ON alerts (created_ns);
    CREATE INDEX judge_cache_by_time ON judge_cache (created_ns);
    CREATE INDEX rate_events_by_time ON rate_events (at_ns)
    """,
)
_ALERT_COLUMNS = ("created_ns", "created_at", "project_name", "run_id", "trace_id", "subcategory_id",
                  "subcategory_name", "severity", "channel", "outcome")


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """Read and write FA runs. Thread-safe; several processes may share the store.

    Args:
        path: the SQLite file, or a ``postgresql://`` URL.
        clock: now in ns since the epoch, for what the store stamps itself (judge-cache entries).
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], int] = time.time_ns) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db: Database = open_database(self.path)
        apply_migrations(self._db, "runs", _MIGRATIONS)
        self._fail_orphaned_runs()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.dialect

    def __repr__(self) -> str:
        return f"RunStore({describe_store(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _fail_orphaned_runs(self) -> None:
        with self._lock:
            # a pid tells whether its process lives only on the host that started it
            # jobs are left to their lease (valiqor_trace/analyzer/runs/_jobs.py): another replica resumes them
            rows = self._db.execute("SELECT run_id, owner_pid FROM runs WHERE status IN ('queued', 'running') "
                                    "AND job IS NULL AND (owner_host IS NULL OR owner_host = ?)", (_HOST,))
            orphans = [run_id for run_id, pid in rows.fetchall() if not _pid_alive(pid)]
            for run_id in orphans:
                self._db.execute("UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?",
                                   ("interrupted: the process running it stopped before it finished", run_id))

    # -- writing -----------------------------------------------------------------

    def start_run(self, *, run_id: str, project_name: str, input_type: str, feature_kind: str | None,
                  trace_id: str | None, source: str, created_at: str, created_ns: int, total_items: int,
                  options: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (run_id, project_name, status, input_type, feature_kind, trace_id, source, "
                "created_at, created_ns, owner_pid, owner_host, total_items, options) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, project_name, input_type, feature_kind, trace_id, source, created_at, created_ns,
                 os.getpid(), _HOST, total_items, json.dumps(options, default=str)))

    def finish_run(self, result: FAResult, created_ns: int, *, lease_owner: str | None = None) -> bool:
        """Store the run's outcome, inputs and tags together.

        ``lease_owner``: a job's, stored only while that owner still holds the job (another replica may have
        taken it over after the lease expired: its result is then the one kept). Returns whether it was stored.
        """
        payload = result.model_dump(mode="json", exclude={"failure_tags", "inputs"})
        held, held_params = _held_by(lease_owner)
        with self._lock, self._db.transaction():
            updated = self._db.execute(
                "UPDATE runs SET status = ?, feature_kind = ?, duration_ms = ?, tokens_used = ?, partial = ?, "
                "error = ?, summary = ?, result = ?, items_done = ?, job = NULL, lease_expires_ns = NULL "
                f"WHERE run_id = ?{held}",
                (result.status, result.feature_kind, result.duration_ms, result.tokens_used, int(result.partial),
                 result.error, result.summary.model_dump_json(), json.dumps(payload), len(result.inputs),
                 result.run_id, *held_params)).rowcount
            if lease_owner is not None and updated != 1:
                return False  # nothing written: the transaction commits no change
            self._db.executemany(
                "INSERT INTO run_inputs (run_id, item_index, payload) VALUES (?, ?, ?)",
                [(result.run_id, item.item_index, item.model_dump_json()) for item in result.inputs])
            self._db.executemany(
                "INSERT INTO tags (tag_id, run_id, item_index, bucket_id, subcategory_id, decision, severity, "
                "confidence, created_ns, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(tag.tag_id, result.run_id, tag.item_index, tag.bucket_id, tag.subcategory_id, tag.decision,
                  tag.severity, tag.confidence, created_ns, tag.model_dump_json()) for tag in result.failure_tags])
        return True

    def set_progress(self, run_id: str, items_done: int, *, lease_owner: str | None = None) -> None:
        """Record how many items an unfinished run has analyzed (callers throttle: one commit per call);
        a job's, only while ``lease_owner`` holds it."""
        held, held_params = _held_by(lease_owner)
        with self._lock:
            self._db.execute(f"UPDATE runs SET items_done = ? WHERE run_id = ? AND status IN ('queued', 'running')"
                             f"{held}", (items_done, run_id, *held_params))

    def fail_run(self, run_id: str, error: str, *, lease_owner: str | None = None) -> bool:
        """Mark the run failed (a job's: only while ``lease_owner`` holds it); return whether it was."""
        held, held_params = _held_by(lease_owner)
        with self._lock:
            return self._db.execute(
                f"UPDATE runs SET status = 'failed', error = ?, job = NULL, lease_expires_ns = NULL WHERE run_id = ?"
                f"{held}", (error, run_id, *held_params)).rowcount == 1

    def fail_runs_of_pid(self, pid: int, error: str) -> list[str]:
        """Mark failed every unfinished run recorded by process ``pid``; return their ids.

        For a server that restarted with the same pid (pid 1 in a container), whose
        old runs the dead-owner check at open takes for alive.
        """
        with self._lock, self._db.transaction():
            run_ids = [row[0] for row in self._db.execute(
                "SELECT run_id FROM runs WHERE status IN ('queued', 'running') AND owner_pid = ? AND job IS NULL "
                "AND (owner_host IS NULL OR owner_host = ?)", (pid, _HOST))]
            self._db.executemany("UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?",
                                   [(error, run_id) for run_id in run_ids])
        return run_ids

    # -- reading -----------------------------------------------------------------

    def get_result(self, run_id: str, *, include_passing: bool = True) -> FAResult | None:
        """The stored result; ``include_passing=False`` leaves the passing tags out of ``failure_tags``
        (most of a big run's tags, and all a report shows no row for; the summary still counts them)."""
        with self._lock:
            row = self._db.execute("SELECT result, status, error FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        if row[0] is None:  # still running, or failed before it had a result
            return None
        data = json.loads(row[0])
        data["failure_tags"] = self.get_tags(run_id) if include_passing else self.get_tags(run_id, passing=False)
        data["inputs"] = self.get_inputs(run_id)
        return FAResult.model_validate(data)

    def get_status_row(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT status, total_items, error, items_done, job, attempts FROM runs "
                                   "WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        # a run of the embedded client was started once; a job, as many times as a replica claimed it
        attempts = row[5] if row[4] is not None or row[5] else 1
        return {"status": row[0], "total_items": row[1], "error": row[2], "items_done": row[3], "attempts": attempts}

    def get_inputs(self, run_id: str) -> list[RunInput]:
        with self._lock:
            rows = self._db.execute("SELECT payload FROM run_inputs WHERE run_id = ? ORDER BY item_index",
                                      (run_id,)).fetchall()
        return [RunInput.model_validate_json(row[0]) for row in rows]

    def get_tags(self, run_id: str, *, decision: str | None = None, passing: bool = True) -> list[FailureTag]:
        """The run's tags: of one ``decision`` if given; without the passing ones if ``passing`` is False."""
        query = "SELECT payload FROM tags WHERE run_id = ?"
        params: list[Any] = [run_id]
        if decision is not None:
            query += " AND decision = ?"
            params.append(decision)
        if not passing:
            query += " AND decision != 'pass'"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY item_index, severity DESC, tag_id", params).fetchall()
        return [FailureTag.model_validate_json(row[0]) for row in rows]

    def has_run(self, run_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def list_runs(self, *, project_name: str | None = None, limit: int = 50, offset: int = 0,
                  status: str | None = None, source: str | None = None, trace_id: str | None = None,
                  since_ns: int | None = None) -> list[RunInfo]:
        """Runs, newest first; each filter given narrows them (none: every run of every project)."""
        where, params = _run_filters(project_name, status, source, trace_id, since_ns)
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, project_name, status, input_type, feature_kind, trace_id, created_at, duration_ms, "
                f"total_items, summary, source FROM runs {where} ORDER BY created_ns DESC, run_id LIMIT ? OFFSET ?",
                (*params, limit, offset)).fetchall()
        return [_run_info(row) for row in rows]

    def latest_runs_of_traces(self, trace_ids: Sequence[str]) -> dict[str, RunInfo]:
        """trace id -> its newest run, for the traces among ``trace_ids`` that have one."""
        if not trace_ids:
            return {}
        in_traces, trace_list = self._db.in_list("trace_id", trace_ids)
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, project_name, status, input_type, feature_kind, trace_id, created_at, duration_ms, "
                f"total_items, summary, source FROM runs r WHERE {in_traces} "
                "AND created_ns = (SELECT MAX(created_ns) FROM runs n WHERE n.trace_id = r.trace_id)",
                (trace_list,)).fetchall()
        return {row[5]: _run_info(row) for row in rows}

    def traces_with_failures(self) -> list[str]:
        """The traces whose newest finished run found at least one failure."""
        with self._lock:
            rows = self._db.execute(
                "SELECT trace_id FROM runs r WHERE trace_id IS NOT NULL AND summary IS NOT NULL "
                "AND created_ns = (SELECT MAX(created_ns) FROM runs n WHERE n.trace_id = r.trace_id "
                "AND n.summary IS NOT NULL) "
                f"AND {self._db.json_number('summary', 'total_failures_detected')} > 0").fetchall()
        return [row[0] for row in rows]

    def count_runs(self, *, project_name: str | None = None, status: str | None = None,
                   source: str | None = None, trace_id: str | None = None, since_ns: int | None = None) -> int:
        where, params = _run_filters(project_name, status, source, trace_id, since_ns)
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM runs {where}", params).fetchone()[0]

    def tags_since(self, since_ns: int, *, project_name: str | None = None) -> list[tuple[int, FailureTag]]:
        """(created_ns, tag) of every tag stored since ``since_ns``, for insights and trends."""
        query = ("SELECT t.created_ns, t.payload FROM tags t JOIN runs r ON r.run_id = t.run_id "
                 "WHERE t.created_ns >= ?")
        params: list[Any] = [since_ns]
        if project_name is not None:
            query += " AND r.project_name = ?"
            params.append(project_name)
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [(row[0], FailureTag.model_validate_json(row[1])) for row in rows]

    def runs_since(self, since_ns: int, *, project_name: str | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(created_ns, stored result payload) of finished runs since ``since_ns``."""
        query = "SELECT created_ns, result FROM runs WHERE created_ns >= ? AND result IS NOT NULL"
        params: list[Any] = [since_ns]
        if project_name is not None:
            query += " AND project_name = ?"
            params.append(project_name)
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [(row[0], json.loads(row[1])) for row in rows]

    # -- alerts of the production monitor --------------------------------------------------

    def record_alert(self, alert: AlertRecord) -> None:
        with self._lock:
            self._db.execute(f"INSERT INTO alerts ({', '.join(_ALERT_COLUMNS)}) VALUES "
                               f"({', '.join('?' * len(_ALERT_COLUMNS))})",
                               tuple(getattr(alert, column) for column in _ALERT_COLUMNS))

    def list_alerts(self, *, project_name: str | None = None, since_ns: int | None = None,
                    limit: int | None = 50) -> list[AlertRecord]:
        """Alert decisions, newest first; ``limit=None``: all of them."""
        where, params = _run_filters(project_name, None, None, None, since_ns)
        query = f"SELECT {', '.join(_ALERT_COLUMNS)} FROM alerts {where} ORDER BY created_ns DESC, " \
                f"{self._db.insertion_order} DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [AlertRecord(**dict(zip(_ALERT_COLUMNS, row))) for row in rows]

    # -- judge cache (valiqor_trace.analyzer.judge.JudgeCache) ------------------------------------

    def get_judge_verdicts(self, cache_key: str) -> str | None:
        """The cached verdicts (JSON) for a judge request hash, or None."""
        with self._lock:
            row = self._db.execute("SELECT verdicts FROM judge_cache WHERE cache_key = ?", (cache_key,)).fetchone()
        return None if row is None else row[0]

    def put_judge_verdicts(self, cache_key: str, *, model: str, prompt_version: str, verdicts: str,
                           tokens: int) -> None:
        """Cache a judge answer (verdicts and cost only) under its request hash."""
        with self._lock:
            self._db.execute(
                "INSERT INTO judge_cache (cache_key, model, prompt_version, verdicts, tokens, created_ns) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cache_key) DO UPDATE SET model = excluded.model, "
                "prompt_version = excluded.prompt_version, verdicts = excluded.verdicts, tokens = excluded.tokens, "
                "created_ns = excluded.created_ns", (cache_key, model, prompt_version, verdicts, tokens, self._clock()))

    # -- retention -----------------------------------------------------------------

    def prune(self, older_than_ns: int, *, batch: int = DEFAULT_BATCH, dry_run: bool = False,
              reclaim: bool = True, stop: Callable[[], bool] | None = None) -> Pruned:
        """Delete what was created before ``older_than_ns`` (ns since the epoch): finished runs with their
        inputs and tags (monitor verdicts among them), alerts, judge-cache entries, rate-limit events;
        ``batch`` rows or so per transaction. Queued and running runs stay.

        Args:
            dry_run: count what would go; delete nothing.
            reclaim: SQLite: give the freed space back to the file system afterwards.
            stop: checked between batches; True ends the prune early.

        Returns:
            Rows deleted per table: ``runs``, ``run_inputs``, ``tags``, ``alerts``, ``judge_cache``,
            ``rate_events``.
        """
        pruned = prune_runs(self._db, self._lock, older_than_ns, batch=batch, dry_run=dry_run, stop=stop)
        if reclaim and pruned.total and not dry_run:
            reclaim_space(self._db, self._lock, stop=stop)
        return pruned

    def vacuum(self) -> None:
        """Rewrite a SQLite file to its smallest size (see ``SpanStore.vacuum``); PostgreSQL: ``VACUUM``."""
        vacuum_database(self._db, self._lock, ("runs", "run_inputs", "tags", "alerts", "judge_cache",
                                               "rate_events"))

    # -- rate limits ---------------------------------------------------------------

    def take_rate_slot(self, name: str, now_ns: int, limits: Sequence[tuple[int, int]]) -> int | None:
        """Record one use of ``name`` unless a ``(max_count, window_ns)`` limit is full.

        Returns:
            None when the use was recorded, else how many ns until a slot frees up.
        """
        longest = max(window for _, window in limits)
        with self._lock, self._db.transaction():
            self._db.lock(f"rate:{name}")  # PostgreSQL: servers sharing the database count each use once
            self._db.execute("DELETE FROM rate_events WHERE name = ? AND at_ns < ?", (name, now_ns - longest))
            times = [row[0] for row in self._db.execute(
                "SELECT at_ns FROM rate_events WHERE name = ? ORDER BY at_ns", (name,)).fetchall()]
            for max_count, window in limits:
                recent = [t for t in times if t > now_ns - window]
                if len(recent) >= max_count:
                    return recent[len(recent) - max_count] + window - now_ns
            self._db.execute("INSERT INTO rate_events (name, at_ns) VALUES (?, ?)", (name, now_ns))
        return None


def _held_by(lease_owner: str | None) -> tuple[str, tuple[Any, ...]]:
    """The condition that a job is still held by ``lease_owner`` (none for runs that are not jobs)."""
    if lease_owner is None:
        return "", ()
    return " AND lease_owner = ? AND status = 'running'", (lease_owner,)


def _run_filters(project_name: str | None, status: str | None, source: str | None, trace_id: str | None,
                 since_ns: int | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("project_name", project_name), ("status", status), ("source", source),
                          ("trace_id", trace_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since_ns is not None:
        clauses.append("created_ns >= ?")
        params.append(since_ns)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _run_info(row: Sequence[Any]) -> RunInfo:
    summary = RunSummary.model_validate_json(row[9]) if row[9] else None
    return RunInfo(
        run_id=row[0], project_name=row[1], status=row[2], input_type=row[3], feature_kind=row[4],
        trace_id=row[5], created_at=row[6], duration_ms=row[7], total_items=row[8],
        items_with_failures=summary.items_with_failures if summary else None,
        total_failures_detected=summary.total_failures_detected if summary else None,
        overall_severity=summary.overall_severity if summary else None,
        primary_failure=summary.primary_failure if summary else None,
        should_gate_ci=summary.should_gate_ci if summary else None, source=row[10],
    )


def skipped(items: Iterable[SkippedDetector]) -> list[SkippedDetector]:
    """De-duplicate skipped detectors across items, keeping the first reason."""
    seen: dict[str, SkippedDetector] = {}
    for item in items:
        seen.setdefault(item.detector, item)
    return list(seen.values())
