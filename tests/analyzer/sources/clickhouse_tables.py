"""The OTel Collector ClickHouse exporter's trace tables on chDB, filled row by row as the exporter fills them,
and ClickHouse's HTTP interface served on 127.0.0.1 by chDB for the clickhouse-connect path.

The schema is the exporter's (tests/fixtures/clickhouse/otel_traces.sql). Rows come from the OTLP request the
app's exporter sends to a collector (``encode_spans``), converted the way the exporter converts them: ids as
hex, ``SpanKind``/``StatusCode`` as pdata's ``String()`` (``Client``, ``Error``), every attribute value as
``pcommon.Value.AsString()`` (Go's number formatting, arrays and maps as compact JSON with HTML characters
escaped, bytes as base64).
"""

from __future__ import annotations

import base64
import decimal
import json
import math
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.helpers import REPO_ROOT

SCHEMA = REPO_ROOT / "tests" / "fixtures" / "clickhouse" / "otel_traces.sql"
_KINDS = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]  # ptrace.SpanKind.String()
_STATUSES = ["Unset", "Ok", "Error"]  # ptrace.StatusCode.String()


def exporter_sql(database: str, table: str) -> tuple[list[str], str]:
    """(the CREATE statements, the INSERT head) of the exporter, for ``database``.``table``."""
    text = "\n".join(line for line in SCHEMA.read_text(encoding="utf-8").splitlines() if not line.startswith("--"))
    statements = [part.strip().replace("{database}", database).replace("{table}", table)
                  for part in text.split("\n;\n")]
    return statements[:-1], statements[-1]


class ChdbTables:
    """A chDB database directory holding the exporter's tables (``lookup=False``: without the
    ``<table>_trace_id_ts`` table and its view, as a table created by hand may be)."""

    def __init__(self, path: Path, *, database: str = "otel", table: str = "otel_traces", lookup: bool = True) -> None:
        from chdb import session

        self.path, self.database, self.table = path, database, table
        path.mkdir(parents=True, exist_ok=True)
        creates, self._insert = exporter_sql(database, table)
        with session.Session(str(path)) as opened:
            opened.query(f"CREATE DATABASE IF NOT EXISTS {database}")
            for statement in creates if lookup else creates[:1]:
                opened.query(statement)

    @property
    def url(self) -> str:
        return f"chdb://{self.path}?database={self.database}&table={self.table}"

    def insert_spans(self, spans: list[Any]) -> None:
        """What the exporter writes for these finished SDK spans, in one insert (one batch)."""
        self.insert_rows(exporter_rows(encode_spans(spans)))

    def insert_rows(self, rows: list[dict[str, Any]]) -> None:
        from chdb import session

        with session.Session(str(self.path)) as opened:
            opened.query(f"{self._insert} FORMAT JSONEachRow\n" + "\n".join(json.dumps(row) for row in rows))

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        from chdb import session

        with session.Session(str(self.path)) as opened:
            data = opened.query(sql, "JSONEachRow", params=parameters or {}).bytes()
        return [json.loads(line) for line in data.decode().splitlines() if line]


def exporter_rows(request: Any) -> list[dict[str, Any]]:
    """The exporter's rows (column -> value, in its insert's columns) for an ExportTraceServiceRequest."""
    rows = []
    for resource_spans in request.resource_spans:
        resource = _as_strings(resource_spans.resource.attributes)
        service = next((kv.value.string_value for kv in resource_spans.resource.attributes
                        if kv.key == "service.name" and kv.value.HasField("string_value")), "")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                rows.append({
                    "Timestamp": _time(span.start_time_unix_nano), "TraceId": _hex(span.trace_id),
                    "SpanId": _hex(span.span_id), "ParentSpanId": _hex(span.parent_span_id),
                    "TraceState": span.trace_state, "SpanName": span.name, "SpanKind": _KINDS[span.kind],
                    "ServiceName": service, "ResourceAttributes": resource, "ScopeName": scope_spans.scope.name,
                    "ScopeVersion": scope_spans.scope.version, "SpanAttributes": _as_strings(span.attributes),
                    "Duration": span.end_time_unix_nano - span.start_time_unix_nano,
                    "StatusCode": _STATUSES[span.status.code], "StatusMessage": span.status.message,
                    "Events.Timestamp": [_time(event.time_unix_nano) for event in span.events],
                    "Events.Name": [event.name for event in span.events],
                    "Events.Attributes": [_as_strings(event.attributes) for event in span.events],
                    "Links.TraceId": [_hex(link.trace_id) for link in span.links],
                    "Links.SpanId": [_hex(link.span_id) for link in span.links],
                    "Links.TraceState": [link.trace_state for link in span.links],
                    "Links.Attributes": [_as_strings(link.attributes) for link in span.links],
                })
    return rows


def _time(nanos: int) -> str:
    return f"{nanos // 10**9}.{nanos % 10**9:09d}"  # DateTime64(9) from JSON: seconds since the epoch, exactly


def _hex(raw: bytes) -> str:
    return raw.hex() if raw.strip(b"\0") else ""  # TraceIDToHexOrEmptyString: an empty or zero id is ""


def _as_strings(attributes: Any) -> dict[str, str]:
    return {kv.key: _as_string(kv.value) for kv in attributes}


def _as_string(value: Any) -> str:
    """pcommon.Value.AsString()."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind in ("array_value", "kvlist_value"):
        return _go_json(_raw(value))
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    raw = _raw(value)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return _go_float(raw) if isinstance(raw, float) else str(raw)


def _raw(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_raw(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _raw(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind) if kind else None


def _go_float(number: float) -> str:
    """Go's float64 text in AsString and encoding/json: the shortest digits, exponent only below 1e-6 or
    from 1e21 (``1e-7``, ``1e+21``)."""
    if math.isnan(number) or math.isinf(number):
        return {math.inf: "+Inf", -math.inf: "-Inf"}.get(number, "NaN")
    if number == 0:
        return "0"
    if 1e-6 <= abs(number) < 1e21:
        text = format(decimal.Decimal(repr(number)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(number).partition("e")  # repr writes these with an exponent: 1e-07, 1e+21
    return f"{mantissa}e{int(exponent):+d}"


def _go_json(raw: Any) -> str:
    """encoding/json.Marshal: compact, map keys sorted, <, > and & escaped."""
    def encode(node: Any) -> str:
        if isinstance(node, dict):
            return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{encode(node[k])}" for k in sorted(node)) + "}"
        if isinstance(node, list):
            return "[" + ",".join(encode(item) for item in node) + "]"
        if isinstance(node, float):
            return _go_float(node)
        return json.dumps(node, ensure_ascii=False)
    return encode(raw).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class ClickHouseOverHttp:
    """ClickHouse's HTTP interface on 127.0.0.1, each query run by chDB on ``tables``' directory.

    The engine, the SQL and the client (clickhouse-connect) are real; this server only frames them: the query
    from the body (after the ``query`` URL parameter), ``param_*`` values bound by chDB, the result in the format
    the query names, an exception as ClickHouse's text with a non-200 status. It checks HTTP basic auth against
    ``username``/``password`` as a server would (516 AUTHENTICATION_FAILED) and records each request.
    """

    def __init__(self, tables: ChdbTables, *, username: str, password: str) -> None:
        self.tables, self.username, self.password = tables, username, password
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None
        self._session: Any = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def __enter__(self) -> ClickHouseOverHttp:
        from chdb import session

        self._session = session.Session(str(self.tables.path))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._session.close()

    def answer(self, path: str, headers: dict[str, str], body: str) -> tuple[int, bytes]:
        url = urllib.parse.urlsplit(path)
        options = dict(urllib.parse.parse_qsl(url.query))
        self.requests.append({"path": path, "headers": headers, "body": body})
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 403, (f"Code: 516. DB::Exception: {self.username}: Authentication failed: password is "
                         "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)").encode()
        sql = f"{options.get('query', '')}\n{body}".strip()
        parameters = {key.removeprefix("param_"): value for key, value in options.items() if key.startswith("param_")}
        try:
            return 200, self._session.query(sql, "TabSeparated", params=parameters).bytes()
        except RuntimeError as exc:  # chDB raises the server's exception text
            return 500, str(exc).encode()


def _handler(server: ClickHouseOverHttp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            status, payload = server.answer(self.path, dict(self.headers), body)
            self.send_response(status)
            self.send_header("X-ClickHouse-Timezone", "UTC")
            if status != 200:
                self.send_header("X-ClickHouse-Exception-Code", payload.decode().split(".")[0].removeprefix("Code: "))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    return Handler
