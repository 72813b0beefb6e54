"""Tool-calling loops and agents: model spans carry the requested calls, tool spans the real arguments and results."""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import ToolException, tool

import valiqor_trace
from tests.instrumentors.langchain.fakes import (
    FakeOpenAI,
    assert_one_tree,
    by_name,
    children,
    json_attribute,
    one,
    parent_of,
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def find_order(order_id: int) -> str:
    """Look an order up."""
    raise LookupError(f"no order {order_id} in the database")


@tool
def flaky_search(query: str) -> str:
    """Search, reporting failures to the model instead of raising."""
    raise ToolException("search backend is down")


flaky_search.handle_tool_error = True


def test_tool_calling_loop(exporter, fake: FakeOpenAI, model) -> None:
    fake.enqueue({"content": None, "tool_calls": [("call_add", "add", {"a": 2, "b": 3})]}, {"content": "2 + 3 = 5"})
    llm = model.bind_tools([add])
    with valiqor_trace.trace_workflow("calculator"):
        messages: list[Any] = [HumanMessage("What is 2 + 3?")]
        request = llm.invoke(messages)
        result = add.invoke(request.tool_calls[0])  # the app runs the tool the model asked for
        answer = llm.invoke([*messages, request, result])
    assert result.content == "5" and answer.content == "2 + 3 = 5"

    spans = exporter.get_finished_spans()
    root = assert_one_tree(spans)
    first, second = by_name(spans, "chat gpt-4o-mini")
    assert [s.name for s in children(spans, root)] == ["chat gpt-4o-mini", "execute_tool add", "chat gpt-4o-mini"]

    [definition] = json_attribute(first, "gen_ai.tool.definitions")
    assert definition["name"] == "add" and definition["description"] == "Add two integers."
    assert definition["parameters"]["required"] == ["a", "b"]
    [requested] = json_attribute(first, "gen_ai.output.messages")
    assert requested["parts"] == [{"type": "tool_call", "id": "call_add", "name": "add", "arguments": {"a": 2, "b": 3}}]
    assert requested["finish_reason"] == "tool_calls"
    assert first.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)

    executed = one(spans, "execute_tool add")
    assert executed.attributes["gen_ai.operation.name"] == "execute_tool"
    assert executed.attributes["valiqor.span.kind"] == "tool"
    assert executed.attributes["gen_ai.tool.name"] == "add"
    assert executed.attributes["gen_ai.tool.call.id"] == "call_add"
    assert executed.attributes["gen_ai.tool.description"] == "Add two integers."
    assert json_attribute(executed, "gen_ai.tool.call.arguments") == {"a": 2, "b": 3}
    assert executed.attributes["gen_ai.tool.call.result"] == "5"

    _user, assistant, tool_message = json_attribute(second, "gen_ai.input.messages")
    assert assistant["parts"][0]["name"] == "add" and assistant["role"] == "assistant"
    assert tool_message == {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_add",
                                                       "response": "5"}]}
    [final] = json_attribute(second, "gen_ai.output.messages")
    assert final["parts"] == [{"type": "text", "content": "2 + 3 = 5"}]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_raising_tool_gives_an_error_span_and_the_app_its_own_exception(exporter, asynchronous: bool) -> None:
    failures: list[LookupError] = []

    @tool
    def lookup(order_id: int) -> str:
        """Look an order up."""
        failures.append(LookupError(f"no order {order_id} in the database"))
        raise failures[-1]

    call = {"name": "lookup", "args": {"order_id": 42}, "id": "call_1", "type": "tool_call"}
    with pytest.raises(LookupError) as raised:
        asyncio.run(lookup.ainvoke(call)) if asynchronous else lookup.invoke(call)
    assert raised.value is failures[0]

    span = one(exporter.get_finished_spans(), "execute_tool lookup")
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "LookupError"
    assert json_attribute(span, "gen_ai.tool.call.arguments") == {"order_id": 42}
    [event] = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.message"] == "no order 42 in the database"


def test_a_tool_error_handled_in_band_is_still_an_error_span(exporter) -> None:
    result = flaky_search.invoke({"name": "flaky_search", "args": {"query": "x"}, "id": "call_9", "type": "tool_call"})
    assert result.content == "search backend is down" and result.status == "error"  # the app sees no exception
    span = one(exporter.get_finished_spans(), "execute_tool flaky_search")
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "tool_error"
    assert span.attributes["gen_ai.tool.call.result"] == "search backend is down"


def _react_agent(model: Any, tools: list[Any]) -> Any:
    prebuilt = pytest.importorskip("langgraph.prebuilt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent moved to langchain.agents; still the LangGraph one
        # handle_tool_errors: a failing tool's error goes back to the model, as agents are usually set up
        return prebuilt.create_react_agent(model, prebuilt.ToolNode(tools, handle_tool_errors=True))


@pytest.mark.parametrize("asynchronous", [False, True])
def test_langgraph_agent_loop_is_one_trace_with_steps(exporter, fake: FakeOpenAI, model, asynchronous: bool) -> None:
    fake.enqueue({"content": None, "tool_calls": [("call_7", "add", {"a": 20, "b": 22})]}, {"content": "It is 42."})
    agent = _react_agent(model, [add])
    request = {"messages": [("user", "What is 20 + 22?")]}
    state = asyncio.run(agent.ainvoke(request)) if asynchronous else agent.invoke(request)
    assert state["messages"][-1].content == "It is 42."

    spans = exporter.get_finished_spans()
    root = assert_one_tree(spans)
    assert root.name == "invoke_agent LangGraph"
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "LangGraph"
    assert root.attributes["valiqor.span.kind"] == "agent"
    steps = [(s.attributes["valiqor.graph.node"], s.attributes["valiqor.graph.step"]) for s in children(spans, root)]
    assert steps == [("agent", 1), ("tools", 2), ("agent", 3)]

    tool_span = one(spans, "execute_tool add")
    assert parent_of(spans, tool_span).attributes["valiqor.graph.node"] == "tools"
    assert json_attribute(tool_span, "gen_ai.tool.call.arguments") == {"a": 20, "b": 22}
    assert tool_span.attributes["gen_ai.tool.call.result"] == "42"
    assert tool_span.attributes["gen_ai.tool.call.id"] == "call_7"
    first, second = sorted(by_name(spans, "chat gpt-4o-mini"), key=lambda s: s.start_time)
    assert json_attribute(first, "gen_ai.output.messages")[0]["parts"][0]["arguments"] == {"a": 20, "b": 22}
    assert first.end_time <= tool_span.start_time and tool_span.end_time <= second.start_time
    assert '"response": "42"' in second.attributes["gen_ai.input.messages"]
    assert not [s.name for s in spans if s.status.status_code.name == "ERROR"]


def test_langgraph_tool_failure_is_an_error_span_while_the_agent_recovers(exporter, fake: FakeOpenAI, model) -> None:
    fake.enqueue({"content": None, "tool_calls": [("call_f", "find_order", {"order_id": 42})]},
                 {"content": "I could not find that order."})
    state = _react_agent(model, [find_order]).invoke({"messages": [("user", "Where is order 42?")]})
    assert state["messages"][-1].content == "I could not find that order."
    spans = exporter.get_finished_spans()
    assert_one_tree(spans)
    failed = one(spans, "execute_tool find_order")
    assert failed.status.status_code.name == "ERROR" and failed.attributes["error.type"] == "LookupError"


def test_langgraph_interrupt_and_resume_leave_no_trace_of_us_in_the_apps_logs(
        exporter, caplog: pytest.LogCaptureFixture) -> None:
    """LangGraph's graph-lifecycle managers (interrupts, resumes) call every handler they hold: ours is not there."""
    graph_module = pytest.importorskip("langgraph.graph")
    types = pytest.importorskip("langgraph.types")
    memory = pytest.importorskip("langgraph.checkpoint.memory")

    class State(TypedDict):
        answer: str

    def ask(state: State) -> dict[str, str]:
        return {"answer": types.interrupt("Which city?")}

    graph = graph_module.StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(graph_module.START, "ask")
    graph.add_edge("ask", graph_module.END)
    app = graph.compile(checkpointer=memory.InMemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    with caplog.at_level(logging.WARNING):
        assert "__interrupt__" in app.invoke({"answer": ""}, config)
        assert app.invoke(types.Command(resume="Paris"), config) == {"answer": "Paris"}
    assert [r.getMessage() for r in caplog.records if "ValiqorCallbackHandler" in r.getMessage()] == []
    roots = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert len(roots) == 2 and all(s.name == "invoke_agent LangGraph" for s in roots)
