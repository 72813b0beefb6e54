"""A trace source named by one string, as the command line names it: a file, ``jaeger://``, ``tempo://``,
``clickhouse://``, ``clickhouses://``, ``chdb://``."""

from __future__ import annotations

import os

from valiqor_trace.analyzer.sources._base import FileSource, TraceSource
from valiqor_trace.analyzer.sources._clickhouse import ClickHouseSource
from valiqor_trace.analyzer.sources._clickhouse_url import SCHEMES as CLICKHOUSE_SCHEMES
from valiqor_trace.analyzer.sources._http import JaegerSource, TempoSource
from valiqor_trace.errors import ValidationError
from valiqor_trace.internal import without_password

_BACKENDS = {"jaeger": JaegerSource, "tempo": TempoSource}


def trace_source(spec: str) -> TraceSource:
    """The source ``spec`` names.

    ``jaeger://HOST:PORT[/PATH]`` and ``tempo://HOST:PORT[/PATH]`` are the backends' query APIs over
    HTTP (``jaeger+https://``, ``tempo+https://`` over HTTPS); ``clickhouse://``, ``clickhouses://`` and
    ``chdb://`` the OTel Collector ClickHouse exporter's table (:class:`ClickHouseSource`); anything else is
    a trace file's path.

    Raises:
        ValidationError: a backend URL without a host, a malformed ClickHouse URL, or a file that does not exist.
        SourceError: a ClickHouse URL without the ``clickhouse`` extra installed.

    Example:
        client.traces.add_source(trace_source("jaeger://localhost:16686"))
    """
    scheme, sep, rest = spec.partition("://")
    if sep and scheme in CLICKHOUSE_SCHEMES:
        return ClickHouseSource(spec)
    backend, _, transport = scheme.partition("+")
    if sep and backend in _BACKENDS:
        if transport not in ("", "https") or not rest.strip("/"):
            raise ValidationError(f"trace source {without_password(spec)!r}: write {backend}://HOST:PORT or "
                                  f"{backend}+https://HOST:PORT")
        return _BACKENDS[backend](f"{transport or 'http'}://{rest}")
    if not os.path.isfile(spec):
        raise ValidationError(f"trace source {without_password(spec)!r} is neither a trace file nor "
                              "jaeger://HOST:PORT, tempo://HOST:PORT, clickhouse://HOST:PORT/DATABASE or chdb:///DIR")
    return FileSource(spec)
