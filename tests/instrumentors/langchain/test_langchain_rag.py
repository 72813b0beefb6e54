"""A real LCEL RAG chain (retriever | prompt | ChatOpenAI | parser) becomes one correct trace, in every call style."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import valiqor_trace
from tests.instrumentors.langchain.fakes import (
    BUILT,
    EIFFEL,
    FakeOpenAI,
    ancestors,
    assert_one_tree,
    by_name,
    chat_model,
    children,
    json_attribute,
    one,
    parent_of,
    rag_chain,
)
from valiqor_trace.testing import capture_spans


async def _collect_astream(chain: Any, question: str) -> str:
    return "".join([chunk async for chunk in chain.astream(question)])


def run(chain: Any, mode: str, question: str) -> str:
    if mode == "invoke":
        return chain.invoke(question)
    if mode == "ainvoke":
        return asyncio.run(chain.ainvoke(question))
    if mode == "stream":
        return "".join(chain.stream(question))
    return asyncio.run(_collect_astream(chain, question))


MODES = ["invoke", "ainvoke", "stream", "astream"]


@pytest.mark.parametrize("mode", MODES)
def test_rag_chain_is_one_trace_under_the_app_span(exporter, model, mode: str) -> None:
    question = "How tall is the Eiffel Tower?"
    with valiqor_trace.trace_workflow("answer-question") as workflow:
        answer = run(rag_chain(model), mode, question)
    assert answer == f"echo: {question}"

    spans = exporter.get_finished_spans()
    root = assert_one_tree(spans)
    assert root.name == "answer-question" and root.context.trace_id == int(workflow.trace_id, 16)
    chain = parent_of(spans, one(spans, "chat gpt-4o-mini"))
    assert chain.name == "chain RunnableSequence" and parent_of(spans, chain) is root
    assert chain.attributes["valiqor.input"] == question  # strings are recorded as they are, others as JSON
    assert chain.attributes["valiqor.output"] == answer

    retrieval = one(spans, "retrieval KnowledgeBase")
    assert "chain RunnableSequence" in ancestors(spans, retrieval) and ancestors(spans, retrieval)[-1] == root.name
    assert retrieval.attributes["gen_ai.operation.name"] == "retrieval"
    assert retrieval.attributes["valiqor.span.kind"] == "retrieval"
    assert retrieval.attributes["valiqor.retrieval.query"] == question
    assert retrieval.attributes["valiqor.retrieval.document_count"] == 2
    assert json_attribute(retrieval, "valiqor.retrieval.documents") == [
        {"id": "doc-eiffel", "content": EIFFEL.page_content, "score": 0.92, "metadata": EIFFEL.metadata},
        {"id": "doc-1889", "content": BUILT.page_content, "score": None, "metadata": BUILT.metadata},
    ]

    chat = one(spans, "chat gpt-4o-mini")
    assert chat.attributes["gen_ai.operation.name"] == "chat"
    assert chat.attributes["gen_ai.provider.name"] == "openai"
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    system, human = json_attribute(chat, "gen_ai.input.messages")
    assert system["role"] == "system"
    assert EIFFEL.page_content in system["parts"][0]["content"]
    assert BUILT.page_content in system["parts"][0]["content"]
    assert human == {"role": "user", "parts": [{"type": "text", "content": question}]}
    [output] = json_attribute(chat, "gen_ai.output.messages")
    assert output == {"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}
    assert chat.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert retrieval.end_time <= chat.start_time, "the model ran after retrieval finished"

    parser = one(spans, "chain StrOutputParser")
    assert parent_of(spans, parser) is chain and parser.start_time >= chat.start_time
    assert [s.name for s in children(spans, chain)][-2:] == ["chat gpt-4o-mini", "chain StrOutputParser"]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_usage_and_response_model_are_recorded(exporter, model, mode: str) -> None:
    run(rag_chain(model), mode, "q")
    chat = one(exporter.get_finished_spans(), "chat gpt-4o-mini")
    assert chat.attributes["gen_ai.usage.input_tokens"] == 11
    assert chat.attributes["gen_ai.usage.output_tokens"] == 7
    assert chat.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024"
    assert chat.attributes["gen_ai.response.id"] == "chatcmpl-1"


def test_streamed_usage_is_recorded_when_the_model_reports_it(exporter, fake: FakeOpenAI) -> None:
    streaming = chat_model(fake, stream_usage=True)
    assert "".join(rag_chain(streaming).stream("q")) == "echo: q"
    chat = one(exporter.get_finished_spans(), "chat gpt-4o-mini")
    assert chat.attributes["gen_ai.usage.input_tokens"] == 11
    assert chat.attributes["gen_ai.usage.output_tokens"] == 7


def _outputs(model: Any) -> dict[str, Any]:
    chain = rag_chain(model)
    return {
        "invoke": chain.invoke("What is it?"),
        "ainvoke": asyncio.run(chain.ainvoke("What is it?")),
        "stream": list(chain.stream("What is it?")),
        "astream": asyncio.run(_collect_astream(chain, "What is it?")),
        "batch": chain.batch(["a?", "b?", "c?"]),
        "abatch": asyncio.run(chain.abatch(["a?", "b?"])),
        "model_stream": [(c.content, c.tool_calls) for c in model.stream("hello there")],
        "events": [(e["event"], e["name"]) for e in asyncio.run(_events(chain, "What is it?"))],
    }


async def _events(chain: Any, question: str) -> list[dict[str, Any]]:
    return [event async for event in chain.astream_events(question, version="v2")]


def test_outputs_are_identical_with_instrumentation_on_and_off(fake: FakeOpenAI) -> None:
    without = _outputs(chat_model(fake))
    with capture_spans(instrument=["langchain"]) as exporter:
        with_instrumentation = _outputs(chat_model(fake))
        assert len(exporter.get_finished_spans()) > 50
    after_shutdown = _outputs(chat_model(fake))
    assert with_instrumentation == without
    assert after_shutdown == without


def test_astream_events_gives_the_same_tree(exporter, model) -> None:
    events = asyncio.run(_events(rag_chain(model), "Tell me"))
    assert events[-1]["data"]["output"] == "echo: Tell me"
    spans = exporter.get_finished_spans()
    assert_one_tree(spans)
    assert "chain RunnableSequence" in ancestors(spans, one(spans, "retrieval KnowledgeBase"))
    assert parent_of(spans, one(spans, "chat gpt-4o-mini")).name == "chain RunnableSequence"


@pytest.mark.parametrize("asynchronous", [False, True])
def test_batch_inside_a_workflow_is_one_trace_with_a_subtree_per_input(exporter, model, asynchronous: bool) -> None:
    questions = ["first?", "second?", "third?"]
    chain = rag_chain(model)
    with valiqor_trace.trace_workflow("batch-job"):
        answers = asyncio.run(chain.abatch(questions)) if asynchronous else chain.batch(questions)
    assert answers == [f"echo: {q}" for q in questions]
    spans = exporter.get_finished_spans()
    root = assert_one_tree(spans)
    chains = [s for s in children(spans, root) if s.name == "chain RunnableSequence"]
    assert sorted(s.attributes["valiqor.input"] for s in chains) == sorted(questions)
    for chain_span in chains:
        question = chain_span.attributes["valiqor.input"]
        retrievals = [s for s in by_name(spans, "retrieval KnowledgeBase") if chain_span.name in ancestors(spans, s)
                      and _under(spans, s, chain_span)]
        assert [r.attributes["valiqor.retrieval.query"] for r in retrievals] == [question]
        chats = [s for s in by_name(spans, "chat gpt-4o-mini") if parent_of(spans, s) is chain_span]
        assert len(chats) == 1 and question in chats[0].attributes["gen_ai.input.messages"]


def _under(spans: Any, span: Any, ancestor: Any) -> bool:
    current = parent_of(spans, span)
    while current is not None:
        if current is ancestor:
            return True
        current = parent_of(spans, current)
    return False


def test_batch_without_an_app_span_gives_one_trace_per_input(exporter, model) -> None:
    rag_chain(model).batch(["x?", "y?", "z?"])
    spans = exporter.get_finished_spans()
    traces: dict[int, list[Any]] = {}
    for span in spans:
        traces.setdefault(span.context.trace_id, []).append(span)
    assert len(traces) == 3
    for trace_spans in traces.values():
        root = assert_one_tree(trace_spans)
        question = root.attributes["valiqor.input"]
        assert one(trace_spans, "retrieval KnowledgeBase").attributes["valiqor.retrieval.query"] == question


def test_threads_each_get_their_own_complete_trace(exporter, fake: FakeOpenAI) -> None:
    chain = rag_chain(chat_model(fake))
    results: dict[int, tuple[str | None, str]] = {}

    def worker(index: int) -> None:
        with valiqor_trace.trace_workflow(f"request-{index}") as workflow:
            results[index] = (workflow.trace_id, chain.invoke(f"question {index}?"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans = exporter.get_finished_spans()
    for index, (trace_id, answer) in results.items():
        assert answer == f"echo: question {index}?"
        trace_spans = [s for s in spans if s.context.trace_id == int(trace_id, 16)]
        assert assert_one_tree(trace_spans).name == f"request-{index}"
        assert one(trace_spans, "retrieval KnowledgeBase").attributes["valiqor.retrieval.query"] == f"question {index}?"
        assert f"question {index}?" in one(trace_spans, "chat gpt-4o-mini").attributes["gen_ai.input.messages"]
