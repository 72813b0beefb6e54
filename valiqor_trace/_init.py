"""``valiqor_trace.init()``: one line that turns tracing on, and the handle it returns.

This module is the composition root of ``init()``: it wires the core's pieces, the instrumentors'
registry and (for monitoring) the analyzer's FA glue together. Only it, the package's ``__init__``
and the CLI may reach every layer; the analyzer is imported lazily, on first use.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from valiqor_trace import _state
from valiqor_trace._content import set_content_policy
from valiqor_trace._exporters import Pipeline, build_pipelines, content_policy
from valiqor_trace._guard import handle_internal_errors, log_once, logger
from valiqor_trace._log_pipeline import LogPipeline, start_log_pipeline
from valiqor_trace._processors import ExportStats, StampingSpanProcessor, shutdown_processor
from valiqor_trace._settings import DEFAULT_PROJECT, Settings, resolve_settings
from valiqor_trace.instrumentors import Integrations, check_selection

if TYPE_CHECKING:
    from valiqor_trace.monitor import CompletedTrace, MonitorConfig, MonitorStats

_lock = threading.RLock()
_handle: ValiqorHandle | None = None


def _set_handle(handle: ValiqorHandle | None) -> None:
    """The active handle; the core's own spans (workflows, tools) go to its provider."""
    global _handle
    _handle = handle
    _state.set_tracer_provider(handle.tracer_provider if handle is not None and handle.active else None)


class ValiqorHandle:
    """What ``init()`` returns: the live configuration, counters, and shutdown.

    Attributes:
        settings: the resolved settings (and ``settings.sources``: where each came from).
        tracer_provider: the SDK provider spans go through (the app's own, if it had one).
        disabled: True when ``OTEL_SDK_DISABLED`` turned tracing off.
        instrumented: names of the integrations that are instrumented.
    """

    def __init__(self, settings: Settings, tracer_provider: TracerProvider | None, *, owns_provider: bool,
                 pipelines: list[Pipeline], processors: list[SpanProcessor], disabled: bool = False) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.owns_provider = owns_provider
        self.pipelines = pipelines
        self._processors = processors
        self.disabled = disabled
        self.integrations = Integrations(tracer_provider)
        self.active = not disabled
        self._store: Any = None
        self.monitor: Any = None  # the MonitorProcessor (``.stats``, ``.force_flush()``) when monitoring is on
        # storing span-bound log records (GenAI event mode), when needed (see valiqor_trace._log_pipeline)
        self.log_pipeline: LogPipeline | None = None

    @property
    def instrumented(self) -> list[str]:
        """Names of the integrations instrumented so far (a library is instrumented when it is imported)."""
        return sorted(self.integrations.active)

    @property
    def instrumentors(self) -> dict[str, Any]:
        return dict(self.integrations.active)

    @property
    def project_name(self) -> str:
        return self.settings.project_name or DEFAULT_PROJECT

    @property
    def stats(self) -> dict[str, ExportStats]:
        """Counters per export pipeline: exported, failed, dropped."""
        return {pipeline.name: pipeline.stats for pipeline in self.pipelines}

    @property
    def store_path(self) -> str:
        return self.settings.resolved_store_path

    @property
    def store(self) -> Any:
        """The embedded trace store (a :class:`~valiqor_trace.store.SpanStore`) for reading."""
        if self._store is None:
            from valiqor_trace.store import SpanStore

            self._store = SpanStore(self.store_path)
        return self._store

    def force_flush(self, timeout_ms: int = 10000) -> bool:
        """Export every finished span now; True when all pipelines finished in time."""
        ok = True
        for processor in self._processors:
            with handle_internal_errors("force_flush"):
                ok = bool(processor.force_flush(timeout_ms)) and ok
        if self.log_pipeline is not None:
            with handle_internal_errors("force_flush logs"):
                ok = self.log_pipeline.force_flush(timeout_ms) and ok
        return ok

    def shutdown(self, timeout_ms: int | None = None) -> None:
        """Flush and stop our pipelines and instrumentors. Idempotent; never raises.

        The app's own provider (if any) and its processors keep running.
        """
        with _lock:
            if not self.active:
                return
            self.active = False
            if _handle is self:
                _set_handle(None)
        timeout = timeout_ms if timeout_ms is not None else self.settings.export_timeout_ms
        self.integrations.disable()
        for processor in self._processors:
            with handle_internal_errors("shutdown"):
                shutdown_processor(processor, timeout)
        if self.log_pipeline is not None:
            with handle_internal_errors("shutdown logs"):
                self.log_pipeline.shutdown()
        if self._store is not None:
            with handle_internal_errors("close store"):
                self._store.close()
                self._store = None

    def __repr__(self) -> str:
        state = "disabled" if self.disabled else ("active" if self.active else "shut down")
        return f"<ValiqorHandle {state} project={self.project_name!r} exporters={[p.name for p in self.pipelines]}>"


def init(
    project_name: str | None = None,
    *,
    exporters: str | list[Any] | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    store_path: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    retention_days: float | None = None,
    sample_rate: float | None = None,
    capture_content: bool | None = None,
    max_content_length: int | None = None,
    redact: Callable[[str], str] | None = None,
    instrument: bool | str | list[str] | None = None,
    tracer_provider: TracerProvider | None = None,
    max_queue_size: int | None = None,
    schedule_delay_ms: int | None = None,
    export_timeout_ms: int | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    monitor: bool | MonitorConfig | Mapping[str, Any] | None = None,
) -> ValiqorHandle:
    """Turn tracing on for this process; see the README's configuration table for every setting.

    Idempotent: a second call returns the live handle (and warns if its settings differ).
    Never raises into the app for internal failures (they are logged once); invalid
    arguments raise ``ValueError``.

    Returns:
        The :class:`ValiqorHandle`, with ``shutdown()``, ``force_flush()`` and ``stats``.
    """
    arguments = {
        "project_name": project_name, "exporters": exporters, "endpoint": endpoint, "protocol": protocol,
        "headers": headers, "store_path": os.fspath(store_path) if store_path is not None else None,
        "home": os.fspath(home) if home is not None else None, "database_url": database_url,
        "retention_days": retention_days, "sample_rate": sample_rate,
        "capture_content": capture_content, "max_content_length": max_content_length, "redact": redact,
        "instrument": instrument, "max_queue_size": max_queue_size, "schedule_delay_ms": schedule_delay_ms,
        "export_timeout_ms": export_timeout_ms, "resource_attributes": resource_attributes, "monitor": monitor,
    }
    if tracer_provider is not None and not isinstance(tracer_provider, TracerProvider):
        raise ValueError("init(tracer_provider=...) must be an opentelemetry.sdk.trace.TracerProvider")
    settings = resolve_settings(arguments)
    check_selection(settings.instrument)
    with _lock:
        existing = _handle
        if existing is not None and existing.active:
            if existing.settings != settings:
                log_once("reinit", "valiqor_trace.init() was called again with different settings; keeping the "
                         "first configuration (call shutdown() first to change it)")
            return existing
        handle = _start(settings, tracer_provider)
        _set_handle(handle)
        return handle


def _sdk_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def _start(settings: Settings, explicit_provider: TracerProvider | None) -> ValiqorHandle:
    set_content_policy(content_policy(settings))
    if _sdk_disabled():
        logger.info("valiqor-trace: OTEL_SDK_DISABLED=true, tracing is off")
        return ValiqorHandle(settings, None, owns_provider=False, pipelines=[], processors=[], disabled=True)
    provider, owns = explicit_provider, False
    pipelines: list[Pipeline] = []
    processors: list[SpanProcessor] = []
    with handle_internal_errors("init"):
        if provider is None:
            provider, owns = _app_or_new_provider(settings)
        stamp = StampingSpanProcessor(settings.project_name or _service_name() or DEFAULT_PROJECT,
                                      capture_content=settings.capture_content)
        provider.add_span_processor(stamp)
        processors.append(stamp)
        pipelines = build_pipelines(settings)
        for pipeline in pipelines:
            provider.add_span_processor(pipeline.processor)
            processors.append(pipeline.processor)
    monitor = None
    if settings.monitor is not None and provider is not None:
        with handle_internal_errors("init monitor"):
            monitor = _start_monitor(settings.monitor, settings, provider)
            processors.insert(1, monitor)  # shut down before the exporters, so its last verdicts are exported
    handle = ValiqorHandle(settings, provider, owns_provider=owns, pipelines=pipelines, processors=processors)
    handle.monitor = monitor
    if provider is not None:
        with handle_internal_errors("init logs"):
            handle.log_pipeline = start_log_pipeline(settings, provider.resource)
    handle.integrations.enable(settings.instrument)
    atexit.register(handle.shutdown)
    return handle


def _start_monitor(config: MonitorConfig, settings: Settings, provider: TracerProvider) -> SpanProcessor:
    from valiqor_trace.monitor import build_monitor

    if config.webhook_url and config.analyze is None:
        # Imported on this (the init) thread, not by the worker: app threads may read a module from
        # sys.modules while another thread is still importing it (the openai SDK does so for httpx).
        import httpx  # noqa: F401
    analysis = _fa_analysis(config, provider, project_name=settings.project_name or _service_name() or DEFAULT_PROJECT,
                            run_store_path=config.run_store_path or settings.database_url
                            or os.path.join(settings.home, "runs.db"))
    monitor = build_monitor(config, default_analysis=analysis)
    provider.add_span_processor(monitor)
    return monitor


def _fa_analysis(config: MonitorConfig, provider: TracerProvider, *, project_name: str,
                 run_store_path: str) -> Callable[[MonitorStats], Callable[[CompletedTrace], Any]]:
    """The monitor's default analysis (FA, in :mod:`valiqor_trace.analyzer.monitor`), injected into the core's
    processor; the processor builds it on its worker thread at the first trace, so ``init()`` never imports
    the analyzer (slow to import)."""
    def build(stats: MonitorStats) -> Callable[[CompletedTrace], Any]:
        from valiqor_trace.analyzer.monitor import TraceAnalysis

        return TraceAnalysis.from_config(config, tracer_provider=provider, project_name=project_name,
                                         run_store_path=run_store_path, stats=stats)
    return build


def _service_name() -> str | None:
    return os.environ.get("OTEL_SERVICE_NAME") or None


def _app_or_new_provider(settings: Settings) -> tuple[TracerProvider, bool]:
    """The app's SDK provider if it set one (we add to it), else a new global one of ours."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        if settings.sample_rate is not None:
            log_once("foreign-sampler", "valiqor-trace: the app already configured a TracerProvider; its sampler "
                     "is kept and sample_rate=%s is ignored", settings.sample_rate)
        return current, False
    attributes: dict[str, Any] = dict(settings.resource_attributes or {})
    if not _service_name() and "service.name" not in attributes:
        attributes["service.name"] = settings.project_name or DEFAULT_PROJECT
    sampler: Sampler | None = (
        ParentBased(TraceIdRatioBased(settings.sample_rate)) if settings.sample_rate is not None else None)
    if settings.monitor is not None and settings.monitor.record_unsampled:
        from valiqor_trace.monitor import record_unsampled  # monitoring may analyze traces export sampling drops

        sampler = record_unsampled(sampler)
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:  # someone else won the race to set it
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            return current, False
    return provider, True


def shutdown(timeout_ms: int | None = None) -> None:
    """Shut down the active handle, if any (see :meth:`ValiqorHandle.shutdown`)."""
    handle = _handle
    if handle is not None:
        handle.shutdown(timeout_ms)


def force_flush(timeout_ms: int = 10000) -> bool:
    """Flush the active handle's pipelines; True if there is nothing left to export."""
    handle = _handle
    return handle.force_flush(timeout_ms) if handle is not None else True


def get_handle() -> ValiqorHandle | None:
    """The handle of the active ``init()``, or None."""
    return _handle
