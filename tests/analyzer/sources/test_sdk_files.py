"""Files the OTel SDK writes: ``ConsoleSpanExporter`` / ``ConsoleLogExporter`` output and ``to_json()`` lines.

Produced live by the SDK into a file, then read and imported: the spans come back as the SDK had them
(its printout keeps microseconds), the log records join their spans, and a bad file names its line.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs import export as log_export
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from valiqor_trace.analyzer.sources import import_file, read_trace_file
from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.errors import ImportFormatError
from valiqor_trace.store import SpanRecord, SpanStore, span_record

QUESTION, ANSWER = "Where is Ada?", "Ada is in London."
# ConsoleLogRecordExporter since SDK 1.39, ConsoleLogExporter before
ConsoleLogExporter = getattr(log_export, "ConsoleLogRecordExporter", None) or log_export.ConsoleLogExporter


def _run_app(span_processor: Any, log_processor: Any) -> list[Any]:
    """A small traced app: an agent span, a model call whose messages go out as log events, a failing tool."""
    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer_provider.add_span_processor(span_processor)
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(log_processor)
    tracer, logger = tracer_provider.get_tracer("app"), logger_provider.get_logger("genai")
    with tracer.start_as_current_span("invoke_agent helper", attributes={"gen_ai.operation.name": "invoke_agent"}):
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.finish_reasons": ("stop",), "gen_ai.usage.input_tokens": 12}) as chat:
            logger.emit(LogRecord(event_name="gen_ai.user.message", body={"content": QUESTION}))
            logger.emit(LogRecord(event_name="gen_ai.choice", body={
                "index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}))
            chat.add_event("gen_ai.content.note", {"n": 1})
        with tracer.start_as_current_span("execute_tool locate", links=[Link(chat.get_span_context())],
                                          attributes={"gen_ai.operation.name": "execute_tool",
                                                      "gen_ai.tool.name": "locate"}) as tool:
            tool.set_status(Status(StatusCode.ERROR, "locator down"))
    return list(memory.get_finished_spans())


def _without_times(span: SpanRecord) -> tuple[dict[str, Any], list[int]]:
    """The span as the printout keeps it (no instrumentation scope), and its times apart."""
    dump = span.model_dump()
    times = [dump.pop("start_time_unix_nano"), dump.pop("end_time_unix_nano")]
    times += [event.pop("time_unix_nano") for event in dump["events"]]
    dump["scope_name"] = dump["scope_version"] = None
    return dump, times


def _console_file(path: Path) -> list[Any]:
    with open(path, "w", encoding="utf-8") as out:  # spans and log records print into the same stream
        return _run_app(SimpleSpanProcessor(ConsoleSpanExporter(out=out)),
                        SimpleLogRecordProcessor(ConsoleLogExporter(out=out)))


def _assert_read_back(path: Path, sdk_spans: list[Any]) -> None:
    trace_file = read_trace_file(path)
    assert trace_file.format == "sdk-json"
    read = [_without_times(span) for span in trace_file.records]
    expected = [_without_times(span_record(span)) for span in sdk_spans]
    assert [dump for dump, _ in read] == [dump for dump, _ in expected]
    for (_, times), (_, sdk_times) in zip(read, expected):
        # printed as ISO-8601 microseconds through a float: within a microsecond of the SDK's nanoseconds
        assert all(abs(time - sdk_time) <= 1000 for time, sdk_time in zip(times, sdk_times, strict=True))


def test_console_exporter_output_is_read_and_reconstructs(tmp_path: Path) -> None:
    path = tmp_path / "console.txt"
    sdk_spans = _console_file(path)
    assert path.read_text().startswith("{\n    \"body\"")  # concatenated pretty-printed objects, as printed
    _assert_read_back(path, sdk_spans)
    store = SpanStore(tmp_path / "traces.db")
    result = import_file(store, path)
    assert (result.spans_new, result.logs_new) == (3, 2)
    item = TracesAPI(store).reconstruct(result.trace_ids[0], timeout_s=0)
    assert (item.input, item.output) == (QUESTION, ANSWER)  # from the log events alone
    assert item.metadata["error_spans"][0]["message"] == "locator down"


def test_to_json_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        exporter = ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
        sdk_spans = _run_app(SimpleSpanProcessor(exporter), SimpleLogRecordProcessor(ConsoleLogExporter(
            out=out, formatter=lambda record: record.to_json(indent=None) + "\n")))
    assert all(line.startswith("{") for line in path.read_text().splitlines())
    _assert_read_back(path, sdk_spans)
    assert len(read_trace_file(path).logs) == 2


def test_to_json_objects_written_back_to_back_were_invalid_json_and_now_read(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    sdk_spans = _run_app(SimpleSpanProcessor(memory), SimpleLogRecordProcessor(ConsoleLogExporter(out=io.StringIO())))
    path = tmp_path / "dump.json"
    path.write_text("".join(span.to_json() for span in sdk_spans))  # no separator at all: "}{"
    _assert_read_back(path, sdk_spans)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda text: text.replace('"parent_id": "0x', '"parent_id": "0xzz', 1),
     "record span chat gpt-4o: field 'parent_id' is not a 16-hex-character id"),
    (lambda text: text.replace('"kind": "SpanKind.INTERNAL"', '"kind": "SpanKind.SIDEWAYS"', 1),
     "record span execute_tool locate: field 'kind' must be SpanKind.INTERNAL"),
    (lambda text: text.replace('"span_id": "0x', '"span_id": "0x0', 1),  # the first one is a log record's
     "record log record: field 'span_id' is not a 16-hex-character id"),
], ids=["parent-id", "kind", "log-span-id"])
def test_a_bad_record_in_console_output_names_its_line_and_field(tmp_path: Path, mutate: Any, expected: str) -> None:
    path = tmp_path / "console.txt"
    _console_file(path)
    text = path.read_text()
    bad = mutate(text)
    assert bad != text
    first_changed = next(i for i, (a, b) in enumerate(zip(text.splitlines(), bad.splitlines())) if a != b) + 1
    starts = [number for number, line in enumerate(bad.splitlines(), start=1) if line == "{"]
    object_line = max(line for line in starts if line <= first_changed)
    path.write_text(bad)
    store = SpanStore(tmp_path / "traces.db")
    with pytest.raises(ImportFormatError) as caught:
        import_file(store, path)
    assert f"console.txt, line {object_line}, {expected}" in str(caught.value)
    assert store.count_spans() == store.count_logs() == 0


def test_cut_console_output_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "console.txt"
    _console_file(path)
    text = path.read_text()
    path.write_text(text[: len(text) - 30])
    lines = path.read_text().count("\n") + 1
    with pytest.raises(ImportFormatError, match=rf"console\.txt, line {lines}, column \d+: invalid JSON .*truncated"):
        read_trace_file(path)


def test_a_bad_to_json_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        _run_app(SimpleSpanProcessor(ConsoleSpanExporter(out=out, formatter=lambda s: s.to_json(indent=None) + "\n")),
                 SimpleLogRecordProcessor(ConsoleLogExporter(out=io.StringIO())))
    lines = path.read_text().splitlines()
    span = json.loads(lines[1])
    span["start_time"] = "yesterday"
    lines[1] = json.dumps(span)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportFormatError, match=r"spans\.jsonl, line 2, record span execute_tool locate: "
                                                r"field 'start_time' is not a timestamp"):
        read_trace_file(path)
