"""Where a ClickHouse trace table is, from one URL: ``clickhouse://``, ``clickhouses://`` (TLS) or ``chdb://``.

===============================================================  ================================================
``clickhouse://[USER[:PASSWORD]@]HOST[:PORT][/DATABASE][?table=T]``  a server's HTTP interface (port 8123)
``clickhouses://...``                                             the same over HTTPS (port 8443)
``chdb:///ABSOLUTE/DIR[?database=D&table=T]``, ``chdb://REL/DIR``  chDB, embedded, on a database directory
===============================================================  ================================================

The database defaults to ``default`` and the table to ``otel_traces``, the exporter's defaults. The user and
password are percent-decoded; the password is kept out of ``repr`` and every message. A URL without a password
takes it from ``$VALIQOR_CLICKHOUSE_PASSWORD``, so that none has to appear on a command line (which other users
of the machine can read in ``ps``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from valiqor_trace.errors import ValidationError
from valiqor_trace.internal import without_password

SCHEMES = ("clickhouse", "clickhouses", "chdb")
PASSWORD_ENV = "VALIQOR_CLICKHOUSE_PASSWORD"
DEFAULT_DATABASE = "default"
DEFAULT_TABLE = "otel_traces"
_PORTS = {"clickhouse": 8123, "clickhouses": 8443}
_NAME = re.compile(r"^[\w-]+$")  # bound as Identifier parameters, so only what a name needs: no dots
_FORMS = ("clickhouse://USER:PASSWORD@HOST:8123/DATABASE?table=otel_traces, clickhouses://... (TLS), "
          "or chdb:///PATH/TO/DIR?database=DATABASE&table=otel_traces")


@dataclass(frozen=True)
class ClickHouseLocation:
    """A parsed trace-table URL: ``engine`` is ``http``, ``https`` or ``chdb`` (with ``path``)."""

    engine: str
    database: str
    table: str
    host: str = ""
    port: int = 0
    username: str = "default"
    password: str = field(default="", repr=False)
    path: str = ""


def parse_clickhouse_url(url: str) -> ClickHouseLocation:
    """The location ``url`` names.

    Raises:
        ValidationError: not one of the forms above, naming what is wrong (the password masked).
    """
    shown = without_password(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValidationError(f"{shown!r} is not a ClickHouse URL; write {_FORMS}")
    if scheme == "chdb":
        return _chdb(shown, rest)
    parts = urlsplit(url)
    try:
        port = parts.port or _PORTS[scheme]
    except ValueError:
        raise ValidationError(f"{shown!r}: the port is not a number from 1 to 65535; write {_FORMS}") from None
    if not parts.hostname:
        raise ValidationError(f"{shown!r} names no host; write {_FORMS}")
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    if "/" in database:
        raise ValidationError(f"{shown!r}: the path is the database, one name ({database!r} is not); write {_FORMS}")
    options = _options(shown, parts.query, allowed=("table",))
    return ClickHouseLocation(
        engine="https" if scheme == "clickhouses" else "http", host=parts.hostname, port=port,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else os.environ.get(PASSWORD_ENV, ""),
        database=_name(shown, "database", database), table=_name(shown, "table", options.get("table", DEFAULT_TABLE)))


def _chdb(shown: str, rest: str) -> ClickHouseLocation:
    path, _, query = rest.partition("?")
    if not path:
        raise ValidationError(f"{shown!r} names no directory; write chdb:///PATH/TO/DIR (absolute) or "
                              "chdb://RELATIVE/DIR")
    options = _options(shown, query, allowed=("database", "table"))
    return ClickHouseLocation(engine="chdb", path=unquote(path),
                              database=_name(shown, "database", options.get("database", DEFAULT_DATABASE)),
                              table=_name(shown, "table", options.get("table", DEFAULT_TABLE)))


def _options(shown: str, query: str, *, allowed: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in allowed:
            raise ValidationError(f"{shown!r}: unknown option {key!r}; this URL takes "
                                  + " and ".join(f"?{name}=NAME" for name in allowed))
        if key in options:
            raise ValidationError(f"{shown!r}: option {key!r} is given twice")
        options[key] = value
    return options


def _name(shown: str, what: str, value: str) -> str:
    if not _NAME.match(value):
        raise ValidationError(f"{shown!r}: {what} {value!r} is not a ClickHouse table or database name "
                              "(letters, digits, _ and -)")
    return value
