"""One connection to the database behind a store — a SQLite file (the default) or PostgreSQL — and the few
places where their SQL differs.

Why raw DB-API (``sqlite3``, psycopg 3) and not SQLAlchemy + Alembic: the stores are a dozen statements each,
written once in the SQL both engines share (``INSERT ... ON CONFLICT``, CTEs, ``LIMIT/OFFSET``); what differs
is a handful of expressions (JSON fields, lists as parameters, the larger of two values) and the fast bulk
path (PostgreSQL's ``COPY``), which are named here. The core's dependency list stays as it is (psycopg is the
``postgres`` extra), the embedded default imports nothing new, and there is one migration history per store:
the SQLite statements, with PostgreSQL's column types mapped from them (:func:`apply_migrations`).

Statements use ``?`` placeholders on both engines; a ``%`` in a statement is a literal percent sign.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

from valiqor_trace._parsers import without_password
from valiqor_trace.errors import StoreUnavailableError, ValidationError

Dialect = Literal["sqlite", "postgresql"]
# A migration is one script for both engines, or one per engine where they must differ (data fix-ups).
Migration = str | Mapping[str, str]

_BUSY_TIMEOUT_S = 30.0
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_CONNECT_TIMEOUT_S = 10


def is_database_url(target: object) -> bool:
    """True for a PostgreSQL URL (``postgresql://...``); anything else names a SQLite file."""
    return isinstance(target, str) and target.lower().startswith(_POSTGRES_SCHEMES)


def describe(target: str) -> str:
    """Where a store lives, for messages: a file's absolute path, or the URL without its password."""
    return without_password(target) if is_database_url(target) else os.path.abspath(target)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database:
    """A connection that runs the stores' SQL on SQLite or PostgreSQL.

    Not thread-safe by itself: each store guards its connection with a lock, as before. Autocommit unless
    inside :meth:`transaction`.
    """

    dialect: Dialect

    def __init__(self, target: str) -> None:
        self.target = target

    # what the stores call -------------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run ``sql`` for every row; return how many rows it changed in all."""
        raise NotImplementedError

    def transaction(self) -> contextlib.AbstractContextManager[Database]:
        """All-or-nothing writes; concurrent writers queue up instead of deadlocking."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def lock(self, *keys: str) -> None:
        """Inside a transaction: wait for, then hold until it ends, the named locks (sorted, so two writers
        never wait for each other). SQLite's write transaction already excludes every other writer."""

    # SQL that differs ---------------------------------------------------------------------------------------

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        """``(condition, parameter)``: ``column`` is one of ``values``, with the list as one parameter."""
        raise NotImplementedError

    def json_number(self, column: str, key: str) -> str:
        """The number at top-level ``key`` of the JSON text in ``column`` (NULL when absent)."""
        raise NotImplementedError

    def greatest(self, a: str, b: str) -> str:
        raise NotImplementedError

    @property
    def insertion_order(self) -> str:
        """A column that orders a table's rows as inserted (tables whose history migrations gave one)."""
        raise NotImplementedError


class SQLiteDatabase(Database):
    """A SQLite file in WAL mode, shared by threads (with the store's lock) and processes (busy timeout)."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: str) -> None:
        super().__init__(path)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.raw = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        # Before the first table, or never: a new file gives pages freed by a prune back to the file system
        # (PRAGMA incremental_vacuum). On an older file it takes effect at the next VACUUM, which converts it.
        self.raw.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _enable_wal(self.raw)
        self.raw.execute("PRAGMA synchronous=NORMAL")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        before = self.raw.total_changes
        self.raw.executemany(sql, rows)
        return self.raw.total_changes - before

    @contextlib.contextmanager
    def transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[Database]:
        # IMMEDIATE takes the write lock at once, so two writers never both read then both try to write
        self.raw.execute(begin)
        try:
            yield self
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def close(self) -> None:
        self.raw.close()

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        import json

        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(list(values))

    def json_number(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.\"{_json_key(key)}\"')"

    def greatest(self, a: str, b: str) -> str:
        return f"MAX({a}, {b})"

    @property
    def insertion_order(self) -> str:
        return "rowid"


class PostgresDatabase(Database):
    """One psycopg 3 connection; reconnects when the server dropped it (a restart, a failover)."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._psycopg = _import_psycopg()
        self.raw = self._connect()
        self._in_transaction = False

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(self.target, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S,
                                         application_name=f"valiqor-trace@{socket.gethostname()}")
        except self._psycopg.OperationalError as exc:
            raise StoreUnavailableError(
                f"cannot connect to PostgreSQL at {without_password(self.target)}: "
                f"{_one_line(without_password(str(exc)))} Check that the server runs and the URL (host, port, "
                "database, user) is right; the password is taken from the URL or PGPASSWORD") from None
        except self._psycopg.ProgrammingError as exc:  # a URL libpq cannot parse
            raise ValidationError(f"database URL {without_password(self.target)!r} is not valid: "
                                  f"{without_password(str(exc).strip())}") from None

    def reconnect_if_closed(self) -> None:
        """Open a new connection when the server dropped this one (never inside a transaction)."""
        if self.raw.closed and not self._in_transaction:
            self.raw = self._connect()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.reconnect_if_closed()
        try:
            return self.raw.execute(_pg_sql(sql), params)
        except self._psycopg.OperationalError:
            # The server dropped the connection (a restart, a failover, an idle timeout): outside a
            # transaction a statement runs once, on a new connection; inside one the caller's transaction
            # has failed as a whole and raises.
            if self._in_transaction or not self.raw.closed:
                raise
        self.raw = self._connect()
        return self.raw.execute(_pg_sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        self.reconnect_if_closed()
        rows = list(rows)
        if not rows:
            return 0
        with self.raw.cursor() as cursor:
            cursor.executemany(_pg_sql(sql), rows)
            return int(cursor.rowcount)  # psycopg sums the rows every execution changed

    def copy_rows(self, table: str, columns: str, rows: Iterable[Sequence[Any]]) -> None:
        """Bulk-load ``rows`` into ``table`` with ``COPY`` (the fast path: one round trip, no SQL per row)."""
        with self.raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        self.reconnect_if_closed()
        self._in_transaction = True
        try:
            with self.raw.transaction():
                yield self
        finally:
            self._in_transaction = False

    def close(self) -> None:
        self.raw.close()

    def lock(self, *keys: str) -> None:
        # transaction-level advisory locks, keyed per schema so stores in other schemas never wait for these
        for key in sorted(set(keys)):
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_number(self.schema, key),))

    @functools.cached_property
    def schema(self) -> str:
        return str(self.raw.execute("SELECT current_schema()").fetchone()[0])

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, Any]:
        return f"{column} = ANY(?)", list(values)

    def json_number(self, column: str, key: str) -> str:
        return f"(({column})::jsonb ->> '{_json_key(key)}')::double precision"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})"

    @property
    def insertion_order(self) -> str:
        return "seq"


def open_database(target: str | os.PathLike[str]) -> Database:
    """The database a store lives in: a PostgreSQL URL, or the path of a SQLite file (created if missing)."""
    target = os.fspath(target)
    return PostgresDatabase(target) if is_database_url(target) else SQLiteDatabase(target)


def apply_migrations(db: Database, component: str, migrations: Sequence[Migration]) -> None:
    """Run the migrations of ``component`` ("spans", "runs") not yet applied, one process at a time.

    SQLite counts them in ``PRAGMA user_version`` (one store per file, as every release did); PostgreSQL in
    the ``valiqor_schema`` table, one row per store, under an advisory lock (DDL is transactional there, so
    a migration that fails leaves the version where it was).
    """
    if isinstance(db, SQLiteDatabase):
        with db.transaction():
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(migrations[version:], start=version + 1):
                for statement in _statements(migration, "sqlite"):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
        return
    _require_schema(db)
    with db.transaction():
        db.lock(f"schema:{component}")
        db.execute("CREATE TABLE IF NOT EXISTS valiqor_schema (component TEXT PRIMARY KEY, version BIGINT NOT NULL)")
        row = db.execute("SELECT version FROM valiqor_schema WHERE component = ?", (component,)).fetchone()
        version = row[0] if row else 0
        for number, migration in enumerate(migrations[version:], start=version + 1):
            for statement in _statements(migration, "postgresql"):
                db.execute(statement)
        if len(migrations) > version:
            db.execute("INSERT INTO valiqor_schema (component, version) VALUES (?, ?) ON CONFLICT (component) "
                       "DO UPDATE SET version = excluded.version", (component, len(migrations)))


def _require_schema(db: Database) -> None:
    """A schema to create the tables in: a ``search_path`` naming only schemas that do not exist leaves none,
    and PostgreSQL's own error ("no schema has been selected to create in") says neither which nor the fix."""
    if db.execute("SELECT current_schema()").fetchone()[0] is not None:
        return
    search_path = db.execute("SHOW search_path").fetchone()[0]
    raise StoreUnavailableError(
        f"PostgreSQL at {without_password(db.target)}: no schema to keep the stores in: the search_path "
        f"({search_path}) names none that exists. Create it first (CREATE SCHEMA name;), or name an existing "
        "one in the URL's options=-csearch_path%3Dname")


def schema_version(db: Database, component: str) -> int:
    """How many of ``component``'s migrations the database has run."""
    if isinstance(db, SQLiteDatabase):
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    exists = db.execute("SELECT to_regclass('valiqor_schema') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    row = db.execute("SELECT version FROM valiqor_schema WHERE component = ?", (component,)).fetchone()
    return int(row[0]) if row else 0


def _statements(migration: Migration, dialect: Dialect) -> list[str]:
    script = migration if isinstance(migration, str) else migration[dialect]
    statements = [statement.strip() for statement in script.split(";") if statement.strip()]
    return statements if dialect == "sqlite" or not isinstance(migration, str) else \
        [_pg_ddl(statement) for statement in statements]


# SQLite's INTEGER is 64-bit, PostgreSQL's 32: nanosecond times need BIGINT. REAL is 32-bit there too.
_PG_TYPES = ((re.compile(r"\bINTEGER\b"), "BIGINT"), (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
             (re.compile(r"\)\s*WITHOUT ROWID\s*$"), ")"))


def _pg_ddl(statement: str) -> str:
    for pattern, replacement in _PG_TYPES:
        statement = pattern.sub(replacement, statement)
    return statement


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def _one_line(text: str) -> str:
    """libpq's messages span lines (one per address tried): one line, as the CLI prints errors."""
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!")) else text + "."


def _json_key(key: str) -> str:
    if "'" in key or '"' in key:
        raise ValueError(f"JSON key {key!r} holds a quote")
    return key


def _lock_number(schema: str, key: str) -> int:
    # a signed 64-bit advisory lock key; crc32 twice gives 64 bits with no extra dependency
    data = f"{schema}:{key}".encode()
    return ((zlib.crc32(data) << 32) | zlib.crc32(data[::-1])) - (1 << 63)


def _enable_wal(conn: sqlite3.Connection) -> None:
    # Two processes creating the same new file race to switch it to WAL, and SQLite answers the loser
    # "database is locked" at once, without its busy handler: retry within the busy timeout.
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ValidationError("a PostgreSQL store needs psycopg: pip install 'valiqor-trace[postgres]'") from None
    return psycopg
