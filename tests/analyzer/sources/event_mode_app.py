"""An OpenAI tool-loop app traced by the official OpenAI instrumentation in event mode, wired by
``valiqor_trace.init()``: the messages reach the store only as OpenTelemetry log records.

Run in its own process (the instrumentation patches ``openai`` globally and reads its mode from the
environment)::

    python event_mode_app.py --store traces.db [--collector out.jsonl]

With ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=EVENT_ONLY`` the instrumentation
(``opentelemetry-instrumentation-genai-openai`` 1.3b0, or ``-openai-v2`` 2.4b0, on opentelemetry-util-genai)
records no message on its spans: each call's messages go in one
``gen_ai.client.inference.operation.details`` log event carrying ``gen_ai.input.messages`` /
``gen_ai.output.messages`` / ``gen_ai.system_instructions``. (Its older per-message events,
``gen_ai.user.message`` / ``gen_ai.choice``, are recorded in ``tests/fixtures/peers/genai-events.jsonl``.)
The OpenAI API is a mock transport. Prints what the app sent and received, as JSON. ``--collector``
also appends the spans and log records as the OTel Collector's file exporter writes them (OTLP JSON
lines, logs and traces interleaved): how ``tests/fixtures/peers/genai-event-mode.jsonl`` was recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def event_mode() -> dict[str, str]:
    """The environment that puts the installed instrumentation in event mode: releases on
    opentelemetry-util-genai's content modes take ``EVENT_ONLY``; older ones (per-message events) ``true``."""
    try:
        from opentelemetry.util.genai.utils import get_content_capturing_mode  # noqa: F401
    except ImportError:
        return {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
    return {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"}


def openai_instrumentor() -> type:
    """The official OpenAI instrumentation: ``opentelemetry-instrumentation-genai-openai`` (its new name),
    else ``opentelemetry-instrumentation-openai-v2``."""
    try:
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor
    except ImportError:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    return OpenAIInstrumentor


SYSTEM = "You are a calculator. Use the tool."
QUESTION = "What is 17 times 23?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--collector")
    args = parser.parse_args()
    os.environ.update(event_mode())
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reconstruct"))
    import valiqor_trace
    from opentelemetry import trace
    OpenAIInstrumentor = openai_instrumentor()
    from peer_apps import MODEL, TOOL_SCHEMA, FakeOpenAI, http, multiply

    handle = valiqor_trace.init("event-mode", exporters=["store"], store_path=args.store, instrument=False)
    memory = _memory_exporters(handle) if args.collector else None
    OpenAIInstrumentor().instrument()
    import openai

    client = openai.OpenAI(api_key="sk-test", base_url="http://fake-openai.test/v1",
                           http_client=http.Client(transport=http.MockTransport(FakeOpenAI())))
    with trace.get_tracer("event-mode-app").start_as_current_span("handle request") as root:
        messages: list[dict] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=[TOOL_SCHEMA])
        call = first.choices[0].message.tool_calls[0]
        result = multiply(**json.loads(call.function.arguments))
        messages += [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": result}]
        answer = client.chat.completions.create(model=MODEL, messages=messages, tools=[TOOL_SCHEMA])
    handle.shutdown()
    if memory is not None:
        _write_collector_file(args.collector, *memory)
    print(json.dumps({"trace_id": f"{root.get_span_context().trace_id:032x}", "system": SYSTEM,
                      "question": QUESTION, "tool": call.function.name, "call_id": call.id,
                      "arguments": json.loads(call.function.arguments), "tool_output": result,
                      "answer": answer.choices[0].message.content}))


def _memory_exporters(handle):  # noqa: ANN001, ANN202
    from opentelemetry.sdk._logs import export as log_export
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    handle.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logs = (getattr(log_export, "InMemoryLogRecordExporter", None) or log_export.InMemoryLogExporter)()
    handle.log_pipeline.logger_provider.add_log_record_processor(log_export.SimpleLogRecordProcessor(logs))
    return spans, logs


def _write_collector_file(path: str, spans, logs) -> None:  # noqa: ANN001
    """One line per export, as the collector's file exporter writes: half the log records, the spans, the rest."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from peer_apps import _hex_ids

    records = list(logs.get_finished_logs())
    half = len(records) // 2
    with open(path, "a", encoding="utf-8") as out:
        for request in (encode_logs(records[:half]), encode_spans(spans.get_finished_spans()),
                        encode_logs(records[half:])):
            out.write(json.dumps(_hex_ids(MessageToDict(request))) + "\n")


if __name__ == "__main__":
    main()
