"""The reconstruction rules on traces of our own convention (real SDK, real openai, our instrumentor)
and on hand-built spans for forms no installable peer emits any more."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

import valiqor_trace
from valiqor_trace.analyzer.models import TraceFacts
from valiqor_trace.analyzer.reconstruct import build_tree, reconstruct_item, reconstruct_turns
from valiqor_trace import SpanScope
from valiqor_trace.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
    RETRIEVAL_DOCUMENTS,
    RETRIEVAL_QUERY,
)
from valiqor_trace.store import SpanEvent, SpanRecord, row_record, span_row
from valiqor_trace.testing import capture_spans

TOOL = {"type": "function", "function": {"name": "multiply", "description": "Multiply.",
                                         "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}


class ScriptedModel:
    """OpenAI chat endpoint answering from a queue of assistant messages."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        self.queue = list(messages)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        message = self.queue.pop(0)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        return httpx2.Response(200, json={
            "id": f"c{len(self.requests)}", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(api_key="sk-test-not-a-key", base_url="http://model.test/v1",
                             http_client=httpx2.Client(transport=httpx2.MockTransport(self)))


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def _records(exporter: Any) -> list[SpanRecord]:
    return [row_record(span_row(span)) for span in exporter.get_finished_spans()]


def test_our_agent_trace_reconstructs_every_field() -> None:
    model = ScriptedModel(
        {"role": "assistant", "content": None,
         "tool_calls": [_call("call_a", "multiply", {"a": 6}), _call("call_b", "delete_everything", {})]},
        {"role": "assistant", "content": "Six doubled is 12."})
    with capture_spans() as exporter:
        client = model.client()
        with valiqor_trace.trace_workflow("agent") as workflow:
            workflow.set_input({"question": "What is 6 doubled?", "user": "ada"})
            documents = [{"id": "d1", "content": "Doubling multiplies by two."},
                         {"id": "d2", "content": "Six is an integer."},
                         {"id": "d1", "content": "Doubling multiplies by two."}]
            with SpanScope("retrieval kb", "retrieval", {RETRIEVAL_QUERY: "doubling",
                                                         RETRIEVAL_DOCUMENTS: json.dumps(documents)}):
                pass
            messages = [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "What is 6 doubled?"}]
            first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[TOOL])
            call = first.choices[0].message.tool_calls[0]  # the app runs only the first request
            with SpanScope("execute_tool multiply", "tool", {GEN_AI_OPERATION_NAME: "execute_tool",
                                                             GEN_AI_TOOL_NAME: "multiply", GEN_AI_TOOL_CALL_ID: call.id,
                                                             GEN_AI_TOOL_CALL_ARGUMENTS: call.function.arguments,
                                                             GEN_AI_TOOL_CALL_RESULT: "12"}):
                pass
            messages += [first.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": "12"}]
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[TOOL])
            workflow.set_output(answer.choices[0].message.content)

    spans = _records(exporter)
    item = reconstruct_item(spans)
    facts = item.metadata
    workflow_span = next(s for s in spans if s.name == "agent")
    tool_span = next(s for s in spans if s.name == "execute_tool multiply")
    assert item.trace_id == workflow.trace_id
    assert item.input == "What is 6 doubled?"
    assert item.output == "Six doubled is 12."
    assert item.context == ["Doubling multiplies by two.", "Six is an integer."]
    assert [(c.id, c.name, c.arguments, c.output, c.executed, c.span_id) for c in item.tool_calls] == [
        ("call_a", "multiply", {"a": 6}, "12", True, tool_span.span_id),
        # Requested, never run: kept, and its output is not made up.
        ("call_b", "delete_everything", {}, None, False, None)]
    assert facts[TraceFacts.INPUT_SPAN_IDS] == facts[TraceFacts.OUTPUT_SPAN_IDS] == [workflow_span.span_id]
    assert facts[TraceFacts.SYSTEM_PROMPT] == "Use tools."
    assert facts[TraceFacts.MODELS] == ["gpt-4o-mini"]
    assert facts[TraceFacts.FINISH_REASONS] == ["tool_call", "stop"]
    assert facts[TraceFacts.TOKEN_USAGE] == {"input_tokens": 10, "output_tokens": 4}
    assert facts[TraceFacts.LLM_CALL_COUNT] == 2 and facts[TraceFacts.TOOL_CALL_COUNT] == 1
    assert [d["name"] for d in facts[TraceFacts.TOOL_DEFINITIONS]] == ["multiply"]
    assert facts[TraceFacts.CONVENTION] == "valiqor"
    assert facts[TraceFacts.SPAN_COUNT] == len(spans) == 5
    assert facts[TraceFacts.LATENCY_MS] == pytest.approx(workflow_span.duration_ms)


def test_without_an_app_span_the_first_request_and_last_answer_are_used() -> None:
    model = ScriptedModel({"role": "assistant", "content": None, "tool_calls": [_call("c1", "multiply", {"a": 1})]},
                          {"role": "assistant", "content": "Done: 2."})
    with capture_spans() as exporter, valiqor_trace.trace_workflow("bare"):
        client = model.client()
        history = [{"role": "user", "content": "Earlier question"}, {"role": "assistant", "content": "Earlier answer"},
                   {"role": "user", "content": "Double 1, please."}]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=[TOOL])
        history += [first.choices[0].message.model_dump(exclude_none=True),
                    {"role": "tool", "tool_call_id": "c1", "content": "2"}]
        client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=[TOOL])
    item = reconstruct_item(_records(exporter))
    assert item.input == "Double 1, please."  # the request that started this trace, not the history
    assert item.output == "Done: 2."  # the tool request is not an answer
    # The tool ran untraced; its result reached the model, so that is its recorded output.
    assert [(c.id, c.output, c.executed, c.span_id) for c in item.tool_calls] == [("c1", "2", True, None)]


def test_a_chat_session_splits_into_turns() -> None:
    model = ScriptedModel({"role": "assistant", "content": "Hi Ada."}, {"role": "assistant", "content": "Paris."})

    @valiqor_trace.trace_function("turn")
    def turn(client: openai.OpenAI, question: str) -> str:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
        return reply.choices[0].message.content

    with capture_spans() as exporter:
        client = model.client()
        with valiqor_trace.trace_workflow("session"):
            turn(client, "I am Ada.")
            turn(client, "Capital of France?")
    spans = _records(exporter)
    turns = reconstruct_turns(spans)
    assert [(t.input, t.output) for t in turns] == [("I am Ada.", "Hi Ada."), ("Capital of France?", "Paris.")]
    assert [t.metadata[TraceFacts.LLM_CALL_COUNT] for t in turns] == [1, 1]
    whole = reconstruct_item(spans)  # unsplit, the session has no input of its own: first request, last answer
    assert (whole.input, whole.output) == ("I am Ada.", "Paris.")


def _span(span_id: str, name: str, attributes: dict[str, Any], *, parent: str | None = None, start: int = 1,
          events: list[SpanEvent] | None = None, status: str = "UNSET", message: str | None = None) -> SpanRecord:
    return SpanRecord(trace_id="ab" * 16, span_id=span_id, parent_span_id=parent, name=name, start_time_unix_nano=start,
                      end_time_unix_nano=start + 10, attributes=attributes, events=events or [], status_code=status,
                      status_message=message)


def test_genai_per_message_span_events_and_1_26_prompt_attributes() -> None:
    events = [
        SpanEvent(name="gen_ai.system.message", time_unix_nano=1, attributes={"content": "Be brief."}),
        SpanEvent(name="gen_ai.user.message", time_unix_nano=2, attributes={"content": "Weather?"}),
        SpanEvent(name="gen_ai.choice", time_unix_nano=3, attributes={
            "body": json.dumps({"index": 0, "finish_reason": "stop", "message": {"content": "Sunny."}})}),
    ]
    by_events = reconstruct_item([_span("1" * 16, "chat m", {"gen_ai.operation.name": "chat"}, events=events)])
    assert (by_events.input, by_events.output) == ("Weather?", "Sunny.")
    assert by_events.metadata[TraceFacts.SYSTEM_PROMPT] == "Be brief."
    assert by_events.metadata[TraceFacts.FINISH_REASONS] == ["stop"]

    legacy = [SpanEvent(name="gen_ai.content.prompt", time_unix_nano=1,
                        attributes={"gen_ai.prompt": json.dumps([{"role": "user", "content": "Hi?"}])}),
              SpanEvent(name="gen_ai.content.completion", time_unix_nano=2,
                        attributes={"gen_ai.completion": json.dumps([{"role": "assistant", "content": "Hello."}])})]
    by_content_events = reconstruct_item([_span("2" * 16, "chat m", {"gen_ai.system": "openai"}, events=legacy)])
    assert (by_content_events.input, by_content_events.output) == ("Hi?", "Hello.")


def test_errors_are_listed_and_a_failed_tool_keeps_its_error_not_an_output() -> None:
    root = _span("a" * 16, "agent", {"openinference.span.kind": "AGENT", "input.value": "Go", "output.value": "Gone"})
    tool = _span("b" * 16, "search", {"openinference.span.kind": "TOOL", "tool.name": "search", "input.value": "{}"},
                 parent="a" * 16, start=2, status="ERROR", message="TimeoutError: upstream",
                 events=[SpanEvent(name="exception", time_unix_nano=3,
                                   attributes={"exception.type": "TimeoutError", "exception.message": "upstream"})])
    item = reconstruct_item([root, tool])
    assert [(c.name, c.output, c.error, c.executed) for c in item.tool_calls] == \
        [("search", None, "TimeoutError: upstream", True)]
    assert item.metadata[TraceFacts.ERROR_SPANS] == [{"span_id": "b" * 16, "name": "search", "kind": "tool",
                                                      "error_type": "TimeoutError",
                                                      "message": "TimeoutError: upstream"}]


def test_tree_survives_missing_parents_cycles_and_deep_nesting() -> None:
    orphan = _span("c" * 16, "late child", {}, parent="d" * 16)
    assert not build_tree([orphan]).has_root  # its parent has not arrived
    server = orphan.model_copy(update={"kind": "SERVER"})
    assert build_tree([server]).has_root  # entered from another service: the root as far as we can know
    loop = [_span("1" * 16, "a", {}, parent="2" * 16), _span("2" * 16, "b", {}, parent="1" * 16, start=2)]
    assert {s.span_id for s in build_tree(loop).walk()} == {"1" * 16, "2" * 16}
    chain = [_span(f"{i + 1:016x}", f"s{i}", {}, parent=f"{i:016x}" if i else None, start=i + 1) for i in range(5000)]
    tree = build_tree(chain)
    assert tree.depth[f"{5000:016x}"] == 4999


def test_a_model_call_seen_by_langchain_and_openai_instrumentors_counts_once() -> None:
    from langchain_openai import ChatOpenAI

    model = ScriptedModel({"role": "assistant", "content": "Bonjour."})
    with capture_spans() as exporter:
        llm = ChatOpenAI(model="gpt-4o-mini", api_key="sk-test-not-a-key", base_url="http://model.test/v1",
                         http_client=httpx2.Client(transport=httpx2.MockTransport(model)))
        llm.invoke("Say hello in French.")
    spans = _records(exporter)
    llm_spans = [s for s in spans if s.attributes.get("valiqor.span.kind") == "llm"]
    assert len(llm_spans) == 2  # LangChain's model span, and openai's inside it
    item = reconstruct_item(spans)
    facts = item.metadata
    assert (item.input, item.output) == ("Say hello in French.", "Bonjour.")
    assert facts[TraceFacts.LLM_CALL_COUNT] == 1 and facts[TraceFacts.FINISH_REASONS] == ["stop"]
    assert facts[TraceFacts.TOKEN_USAGE] == {"input_tokens": 5, "output_tokens": 2}
    [call] = facts[TraceFacts.LLM_CALLS]
    outer = next(s for s in llm_spans if s.parent_span_id not in {x.span_id for x in llm_spans})
    assert (call["span_id"], call["output"], call["tool_requests"]) == (outer.span_id, "Bonjour.", [])


def _oi(span_id: str, name: str, kind: str | None, *, parent: str | None = None, start: int, end: int,
        error: str | None = None, **attributes: Any) -> SpanRecord:
    """An OpenInference span as smolagents' instrumentor writes it (``input.value`` etc. given as keywords)."""
    attrs = {key.replace("__", "."): value for key, value in attributes.items()}
    if kind:
        attrs["openinference.span.kind"] = kind
    return SpanRecord(trace_id="cd" * 16, span_id=span_id, parent_span_id=parent, name=name, start_time_unix_nano=start,
                      end_time_unix_nano=end, attributes=attrs, status_code="ERROR" if error else "OK",
                      status_message=error)


def _asks(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """OpenInference attributes of an LLM span whose answer is one tool call."""
    prefix = "llm.output_messages.0.message."
    return {prefix + "role": "assistant", prefix + "tool_calls.0.tool_call.id": call_id,
            prefix + "tool_calls.0.tool_call.function.name": name,
            prefix + "tool_calls.0.tool_call.function.arguments": json.dumps(arguments)}


def test_an_agent_run_that_failed_before_answering_has_no_output_and_carries_its_error() -> None:
    overloaded = "AgentGenerationError: Error in generating model output: overloaded_error"
    log = "Execution logs:\n--- a/parser.py\n+++ b/parser.py\n+    strict = True"
    agent = _oi("a" * 16, "CodeAgent.run", "AGENT", start=0, end=100, error=overloaded,
                input__value=json.dumps({"task": "Make the parser strict."}))
    steps = [_oi("b" * 16, "Step 1", "CHAIN", parent="a" * 16, start=10, end=40, output__value=log),
             _oi("c" * 16, "LiteLLMModel.__call__", "LLM", parent="b" * 16, start=11, end=20,
                 output__value="I will patch parser.py."),
             _oi("d" * 16, "Step 2", "CHAIN", parent="a" * 16, start=50, end=90, error=overloaded),
             _oi("e" * 16, "LiteLLMModel.__call__", "LLM", parent="d" * 16, start=51, end=60,
                 error="InternalServerError: overloaded_error")]
    item = reconstruct_item([agent, *steps])
    assert item.input == "Make the parser strict."
    assert item.output == ""  # neither the step's log nor the model's last words: the run gave no answer
    assert item.metadata[TraceFacts.OUTPUT_ERROR] == {"span_id": "a" * 16, "name": "CodeAgent.run", "kind": "agent",
                                                       "error_type": None, "message": overloaded}
    assert item.metadata[TraceFacts.OUTPUT_SPAN_IDS] == []

    # An errored run that did record an answer keeps it.
    answered = agent.model_copy(update={"attributes": {**agent.attributes, "output.value": "Patched."}})
    item = reconstruct_item([answered, *steps])
    assert item.output == "Patched." and TraceFacts.OUTPUT_ERROR not in item.metadata
    # A failed first attempt does not hide the answer of the run that came after it.
    retry = _oi("f" * 16, "CodeAgent.run", "AGENT", start=200, end=300, output__value="Patched on retry.")
    item = reconstruct_item([agent, *steps, retry])
    assert item.output == "Patched on retry." and TraceFacts.OUTPUT_ERROR not in item.metadata


def test_tool_calls_are_in_execution_order_across_nested_agents() -> None:
    """smolagents: a code agent runs two managed agents, then calls final_answer in code. The managed agents'
    own final_answer requests are theirs: the outer final_answer span never joins one (it has its own
    arguments) and so never jumps back to when the first managed agent asked."""
    search = '{"type": "object", "properties": {"query": {"type": "string"}}}'
    answer = '{"type": "object", "properties": {"answer": {"type": "string"}}}'
    spans = [
        _oi("1" * 16, "CodeAgent.run", "AGENT", start=0, end=1000, input__value='{"task": "Who?"}', output__value="Ada"),
        _oi("2" * 16, "ToolCallingAgent.run", "AGENT", parent="1" * 16, start=20, end=100, output__value="A"),
        _oi("3" * 16, "LiteLLMModel.__call__", "LLM", parent="2" * 16, start=21, end=30,
            **_asks("call_a", "final_answer", {"answer": "A"})),
        _oi("4" * 16, "ToolCallingAgent.run", "AGENT", parent="1" * 16, start=110, end=400, output__value="B"),
        _oi("5" * 16, "LiteLLMModel.__call__", "LLM", parent="4" * 16, start=111, end=120,
            **_asks("call_b1", "web_search", {"query": "who"})),
        _oi("6" * 16, "SearchTool", "TOOL", parent="4" * 16, start=121, end=130, tool__name="web_search",
            tool__parameters=search, input__value='{"args": [], "kwargs": {"query": "who"}}', output__value="Ada"),
        _oi("7" * 16, "LiteLLMModel.__call__", "LLM", parent="4" * 16, start=131, end=140,
            **_asks("call_b2", "final_answer", {"answer": "B"})),
        _oi("8" * 16, "FinalAnswerTool", "TOOL", parent="1" * 16, start=510, end=520, tool__name="final_answer",
            tool__parameters=answer, input__value='{"args": ["Ada"], "sanitize_inputs_outputs": true, "kwargs": {}}'),
    ]
    item = reconstruct_item(spans)
    executed = [(c.span_id, c.name, c.arguments) for c in item.tool_calls if c.executed]
    assert executed == [("6" * 16, "web_search", {"query": "who"}), ("8" * 16, "final_answer", {"answer": "Ada"})]

    # Concurrent sub-agents: x asked first but its tool started later; what started first ran first.
    concurrent = [
        _oi("1" * 16, "team", "AGENT", start=0, end=100),
        _oi("2" * 16, "x", "AGENT", parent="1" * 16, start=1, end=90),
        _oi("3" * 16, "chat", "LLM", parent="2" * 16, start=2, end=10, **_asks("call_x", "lookup", {"q": "x"})),
        _oi("4" * 16, "lookup", "TOOL", parent="2" * 16, start=50, end=60, tool__name="lookup", tool_call__id="call_x"),
        _oi("5" * 16, "y", "AGENT", parent="1" * 16, start=1, end=90),
        _oi("6" * 16, "chat", "LLM", parent="5" * 16, start=3, end=20, **_asks("call_y", "lookup", {"q": "y"})),
        _oi("7" * 16, "lookup", "TOOL", parent="5" * 16, start=30, end=40, tool__name="lookup", tool_call__id="call_y"),
    ]
    assert [c.id for c in reconstruct_item(concurrent).tool_calls] == ["call_y", "call_x"]


def _managed_agent(*, agent_error: str | None = None, agent_output: str = "Report: the bridge opened in 1932.",
                   answer_in_last_call: bool = True) -> list[SpanRecord]:
    """A manager agent running a managed sub-agent that hands its result back through an answer tool request
    the framework consumes (no tool span, no tool-result message)."""
    answer = _asks("call_ret", "submit_report", {"report": "the bridge opened\n in 1932."})
    search = _asks("call_s", "lookup", {"q": "bridge"})
    first, last = (search, answer) if answer_in_last_call else (answer, search)
    return [
        _oi("1" * 16, "Manager.run", "AGENT", start=0, end=1000, input__value='{"task": "When?"}', output__value="1932"),
        _oi("2" * 16, "Worker.run", "AGENT", parent="1" * 16, start=10, end=500, error=agent_error,
            output__value=agent_output),
        _oi("3" * 16, "chat", "LLM", parent="2" * 16, start=11, end=20, **first),
        _oi("4" * 16, "lookup", "TOOL", parent="2" * 16, start=21, end=30, tool__name="lookup", tool_call__id="call_s",
            output__value="The bridge opened in 1932."),
        _oi("5" * 16, "chat", "LLM", parent="2" * 16, start=31, end=40, **last),
    ]


def test_an_answer_request_a_managed_agent_returned_is_not_an_unexecuted_tool_call() -> None:
    """The request in an agent's last model call, whose arguments its (successful) output contains, is the
    agent's return value: no ``unexecuted_tool_call``. Any other never-run request still is one."""
    from valiqor_trace.analyzer.fa.detectors.tools import check_unexecuted_tool_call
    from valiqor_trace.analyzer.fa.detectors.base import ItemView

    def unexecuted(spans: list[SpanRecord]) -> list[str]:
        item = reconstruct_item(spans)
        return [f.rationale for f in check_unexecuted_tool_call(ItemView(item, "agent")) or []]

    returned = reconstruct_item(_managed_agent())
    assert [(c.name, c.executed) for c in returned.tool_calls] == [("lookup", True)]
    assert unexecuted(_managed_agent()) == []
    assert len(unexecuted(_managed_agent(agent_error="AgentError: gave up"))) == 1  # the agent failed
    assert len(unexecuted(_managed_agent(agent_output="Report: unknown."))) == 1  # not what it returned
    assert len(unexecuted(_managed_agent(answer_in_last_call=False))) == 1  # more model calls followed


def _asks_genai(call_id: str, name: str, arguments: dict[str, Any]) -> str:
    return json.dumps([{"role": "assistant", "finish_reason": "stop",
                        "parts": [{"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}]}])


def _runs_genai(span_id: str, call_id: str, name: str, arguments: dict[str, Any], result: str, start: int) -> SpanRecord:
    return _span(span_id, f"execute_tool {name}", {
        "gen_ai.operation.name": "execute_tool", GEN_AI_TOOL_NAME: name, GEN_AI_TOOL_CALL_ID: call_id,
        "gen_ai.tool.call.arguments": json.dumps(arguments), GEN_AI_TOOL_CALL_RESULT: result},
        parent="a" * 16, start=start)


def test_made_up_call_ids_that_disagree_still_join_by_name_and_real_ones_keep_calls_apart() -> None:
    # Gemini sends no call ids: its instrumentation writes "get_weather_0", LlamaIndex's agent "get_weather".
    root = _span("a" * 16, "request", {}, start=0)
    asks = _span("1" * 16, "generate_content m", {"gen_ai.operation.name": "chat",
                                                  "gen_ai.output.messages": _asks_genai("get_weather_0", "get_weather",
                                                                                        {"city": "Paris"})},
                 parent="a" * 16, start=1)
    item = reconstruct_item([root, asks, _runs_genai("2" * 16, "get_weather", "get_weather", {"city": "Paris"},
                                                     "18°C", start=20)])
    assert [(c.id, c.name, c.output, c.executed) for c in item.tool_calls] == [
        ("get_weather_0", "get_weather", "18°C", True)]

    # Two calls of one tool with real ids: each execution joins its own request, whatever the order.
    both = json.dumps([{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": "call_A", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"type": "tool_call", "id": "call_B", "name": "get_weather", "arguments": {"city": "Rome"}}]}])
    asks_two = _span("1" * 16, "chat m", {"gen_ai.operation.name": "chat", "gen_ai.output.messages": both},
                     parent="a" * 16, start=1)
    item = reconstruct_item([root, asks_two,
                             _runs_genai("2" * 16, "call_B", "get_weather", {"city": "Rome"}, "25°C", start=20),
                             _runs_genai("3" * 16, "call_A", "get_weather", {"city": "Paris"}, "18°C", start=30)])
    assert [(c.id, c.arguments, c.output) for c in item.tool_calls] == [
        ("call_B", {"city": "Rome"}, "25°C"), ("call_A", {"city": "Paris"}, "18°C")]
