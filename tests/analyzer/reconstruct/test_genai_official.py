"""Context and tool rules on spans written by ``opentelemetry-util-genai`` (>= 1.3) itself, through its public
``TelemetryHandler``: the forms the official GenAI instrumentations build on, beyond what the peer apps show
(test_peers.py runs those apps under the real instrumentations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from valiqor_trace.analyzer.models import TraceFacts
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.store import SpanRecord, row_record, span_row

genai_types = pytest.importorskip("opentelemetry.util.genai.types")
if not hasattr(genai_types, "RetrievalDocument"):
    pytest.skip("needs opentelemetry-util-genai >= 1.3", allow_module_level=True)

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.util.genai.handler import TelemetryHandler  # noqa: E402
from opentelemetry.util.genai.types import InputMessage, OutputMessage, RetrievalDocument, Text  # noqa: E402

QUESTION = "How tall is the Eiffel Tower?"
DOCS = ["The Eiffel Tower is 330 metres tall.", "It stands in Paris."]


class Traced:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.handler = TelemetryHandler(tracer_provider=provider)

    def records(self) -> list[SpanRecord]:
        return [row_record(span_row(span)) for span in self.exporter.get_finished_spans()]

    def chat(self, system: str, variables: dict[str, Any] | None = None, answer: str = "330 metres.") -> None:
        with self.handler.inference("openai", request_model="gpt-4o-mini") as call:
            call.input_messages = [InputMessage(role="system", parts=[Text(content=system)]),
                                   InputMessage(role="user", parts=[Text(content=QUESTION)])]
            call.prompt_variables = variables
            call.output_messages = [OutputMessage(role="assistant", parts=[Text(content=answer)],
                                                  finish_reason="stop")]

    def retrieve(self, documents: list[Any]) -> None:
        with self.handler.retrieval(data_source_id="kb") as retrieval:
            retrieval.query_text = QUESTION
            retrieval.documents = documents


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[Traced]:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    yield Traced()


def test_documents_given_to_the_template_as_a_list_are_one_context_entry_each(traced: Traced) -> None:
    with traced.handler.workflow("rag"):
        traced.retrieve([RetrievalDocument(id="d0", score=0.9), RetrievalDocument(id="d1", score=0.8)])
        # LangChain documents as util-genai serializes a template variable; the question is no context.
        traced.chat("Answer from the documents.", {
            "retrieved_docs": [{"page_content": text, "metadata": {"id": f"d{i}"}} for i, text in enumerate(DOCS)],
            "question": QUESTION})
    item = reconstruct_item(traced.records())
    assert item.context == DOCS
    assert item.input == QUESTION


def test_retrieved_text_outranks_template_variables_and_messages(traced: Traced) -> None:
    with traced.handler.workflow("rag"):
        traced.retrieve([{"id": "d0", "content": DOCS[0]}])  # a mapping with text (util-genai still writes it)
        traced.chat("Context: " + " ".join(DOCS), {"context": " ".join(DOCS)})
    assert reconstruct_item(traced.records()).context == [DOCS[0]]


def test_without_document_text_the_message_after_the_retrieval_is_the_context(traced: Traced) -> None:
    system = "Answer briefly.\nSources:\n" + "\n".join(DOCS)
    with traced.handler.workflow("rag") as workflow:
        workflow.input_messages = [InputMessage(role="user", parts=[Text(content=QUESTION)])]
        traced.chat("Be brief.", answer="Let me look that up.")  # before the retrieval: carries none of it
        traced.retrieve([RetrievalDocument(id="d0"), RetrievalDocument(id="d1")])
        traced.chat(system)
    item = reconstruct_item(traced.records())
    assert item.context == [system]
    assert item.metadata[TraceFacts.CONTEXT_SPAN_IDS] == [item.metadata[TraceFacts.LLM_CALLS][1]["span_id"]]


def test_a_retrieval_that_found_nothing_or_a_plain_prompt_gives_no_context(traced: Traced) -> None:
    with traced.handler.workflow("rag"):
        traced.retrieve([])
        traced.chat("You are a terse assistant.", {"question": QUESTION, "source_language": "en"})
    assert reconstruct_item(traced.records()).context == []


def test_a_failed_execute_tool_span_is_an_executed_call_with_its_error(traced: Traced) -> None:
    with traced.handler.workflow("agent"):
        with pytest.raises(ZeroDivisionError):
            with traced.handler.tool("divide") as tool:
                tool.tool_call_id = "call_1"
                tool.arguments = {"a": 1, "b": 0}
                raise ZeroDivisionError("division by zero")
    item = reconstruct_item(traced.records())
    assert [(c.id, c.name, c.arguments, c.output, c.executed, c.error) for c in item.tool_calls] == \
        [("call_1", "divide", {"a": 1, "b": 0}, None, True, "division by zero")]
    assert [(e["kind"], e["error_type"]) for e in item.metadata[TraceFacts.ERROR_SPANS]] == \
        [("tool", "ZeroDivisionError")]
