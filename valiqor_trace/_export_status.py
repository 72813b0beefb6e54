"""Explain refused OTLP exports: one message naming the cause, not a bare SDK line per batch.

The OTLP/HTTP exporter reports a refused batch as a plain ``FAILURE`` and logs
``Failed to export spans batch code: 401, reason: Unauthorized`` for every batch.
We hand it a ``requests`` session (its public ``session=`` argument) whose response
hook records each answer's status. When a batch is refused for authentication
(401/403), we log once per status change which setting to check, naming where the
headers came from but never their values, and drop the SDK's own line for the
batches we explained (only those: the filter acts on our exporter's thread, during
our export, after a 401/403).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from valiqor_trace._guard import logger
from valiqor_trace._parsers import shown_header_name

AUTH_STATUSES = {401: "Unauthorized", 403: "Forbidden"}
# The loggers the HTTP exporter writes its per-batch failure line to (the client's own, across SDK versions).
_SDK_LOGGERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.exporter.otlp.common.http")
# With one of these set, the SDK builds its own session (a credential provider): we leave it alone.
CREDENTIAL_PROVIDER_ENV = ("OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER",
                           "OTEL_PYTHON_EXPORTER_OTLP_HTTP_TRACES_CREDENTIAL_PROVIDER")
_HEADER_ENV = ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
_SOURCE_LABELS = {"argument": "init(headers=...)", "env VALIQOR_OTLP_HEADERS": "VALIQOR_OTLP_HEADERS"}
_current = threading.local()  # .watcher: the watcher whose export runs on this thread


class ExportStatusWatcher:
    """Watches the HTTP answers of one OTLP exporter and explains authentication refusals.

    Args:
        url: the endpoint, shown without credentials or query.
        pipeline: the pipeline's name in ``handle.stats``.
        headers_origin: which header names were sent and where they came from (see :func:`headers_origin`).
    """

    def __init__(self, url: str, *, pipeline: str, headers_origin: str) -> None:
        self.url = public_url(url)
        self.pipeline = pipeline
        self.headers_origin = headers_origin
        self._last = threading.local()  # .status: the last answer seen on this thread
        self._reported: int | None = None
        self._lock = threading.Lock()

    def session(self) -> Any:
        """A ``requests.Session`` for the exporter, reporting each answer's status to this watcher."""
        import requests  # a dependency of the OTLP/HTTP exporter

        session = requests.Session()
        session.hooks["response"].append(self._on_response)
        return session

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._last.status = response.status_code

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Around one export: the statuses seen, and the SDK lines logged, belong to it."""
        self._last.status = None
        _current.watcher = self
        try:
            yield
        finally:
            _current.watcher = None

    @property
    def refused(self) -> bool:
        """The last answer on this thread refused our credentials."""
        return getattr(self._last, "status", None) in AUTH_STATUSES

    def explain_failure(self) -> bool:
        """After a failed export: log its cause (once per status); True when the failure is explained."""
        status = getattr(self._last, "status", None)
        if status not in AUTH_STATUSES:
            return False
        with self._lock:
            if status == self._reported:
                return True
            self._reported = status
        logger.warning(
            "valiqor-trace: OTLP export to %s: %d %s — check the API key / headers setting (%s); set it with "
            "init(headers=...), VALIQOR_OTLP_HEADERS or OTEL_EXPORTER_OTLP_HEADERS. Refused spans are counted in "
            "handle.stats[%r].failed; this is logged again only if the status changes.",
            self.url, status, AUTH_STATUSES[status], self.headers_origin, self.pipeline)
        return True


class _DropExplainedSDKLines(logging.Filter):
    """Drops the SDK's per-batch line for a batch our watcher explains (and nothing else)."""

    def filter(self, record: logging.LogRecord) -> bool:
        watcher = getattr(_current, "watcher", None)
        return not (watcher is not None and watcher.refused)


_FILTER = _DropExplainedSDKLines()


def install_sdk_log_filter() -> None:
    for name in _SDK_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)  # idempotent: the same filter object is added once


def headers_origin(headers: Mapping[str, str] | None, source: str | None, environ: Mapping[str, str]) -> str:
    """Which header names the exporter sends and where each set came from; never a value."""
    parts = []
    if headers:
        names = ", ".join(sorted(name.lower() for name in headers))
        parts.append(f"{names}, from {_SOURCE_LABELS.get(source or '', source or 'settings')}")
    for var in _HEADER_ENV:  # the exporter reads the first one set, and merges it under ours
        if environ.get(var):
            names = ", ".join(sorted({shown_header_name(pair.split("=", 1)[0].strip().lower())
                                      for pair in environ[var].split(",") if "=" in pair}))
            parts.append(f"{names or 'no valid entries'}, from {var}")
            break
    return "sent: " + "; ".join(parts) if parts else "no headers were sent"


def public_url(url: str) -> str:
    """``url`` without user:password, query or fragment (they may carry credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "the configured endpoint"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
