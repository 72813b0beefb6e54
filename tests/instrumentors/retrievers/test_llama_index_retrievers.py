"""LlamaIndex retrievers (real llama-index-core, no network) become retrieval spans with every document."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, VectorStoreIndex  # noqa: E402
from llama_index.core.embeddings import MockEmbedding  # noqa: E402
from llama_index.core.retrievers import BaseRetriever  # noqa: E402
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode  # noqa: E402

import valiqor_trace  # noqa: E402
from valiqor_trace.testing import capture_spans  # noqa: E402

NODES = [
    NodeWithScore(node=TextNode(text="Refunds take 14 days.", id_="policy-refunds", metadata={"page": 3}), score=0.87),
    NodeWithScore(node=TextNode(text="Express shipping takes 1 day.", id_="policy-shipping"), score=0.41),
]


class PolicyRetriever(BaseRetriever):
    """A hand-written LlamaIndex retriever whose body calls traced app code (an embedding lookup)."""

    def __init__(self, failure: Exception | None = None) -> None:
        super().__init__()
        self.failure = failure

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        embed(query_bundle.query_str)
        if self.failure is not None:
            raise self.failure
        return NODES


@valiqor_trace.trace_function("embed")
def embed(text: str) -> list[float]:
    return [float(len(text))]


@pytest.fixture
def exporter() -> Iterator[Any]:
    with capture_spans(instrument=["llama_index"]) as spans:
        yield spans


def _documents(span: Any) -> list[dict[str, Any]]:
    return json.loads(span.attributes["valiqor.retrieval.documents"])


@pytest.mark.parametrize("asynchronous", [False, True])
def test_retrieve_records_query_and_every_node(exporter, asynchronous: bool) -> None:
    retriever = PolicyRetriever()
    with valiqor_trace.trace_workflow("support"):
        nodes = asyncio.run(retriever.aretrieve("refund time?")) if asynchronous else retriever.retrieve("refund time?")
    assert nodes == NODES
    spans = {span.name: span for span in exporter.get_finished_spans()}
    retrieval = spans["retrieval PolicyRetriever"]
    assert retrieval.parent.span_id == spans["support"].context.span_id
    assert retrieval.attributes["gen_ai.operation.name"] == "retrieval"
    assert retrieval.attributes["valiqor.span.kind"] == "retrieval"
    assert retrieval.attributes["valiqor.retrieval.query"] == "refund time?"
    assert retrieval.attributes["valiqor.retrieval.document_count"] == 2
    assert _documents(retrieval) == [
        {"id": "policy-refunds", "content": "Refunds take 14 days.", "score": 0.87, "metadata": {"page": 3}},
        {"id": "policy-shipping", "content": "Express shipping takes 1 day.", "score": 0.41, "metadata": {}},
    ]
    assert spans["embed"].parent.span_id == retrieval.context.span_id  # work inside the retriever nests under it


def test_a_real_vector_index_retriever(exporter) -> None:
    docs = [Document(text="Paris is the capital of France.", id_="fr"), Document(text="Rome is in Italy.", id_="it")]
    index = VectorStoreIndex.from_documents(docs, embed_model=MockEmbedding(embed_dim=8))
    nodes = index.as_retriever(similarity_top_k=2).retrieve("capital of France?")
    [span] = [s for s in exporter.get_finished_spans() if s.name.startswith("retrieval ")]
    assert span.name == "retrieval VectorIndexRetriever"
    recorded = _documents(span)
    assert [r["content"] for r in recorded] == [n.node.get_content() for n in nodes]
    assert [r["id"] for r in recorded] == [n.node.node_id for n in nodes]
    assert all(isinstance(r["score"], float) for r in recorded)
    assert {r["metadata"].get("doc_id", r["metadata"].get("ref_doc_id")) for r in recorded} <= {None, "fr", "it"}


def test_a_failing_retriever_is_an_error_span_and_the_app_gets_its_exception(exporter) -> None:
    failure = TimeoutError("vector store timed out")
    with pytest.raises(TimeoutError) as raised:
        PolicyRetriever(failure).retrieve("anything")
    assert raised.value is failure
    [span] = [s for s in exporter.get_finished_spans() if s.name == "retrieval PolicyRetriever"]
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "TimeoutError"
    assert "valiqor.retrieval.documents" not in span.attributes


def test_init_instruments_llama_index_automatically_and_shutdown_removes_it() -> None:
    original = BaseRetriever.__dict__["retrieve"]
    with capture_spans() as spans:
        assert "llama_index" in valiqor_trace.get_handle().instrumented
        PolicyRetriever().retrieve("q")
        assert [s.name for s in spans.get_finished_spans()].count("retrieval PolicyRetriever") == 1
    assert BaseRetriever.__dict__["retrieve"] is original
    assert PolicyRetriever().retrieve("q") == NODES  # and still works as LlamaIndex wrote it


def test_capture_off_records_only_the_count() -> None:
    with capture_spans(instrument=["llama_index"], capture_content=False) as spans:
        PolicyRetriever().retrieve("private question")
    [span] = [s for s in spans.get_finished_spans() if s.name == "retrieval PolicyRetriever"]
    assert span.attributes["valiqor.retrieval.document_count"] == 2
    assert "valiqor.retrieval.query" not in span.attributes and "valiqor.retrieval.documents" not in span.attributes
