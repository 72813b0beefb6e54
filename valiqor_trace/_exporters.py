"""Build the export pipelines ``init()`` asked for: store, OTLP, console, or the user's own."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from valiqor_trace._content import ContentPolicy
from valiqor_trace._export_status import (
    CREDENTIAL_PROVIDER_ENV,
    ExportStatusWatcher,
    headers_origin,
    install_sdk_log_filter,
)
from valiqor_trace._guard import log_once
from valiqor_trace._parsers import parse_url, without_password
from valiqor_trace._processors import CountingBatchSpanProcessor, ExportStats, GuardedExporter
from valiqor_trace._settings import OTLP_EXAMPLE, Settings

_TRACES_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"  # the traces URL, used as is
_OTLP_ENV = (_TRACES_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT")  # the latter a base: the exporter appends /v1/traces
_DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318/v1/traces", "grpc": "http://localhost:4317"}


@dataclass
class Pipeline:
    """One destination for spans: a name, its processor and its counters."""

    name: str
    processor: SpanProcessor
    stats: ExportStats
    exporter: SpanExporter | None = None


def wanted_exporters(settings: Settings, environ: Any = None) -> list[Any]:
    """The exporters to build: the configured list, plus OTLP when an endpoint is configured."""
    env = os.environ if environ is None else environ
    items = [item for item in settings.exporters if item != "none"]
    if "none" in settings.exporters:
        return [item for item in items if not isinstance(item, str)]
    env_endpoint = env_otlp_endpoint(settings.protocol, env) and settings.sources.get("exporters") == "default"
    if (settings.endpoint or env_endpoint) and "otlp" not in items:
        items.append("otlp")
    return items


def http_traces_url(endpoint: str) -> str:
    """A bare ``http(s)://host:port`` becomes ``.../v1/traces``; a URL with a path is kept."""
    parsed = urlparse(endpoint)
    if parsed.scheme in ("http", "https") and parsed.path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def env_otlp_endpoint(protocol: str, environ: Any = None) -> str | None:
    """The endpoint the OTEL_EXPORTER_OTLP_* variables give, as the SDK exporter would use it.

    A variable that is not a URL warns (naming it and the fix) and is skipped, as for every other
    environment setting; the exporter then gets the next one, or the default, not the bad value.
    """
    env = os.environ if environ is None else environ
    for var in _OTLP_ENV:
        raw = env.get(var)
        if not raw:
            continue
        try:
            url = parse_url(raw, example=OTLP_EXAMPLE)
        except ValueError as exc:
            log_once(f"env:{var}={raw}", "Ignoring %s=%r: %s; the OTLP exporter does not use it", var,
                     without_password(raw), exc)
            continue
        return url if var == _TRACES_ENV or protocol == "grpc" else url.rstrip("/") + "/v1/traces"
    return None


def build_otlp_exporter(settings: Settings,
                        environ: Any = None) -> tuple[SpanExporter, ExportStatusWatcher | None]:
    """The OTLP exporter for ``settings``; with OTLP/HTTP, also the watcher that explains refused exports."""
    env = os.environ if environ is None else environ
    timeout_s = settings.export_timeout_ms / 1000
    if settings.endpoint:
        endpoint = http_traces_url(settings.endpoint) if settings.protocol != "grpc" else settings.endpoint
    else:  # passed explicitly, so that a bad OTEL_* value (skipped above) never reaches the exporter
        endpoint = env_otlp_endpoint(settings.protocol, env) or _DEFAULT_ENDPOINTS[settings.protocol]
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        insecure = settings.endpoint.startswith("http://") if settings.endpoint else None
        return GrpcExporter(endpoint=endpoint, insecure=insecure, headers=settings.headers, timeout=timeout_s), None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    if any(env.get(var) for var in CREDENTIAL_PROVIDER_ENV):  # the SDK's own session: statuses go unexplained
        return HttpExporter(endpoint=endpoint, headers=settings.headers, timeout=timeout_s), None
    watcher = ExportStatusWatcher(endpoint, pipeline="otlp", headers_origin=headers_origin(
        settings.headers, settings.sources.get("headers"), env))
    install_sdk_log_filter()
    exporter = HttpExporter(endpoint=endpoint, headers=settings.headers, timeout=timeout_s, session=watcher.session())
    return exporter, watcher


def _build_exporter(item: Any, settings: Settings) -> tuple[str, SpanExporter, ExportStatusWatcher | None]:
    if item == "store":
        from valiqor_trace.store import StoreSpanExporter

        return "store", StoreSpanExporter(settings.resolved_store_path, retention_days=settings.retention_days), None
    if item == "otlp":
        return ("otlp", *build_otlp_exporter(settings))
    if item == "console":
        return "console", ConsoleSpanExporter(), None
    return f"custom:{type(item).__name__}", item, None


def content_policy(settings: Settings) -> ContentPolicy:
    """The policy ``settings`` ask for (the one ``init()`` makes active)."""
    return ContentPolicy(capture=settings.capture_content, max_length=settings.max_content_length,
                         redact=settings.redact)


def build_pipelines(settings: Settings) -> list[Pipeline]:
    """One batch pipeline per exporter; a user's SpanProcessor is used as it is."""
    pipelines: list[Pipeline] = []
    for item in wanted_exporters(settings):
        stats = ExportStats()
        if isinstance(item, SpanProcessor) or (not isinstance(item, str) and not hasattr(item, "export")):
            pipelines.append(Pipeline(f"processor:{type(item).__name__}", item, stats))
            continue
        name, exporter, watcher = _build_exporter(item, settings)
        guarded = GuardedExporter(exporter, name=name, stats=stats, strip_content=not settings.capture_content,
                                  watcher=watcher, policy=content_policy(settings))
        processor = CountingBatchSpanProcessor(
            guarded, name=name, stats=stats, max_queue_size=settings.max_queue_size,
            schedule_delay_millis=settings.schedule_delay_ms, export_timeout_millis=settings.export_timeout_ms)
        pipelines.append(Pipeline(name, processor, stats, exporter))
    return pipelines
