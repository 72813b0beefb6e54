"""Concurrent async runs never bleed into each other's traces (the split-or-glued traces users report)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import valiqor_trace
from tests.instrumentors.langchain.fakes import assert_one_tree, one, parent_of, rag_chain

EXPECTED = sorted([
    "chain RunnableSequence", "chain RunnableParallel<context,question>", "chain RunnableSequence",
    "retrieval KnowledgeBase", "chain format_docs", "chain RunnablePassthrough", "chain ChatPromptTemplate",
    "chat gpt-4o-mini", "chain StrOutputParser",
])


def _group_by_trace(spans: Any) -> dict[int, list[Any]]:
    traces: dict[int, list[Any]] = defaultdict(list)
    for span in spans:
        traces[span.context.trace_id].append(span)
    return traces


def test_200_concurrent_ainvoke_calls_give_200_complete_traces(exporter, model) -> None:
    chain = rag_chain(model)
    questions = [f"question number {i}?" for i in range(200)]

    async def main() -> list[str]:
        return await asyncio.gather(*(chain.ainvoke(q) for q in questions))

    answers = asyncio.run(main())
    assert answers == [f"echo: {q}" for q in questions]
    traces = _group_by_trace(exporter.get_finished_spans())
    assert len(traces) == 200
    seen = set()
    for spans in traces.values():
        root = assert_one_tree(spans)
        assert sorted(span.name for span in spans) == EXPECTED
        question = root.attributes["valiqor.input"]
        seen.add(question)
        # Every span in this trace belongs to this request, not to one running next to it.
        assert one(spans, "retrieval KnowledgeBase").attributes["valiqor.retrieval.query"] == question
        chat = one(spans, "chat gpt-4o-mini")
        assert question in chat.attributes["gen_ai.input.messages"]
        assert f"echo: {question}" in chat.attributes["gen_ai.output.messages"]
        assert parent_of(spans, chat) is root
    assert seen == set(questions)


def test_concurrent_requests_each_nest_under_their_own_app_span(exporter, model) -> None:
    chain = rag_chain(model)

    async def handle(index: int) -> tuple[str | None, str]:
        with valiqor_trace.trace_workflow(f"request-{index}") as workflow:
            await asyncio.sleep(0)  # interleave with the other requests
            return workflow.trace_id, await chain.ainvoke(f"q{index}")

    async def main() -> list[tuple[str | None, str]]:
        return await asyncio.gather(*(handle(i) for i in range(50)))

    results = asyncio.run(main())
    traces = _group_by_trace(exporter.get_finished_spans())
    assert len(traces) == 50
    for index, (trace_id, answer) in enumerate(results):
        spans = traces[int(trace_id, 16)]
        assert assert_one_tree(spans).name == f"request-{index}"
        assert answer == f"echo: q{index}"
        assert one(spans, "retrieval KnowledgeBase").attributes["valiqor.retrieval.query"] == f"q{index}"


def test_sequential_async_runs_are_separate_traces_not_nested(exporter, model) -> None:
    chain = rag_chain(model)

    async def main() -> None:
        for index in range(3):
            await chain.ainvoke(f"run {index}")

    asyncio.run(main())
    traces = _group_by_trace(exporter.get_finished_spans())
    assert len(traces) == 3
    for spans in traces.values():
        assert assert_one_tree(spans).name == "chain RunnableSequence"
