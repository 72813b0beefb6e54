"""One seam for running SQL on ClickHouse, and its two engines: a server over HTTP, and chDB in this process.

:class:`SqlRows` runs one ``SELECT`` whose values are bound by ClickHouse itself (``{name:Type}``
placeholders, ``Identifier`` for table names), never formatted into the text, and returns its rows as
dicts. :class:`ClickHouseHttp` sends it with ``clickhouse-connect``; :class:`ChdbSession` runs it on chDB,
ClickHouse embedded as a library. The SQL is the same for both, so what the tests prove on chDB holds for a
server. Failures are :class:`SourceError` (or :class:`AuthenticationError`) naming where, never a password.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from valiqor_trace.errors import AuthenticationError, SourceError

EXTRA_HINT = "pip install 'valiqor-trace[clickhouse]'"
# ClickHouse error codes that mean "these credentials are refused": AUTHENTICATION_FAILED, UNKNOWN_USER,
# REQUIRED_PASSWORD, ACCESS_DENIED.
_AUTH_CODES = ("Code: 516.", "Code: 192.", "Code: 194.", "Code: 497.")


class SqlRows(Protocol):
    """Runs SQL with ``{name:Type}`` parameters; ``where`` names the database in messages (no password)."""

    where: str

    def rows(self, sql: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


def require_driver(module: str, what: str) -> None:
    """Raise one clear error, naming the extra, when ``module`` is not installed."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise SourceError(f"{what} needs the {module.replace('_', '-')} package: {EXTRA_HINT}") from None


class ClickHouseHttp:
    """A ClickHouse server over its HTTP interface, through ``clickhouse-connect`` (connected on first use).

    The password goes to the driver as its own argument (sent as HTTP basic auth), never in a URL, and is
    masked in every message this class raises.
    """

    def __init__(self, *, host: str, port: int, secure: bool, username: str, password: str,
                 timeout_s: float = 30.0) -> None:
        require_driver("clickhouse_connect", "reading traces from ClickHouse")
        self._options: dict[str, Any] = {"host": host, "port": port, "secure": secure, "username": username,
                         "connect_timeout": timeout_s, "send_receive_timeout": timeout_s,
                         # no server session: they serialize queries, and sources are read from several threads
                         "autogenerate_session_id": False}
        self._password = password
        shown = f"{username}:...@" if password else f"{username}@"
        self.where = f"{'https' if secure else 'http'}://{shown}{host}:{port}"
        self._client: Any = None
        self._lock = threading.Lock()

    def rows(self, sql: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        from clickhouse_connect.driver.exceptions import ClickHouseError

        try:
            return list(self._connected().query(sql, parameters=dict(parameters)).named_results())
        except (ClickHouseError, OSError) as exc:
            raise self._failure(exc) from None  # not chained: the driver's text is shown masked, once

    def _connected(self) -> Any:
        with self._lock:
            if self._client is None:
                import clickhouse_connect

                self._client = clickhouse_connect.get_client(password=self._password, **self._options)
            return self._client

    def _failure(self, exc: Exception) -> SourceError | AuthenticationError:
        text = str(exc)
        if self._password:
            text = text.replace(self._password, "...")
        if any(code in text for code in _AUTH_CODES):
            return AuthenticationError(f"ClickHouse at {self.where} refused the credentials: {text[:300]}")
        return SourceError(f"ClickHouse at {self.where}: {text[:500]}")

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __repr__(self) -> str:
        return f"ClickHouseHttp({self.where!r})"


class ChdbSession:
    """chDB: ClickHouse in this process, on the database directory ``path``.

    The directory must exist: reading never creates a database. It is opened for each query and closed
    after: chDB runs one embedded server per process, bound to one directory, and holding it open would
    stop any other chDB use in the process (about 40 ms of CPU per query: benchmarks/clickhouse_read.py).
    """

    def __init__(self, path: str) -> None:
        require_driver("chdb", "reading traces from chDB")
        self.path = os.path.abspath(path)
        self.where = f"chDB in {self.path}"

    def rows(self, sql: str, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        from chdb import session

        if not os.path.isdir(self.path):
            raise SourceError(f"no chDB database directory at {self.path}; check the chdb:// path")
        try:
            opened = session.Session(self.path)
        except RuntimeError as exc:
            raise SourceError(f"chDB could not open {self.path}: {exc}. chDB serves one directory per "
                              "process: close any other chDB session in this process first") from None
        try:
            data = opened.query(sql, "JSONEachRow", params=dict(parameters)).bytes()
        except RuntimeError as exc:  # chdb's ChdbError
            raise SourceError(f"{self.where}: {str(exc)[:500]}") from None
        finally:
            opened.close()
        return [json.loads(line) for line in data.decode("utf-8", "replace").splitlines() if line]

    def close(self) -> None:
        """Nothing stays open between queries."""

    def __repr__(self) -> str:
        return f"ChdbSession({self.path!r})"
