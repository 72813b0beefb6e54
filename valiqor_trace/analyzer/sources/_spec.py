"""A trace source named by one string, as the command line names it: a file, ``jaeger://``, ``tempo://``."""

from __future__ import annotations

import os

from valiqor_trace.analyzer.sources._base import FileSource, TraceSource
from valiqor_trace.analyzer.sources._http import JaegerSource, TempoSource
from valiqor_trace.errors import ValidationError

_BACKENDS = {"jaeger": JaegerSource, "tempo": TempoSource}


def trace_source(spec: str) -> TraceSource:
    """The source ``spec`` names.

    ``jaeger://HOST:PORT[/PATH]`` and ``tempo://HOST:PORT[/PATH]`` are the backends' query APIs over
    HTTP (``jaeger+https://``, ``tempo+https://`` over HTTPS); anything else is a trace file's path.

    Raises:
        ValidationError: a backend URL without a host, or a file that does not exist.

    Example:
        client.traces.add_source(trace_source("jaeger://localhost:16686"))
    """
    scheme, sep, rest = spec.partition("://")
    backend, _, transport = scheme.partition("+")
    if sep and backend in _BACKENDS:
        if transport not in ("", "https") or not rest.strip("/"):
            raise ValidationError(f"trace source {spec!r}: write {backend}://HOST:PORT or {backend}+https://HOST:PORT")
        return _BACKENDS[backend](f"{transport or 'http'}://{rest}")
    if not os.path.isfile(spec):
        raise ValidationError(f"trace source {spec!r} is neither a trace file nor jaeger://HOST:PORT or "
                              "tempo://HOST:PORT")
    return FileSource(spec)
