"""Log records in the span store: the exporter, the join on read, old stores, and when ``init()`` wires them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from tests.helpers import run_python
from valiqor_trace.store import SpanStore, StoreLogRecordExporter, span_row
from valiqor_trace.store._span_store import _MIGRATIONS


def _emit_inside_and_outside_a_span(store: SpanStore) -> tuple[str, str]:
    """A real SDK logger writing through the exporter: one record inside a span, one outside any."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from valiqor_trace.store import StoreSpanExporter

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(StoreSpanExporter(store)))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(StoreLogRecordExporter(store)))
    logger = logger_provider.get_logger("genai-app")
    from opentelemetry._logs import LogRecord

    with tracer_provider.get_tracer("app").start_as_current_span("chat gpt-4o") as span:
        logger.emit(LogRecord(event_name="gen_ai.user.message", body={"content": "Where is Ada?"},
                              attributes={"gen_ai.system": "openai"}))
    logger.emit(LogRecord(body="an application log line, in no span"))
    context = span.get_span_context()
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_the_exporter_stores_the_records_that_name_a_span_and_reads_return_them_as_its_events(
        tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "traces.db")
    trace_id, span_id = _emit_inside_and_outside_a_span(store)
    assert store.count_logs() == 1  # the line outside any span says nothing about a trace
    [span] = store.get_trace(trace_id)
    [event] = span.events
    assert (event.name, event.attributes["body"]) == ("gen_ai.user.message", {"content": "Where is Ada?"})
    assert event.attributes["gen_ai.system"] == "openai"
    [log] = store.get_logs(trace_id)
    assert log.span_id == span_id and log.time_unix_nano >= span.start_time_unix_nano


def test_a_record_stored_twice_is_kept_once(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "traces.db")
    trace_id, _ = _emit_inside_and_outside_a_span(store)
    [log] = store.get_logs(trace_id)
    assert store.write_logs([log]) == 0  # an exporter's retry, an import repeated
    assert store.count_logs() == 1


def test_a_store_written_before_log_records_existed_is_read_and_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("old").start_as_current_span("old span"):
        pass
    [sdk_span] = memory.get_finished_spans()
    old = sqlite3.connect(path)  # the schema as the release before this one left it: migrations 1 and 2
    for script in _MIGRATIONS[:2]:
        old.executescript(script)
    old.execute("PRAGMA user_version = 2")
    old.execute(f"INSERT INTO spans VALUES ({', '.join('?' * 16)})", span_row(sdk_span))
    old.commit()
    old.close()

    store = SpanStore(path, create=False)
    [span] = store.get_trace(f"{sdk_span.context.trace_id:032x}")
    assert span.name == "old span" and span.events == []
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(_MIGRATIONS)  # all run
    assert store.count_logs() == 0


INIT_PROBE = """
    import json, sys
    from opentelemetry import _logs
    import valiqor_trace
    {setup}
    handle = valiqor_trace.init("probe", store_path="traces.db", instrument=False{extra})
    from opentelemetry import trace
    with trace.get_tracer("app").start_as_current_span("chat"):
        _logs.get_logger("genai").emit(_logs.LogRecord(event_name="gen_ai.user.message", body={{"content": "hi"}}))
    handle.shutdown()
    from valiqor_trace.store import SpanStore
    print(json.dumps({{"pipeline": handle.log_pipeline is not None,
                      "global": type(_logs.get_logger_provider()).__name__,
                      "stored_logs": SpanStore("traces.db").count_logs()}}))
"""


def _probe(tmp_path: Path, env: dict[str, str] | None = None, setup: str = "", extra: str = "") -> dict:
    out = run_python(INIT_PROBE.format(setup=setup, extra=extra), cwd=tmp_path, env=env)
    return json.loads(out.strip().splitlines()[-1])


def test_init_leaves_the_logs_api_alone_unless_an_instrumentation_is_in_event_mode(tmp_path: Path) -> None:
    # The global LoggerProvider can be set once: taking it when nothing sends events would refuse the app's own.
    assert _probe(tmp_path) == {"pipeline": False, "global": "ProxyLoggerProvider", "stored_logs": 0}


def test_init_in_event_mode_stores_the_events_of_its_spans(tmp_path: Path) -> None:
    for value in ("EVENT_ONLY", "span_and_event", "true"):
        folder = tmp_path / value
        folder.mkdir()
        result = _probe(folder, env={"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value})
        assert result == {"pipeline": True, "global": "LoggerProvider", "stored_logs": 1}, value


def test_init_adds_to_the_apps_own_logger_provider(tmp_path: Path) -> None:
    setup = "from opentelemetry.sdk._logs import LoggerProvider; app_provider = LoggerProvider(); " \
            "_logs.set_logger_provider(app_provider)"
    result = _probe(tmp_path, setup=setup)  # no event-mode variable: the app's provider is there anyway
    assert result == {"pipeline": True, "global": "LoggerProvider", "stored_logs": 1}


def test_without_content_capture_no_log_record_is_stored(tmp_path: Path) -> None:
    result = _probe(tmp_path, env={"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"},
                    extra=", capture_content=False")
    assert result == {"pipeline": False, "global": "ProxyLoggerProvider", "stored_logs": 0}
