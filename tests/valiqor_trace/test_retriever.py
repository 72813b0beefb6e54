"""``@valiqor_trace.retriever``: a retrieval span with the query and every returned document, sync and async."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.documents import Document

import valiqor_trace
from valiqor_trace.testing import capture_spans


@pytest.fixture
def exporter() -> Iterator[Any]:
    with capture_spans(instrument=False) as spans:
        yield spans


def _span(exporter: Any, name: str) -> Any:
    [span] = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


def _documents(span: Any) -> list[dict[str, Any]]:
    return json.loads(span.attributes["valiqor.retrieval.documents"])


@dataclass
class Chunk:
    """A vector-store hit as many SDKs return it: text, id, score and metadata as attributes."""

    text: str
    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)


class Passage:
    def __init__(self, content: str) -> None:
        self.content = content


def test_plain_function_records_query_and_documents(exporter) -> None:
    @valiqor_trace.retriever("kb-search")
    def search(query: str, k: int = 2) -> list[str]:
        return ["Refunds take 14 days.", "Shipping is free over $50."][:k]

    with valiqor_trace.trace_workflow("support") as workflow:
        assert search("refund policy?") == ["Refunds take 14 days.", "Shipping is free over $50."]
    span = _span(exporter, "retrieval kb-search")
    assert span.parent.span_id == int(workflow.span_id, 16)
    assert span.attributes["gen_ai.operation.name"] == "retrieval"
    assert span.attributes["valiqor.span.kind"] == "retrieval"
    assert span.attributes["valiqor.retrieval.query"] == "refund policy?"
    assert span.attributes["valiqor.retrieval.document_count"] == 2
    assert _documents(span) == [
        {"id": None, "content": "Refunds take 14 days.", "score": None, "metadata": {}},
        {"id": None, "content": "Shipping is free over $50.", "score": None, "metadata": {}},
    ]


def test_async_function_records_query_and_documents(exporter) -> None:
    @valiqor_trace.retriever("vector-search")
    async def search(question: str) -> list[Document]:
        await asyncio.sleep(0)
        return [Document(page_content="Paris is in France.", id="geo-1", metadata={"relevance_score": 0.9})]

    assert asyncio.run(search(question="where is Paris?"))[0].id == "geo-1"
    span = _span(exporter, "retrieval vector-search")
    assert span.attributes["valiqor.retrieval.query"] == "where is Paris?"
    assert _documents(span) == [{"id": "geo-1", "content": "Paris is in France.", "score": 0.9,
                                 "metadata": {"relevance_score": 0.9}}]


def test_every_document_shape_is_read(exporter) -> None:
    returned = [
        "a plain string",
        {"content": "a dict", "id": "d1", "score": 0.5, "source": "faq.md"},
        {"page_content": "a LangChain-shaped dict", "metadata": {"source": "x"}},
        Document(page_content="a LangChain Document", id="lc-1", metadata={"score": 0.7}),
        Chunk(text="an SDK hit", id="hit-9", score=0.33, metadata={"page": 2}),
        Passage("an object with .content"),
        (Document(page_content="a (document, score) pair"), 0.25),
    ]

    @valiqor_trace.retriever
    def hybrid_search(query: str) -> list[Any]:
        return returned

    assert hybrid_search("anything") is returned
    assert _documents(_span(exporter, "retrieval hybrid_search")) == [
        {"id": None, "content": "a plain string", "score": None, "metadata": {}},
        {"id": "d1", "content": "a dict", "score": 0.5, "metadata": {"source": "faq.md"}},
        {"id": None, "content": "a LangChain-shaped dict", "score": None, "metadata": {"source": "x"}},
        {"id": "lc-1", "content": "a LangChain Document", "score": 0.7, "metadata": {"score": 0.7}},
        {"id": "hit-9", "content": "an SDK hit", "score": 0.33, "metadata": {"page": 2}},
        {"id": None, "content": "an object with .content", "score": None, "metadata": {}},
        {"id": None, "content": "a (document, score) pair", "score": 0.25, "metadata": {}},
    ]


def test_methods_and_explicit_query_argument(exporter) -> None:
    class Store:
        @valiqor_trace.retriever("store")
        def lookup(self, top_k: int, text: str) -> dict[str, Any]:
            return {"documents": [{"text": f"hit for {text}"}], "took_ms": 3}

        @valiqor_trace.retriever("store-explicit", query_arg="filters")
        def filtered(self, filters: dict[str, str], limit: int = 1) -> list[str]:
            return []

    assert Store().lookup(3, text="invoices")["took_ms"] == 3
    span = _span(exporter, "retrieval store")
    assert span.attributes["valiqor.retrieval.query"] == "invoices"
    assert _documents(span) == [{"id": None, "content": "hit for invoices", "score": None, "metadata": {}}]
    Store().filtered({"team": "billing"})
    empty = _span(exporter, "retrieval store-explicit")
    assert json.loads(empty.attributes["valiqor.retrieval.query"]) == {"team": "billing"}
    assert empty.attributes["valiqor.retrieval.document_count"] == 0
    assert _documents(empty) == []


@pytest.mark.parametrize("asynchronous", [False, True])
def test_exceptions_reach_the_caller_unchanged_and_mark_the_span(exporter, asynchronous: bool) -> None:
    failure = ConnectionError("vector db unreachable")

    if asynchronous:
        @valiqor_trace.retriever("remote")
        async def search(query: str) -> list[str]:
            raise failure
        call = lambda: asyncio.run(search("q"))  # noqa: E731
    else:
        @valiqor_trace.retriever("remote")
        def search(query: str) -> list[str]:
            raise failure
        call = lambda: search("q")  # noqa: E731

    with pytest.raises(ConnectionError) as raised:
        call()
    assert raised.value is failure
    span = _span(exporter, "retrieval remote")
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "ConnectionError"
    assert span.attributes["valiqor.retrieval.query"] == "q"


def test_a_returned_generator_is_not_consumed(exporter) -> None:
    @valiqor_trace.retriever("lazy")
    def search(query: str) -> Iterator[str]:
        return iter(["one", "two"])

    assert list(search("q")) == ["one", "two"]
    span = _span(exporter, "retrieval lazy")
    assert "valiqor.retrieval.documents" not in span.attributes
    assert "valiqor.retrieval.document_count" not in span.attributes


def test_capture_off_keeps_only_the_count() -> None:
    @valiqor_trace.retriever("private")
    def search(query: str) -> list[str]:
        return ["secret document"]

    with capture_spans(instrument=False, capture_content=False) as exporter:
        search("secret query")
    span = _span(exporter, "retrieval private")
    assert span.attributes["valiqor.retrieval.document_count"] == 1
    assert "secret" not in json.dumps(dict(span.attributes))


def test_redaction_applies_to_each_text_and_keeps_valid_json() -> None:
    @valiqor_trace.retriever("kb")
    def search(query: str) -> list[dict[str, Any]]:
        return [{"content": 'Call "Ann" at ann@example.com', "metadata": {"author": "ann@example.com"}}]

    with capture_spans(instrument=False, redact=lambda text: text.replace("ann@example.com", "[email]")) as spans:
        search("mail ann@example.com")
    span = _span(spans, "retrieval kb")
    assert span.attributes["valiqor.retrieval.query"] == "mail [email]"
    assert _documents(span) == [{"id": None, "content": 'Call "Ann" at [email]', "score": None,
                                 "metadata": {"author": "[email]"}}]


def test_long_results_are_cut_per_document_and_stay_valid_json() -> None:
    @valiqor_trace.retriever("big")
    def search(query: str) -> list[str]:
        return ["x" * 5000, "y" * 5000, "short"]

    with capture_spans(instrument=False, max_content_length=3000) as spans:
        search("q")
    span = _span(spans, "retrieval big")
    text = span.attributes["valiqor.retrieval.documents"]
    assert len(text) <= 3000
    documents = json.loads(text)
    assert [d["content"][0] for d in documents] == ["x", "y", "s"] and documents[2]["content"] == "short"
    assert documents[0]["content"].endswith("...[truncated]")
    assert span.attributes["valiqor.retrieval.documents.truncated"] is True
    assert span.attributes["valiqor.retrieval.document_count"] == 3


def test_bad_uses_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="string name"):
        valiqor_trace.retriever(42)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="generator"):
        @valiqor_trace.retriever("gen")
        def gen(query: str) -> Iterator[str]:
            yield "x"
    with pytest.raises(ValueError, match="no such parameter"):
        @valiqor_trace.retriever("bad", query_arg="question")
        def search(query: str) -> list[str]:
            return []


def test_without_init_the_function_still_works() -> None:
    @valiqor_trace.retriever("offline")
    def search(query: str) -> list[str]:
        return ["doc"]

    assert search("q") == ["doc"]
