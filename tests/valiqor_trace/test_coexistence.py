"""An app's own TracerProvider keeps working after init(); OTEL_SDK_DISABLED turns everything off."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_python


def test_user_provider_keeps_receiving_every_span(tmp_path: Path) -> None:
    out = run_python("""
    import json
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import valiqor_trace

    mine = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    trace.set_tracer_provider(provider)
    app_tracer = trace.get_tracer("my.app")
    with app_tracer.start_as_current_span("before-init"):
        pass

    handle = valiqor_trace.init()
    with app_tracer.start_as_current_span("http request") as request:
        with valiqor_trace.trace_workflow("inside"):
            pass
    handle.shutdown()
    print(json.dumps({
        "mine": [s.name for s in mine.get_finished_spans()],
        "same_provider": handle.tracer_provider is provider,
        "stored": [s.name for s in handle.store.get_trace(format(request.get_span_context().trace_id, "032x"))],
    }))
    """, cwd=tmp_path)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["mine"] == ["before-init", "inside", "http request"]
    assert result["same_provider"] is True
    assert result["stored"] == ["http request", "inside"]  # our store gets the app's span and ours, one trace


def test_otel_sdk_disabled_means_no_spans_no_errors(tmp_path: Path) -> None:
    out = run_python("""
    import valiqor_trace
    handle = valiqor_trace.init()

    @valiqor_trace.trace_function
    def f(x):
        return x + 1

    with valiqor_trace.trace_workflow("w") as wf:
        value = f(1)
    handle.force_flush()
    handle.shutdown()
    print(handle.disabled, value, wf.trace_id, valiqor_trace.current_trace_id())
    """, cwd=tmp_path, env={"OTEL_SDK_DISABLED": "true"})
    assert out.strip().splitlines()[-1] == "True 2 None None"
    assert not (tmp_path / ".valiqor").exists()
    assert "Traceback" not in out
