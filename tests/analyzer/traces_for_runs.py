"""Real traces to run FA on: the openai SDK against the scripted model server, instrumented by valiqor-trace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import valiqor_trace
from valiqor_trace.store import SpanStore, row_record, span_row
from valiqor_trace.testing import capture_spans
from valiqor_trace.testing.model_server import ModelServer, Reply

CUT = "The three main causes of the fall of Rome were inflation, invasions and the"


def truncated_answer_trace(project_name: str) -> tuple[str, list[Any]]:
    """(trace id, finished SDK spans) of an app in ``project_name`` whose model ran out of tokens mid-answer:
    FA tags ``truncated_output`` on it, with the chat span as evidence."""
    with capture_spans(project_name=project_name) as exporter, \
            ModelServer([Reply(CUT, finish_reason="length")]) as server:
        with valiqor_trace.trace_workflow("answer_question") as root:
            question = "Why did the Western Roman Empire fall? Give three causes."
            root.set_input(question)
            reply = server.client().chat.completions.create(
                model="gpt-4o-mini", max_tokens=12, messages=[{"role": "user", "content": question}])
            root.set_output(reply.choices[0].message.content)
        return root.trace_id, list(exporter.get_finished_spans())


def write_to_store(path: Path, spans: list[Any]) -> None:
    store = SpanStore(path)
    store.write_spans([row_record(span_row(span)) for span in spans])
    store.close()


def write_otlp_file(path: Path, spans: list[Any]) -> Path:
    """The spans as the real OTLP exporter encodes them (protobuf), in a file."""
    path.write_bytes(encode_spans(spans).SerializeToString())
    return path
