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


def admin() -> "psycopg.Connection":  # noqa: F821 - imported when PostgreSQL is there
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
