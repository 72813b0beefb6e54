"""A scripted OpenAI chat endpoint behind ``httpx2.MockTransport``, and span-tree helpers.

The real ``langchain-openai`` ``ChatOpenAI`` talks to it through the real ``openai``
SDK; only the network is replaced. Replies are computed per request (so hundreds
of concurrent calls stay deterministic) or taken from a script.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

import httpx2
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.trace import ReadableSpan


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or ()):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


class FakeOpenAI:
    """Answers chat completions: the next scripted reply, else ``responder(body)`` (default: an echo).

    A reply is ``{"content": str | None, "tool_calls": [(id, name, arguments_dict)]}``.
    """

    def __init__(self, responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.responder = responder or (lambda body: {"content": f"echo: {last_user_text(body)}"})
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def enqueue(self, *replies: dict[str, Any]) -> None:
        self.script.extend(replies)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        with self._lock:
            self.requests.append(body)
            reply = self.script.pop(0) if self.script else self.responder(body)
        if reply.get("status", 200) != 200:
            return httpx2.Response(reply["status"], json={"error": {"message": reply.get("content"),
                                                                   "type": "server_error"}})
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        calls = [{"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                 for call_id, name, args in reply.get("tool_calls", ())]
        if calls:
            message["tool_calls"] = calls
        finish = "tool_calls" if calls else "stop"
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        if body.get("stream"):
            return _stream_response(message, finish, usage, body)
        return httpx2.Response(200, json={
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": f"{body['model']}-2024",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage})


def _stream_response(message: dict[str, Any], finish: str, usage: dict[str, int],
                     body: dict[str, Any]) -> httpx2.Response:
    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    words = (message.get("content") or "").split(" ")
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": word if i == 0 else f" {word}"}) for i, word in enumerate(words) if message.get(
        "content")]
    for index, call in enumerate(message.get("tool_calls", ())):
        chunks.append(chunk({"tool_calls": [{"index": index, **call}]}))
    chunks.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": body["model"],
                       "choices": [], "usage": usage})
    data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return httpx2.Response(200, content=data.encode(), headers={"content-type": "text/event-stream"})


def chat_model(fake: FakeOpenAI, **options: Any) -> ChatOpenAI:
    """The real ChatOpenAI, its sync and async clients both wired to ``fake``."""
    transport = httpx2.MockTransport(fake)
    return ChatOpenAI(model="gpt-4o-mini", api_key="sk-test-not-a-real-key", max_retries=0,
                      http_client=httpx2.Client(transport=transport),
                      http_async_client=httpx2.AsyncClient(transport=transport), **options)


# --- a RAG chain -----------------------------------------------------------------------------------------

EIFFEL = Document(page_content="The Eiffel Tower is 330 metres tall.", id="doc-eiffel",
                  metadata={"source": "towers.md", "score": 0.92})
BUILT = Document(page_content="The tower was completed in 1889.", id="doc-1889", metadata={"source": "history.md"})


class KnowledgeBase(BaseRetriever):
    """A retriever over two fixed documents (what a vector store would return)."""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [EIFFEL, BUILT]


def format_docs(docs: list[Document]) -> str:
    return "\n".join(doc.page_content for doc in docs)


def rag_chain(model: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([
        ("system", "Answer from this context only:\n{context}"),
        ("human", "{question}"),
    ])
    return ({"context": KnowledgeBase() | format_docs, "question": RunnablePassthrough()}
            | prompt | model | StrOutputParser())


# --- span trees -------------------------------------------------------------------------------------------


def by_name(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = by_name(spans, name)
    assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in spans]}"
    return found[0]


def parent_of(spans: Sequence[ReadableSpan], span: ReadableSpan) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next((s for s in spans if s.context.span_id == span.parent.span_id), None)


def children(spans: Sequence[ReadableSpan], span: ReadableSpan) -> list[ReadableSpan]:
    return sorted((s for s in spans if s.parent is not None and s.parent.span_id == span.context.span_id),
                  key=lambda s: s.start_time)


def ancestors(spans: Sequence[ReadableSpan], span: ReadableSpan) -> list[str]:
    names = []
    current = parent_of(spans, span)
    while current is not None:
        names.append(current.name)
        current = parent_of(spans, current)
    return names


def assert_one_tree(spans: Sequence[ReadableSpan]) -> ReadableSpan:
    """All spans share one trace, every parent is among them, and there is exactly one root."""
    assert len({span.context.trace_id for span in spans}) == 1, "spans are split over several traces"
    ids = {span.context.span_id for span in spans}
    roots = [span for span in spans if span.parent is None]
    orphans = [span.name for span in spans if span.parent is not None and span.parent.span_id not in ids]
    assert not orphans, f"spans whose parent is missing: {orphans}"
    assert len(roots) == 1, f"expected one root, got {[r.name for r in roots]}"
    return roots[0]


def json_attribute(span: ReadableSpan, key: str) -> Any:
    assert key in span.attributes, f"{span.name} has no {key}: {sorted(span.attributes)}"
    return json.loads(span.attributes[key])
