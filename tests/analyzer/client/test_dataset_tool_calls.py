"""Dataset tool calls in our layout, OpenAI's and LangChain's read the same; anything else is refused by path."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.messages import ToolCall as LangChainToolCall

from valiqor_trace.analyzer.datasets import validate_dataset
from valiqor_trace.errors import DatasetError
from valiqor_trace.analyzer.models import FAItem, ToolCall
from valiqor_trace import ValiqorClient
from valiqor_trace.testing.model_server import ModelServer, Reply, ToolCallSpec

QUESTION = "What is the weather in Paris?"
ANSWER = "It is sunny in Paris."


def _openai_tool_calls(arguments: str = '{"city": "Paris"}') -> list[dict]:
    """The assistant message's tool_calls exactly as the real openai SDK dumps them."""
    with ModelServer([Reply(tool_calls=(ToolCallSpec("get_weather", arguments, "call_1"),))]) as server:
        reply = server.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}])
    return reply.choices[0].message.model_dump(exclude_none=True)["tool_calls"]


def _langchain_tool_calls(result: str, status: str = "success") -> list[dict]:
    """An AIMessage's tool_calls, then the ToolMessage answering it, as LangChain dumps them."""
    message = AIMessage(content="", tool_calls=[LangChainToolCall(name="get_weather", args={"city": "Paris"},
                                                                  id="call_1")])
    answer = ToolMessage(content=result, tool_call_id="call_1", name="get_weather", status=status)
    return [*message.tool_calls, answer.model_dump()]


def _item(tool_calls: list) -> dict:
    return {"input": QUESTION, "output": ANSWER, "tool_calls": tool_calls}


def test_openai_and_langchain_layouts_read_as_ours() -> None:
    ours = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}, "output": "Sunny, 21 C"}
    openai_item = _item([*_openai_tool_calls(), {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"}])
    openai_parts = _item([*_openai_tool_calls(), {"role": "tool", "tool_call_id": "call_1",
                                                  "content": [{"type": "text", "text": "Sunny, 21 C"}]}])
    aliased = [_item([{**ours, "output": None, key: "Sunny, 21 C"}]) for key in ("result", "response")]
    items = validate_dataset([_item([ours]), openai_item, openai_parts, _item(_langchain_tool_calls("Sunny, 21 C")),
                              *aliased])
    assert all(item.tool_calls == items[0].tool_calls for item in items), [i.tool_calls for i in items]
    assert items[0].tool_calls == [ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"},
                                            output="Sunny, 21 C")]


def test_a_structured_result_becomes_json_text_and_calls_without_results_stay_unanswered() -> None:
    [item] = validate_dataset([_item([{"name": "get_weather", "result": {"temp_c": 21}}, *_openai_tool_calls()])])
    assert [(call.name, call.output) for call in item.tool_calls] == [("get_weather", '{"temp_c": 21}'),
                                                                       ("get_weather", None)]


def test_fa_sees_a_tool_error_in_every_layout(tmp_path: Path) -> None:
    failure = "Error: weather service unavailable (HTTP 503)"
    ours_output = _item([{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}, "output": failure}])
    ours_error = _item([{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}, "error": failure}])
    dataset = [
        ours_output,
        _item([*_openai_tool_calls(), {"role": "tool", "tool_call_id": "call_1", "content": failure}]),
        _item([{"name": "get_weather", "arguments": {"city": "Paris"}, "result": failure}]),
        ours_error,
        _item(_langchain_tool_calls(failure, status="error")),
    ]
    with ValiqorClient(project_name="layouts", home=str(tmp_path)) as client:
        result = client.failure_analysis.run(dataset=dataset, run_eval=False, run_security=False)

    def tool_errors(index: int) -> list[tuple]:
        return [(tag.decision, tag.severity, tag.confidence, tag.evidence_items[0].text)
                for tag in result.failure_tags if tag.item_index == index and tag.subcategory_id == "tool_error"]

    assert tool_errors(0) and tool_errors(3)
    assert tool_errors(1) == tool_errors(2) == tool_errors(0)  # error-shaped output, as ours
    assert tool_errors(4) == tool_errors(3)  # an error status, as ours
    assert tool_errors(3)[0][2] > tool_errors(0)[0][2]


def test_arguments_that_are_not_json_reach_fa_as_written() -> None:
    [item] = validate_dataset([_item(_openai_tool_calls('{"city": "Paris"'))])
    assert item.tool_calls[0].arguments == '{"city": "Paris"'  # FA reports the malformed call; we hide nothing


def test_fa_items_and_what_reconstruction_writes_pass_through() -> None:
    call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}, span_id="a" * 16, executed=False)
    given = FAItem(input=QUESTION, output=ANSWER, tool_calls=[call], trace_id="0" * 32, metadata={"k": 1})
    assert validate_dataset([given]) == [given]


def test_the_tool_call_model_refuses_fields_it_would_not_read() -> None:
    with pytest.raises(pydantic.ValidationError, match="result"):
        ToolCall(name="get_weather", result="Sunny")


_OPENAI = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}


@pytest.mark.parametrize(("tool_calls", "expected"), [
    ([{**_OPENAI, "function": {"name": "get_weather", "arguments": 5}}],
     "items[3].tool_calls[0].function.arguments: must be an object or JSON text, got int; write them as an object"),
    ([{**_OPENAI, "function": {"name": "get_weather", "argumnts": "{}"}}],
     "items[3].tool_calls[0].function.argumnts: unknown field of an OpenAI function; did you mean 'arguments'?"),
    ([{**_OPENAI, "function": {"arguments": "{}"}}],
     "items[3].tool_calls[0].function.name: missing; every tool call needs the tool's name"),
    ([{**_OPENAI, "name": "get_weather"}],
     "items[3].tool_calls[0].name: unknown field of an OpenAI tool call; in the OpenAI layout the name goes under "
     "'function': function.name"),
    ([{**_OPENAI, "function": "get_weather"}], "items[3].tool_calls[0].function: must be an object"),
    ([{"name": "get_weather", "reslt": "Sunny"}],
     "items[3].tool_calls[0].reslt: unknown field of a tool call; did you mean 'result'?"),
    ([{"name": "get_weather", "output": "Sunny", "result": "Rain"}],
     "items[3].tool_calls[0].result: 'output' and 'result' both give the tool's result; keep one"),
    ([{"name": "get_weather", "arguments": {}, "args": {}}],
     "items[3].tool_calls[0].args: 'arguments' and 'args' both give the arguments; keep one"),
    ([{"name": "get_weather", "error": True}], "items[3].tool_calls[0].error: must be a string (the error message)"),
    ([{"name": "get_weather", "executed": "yes"}], "items[3].tool_calls[0].executed: must be true or false"),
    ([{"name": "get_weather", "type": "tool_use"}],
     "items[3].tool_calls[0].type: 'tool_use' is not a tool call type; use 'function' (OpenAI tool call)"),
    ([{"name": "get_weather", "output": "x" * 11}],
     "items[3].tool_calls[0].output: 11 characters, over the limit of 10; shorten it"),
    ([_OPENAI, {"role": "tool", "tool_call_id": "call_2", "content": "Sunny"}],
     "items[3].tool_calls[1].tool_call_id: no tool call in this item has id 'call_2'; add the call it answers"),
    ([_OPENAI, {"role": "tool", "content": "Sunny"}],
     "items[3].tool_calls[1].tool_call_id: missing; a tool result names the call it answers by that call's id"),
    ([_OPENAI, {"role": "tool", "tool_call_id": "call_1"}],
     "items[3].tool_calls[1].content: missing; a tool result message carries the tool's output in 'content'"),
    ([_OPENAI, {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "image_url", "image_url": {}}]}],
     "items[3].tool_calls[1].content[0]: only text parts can be analyzed"),
    ([_OPENAI, {"role": "tool", "tool_call_id": "call_1", "content": "Sunny", "status": "ok"}],
     "items[3].tool_calls[1].status: unknown field of an OpenAI tool message"),
    ([_OPENAI, {"role": "assistant", "tool_calls": [_OPENAI]}],
     "items[3].tool_calls[1].role: 'assistant' is not a tool message; only \"role\": \"tool\" messages"),
    ([_OPENAI, {"tool_call_id": "call_1", "content": "Sunny"}],
     "items[3].tool_calls[1].role: missing: a tool result message needs \"role\": \"tool\" (OpenAI)"),
    ([_OPENAI, {"role": "tool", "tool_call_id": "call_1", "content": "Sunny", "name": "get_time"}],
     "items[3].tool_calls[1].name: 'get_time', but the call at items[3].tool_calls[0] with id 'call_1' is "
     "'get_weather'; fix the name or the id"),
    ([_OPENAI, {"role": "tool", "tool_call_id": "call_1", "content": "a"},
      {"role": "tool", "tool_call_id": "call_1", "content": "b"}],
     "items[3].tool_calls[2]: the call at items[3].tool_calls[0] already has a result (from "
     "items[3].tool_calls[1]); give each call one result"),
    ([_OPENAI, _OPENAI, {"role": "tool", "tool_call_id": "call_1", "content": "a"}],
     "items[3].tool_calls[2].tool_call_id: 2 tool calls have id 'call_1' (items[3].tool_calls[0], "
     "items[3].tool_calls[1]); give each call its own id"),
    ([{"name": "get_weather", "args": {}, "id": "c", "type": "tool_call"},
      {"type": "tool", "tool_call_id": "c", "content": "x", "status": "failed"}],
     "items[3].tool_calls[1].status: must be 'success' or 'error', got 'failed'"),
    ([{"name": "get_weather", "args": {}, "id": "c", "type": "tool_call"},
      {"type": "tool", "tool_call_id": "c", "content": "x", "tool_name": "get_weather"}],
     "items[3].tool_calls[1].tool_name: unknown field of a LangChain ToolMessage"),
    (["get_weather"], "items[3].tool_calls[0]: must be an object like"),
    ({"name": "get_weather"}, "items[3].tool_calls: must be a list of tool calls, got dict (wrap a single call"),
])
def test_each_tool_call_problem_names_its_full_path_and_the_fix(tool_calls, expected) -> None:
    good = {"input": "q", "output": "a"}
    with pytest.raises(DatasetError) as caught:
        validate_dataset([good, good, good, {**good, "tool_calls": tool_calls}], max_field_chars=10)
    assert expected in str(caught.value), caught.value.problems
    assert all(problem.startswith("items[3].") or problem.startswith("items[3]:")
               for problem in caught.value.problems), caught.value.problems


def test_a_message_list_is_refused_with_where_its_parts_go() -> None:
    with pytest.raises(DatasetError) as caught:
        validate_dataset([{"input": "q", "output": "a", "messages": []}])
    assert caught.value.problems == [
        "items[0].messages: unknown field of an item; items carry no message list: give the user's request as "
        "'input', the answer as 'output', and the assistant's tool calls and the tool result messages as "
        "'tool_calls'"]
