"""Agents and graphs record their state (a chat history) as input and output: the item reads the user's
question and the final answer out of it, in every shape LangChain and LangGraph write."""

from __future__ import annotations

import json
import warnings

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.load import dumpd
from langchain_core.tools import tool

from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.analyzer.reconstruct._values import text_of
from tests.instrumentors.langchain.fakes import FakeOpenAI, chat_model
from valiqor_trace.store._exporter import span_record
from valiqor_trace.testing import capture_spans

HISTORY = [SystemMessage("Be brief."), HumanMessage("What is 20 + 22?"),
           AIMessage("", tool_calls=[{"name": "add", "args": {"a": 20, "b": 22}, "id": "call_7"}]),
           ToolMessage("42", tool_call_id="call_7"), AIMessage("It is 42.")]


@pytest.mark.parametrize("shape", ["model_dump", "serialized", "openai"])
def test_a_history_reads_as_the_last_question_and_the_last_answer(shape: str) -> None:
    if shape == "model_dump":
        state = {"messages": [m.model_dump() for m in HISTORY]}
    elif shape == "serialized":
        state = {"messages": [dumpd(m) for m in HISTORY]}
    else:
        state = [{"role": r, "content": c} for r, c in
                 [("system", "Be brief."), ("user", "What is 20 + 22?"), ("assistant", None), ("tool", "42"),
                  ("assistant", "It is 42.")]]
    recorded = json.dumps(state)
    assert text_of(recorded) == "What is 20 + 22?"
    assert text_of(recorded, answer=True) == "It is 42."


def test_tuples_content_parts_and_what_is_not_a_history() -> None:
    assert text_of(json.dumps({"messages": [["user", "Hi there"]]})) == "Hi there"
    parts = [{"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image_url"}]}]
    assert text_of(json.dumps(parts)) == "Describe"
    # A list of records that merely has a "type" field is data, not a chat.
    records = json.dumps([{"type": "invoice", "content": "A-1"}, {"type": "invoice", "content": "A-2"}])
    assert text_of(records) == records
    assert text_of(json.dumps(["just one positional argument"])) == "just one positional argument"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_a_langgraph_agent_trace_reconstructs_to_question_and_answer() -> None:
    prebuilt = pytest.importorskip("langgraph.prebuilt")
    fake = FakeOpenAI()
    fake.enqueue({"content": None, "tool_calls": [("call_7", "add", {"a": 20, "b": 22})]}, {"content": "It is 42."})
    with capture_spans(instrument=["langchain"]) as exporter:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # create_react_agent moved to langchain.agents; still the LangGraph one
            agent = prebuilt.create_react_agent(chat_model(fake), prebuilt.ToolNode([add]))
        agent.invoke({"messages": [("user", "What is 20 + 22?")]})
        item = reconstruct_item([span_record(span) for span in exporter.get_finished_spans()])
    assert (item.input, item.output) == ("What is 20 + 22?", "It is 42.")
    assert [(c.name, c.arguments, c.output) for c in item.tool_calls] == [("add", {"a": 20, "b": 22}, "42")]
