"""PostgreSQL for the tests of the PostgreSQL backend: a fresh schema per test, on the server the machines
run (127.0.0.1:5432, database ``test``; ``VALIQOR_TEST_POSTGRES_URL`` names another).

Where none is reachable (a contributor's laptop) those tests skip, saying so; ``.ci/run`` runs with
``VALIQOR_CI_NO_SKIPS=1``, under which such a skip fails the run (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

URL = os.environ.get("VALIQOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@functools.lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        psycopg.connect(URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {URL}: {str(exc).strip()}"
    return None


def require() -> None:
    reason = unavailable()
    if reason:
        pytest.skip(reason)


def admin() -> Any:
    """An autocommit connection to the test database itself (its public schema)."""
    import psycopg

    return psycopg.connect(URL, autocommit=True)


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema (dropped afterwards): a database of its own."""
    require()
    schema = f"vq_{uuid.uuid4().hex[:12]}"
    with admin() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in URL else "?"
    try:
        yield f"{URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin() as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def copy_stores(home: str | os.PathLike[str], url: str) -> None:
    """Copy the SQLite stores in ``home`` (traces.db, runs.db) into the PostgreSQL database at ``url``, row
    for row, after the stores' own migrations made its schema (so a test sees the same data on both engines)."""
    import sqlite3

    from valiqor_trace.analyzer.runs import RunStore
    from valiqor_trace.store import SpanStore

    SpanStore(url).close()
    RunStore(url).close()
    with admin() as target:
        target.execute(f"SET search_path TO {_schema_of(url)}")
        for file in ("traces.db", "runs.db"):
            source = sqlite3.connect(os.path.join(home, file))
            tables = [row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                cursor = source.execute(f"SELECT * FROM {table}")
                columns = ", ".join(column[0] for column in cursor.description)
                rows = cursor.fetchall()
                if rows:
                    with target.cursor() as out:
                        out.executemany(f"INSERT INTO {table} ({columns}) VALUES "
                                        f"({', '.join(['%s'] * len(cursor.description))})", rows)
            source.close()


def _schema_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    options = parse_qs(urlsplit(url).query)["options"][0]
    return options.split("search_path=", 1)[1]
