"""Synthetic traced traffic for the monitor tests, importable in this process and in a fresh one."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags

import valiqor_trace
from valiqor_trace.monitor import CompletedTrace, MonitorConfig


class Recorder:
    """An ``analyze`` collaborator that records which traces it was given (thread-safe)."""

    def __init__(self) -> None:
        self.traces: list[CompletedTrace] = []
        self._lock = threading.Lock()

    def __call__(self, trace_: CompletedTrace) -> None:
        with self._lock:
            self.traces.append(trace_)

    @property
    def ids(self) -> list[str]:
        with self._lock:
            return [t.trace_id for t in self.traces]


def handle_request(tracer: trace.Tracer, index: int, *, fail: bool) -> str:
    """One request: a workflow root, an LLM-ish child, and (when ``fail``) a tool span with an error status.

    The app catches the tool's exception and still answers: the request succeeds, the trace has an error span.
    """
    with valiqor_trace.trace_workflow("handle_request") as root:
        root.set_input(f"question {index}")
        with tracer.start_as_current_span("chat gpt-4o-mini"):
            pass
        if fail:
            try:
                with tracer.start_as_current_span("execute_tool lookup") as tool:
                    tool.set_attribute("gen_ai.operation.name", "execute_tool")
                    raise TimeoutError("lookup timed out")
            except TimeoutError:
                pass
        root.set_output(f"answer {index}")
        return root.trace_id or ""


def run_requests(count: int, *, fail_every: int, tracer_provider: TracerProvider | None = None) -> dict[str, Any]:
    """``count`` requests on the active handle; every ``fail_every``-th has an error span."""
    tracer = trace.get_tracer("app", tracer_provider=tracer_provider)
    ids, errors = [], []
    for index in range(count):
        fail = fail_every > 0 and index % fail_every == 0
        trace_id = handle_request(tracer, index, fail=fail)
        ids.append(trace_id)
        if fail:
            errors.append(trace_id)
    return {"ids": ids, "errors": errors}


def continue_traces(trace_ids: Iterable[str], *, rate: float) -> list[str]:
    """Another service: continue each trace from a remote parent (as after a traceparent header); return analyzed."""
    recorder = Recorder()
    provider = TracerProvider()
    handle = valiqor_trace.init(tracer_provider=provider, exporters="none", instrument=False, monitor=MonitorConfig(
        sample_rate=rate, always_on_error=False, max_per_minute=None, grace_period_s=0.0, queue_size=10_000,
        analyze=recorder))
    tracer = provider.get_tracer("downstream")
    for trace_id in trace_ids:
        parent = SpanContext(int(trace_id, 16), 0x1234567890ABCDEF, is_remote=True,
                             trace_flags=TraceFlags(TraceFlags.SAMPLED))
        context = trace.set_span_in_context(NonRecordingSpan(parent))
        with tracer.start_as_current_span("downstream work", context=context) as span:
            span.set_status(Status(StatusCode.OK))
    handle.monitor.force_flush(30_000)
    handle.shutdown()
    return recorder.ids
