"""Span processors and exporter wrappers that keep the host app safe.

- :class:`StampingSpanProcessor` stamps project and session on every span (on the hot path: cheap).
- :class:`CountingBatchSpanProcessor` is the SDK's BatchSpanProcessor, plus a count of what it drops.
- :class:`GuardedExporter` wraps any exporter: no exception escapes, failures are counted and
  logged once (or explained, for a refused OTLP export), export runs with instrumentation
  suppressed, and content is stripped when capture is off (:func:`without_content`), or, on spans other
  libraries wrote, redacted and capped (:func:`with_content_policy`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from valiqor_trace._content import ContentPolicy
from valiqor_trace._context import current_session
from valiqor_trace._guard import log_once
from valiqor_trace._state import TRACER_NAME
from valiqor_trace._suppress import suppress_instrumentation
from valiqor_trace.attributes import (
    CAPTURE_CONTENT,
    CONTENT_EVENT_KEYS,
    LITELLM_SCOPE,
    PROJECT_NAME,
    SESSION_ID,
    SESSION_METADATA_PREFIX,
    USER_ID,
    is_content_key,
    is_litellm_content_key,
)

if TYPE_CHECKING:
    from valiqor_trace._export_status import ExportStatusWatcher


@dataclass
class ExportStats:
    """Counters of one export pipeline; readable from ``handle.stats``."""

    exported: int = 0
    failed: int = 0
    dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + count)


class StampingSpanProcessor(SpanProcessor):
    """Stamps the project name, the active session and (when off) ``capture_content`` on every span at start."""

    def __init__(self, project_name: str | None, *, capture_content: bool = True) -> None:
        self._project_name = project_name
        self._capture_content = capture_content

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if self._project_name:
            span.set_attribute(PROJECT_NAME, self._project_name)
        if not self._capture_content:
            span.set_attribute(CAPTURE_CONTENT, False)
        session = current_session()
        if session is None:
            return
        if session.session_id is not None:
            span.set_attribute(SESSION_ID, session.session_id)
        if session.user_id is not None:
            span.set_attribute(USER_ID, session.user_id)
        for key, value in session.metadata_attributes:
            span.set_attribute(SESSION_METADATA_PREFIX + key, value)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """BatchSpanProcessor that counts the spans it drops when its queue is full.

    The SDK drops silently after one log line; we keep a number users can read
    (``handle.stats``) and log once per pipeline.
    """

    def __init__(self, exporter: SpanExporter, *, name: str, stats: ExportStats, max_queue_size: int,
                 schedule_delay_millis: float, export_timeout_millis: float) -> None:
        super().__init__(exporter, max_queue_size=max_queue_size, schedule_delay_millis=schedule_delay_millis,
                         max_export_batch_size=min(512, max_queue_size), export_timeout_millis=export_timeout_millis)
        self.name = name
        self.stats = stats
        self._max_queue_size = max_queue_size
        # SDK internals differ across versions; without a queue to look at we simply cannot count.
        self._queue = getattr(getattr(self, "_batch_processor", None), "_queue", None)

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and len(queue) >= self._max_queue_size:
            self.stats.add("dropped", 1)
            log_once(f"dropped:{self.name}", "valiqor-trace: the %s export queue is full (%d spans); "
                     "dropping spans (counted in handle.stats). Raise max_queue_size or check the exporter.",
                     self.name, self._max_queue_size)
        super().on_end(span)


class GuardedExporter(SpanExporter):
    """Wraps an exporter so that export never raises and never traces itself.

    ``watcher`` (OTLP/HTTP): reads the HTTP status of each export, so that a refused one is logged
    with its cause instead of the generic line.
    """

    def __init__(self, exporter: SpanExporter, *, name: str, stats: ExportStats, strip_content: bool,
                 watcher: ExportStatusWatcher | None = None, policy: ContentPolicy | None = None) -> None:
        self.exporter = exporter
        self.name = name
        self.stats = stats
        self.strip_content = strip_content
        self.watcher = watcher
        self.policy = policy

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.strip_content:
            spans = [without_content(span) for span in spans]
        elif self.policy is not None:
            policy = self.policy
            spans = [with_content_policy(span, policy) for span in spans]
        watching = self.watcher.watching() if self.watcher is not None else contextlib.nullcontext()
        try:
            with suppress_instrumentation(), watching:
                result = self.exporter.export(spans)
        except Exception as exc:
            result = SpanExportResult.FAILURE
            log_once(f"export-error:{self.name}", "valiqor-trace: the %s exporter raised %s: %s "
                     "(spans counted as failed; the app is unaffected)", self.name, type(exc).__name__, exc)
        if result is SpanExportResult.SUCCESS:
            self.stats.add("exported", len(spans))
        else:
            self.stats.add("failed", len(spans))
            if self.watcher is not None and self.watcher.explain_failure():
                return result
            log_once(f"export-failed:{self.name}", "valiqor-trace: the %s exporter failed to export %d spans "
                     "(further failures are counted in handle.stats, not logged)", self.name, len(spans))
        return result

    def shutdown(self) -> None:
        try:
            self.exporter.shutdown()
        except Exception as exc:
            log_once(f"shutdown-error:{self.name}", "valiqor-trace: the %s exporter failed to shut down: %s",
                     self.name, exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self.exporter.force_flush(timeout_millis)
        except Exception:
            return False


def content_key_test(span: ReadableSpan) -> Callable[[str], bool]:
    """Which of ``span``'s attribute keys carry content: the conventions' keys, and on a LiteLLM span its
    raw request and response fields too (``llm.{provider}.{field}``, named by the provider's API)."""
    scope = span.instrumentation_scope
    return is_litellm_content_key if scope is not None and scope.name == LITELLM_SCOPE else is_content_key


def without_content(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` with every content-carrying attribute and event attribute removed."""
    is_content = content_key_test(span)
    attributes = {k: v for k, v in (span.attributes or {}).items() if not is_content(k)}
    events = [
        Event(event.name, {k: v for k, v in (event.attributes or {}).items()
                           if k not in CONTENT_EVENT_KEYS and not is_content(k)}, event.timestamp)
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=attributes, events=events, links=span.links, kind=span.kind, status=span.status,
        start_time=span.start_time, end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )


def is_ours(span: ReadableSpan) -> bool:
    """True for a span one of our tracers wrote (its content went through the policy when it was recorded)."""
    scope = span.instrumentation_scope
    return scope is not None and (scope.name == TRACER_NAME or scope.name.startswith(TRACER_NAME + "."))


def with_content_policy(span: ReadableSpan, policy: ContentPolicy) -> ReadableSpan:
    """``span``, or for a span another library wrote (an official GenAI instrumentation, say) a copy whose
    content attributes are redacted and capped as ours are when recorded.

    Ours are left alone: their text was redacted and capped once already (a second pass would cut a capped
    text's marker, or hash a hashed one). A span with nothing to change is returned as it is.
    """
    if is_ours(span):
        return span
    attributes = _policed(span.attributes, policy, content_key_test(span))
    events = [(event, _policed(event.attributes, policy, _is_event_content_key)) for event in span.events]
    if attributes is None and all(changed is None for _, changed in events):
        return span
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=attributes if attributes is not None else span.attributes,
        events=[event if changed is None else Event(event.name, changed, event.timestamp)
                for event, changed in events],
        links=span.links, kind=span.kind, status=span.status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def policed(span: ReadableSpan, policy: ContentPolicy) -> ReadableSpan:
    """``span`` as ``policy`` lets it be kept: another library's span without content when capture is off,
    else redacted and capped (for readers that see spans before export, like the monitor)."""
    if policy.capture:
        return with_content_policy(span, policy)
    return span if is_ours(span) else without_content(span)


def _is_event_content_key(key: str) -> bool:
    return key in CONTENT_EVENT_KEYS or is_content_key(key)


def _policed(attributes: Any, policy: ContentPolicy, is_content: Callable[[str], bool]) -> dict[str, Any] | None:
    """The attributes with each content text finished by ``policy``, or None when none changes."""
    changed: dict[str, Any] | None = None
    for key, value in (attributes or {}).items():
        if not is_content(key):
            continue
        if isinstance(value, str):
            new: Any = policy.finish(value)
        elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            new = tuple(policy.finish(item) for item in value)
        else:
            continue
        if new != value and not (isinstance(value, list) and list(new) == value):
            if changed is None:
                changed = dict(attributes)
            changed[key] = new
    return changed


def shutdown_processor(processor: SpanProcessor, timeout_ms: int) -> None:
    """Shut ``processor`` down, waiting at most about ``timeout_ms`` for its queue to drain."""
    inner = getattr(processor, "_batch_processor", None)
    if inner is not None and hasattr(inner, "shutdown"):
        inner.shutdown(timeout_millis=timeout_ms)
    else:
        processor.shutdown()
