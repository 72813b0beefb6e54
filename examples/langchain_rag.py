"""A LangChain RAG app, traced by one line: retriever | prompt | ChatOpenAI | parser.

Run it:

    python examples/langchain_rag.py                    # a scripted local model answers (no key, no network)
    OPENAI_API_KEY=sk-... python examples/langchain_rag.py   # the real OpenAI API answers

It prints the answer and the trace: the chain, the retrieval span with both
documents, and the chat span whose prompt contains them (with the OpenAI client
span nested inside it). Show it again with ``valiqor traces show <trace id>``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import textwrap
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough
from langchain_openai import ChatOpenAI

import valiqor_trace

POLICIES = [
    Document(id="refunds", page_content="Refunds are issued within 14 days to the original payment method.",
             metadata={"source": "policies/refunds.md"}),
    Document(id="refund-exceptions", page_content="Gift cards and final-sale items cannot be refunded.",
             metadata={"source": "policies/refunds.md"}),
    Document(id="shipping", page_content="Express shipping takes 1 business day; standard takes 3 to 5.",
             metadata={"source": "policies/shipping.md"}),
]


class PolicyRetriever(BaseRetriever):
    """Keyword search over the policy pages (a vector store would stand here in production)."""

    k: int = 2

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        words = {word.strip("?.,!").lower() for word in query.split()}
        scored = [(len(words & set(doc.page_content.lower().replace(".", "").split())) +
                   (3 if doc.id and doc.id.split("-")[0].rstrip("s") in " ".join(words) else 0), doc)
                  for doc in POLICIES]
        ranked = sorted((pair for pair in scored if pair[0] > 0), key=lambda pair: -pair[0])[: self.k]
        return [Document(id=doc.id, page_content=doc.page_content, metadata={**doc.metadata, "score": float(score)})
                for score, doc in ranked]


def build_chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([
        ("system", "You answer customer questions using only these policy excerpts:\n{context}"),
        ("human", "{question}"),
    ])

    def format_docs(docs: list[Document]) -> str:
        return "\n".join(f"- {doc.page_content}" for doc in docs)

    return ({"context": PolicyRetriever() | format_docs, "question": RunnablePassthrough()}
            | prompt | model | StrOutputParser())


@contextlib.contextmanager
def chat_model() -> Iterator[ChatOpenAI]:
    """The real model with OPENAI_API_KEY, else one backed by the scripted local model server."""
    if os.environ.get("OPENAI_API_KEY"):
        yield ChatOpenAI(model="gpt-4o-mini", temperature=0)
        return
    from valiqor_trace.testing import ModelServer, Reply

    replies = [Reply(match="refund", text="Refunds arrive within 14 days, on your original payment method. "
                                           "Gift cards and final-sale items are not refundable.")]
    with ModelServer(rules=replies) as server:
        yield ChatOpenAI(model="gpt-4o-mini", base_url=server.base_url, api_key="local-model-server", max_retries=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default="How long do refunds take?")
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="langchain-rag", home=args.home)  # instruments LangChain and OpenAI
    with chat_model() as model:
        with valiqor_trace.trace_workflow("answer-question") as workflow:
            answer = build_chain(model).invoke(args.question)
    handle.force_flush()

    spans = handle.store.get_trace(workflow.trace_id)
    print(f"question: {args.question}\nanswer:   {answer}\n")
    print(f"trace {workflow.trace_id} ({len(spans)} spans):")
    print(textwrap.indent(valiqor_trace.format_trace(spans), "  "))
    for span in spans:  # what the failure analysis will read as the answer's context
        if span.attributes.get("valiqor.span.kind") == "retrieval":
            print(f"\n{span.name} (query: {span.attributes.get('valiqor.retrieval.query')!r}):")
            for doc in json.loads(span.attributes.get("valiqor.retrieval.documents", "[]")):
                print(f"  [{doc['id']}, score {doc['score']}] {doc['content']}")
    print(f"\nshow it again with: valiqor traces show {workflow.trace_id}")
    handle.shutdown()


if __name__ == "__main__":
    main()
