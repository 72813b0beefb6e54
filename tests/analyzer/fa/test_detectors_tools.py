"""Tool-use detectors on agent items (dataset and trace form)."""

from __future__ import annotations

from fa_helpers import make_item, only, trace_item, view_of

from valiqor_trace.analyzer.fa.detectors import agent, steps, tools
from valiqor_trace.analyzer.models import TraceFacts

WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                                "unit": {"type": "string", "enum": ["c", "f"]}},
                               "required": ["city"], "additionalProperties": False}}


def test_tool_errors_from_status_and_from_error_shaped_output() -> None:
    item = make_item("Book it", "Done", tool_calls=[
        {"name": "book", "arguments": {"id": 1}, "error": "TimeoutError: upstream timed out"},
        {"name": "pay", "arguments": {}, "output": "Error: gift card balance is not enough"},
        {"name": "lookup", "arguments": {}, "output": '{"status": "error", "detail": "no such user"}'},
        {"name": "search", "arguments": {}, "output": "The error rate of the survey was 3%."},
    ])
    found = only(tools.check_tool_error(view_of(item)), "tool_error")
    assert [f.evidence[0].index for f in found] == [0, 1, 2]
    assert found[0].confidence > found[1].confidence  # a raised exception is surer than error-shaped text


def test_a_rejected_argument_is_reported_once_as_invalid_arguments() -> None:
    call = {"name": "page_down", "arguments": {"page_down": ""},
            "error": "TypeError: PageDownTool.forward() got an unexpected keyword argument 'page_down'"}
    view = view_of(make_item("scroll", "", tool_calls=[call]))
    assert tools.check_tool_error(view) == []
    assert only(tools.check_invalid_tool_arguments(view), "invalid_tool_arguments")


def test_invalid_arguments_not_json_or_against_the_declared_schema() -> None:
    item = trace_item("Weather in Paris?", "", tool_calls=[
        {"id": "c1", "name": "get_weather", "arguments": '{"city": "Paris", "unit": "c"', "executed": False},
        {"id": "c2", "name": "get_weather", "arguments": {"city": "Paris", "unit": "kelvin"}, "span_id": "5" * 16},
        {"id": "c3", "name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}, "span_id": "6" * 16},
    ], **{TraceFacts.TOOL_DEFINITIONS: [WEATHER_TOOL],
          TraceFacts.LLM_CALLS: [{"span_id": "7" * 16, "tool_call_ids": ["c1", "c2"], "output": ""}]})
    found = only(tools.check_invalid_tool_arguments(view_of(item)), "invalid_tool_arguments")
    assert [f.evidence[0].index for f in found] == [0, 1]
    assert "not valid JSON" in found[0].rationale and "'kelvin' is not one of" in found[1].rationale
    # trace mode: the LLM call that asked for the bad call is in the evidence too
    assert {e.span_id for e in found[1].evidence} == {"5" * 16, "7" * 16}
    assert found[0].evidence[0].span_id == "7" * 16  # never executed: the request is all there is


def test_arguments_with_an_integer_python_cannot_read_are_reported_not_crashed_on() -> None:
    # json.loads raises a plain ValueError (no .msg/.pos) for an integer over sys.get_int_max_str_digits()
    huge = "1" * 5000
    item = make_item("Book room 7", "Booked.", tool_calls=[
        {"name": "book", "arguments": '{"room": %s}' % huge, "output": "ok"}])
    found = only(tools.check_invalid_tool_arguments(view_of(item)), "invalid_tool_arguments")
    assert len(found) == 1 and "not readable as JSON" in found[0].rationale and "digits" in found[0].rationale


def test_unknown_and_unexecuted_tools() -> None:
    item = trace_item("Weather?", "", tool_calls=[
        {"id": "c1", "name": "get_wether", "arguments": {"city": "Oslo"}, "span_id": "8" * 16},
        {"id": "c2", "name": "get_weather", "arguments": {"city": "Oslo"}, "executed": False}],
        **{TraceFacts.TOOL_DEFINITIONS: [WEATHER_TOOL]})
    unknown = only(tools.check_unknown_tool(view_of(item)), "unknown_tool")
    assert len(unknown) == 1 and "'get_wether'" in unknown[0].rationale and "get_weather" in unknown[0].rationale
    unexecuted = only(tools.check_unexecuted_tool_call(view_of(item)), "unexecuted_tool_call")
    assert [f.evidence[0].index for f in unexecuted] == [1]
    # without definitions, nothing is "unknown"
    assert tools.check_unknown_tool(view_of(make_item("q", "a", tool_calls=[{"name": "x"}]))) is None


def test_loops_blind_retries_and_distinct_calls() -> None:
    loop = [{"name": "search", "arguments": {"q": "vogue cover"}, "output": "..."} for _ in range(4)]
    assert only(agent.check_repeated_tool_calls(view_of(make_item("q", "a", tool_calls=loop))),
                "repeated_tool_calls")[0].decision == "fail"
    retry = [{"name": "pay", "arguments": '{"amount": 5}', "error": "ValueError: declined"},
             {"name": "pay", "arguments": {"amount": 5}, "output": "ok"}]  # same arguments, string vs dict
    assert only(agent.check_repeated_tool_calls(view_of(make_item("q", "a", tool_calls=retry))),
                "repeated_tool_calls")[0].decision == "fail"
    distinct = [{"name": "search", "arguments": {"q": f"page {i}"}, "output": "..."} for i in range(4)]
    assert agent.check_repeated_tool_calls(view_of(make_item("q", "a", tool_calls=distinct))) == []


def test_step_limit_in_output_or_errors() -> None:
    item = make_item("q", "Agent stopped due to iteration limit or time limit.", tool_calls=[{"name": "x"}])
    assert only(agent.check_step_limit(view_of(item)), "step_limit_reached")
    errors = [{"span_id": "9" * 16, "name": "LangGraph", "kind": "chain", "error_type": "GraphRecursionError",
               "message": "Recursion limit of 25 reached without hitting a stop condition."}]
    found = only(agent.check_step_limit(view_of(trace_item("q", "", **{TraceFacts.ERROR_SPANS: errors}))),
                 "step_limit_reached")
    assert found[0].evidence[0].span_id == "9" * 16
    assert agent.check_step_limit(view_of(make_item("q", "All done in 3 steps.", tool_calls=[{"name": "x"}]))) == []


def test_skipped_tool_use_needs_offered_tools_and_facts_from_nowhere() -> None:
    definitions = {TraceFacts.TOOL_DEFINITIONS: [WEATHER_TOOL, {"name": "final_answer"}]}
    answered = trace_item("What will the weather be in Oslo tomorrow?", "It will be 14 degrees and sunny.",
                          tool_calls=[{"name": "final_answer", "arguments": {"answer": "14"}}], **definitions)
    assert only(agent.check_skipped_tool_use(view_of(answered)), "skipped_tool_use")
    used = trace_item("What will the weather be in Oslo tomorrow?", "It will be 14 degrees.",
                      tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}, "output": "14C sunny"}],
                      **definitions)
    assert agent.check_skipped_tool_use(view_of(used)) == []
    restated = trace_item("Say hello to Oslo", "Hello Oslo", **definitions)
    assert agent.check_skipped_tool_use(view_of(restated)) == []
    assert agent.check_skipped_tool_use(view_of(make_item("q", "a", tool_calls=[{"name": "x"}]))) is None


def test_tool_result_ignored_is_a_soft_signal() -> None:
    calls = [{"name": "lookup", "arguments": {}, "output": "Order 8812 shipped on 2024-03-02 via DHL express."}]
    ignored = make_item("Where is my order?", "Our company values customer happiness above everything else and we "
                        "strive to deliver wonderful experiences every single day.", tool_calls=calls)
    assert only(agent.check_tool_result_ignored(view_of(ignored)), "tool_result_ignored")[0].decision == "unsure"
    used = make_item("Where is my order?", "Your order 8812 shipped on March 2 via DHL express and should arrive "
                     "within two days at the latest.", tool_calls=calls)
    assert agent.check_tool_result_ignored(view_of(used)) == []


def test_failed_agent_steps_point_at_the_llm_call_that_wrote_them() -> None:
    errors = [{"span_id": "a" * 16, "name": "Step 3", "kind": "chain", "error_type": "AgentParsingError",
               "message": "Error in code parsing: regex pattern ```(?:py|python)?\\n(.*?)\\n``` was not found"},
              {"span_id": "b" * 16, "name": "Step 4", "kind": "chain", "error_type": "AgentExecutionError",
               "message": "Code execution failed at line 'import numpy' due to: InterpreterError: Import not allowed"}]
    calls = [{"span_id": "c" * 16, "parent_span_id": "a" * 16, "output": "Thought: I will answer"},
             {"span_id": "d" * 16, "parent_span_id": "b" * 16, "output": "Code: import numpy"}]
    item = trace_item("task", "answer", tool_calls=[{"name": "final_answer"}],
                      **{TraceFacts.ERROR_SPANS: errors, TraceFacts.LLM_CALLS: calls})
    found = steps.check_step_errors(view_of(item))
    assert [(f.subcategory_id, [e.span_id for e in f.evidence]) for f in found] == [
        ("format_violation", ["a" * 16, "c" * 16]), ("tool_error", ["b" * 16, "d" * 16])]


def test_skipped_tool_use_points_at_the_call_that_wrote_the_answer_tool_call_in_code() -> None:
    """A code agent hands its answer back by calling its answer tool in code, whatever the tool is named;
    the evidence is that call, not a later one that merely repeats the answer."""
    from valiqor_trace.analyzer.fa.detectors.agent import check_skipped_tool_use
    from valiqor_trace.analyzer.fa.detectors.base import ItemView
    from valiqor_trace.analyzer.models import FAItem, TraceFacts

    calls = [{"span_id": "1" * 16, "output": 'Thought: I know this.\nCode:\n```py\nsubmit_answer("Lyon 1897")\n```'},
             {"span_id": "2" * 16, "output": "Summary for the user: Lyon 1897."}]
    item = FAItem(input="Where and when was the first cinema screening?", output="Lyon 1897",
                  metadata={TraceFacts.SPAN_COUNT: 4, TraceFacts.LLM_CALLS: calls,
                            TraceFacts.SYSTEM_PROMPT: "You have access to these tools: web_search, submit_answer."})
    (finding,) = check_skipped_tool_use(ItemView(item, "agent")) or []
    assert finding.evidence[0].span_id == "1" * 16
