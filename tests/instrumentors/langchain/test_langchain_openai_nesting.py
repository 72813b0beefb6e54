"""OpenAI and LangChain instrumented together: one model call is one LangChain chat span with the OpenAI span inside.

Policy (docs/langchain.md): nest, never duplicate side by side. The LangChain span is
current while ChatOpenAI runs, so the client span is its child in the same trace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

import valiqor_trace
from tests.instrumentors.langchain.fakes import FakeOpenAI, assert_one_tree, chat_model, parent_of, rag_chain
from valiqor_trace.testing import capture_spans

pytest.importorskip("valiqor_trace.instrumentors.openai")


@pytest.fixture
def both() -> Iterator[Any]:
    with capture_spans(instrument=["langchain", "openai"]) as exporter:
        yield exporter


def _llm_spans(spans: Any) -> tuple[list[Any], list[Any]]:
    """(LangChain chat spans, OpenAI client spans), told apart by the instrumentation scope."""
    langchain = [s for s in spans if s.instrumentation_scope.name.endswith(".langchain") and
                 s.attributes.get("valiqor.span.kind") == "llm"]
    client = [s for s in spans if s.instrumentation_scope.name.endswith(".openai")]
    return langchain, client


async def _astream(chain: Any, question: str) -> str:
    return "".join([chunk async for chunk in chain.astream(question)])


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_the_openai_span_nests_under_the_langchain_chat_span(both, fake: FakeOpenAI, mode: str) -> None:
    chain = rag_chain(chat_model(fake, stream_usage=True))
    with valiqor_trace.trace_workflow("request"):
        if mode == "invoke":
            chain.invoke("hi")
        elif mode == "ainvoke":
            asyncio.run(chain.ainvoke("hi"))
        elif mode == "stream":
            "".join(chain.stream("hi"))
        else:
            asyncio.run(_astream(chain, "hi"))
    spans = both.get_finished_spans()
    assert_one_tree(spans)
    [outer], [inner] = _llm_spans(spans)
    assert parent_of(spans, inner) is outer
    assert inner.name == outer.name == "chat gpt-4o-mini"
    assert inner.attributes["gen_ai.usage.input_tokens"] == outer.attributes["gen_ai.usage.input_tokens"] == 11
    assert inner.attributes["valiqor.llm.nested_in"] == "langchain"  # readers count the pair as one call
    assert "valiqor.llm.nested_in" not in outer.attributes


def test_each_prompt_of_a_batch_generate_nests_under_its_own_chat_span(both, fake: FakeOpenAI) -> None:
    chat_model(fake).generate([[HumanMessage("alpha")], [HumanMessage("beta")]])
    spans = both.get_finished_spans()
    outer, inner = _llm_spans(spans)
    assert len(outer) == len(inner) == 2
    for client_span in inner:
        parent = parent_of(spans, client_span)
        assert parent in outer
        word = "alpha" if "alpha" in client_span.attributes["gen_ai.input.messages"] else "beta"
        assert word in parent.attributes["gen_ai.input.messages"]


def test_openai_called_directly_inside_a_chain_nests_under_the_chain_step(both, fake: FakeOpenAI) -> None:
    from langchain_core.runnables import RunnableLambda

    client = chat_model(fake).root_client

    def ask(question: str) -> str:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
        return reply.choices[0].message.content

    assert (RunnableLambda(ask) | RunnableLambda(str.upper)).invoke("x") == "ECHO: X"
    spans = both.get_finished_spans()
    assert_one_tree(spans)
    [inner] = _llm_spans(spans)[1]
    assert parent_of(spans, inner).name == "chain ask"
    assert "valiqor.llm.nested_in" not in inner.attributes  # a direct call: the only span of this model call
