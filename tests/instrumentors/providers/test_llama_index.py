"""LlamaIndex through the official instrumentation (agents, tools) next to ours (retrievers): one retrieval
span per retrieval, ours while ours is on, theirs otherwise; shutdown takes both away (the example, with an
agent's tool call and a RAG query, runs in test_provider_examples.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_index.core")
pytest.importorskip("opentelemetry.instrumentation.genai.llama_index")

from llama_index.core.retrievers import BaseRetriever  # noqa: E402
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode  # noqa: E402

import valiqor_trace  # noqa: E402


class Handbook(BaseRetriever):
    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=TextNode(text="Refunds take 14 days.", id_="refunds"), score=0.9)]


def _retrievals(span_exporter) -> list[tuple[str, str]]:
    return [(span.name, span.instrumentation_scope.name) for span in span_exporter.get_finished_spans()
            if (span.attributes or {}).get("gen_ai.operation.name") == "retrieval"]


def test_a_retrieval_is_one_span_ours_with_the_text_while_ours_is_on(tracer_provider, span_exporter) -> None:
    handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none",
                                instrument=["llama_index", "llama_index_agents"])
    assert handle.instrumented == ["llama_index", "llama_index_agents"]
    Handbook().retrieve("How long do refunds take?")
    handle.shutdown()
    assert _retrievals(span_exporter) == [("retrieval Handbook", "valiqor_trace.instrumentors.llama_index")]
    [span] = [s for s in span_exporter.get_finished_spans() if s.name == "retrieval Handbook"]
    assert "Refunds take 14 days." in str(dict(span.attributes or {}))  # the text the analyzer reads as context


def test_without_ours_the_official_retrieval_span_is_kept(tracer_provider, span_exporter) -> None:
    handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=["llama_index_agents"])
    Handbook().retrieve("How long do refunds take?")
    handle.shutdown()
    assert _retrievals(span_exporter) == [("retrieval", "opentelemetry.instrumentation.genai.llama_index")]


def test_shutdown_takes_both_away(tracer_provider, span_exporter) -> None:
    from opentelemetry.instrumentation.genai.llama_index import LlamaIndexInstrumentor

    handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none",
                                instrument=["llama_index", "llama_index_agents"])
    handle.shutdown()
    assert not LlamaIndexInstrumentor().is_instrumented_by_opentelemetry
    Handbook().retrieve("How long do refunds take?")
    assert _retrievals(span_exporter) == []
