"""The log-record pipeline ``init()`` adds when messages may come as OpenTelemetry log events.

Instrumentations in the GenAI conventions' event mode (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
set to ``true``, ``event_only`` or ``span_and_event``, or ``OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT=true``)
send a model call's messages through the Logs API instead of span attributes. When spans go to the local
store and content is captured, the records that name a span go there too, so the trace reconstructs.

Only when needed, because a global LoggerProvider is the app's to set (the API lets it be set once): an SDK
LoggerProvider the app already has gets our processor added; a new global one is created only when event
mode is switched on. Like span export, this never raises into the app and never traces itself.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from valiqor_trace._guard import log_once
from valiqor_trace._settings import Settings
from valiqor_trace._suppress import suppress_instrumentation

_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_EMIT_EVENT_ENV = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"
_EVENT_MODES = ("true", "event_only", "span_and_event")


@dataclass
class LogPipeline:
    """Our processor on a LoggerProvider (the app's, or one we created and set as the global one)."""

    processor: Any
    logger_provider: Any
    owns_provider: bool

    def force_flush(self, timeout_ms: int) -> bool:
        return bool(self.processor.force_flush(timeout_ms))

    def shutdown(self) -> None:
        # Only our processor: the provider stays the global one (it cannot be replaced), now without our store.
        self.processor.shutdown()


def event_mode_on(environ: Mapping[str, str] | None = None) -> bool:
    """True when a GenAI instrumentation is told by the environment to send messages as log events."""
    env = os.environ if environ is None else environ
    if env.get(_EMIT_EVENT_ENV, "").strip().lower() == "true":
        return True
    return env.get(_CAPTURE_ENV, "").strip().lower() in _EVENT_MODES


def start_log_pipeline(settings: Settings, resource: Any) -> LogPipeline | None:
    """Store span-bound log records when spans go to the store and content is captured; None otherwise."""
    if not settings.capture_content or "store" not in settings.exporters or "none" in settings.exporters:
        return None
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    current: Any = _logs.get_logger_provider()
    owns = not isinstance(current, LoggerProvider)
    if owns and not event_mode_on():
        return None
    from valiqor_trace.store import StoreLogRecordExporter

    exporter: Any = _GuardedLogExporter(StoreLogRecordExporter(settings.resolved_store_path))
    processor = BatchLogRecordProcessor(exporter, schedule_delay_millis=settings.schedule_delay_ms,
                                        export_timeout_millis=settings.export_timeout_ms)
    provider = current
    if owns:
        provider = LoggerProvider(resource=resource)
        _logs.set_logger_provider(provider)
        if _logs.get_logger_provider() is not provider:  # someone else won the race to set it
            provider, owns = _logs.get_logger_provider(), False
            if not isinstance(provider, LoggerProvider):
                processor.shutdown()
                return None
        _set_event_logger_provider(provider)
    provider.add_log_record_processor(processor)
    return LogPipeline(processor, provider, owns)


def _set_event_logger_provider(provider: Any) -> None:
    # Instrumentations of OTel SDK < 1.39 emit through the Events API, whose global provider is separate.
    try:
        events_api = importlib.import_module("opentelemetry._events")
        events_sdk = importlib.import_module("opentelemetry.sdk._events")
    except ImportError:  # removed from the SDK: everything emits through the Logs API
        return
    if isinstance(events_api.get_event_logger_provider(), events_sdk.EventLoggerProvider):
        return
    events_api.set_event_logger_provider(events_sdk.EventLoggerProvider(provider))


class _GuardedLogExporter:
    """Export that never raises into the app and never traces its own I/O."""

    def __init__(self, exporter: Any) -> None:
        self.exporter = exporter

    def export(self, batch: Sequence[Any]) -> Any:
        try:
            with suppress_instrumentation():
                return self.exporter.export(batch)
        except Exception as exc:
            log_once("export-error:store-logs", "valiqor-trace: storing %d log record(s) raised %s: %s "
                     "(the app is unaffected)", len(batch), type(exc).__name__, exc)
            from valiqor_trace.store._log_exporter import _ExportResult

            return _ExportResult.FAILURE

    def shutdown(self) -> None:
        try:
            self.exporter.shutdown()
        except Exception as exc:
            log_once("shutdown-error:store-logs", "valiqor-trace: the log store failed to shut down: %s", exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
