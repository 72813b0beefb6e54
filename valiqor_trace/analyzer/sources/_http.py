"""Trace backends that serve a trace by id over HTTP: Jaeger's query API and Grafana Tempo.

Both take a configurable ``base_url``, optional ``headers`` (auth for hosted
backends) and an injectable ``transport`` (``httpx.MockTransport`` in tests).
A 404 means "this backend does not have the trace" (``[]``); 401/403 raise
:class:`AuthenticationError`, 429 :class:`RateLimitError`, anything else that
fails :class:`SourceError` naming the URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from valiqor_trace.errors import AuthenticationError, RateLimitError, SourceError
from valiqor_trace.analyzer.sources._decode import FieldError, hex_id, span_kind, status_code, unix_nanos
from valiqor_trace.analyzer.sources._otlp import RecordError, parse_otlp
from valiqor_trace.internal import normalize_trace_id, split_credentials, without_password
from valiqor_trace.store import SpanEvent, SpanRecord, attach_logs


class _HttpSource:
    description: str

    def __init__(self, base_url: str, *, headers: Mapping[str, str] | None = None, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {without_password(base_url or '')!r}")
        self.base_url = base_url.rstrip("/")
        self.shown_url = without_password(self.base_url)  # what messages name: never a user:password@
        root, auth = split_credentials(self.base_url)  # sent as basic auth, not in the (logged) URL
        self._client = httpx.Client(base_url=root, headers=dict(headers or {}), timeout=timeout_s,
                                    transport=transport, auth=auth)

    def _get_json(self, path: str) -> Any | None:
        url = f"{self.shown_url}{path}"
        try:
            response = self._client.get(path, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SourceError(f"{self.description}: request to {url} failed ({exc}); is the backend running "
                              "and the base URL right?") from exc
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise AuthenticationError(f"{self.description}: {url} answered {response.status_code}; "
                                      "pass credentials with headers={'Authorization': ...}")
        if response.status_code == 429:
            retry = response.headers.get("Retry-After")
            raise RateLimitError(f"{self.description}: {url} answered 429 (too many requests); retry later",
                                 retry_after_s=float(retry) if retry and retry.isdigit() else None)
        if response.status_code >= 400:
            raise SourceError(f"{self.description}: {url} answered {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(f"{self.description}: {url} did not answer JSON ({exc})") from exc

    def close(self) -> None:
        self._client.close()


class JaegerSource(_HttpSource):
    """Jaeger's query service: ``GET {base_url}/api/traces/{id}`` (``api="v1"``, the UI's JSON)
    or ``GET {base_url}/api/v3/traces/{id}`` (``api="v3"``, OTLP JSON)."""

    def __init__(self, base_url: str = "http://localhost:16686", *, api: str = "v1", **kwargs: Any) -> None:
        if api not in ("v1", "v3"):
            raise ValueError(f"api must be 'v1' or 'v3', got {api!r}")
        super().__init__(base_url, **kwargs)
        self.api = api
        self.description = f"Jaeger at {self.shown_url}"

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        tid = normalize_trace_id(trace_id)
        if self.api == "v3":
            body = self._get_json(f"/api/v3/traces/{tid}")
            return _otlp_spans(self.description, (body or {}).get("result", body) if body else None)
        body = self._get_json(f"/api/traces/{tid}")
        if not body:
            return []
        try:
            return [span for trace in body.get("data") or [] for span in _jaeger_trace(trace)]
        except (FieldError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError(f"{self.description}: unreadable trace {tid}: {exc}") from exc


class TempoSource(_HttpSource):
    """Grafana Tempo: ``GET {base_url}/api/traces/{id}`` (OTLP JSON; ``batches`` or ``resourceSpans``)."""

    def __init__(self, base_url: str = "http://localhost:3200", **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.description = f"Tempo at {self.shown_url}"

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        body = self._get_json(f"/api/traces/{normalize_trace_id(trace_id)}")
        if isinstance(body, Mapping) and "trace" in body:  # /api/v2 shape
            body = body["trace"]
        return _otlp_spans(self.description, body)


def _otlp_spans(description: str, body: Any) -> list[SpanRecord]:
    if not body:
        return []
    try:
        batch = parse_otlp(body)
    except RecordError as exc:
        raise SourceError(f"{description}: unreadable OTLP JSON: {exc}") from exc
    return attach_logs(batch.spans, batch.logs)


def _jaeger_trace(trace: Mapping[str, Any]) -> list[SpanRecord]:
    processes = trace.get("processes") or {}
    return [_jaeger_span(span, processes) for span in trace.get("spans") or []]


def _jaeger_span(span: Mapping[str, Any], processes: Mapping[Any, Any]) -> SpanRecord:
    tags = _tags(span.get("tags"))
    parent = next((ref.get("spanID") for ref in span.get("references") or []
                   if ref.get("refType") == "CHILD_OF"), None)
    start = unix_nanos(span.get("startTime"), "startTime", unit="us")
    process = processes.get(span.get("processID")) or {}
    events = [SpanEvent(name=str(fields.pop("event", "log")), attributes=fields,
                        time_unix_nano=unix_nanos(log.get("timestamp", 0), "logs.timestamp", unit="us"))
              for log in span.get("logs") or [] for fields in [_tags(log.get("fields"))]]
    scope_name = tags.pop("otel.scope.name", None) or tags.pop("otel.library.name", None)
    scope_version = tags.pop("otel.scope.version", None) or tags.pop("otel.library.version", None)
    status = tags.pop("otel.status_code", None)
    status_message = tags.pop("otel.status_description", None)
    if status is None and tags.get("error") in (True, "true"):
        status = "ERROR"
    return SpanRecord(
        trace_id=hex_id(span.get("traceID"), "traceID", 16), span_id=hex_id(span.get("spanID"), "spanID", 8),
        parent_span_id=hex_id(parent, "references.spanID", 8, required=False),
        name=str(span.get("operationName") or ""), kind=span_kind(tags.pop("span.kind", None)),
        start_time_unix_nano=start,
        end_time_unix_nano=start + unix_nanos(span.get("duration", 0), "duration", unit="us"),
        status_code=status_code(status), status_message=status_message, attributes=tags, events=events, resource={"service.name": process.get("serviceName"),
                                                  **_tags(process.get("tags"))},
        scope_name=scope_name, scope_version=scope_version,
    )


def _tags(items: Any) -> dict[str, Any]:
    return {str(tag.get("key")): tag.get("value") for tag in items or [] if isinstance(tag, Mapping)}
