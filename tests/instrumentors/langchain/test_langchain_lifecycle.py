"""Injection, uninstrumentation, suppression, content capture, errors, and what nests inside what."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManager
from langchain_core.callbacks import manager as callbacks_manager
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableConfig, RunnableLambda

import valiqor_trace
from valiqor_trace.instrumentors._nesting import framework_llm_span
from valiqor_trace.instrumentors.langchain import ValiqorCallbackHandler
from tests.instrumentors.langchain.fakes import (
    FakeOpenAI,
    assert_one_tree,
    chat_model,
    json_attribute,
    one,
    parent_of,
    rag_chain,
)
from valiqor_trace.internal import raise_internal_errors
from valiqor_trace.testing import capture_spans


class Recorder(BaseCallbackHandler):
    """A user's own handler."""

    def __init__(self) -> None:
        self.chains = 0

    def on_chain_start(self, *args: Any, **kwargs: Any) -> None:
        self.chains += 1


def _our_handlers(config: RunnableConfig) -> int:
    manager = config["callbacks"]
    return sum(isinstance(h, ValiqorCallbackHandler) for h in manager.handlers)


def test_handler_is_injected_once_next_to_the_users_handlers(exporter) -> None:
    counts: list[int] = []
    inner = RunnableLambda(lambda x, config: counts.append(_our_handlers(config)) or x)
    chain = RunnableLambda(lambda x: x) | inner
    recorder = Recorder()
    assert chain.invoke(1, config={"callbacks": [recorder]}) == 1
    assert chain.invoke(2, config={"callbacks": CallbackManager(handlers=[recorder])}) == 2
    assert recorder.chains == 4  # a manager's handlers are local: 3 runs + the root
    merged = CallbackManager(handlers=[]).merge(CallbackManager(handlers=[recorder]))
    assert chain.invoke(3, config={"callbacks": merged}) == 3
    configured = CallbackManager.configure([recorder])  # already holds ours: not added twice
    assert sum(isinstance(h, ValiqorCallbackHandler) for h in configured.handlers) == 1
    assert chain.invoke(4, config={"callbacks": configured}) == 4
    assert counts == [1, 1, 1, 1]
    assert len([s for s in exporter.get_finished_spans() if s.name == "chain RunnableSequence"]) == 4


def test_uninstrument_restores_langchain_and_stops_spans(fake: FakeOpenAI) -> None:
    original_configure = callbacks_manager._configure
    chain = rag_chain(chat_model(fake))
    with capture_spans(instrument=["langchain"]) as exporter:
        assert callbacks_manager._configure is not original_configure
        kept = CallbackManager.configure()  # configured while instrumented: it holds our handler
        chain.invoke("before")
        count = len(exporter.get_finished_spans())
        valiqor_trace.shutdown()
        assert callbacks_manager._configure is original_configure
        assert chain.invoke("after") == "echo: after"
        RunnableLambda(lambda x: x).invoke(1, config={"callbacks": kept})
        assert len(exporter.get_finished_spans()) == count


def test_no_spans_under_suppression(exporter, model) -> None:
    with valiqor_trace.suppress_instrumentation():
        assert rag_chain(model).invoke("quiet") == "echo: quiet"
    assert exporter.get_finished_spans() == ()


def test_capture_off_keeps_the_structure_and_drops_every_text(fake: FakeOpenAI) -> None:
    with capture_spans(instrument=["langchain"], capture_content=False) as exporter:
        rag_chain(chat_model(fake)).invoke("secret question")
    spans = exporter.get_finished_spans()
    assert_one_tree(spans)
    retrieval = one(spans, "retrieval KnowledgeBase")
    assert retrieval.attributes["valiqor.retrieval.document_count"] == 2
    chat = one(spans, "chat gpt-4o-mini")
    assert chat.attributes["gen_ai.usage.input_tokens"] == 11
    for span in spans:
        for key, value in span.attributes.items():
            assert "secret" not in str(value) and "Eiffel" not in str(value), (span.name, key)
        assert not {"valiqor.input", "valiqor.output", "gen_ai.input.messages", "gen_ai.output.messages",
                    "valiqor.retrieval.query", "valiqor.retrieval.documents"} & set(span.attributes)


def test_chain_error_marks_the_path_and_the_app_gets_its_own_exception(exporter) -> None:
    failure = ValueError("bad input")

    def fail(_: Any) -> None:
        raise failure

    with pytest.raises(ValueError) as raised:
        (RunnableLambda(lambda x: x) | RunnableLambda(fail)).invoke("x")
    assert raised.value is failure
    spans = exporter.get_finished_spans()
    assert one(spans, "chain fail").status.status_code.name == "ERROR"
    sequence = one(spans, "chain RunnableSequence")
    assert sequence.status.status_code.name == "ERROR" and sequence.attributes["error.type"] == "ValueError"


def test_internal_errors_never_reach_the_app(exporter, model, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in valiqor-trace")

    monkeypatch.setattr("valiqor_trace.instrumentors.langchain._attributes.record_model_output", broken)
    monkeypatch.setattr("valiqor_trace.instrumentors.langchain._attributes.model_request", broken)
    raise_internal_errors(False)
    try:
        assert rag_chain(model).invoke("still works") == "echo: still works"
    finally:
        raise_internal_errors(None)
    spans = exporter.get_finished_spans()
    assert_one_tree(spans)  # every span that started also ended, in one tree
    assert one(spans, "retrieval KnowledgeBase").attributes["valiqor.retrieval.document_count"] == 2


def test_app_spans_inside_runs_nest_under_them_and_runs_inside_app_spans_nest_under_those(exporter, model) -> None:
    @valiqor_trace.trace_function("lookup")
    def lookup(question: str) -> str:
        return model.invoke(question).content

    @valiqor_trace.trace_function("rerank")
    def rerank(docs: list[Any]) -> list[Any]:
        return docs

    def step(question: str) -> str:
        return lookup(question)

    chain = RunnableLambda(step) | RunnableLambda(lambda text: text.upper())
    assert chain.invoke("hi") == "ECHO: HI"
    spans = exporter.get_finished_spans()
    assert_one_tree(spans)
    assert parent_of(spans, one(spans, "lookup")).name == "chain step"
    assert parent_of(spans, one(spans, "chat gpt-4o-mini")).name == "lookup"


@valiqor_trace.trace_function("provider call")
def provider_call() -> None:
    """Stands for a provider SDK call made inside the model (traced by its own instrumentation)."""


class TracedChat(GenericFakeChatModel):
    """A chat model whose body makes a traced call, as ChatOpenAI's body makes an OpenAI client call."""

    seen: list[Any] = []

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        self.seen.append(framework_llm_span())
        provider_call()
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(self, messages: list[Any], stop: Any = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for word in ("streamed", " reply"):
            self.seen.append(framework_llm_span())
            provider_call()
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream", "batch"])
def test_model_bodies_run_with_the_chat_span_current(exporter, mode: str) -> None:
    model = TracedChat(messages=iter([AIMessage("a"), AIMessage("b")]), seen=[])
    if mode == "invoke":
        model.invoke("x")
    elif mode == "ainvoke":
        asyncio.run(model.ainvoke("x"))
    elif mode == "stream":
        assert "".join(c.content for c in model.stream("x")) == "streamed reply"
    elif mode == "astream":
        async def consume() -> list[Any]:
            return [chunk async for chunk in model.astream("x")]
        asyncio.run(consume())
    else:
        model.batch(["x", "y"])
    spans = exporter.get_finished_spans()
    chats = [s for s in spans if s.name == "chat"]
    calls = [s for s in spans if s.name == "provider call"]
    assert len(chats) == (2 if mode == "batch" else 1)
    assert len(calls) == len(model.seen) == (2 if mode in ("stream", "astream", "batch") else 1)
    for call in calls:
        assert parent_of(spans, call) in chats, "the provider call is not inside the chat span"
    # Inside the model body the span is marked as the framework's LLM span (the hook client instrumentors read).
    assert [framework for framework, _ in model.seen] == ["langchain"] * len(calls)
    assert {span.get_span_context().span_id for _, span in model.seen} <= {chat.context.span_id for chat in chats}


def test_framework_llm_span_is_none_outside_model_bodies(exporter) -> None:
    seen = []
    RunnableLambda(lambda x: seen.append(framework_llm_span()) or x).invoke(1)
    assert seen == [None]


def test_generate_with_two_prompts_gives_two_chat_spans_with_their_own_bodies(exporter, fake: FakeOpenAI) -> None:
    result = chat_model(fake).generate([[HumanMessage("first")], [HumanMessage("second")]])
    assert [g[0].text for g in result.generations] == ["echo: first", "echo: second"]
    chats = [s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini"]
    assert sorted(json_attribute(s, "gen_ai.input.messages")[0]["parts"][0]["content"] for s in chats) == [
        "first", "second"]


def test_text_completion_llm(exporter) -> None:
    assert FakeListLLM(responses=["forty-two"]).invoke("meaning of life?") == "forty-two"
    span = one(exporter.get_finished_spans(), "text_completion")
    assert span.attributes["gen_ai.operation.name"] == "text_completion"
    assert json_attribute(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "meaning of life?"}]}]
    assert json_attribute(span, "gen_ai.output.messages")[0]["parts"] == [{"type": "text", "content": "forty-two"}]


def test_a_stream_closed_early_ends_its_span_without_error(exporter, model) -> None:
    stream = model.stream("one two three four")
    assert next(stream).content == ""
    stream.close()
    span = one(exporter.get_finished_spans(), "chat gpt-4o-mini")
    assert span.status.status_code.name == "UNSET"
    assert [e.name for e in span.events] == ["run stopped"]


def test_a_stream_failing_midway_is_an_error_and_the_app_gets_its_exception(exporter) -> None:
    failure = ConnectionError("connection reset mid-stream")

    class Dropping(GenericFakeChatModel):
        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
            yield ChatGenerationChunk(message=AIMessageChunk(content="partial"))
            raise failure

    with pytest.raises(ConnectionError) as raised:
        list(Dropping(messages=iter([])).stream("x"))
    assert raised.value is failure
    span = one(exporter.get_finished_spans(), "chat")
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "ConnectionError"
    assert json_attribute(span, "gen_ai.output.messages")[0]["parts"] == [{"type": "text", "content": "partial"}]


def test_hidden_plumbing_runs_are_skipped_and_what_runs_inside_attaches_to_the_visible_parent(exporter) -> None:
    @valiqor_trace.trace_function("app code")
    def app_code(x: int) -> int:
        return x + 1

    inner = RunnableLambda(lambda x: app_code(x), name="inner")
    # LangGraph tags plumbing (e.g. its START node) "langsmith:hidden"; tags are inherited, so the subtree is hidden.
    hidden = RunnableLambda(lambda x: inner.invoke(x), name="plumbing").with_config(tags=["langsmith:hidden"])
    assert (RunnableLambda(lambda x: x, name="start") | hidden).invoke(1) == 2
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == ["app code", "chain RunnableSequence", "chain start"]
    assert_one_tree(spans)
    assert parent_of(spans, one(spans, "app code")).name == "chain RunnableSequence"


def test_classic_agent_runs_and_their_actions(exporter) -> None:
    from langchain_core.agents import AgentAction, AgentFinish

    def agent_step(question: str, run_manager: Any) -> str:
        run_manager.on_agent_action(AgentAction(tool="search", tool_input={"q": question}, log=""))
        run_manager.on_agent_finish(AgentFinish(return_values={"output": "done"}, log=""))
        return "done"

    assert RunnableLambda(agent_step, name="AgentExecutor").invoke("refunds?") == "done"
    span = one(exporter.get_finished_spans(), "invoke_agent AgentExecutor")
    assert span.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert span.attributes["valiqor.span.kind"] == "agent"
    action, finish = span.events
    assert action.name == "agent_action" and action.attributes["gen_ai.tool.name"] == "search"
    assert json.loads(action.attributes["gen_ai.tool.call.arguments"]) == {"q": "refunds?"}
    assert finish.name == "agent_finish" and json.loads(finish.attributes["output"]) == {"output": "done"}
