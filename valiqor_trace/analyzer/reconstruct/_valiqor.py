"""Reader for valiqor-trace's own keys (``valiqor.*``); LLM and tool spans use the GenAI keys.

``valiqor.span.kind`` says what a span is (workflow, function, llm, embedding,
retrieval, tool, agent, chain); ``valiqor.input`` / ``valiqor.output`` hold the
JSON text of workflow, function, chain and agent inputs and outputs;
retrieval spans carry ``valiqor.retrieval.query`` and ``valiqor.retrieval.documents``
(a JSON list of ``{id, content, score, metadata}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._values import as_list, document_text, text_of
from valiqor_trace.attributes import INPUT, OUTPUT, RETRIEVAL_DOCUMENTS, RETRIEVAL_QUERY, SPAN_KIND
from valiqor_trace.store import SpanRecord

_KINDS = {"workflow": v.WORKFLOW, "function": v.FUNCTION, "llm": v.LLM, "embedding": v.EMBEDDING,
          "retrieval": v.RETRIEVAL, "tool": v.TOOL, "agent": v.AGENT, "chain": v.CHAIN}


def kind(attributes: Mapping[str, Any]) -> str | None:
    value = attributes.get(SPAN_KIND)
    return _KINDS.get(str(value).lower(), v.OTHER) if value is not None else None


def read_retrieval(span: SpanRecord) -> v.Retrieval | None:
    attrs = span.attributes
    if RETRIEVAL_DOCUMENTS not in attrs and kind(attrs) != v.RETRIEVAL:
        return None
    documents = [document_text(d) for d in as_list(attrs.get(RETRIEVAL_DOCUMENTS))]
    return v.Retrieval(query=text_of(attrs.get(RETRIEVAL_QUERY)), documents=[d for d in documents if d])


def read_io(span: SpanRecord) -> tuple[str | None, str | None]:
    attrs = span.attributes
    return text_of(attrs.get(INPUT)), text_of(attrs.get(OUTPUT), answer=True)
