"""Trace mode end to end: the real openai SDK against the scripted model server on 127.0.0.1,
instrumented by valiqor-trace, rebuilt by valiqor_trace.analyzer.reconstruct, analyzed by the engine.

Every failing tag must point at the span where the failure happened.
"""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

import valiqor_trace
from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.store._exporter import span_record
from valiqor_trace.testing import capture_spans
from valiqor_trace.testing.model_server import ModelServer, Reply

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": False}}}


def _analyze(exporter) -> tuple[object, dict[str, object], dict[str, str]]:  # noqa: ANN001
    records = [span_record(span) for span in exporter.get_finished_spans()]
    item = reconstruct_item(records)
    analysis = engine.analyze_item(item, 0, engine.AnalysisOptions(), run_id="run_trace")
    llm_spans = {r.span_id: r.name for r in records if r.name.startswith("chat")}
    return analysis, {t.subcategory_id: t for t in analysis.tags}, llm_spans


def test_a_truncated_answer_points_at_its_chat_span() -> None:
    with capture_spans() as exporter, ModelServer([Reply("The three main causes were inflation, invasions and the",
                                                         finish_reason="length")]) as server:
        server.client().chat.completions.create(
            model="gpt-4o-mini", max_tokens=12,
            messages=[{"role": "user", "content": "Why did the Western Roman Empire fall? Give three causes."}])
        analysis, tags, llm_spans = _analyze(exporter)
    truncated = tags["truncated_output"]
    assert truncated.decision == "fail" and truncated.confidence >= 0.9
    assert {e.span_id for e in truncated.evidence_items} <= set(llm_spans) and truncated.evidence_items
    assert truncated.trace_id == analysis.tags[0].trace_id and len(truncated.trace_id) == 32


def test_a_rate_limited_call_is_an_llm_error_on_that_span() -> None:
    with capture_spans() as exporter, ModelServer([Reply.error(429, "Rate limit reached for gpt-4o-mini")]) as server:
        with pytest.raises(openai.RateLimitError):
            server.client().chat.completions.create(model="gpt-4o-mini",
                                                    messages=[{"role": "user", "content": "Hello there"}])
        _, tags, llm_spans = _analyze(exporter)
    error = tags["llm_error"]
    assert error.decision == "fail" and "rate limit" in error.judge_rationale
    assert [e.span_id for e in error.evidence_items] == list(llm_spans)


def test_a_malformed_tool_call_that_never_ran() -> None:
    reply = Reply.tool_call("get_weather", '{"city": 42, "units": "metric"}')
    with capture_spans() as exporter, ModelServer([reply]) as server:
        server.client().chat.completions.create(
            model="gpt-4o-mini", tools=[WEATHER],
            messages=[{"role": "user", "content": "What is the weather in Oslo right now?"}])
        analysis, tags, llm_spans = _analyze(exporter)
    assert analysis.feature_kind == "agent"
    invalid = tags["invalid_tool_arguments"]
    assert invalid.decision == "fail"
    assert "$.city: expected string, got integer" in invalid.judge_rationale
    assert "unexpected property 'units'" in invalid.judge_rationale
    assert tags["unexecuted_tool_call"].decision == "fail"
    for tag in (invalid, tags["unexecuted_tool_call"]):
        assert {e.span_id for e in tag.evidence_items if e.span_id} & set(llm_spans)


def test_an_instruction_in_the_system_message_is_quoted_from_its_chat_span() -> None:
    """ "Always answer in German" as the system message, an English answer: the language instruction fails,
    quoting the system prompt on the chat span that carried it."""
    answer = "Our store is open from 9 am to 8 pm on weekdays and closes early on Saturdays."
    with capture_spans() as exporter, ModelServer([Reply(answer)]) as server:
        server.client().chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": "You are the assistant of a garden centre. Always answer in German."},
            {"role": "user", "content": "When are you open during the week?"}])
        _, tags, llm_spans = _analyze(exporter)
    language = tags["language_mismatch"]
    assert language.decision == "fail" and '"Always answer in German."' in language.judge_rationale
    instruction = language.evidence_items[0]
    assert instruction.source == "system_prompt" and instruction.text == "Always answer in German."
    assert instruction.span_id in llm_spans and language.evidence_items[1].span_id in llm_spans


def test_a_trace_recorded_without_content_is_checked_for_span_level_failures_only() -> None:
    """With capture_content off nothing says the answer was empty: it was never recorded. A cut-off answer
    still shows in the finish reason, and everything that needed the text says why it did not run."""
    script = [Reply("The refund window is 30 days from delivery."),
              Reply("The three main causes were inflation, invasions and the", finish_reason="length")]
    analyses = []
    with capture_spans(capture_content=False) as exporter, ModelServer(script) as server:
        for question in ("How long is the refund window?", "Why did Rome fall? Give three causes."):
            exporter.clear()
            server.client().chat.completions.create(model="gpt-4o-mini",
                                                    messages=[{"role": "user", "content": question}])
            records = [span_record(span) for span in exporter.get_finished_spans()]
            item = reconstruct_item(records)
            assert (item.input, item.output, item.metadata["content_captured"]) == ("", "", False)
            analyses.append(engine.analyze_item(item, 0, engine.AnalysisOptions()))
    plain, truncated = analyses
    assert [t.subcategory_id for t in plain.tags if t.decision != "pass"] == []
    assert [t.subcategory_id for t in truncated.tags if t.decision != "pass"] == ["truncated_output"]
    skipped = {s.detector: s.reason for s in plain.detectors_skipped}
    assert "capture_content off" in skipped["empty_output"] and "capture_content off" in skipped["pii_scan"]
    assert "empty_output" not in plain.detectors_run and "truncated_output" in plain.detectors_run
    # Content categories were not checked, so they are not reported as passing.
    assert plain.security_flags == {} and "answer_relevance" not in plain.eval_metrics


def test_a_trace_with_content_says_so() -> None:
    with capture_spans() as exporter, ModelServer([Reply("Paris.")]) as server:
        server.client().chat.completions.create(model="gpt-4o-mini",
                                                messages=[{"role": "user", "content": "Capital of France?"}])
        item = reconstruct_item([span_record(span) for span in exporter.get_finished_spans()])
    assert (item.output, item.metadata["content_captured"]) == ("Paris.", True)


TRAIL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "trail"


@pytest.mark.skipif(not TRAIL.is_dir(), reason="shared/data/trail is not present")
def test_a_real_smolagents_trace_with_failing_tool_calls() -> None:
    """TRAIL a99faf78 (GAIA): page_down called six times with arguments it does not accept."""
    from valiqor_trace.analyzer.sources import read_trace_file

    spans = read_trace_file(TRAIL / "traces" / "a99faf782e8ad4d5f1ccdfcb7e143b9a.json").spans
    item = reconstruct_item(spans)
    tags = {t.subcategory_id: t for t in engine.analyze_item(item, 0, engine.AnalysisOptions()).tags}
    invalid = tags["invalid_tool_arguments"]
    failing_tool_spans = {s.span_id for s in spans if s.name == "PageDownTool" and s.status_code == "ERROR"}
    assert failing_tool_spans and failing_tool_spans <= {e.span_id for e in invalid.evidence_items}
    assert "unexpected keyword argument" in invalid.judge_rationale
    gold = json.loads((TRAIL / "annotations" / "a99faf782e8ad4d5f1ccdfcb7e143b9a.json").read_text())["errors"]
    assert any(e["category"] == "Formatting Errors" for e in gold)  # what the annotators called it
    assert all(any(e.span_id for e in t.evidence_items) for t in tags.values() if t.decision != "pass")


def test_an_agent_run_that_fails_before_answering_is_an_errored_run_not_a_log_read_as_its_answer() -> None:
    """The agent's step printed a patch log; then the provider was overloaded and the run raised. The user
    got no answer: FA says so and points at the failed call, instead of fact-checking the log as an answer."""
    log = "Execution logs:\n--- a/app/parser.py\n+++ b/app/parser.py\n@@ -12,2 +12,4 @@\n+    return Parser(strict=True)"

    @valiqor_trace.trace_function("Step 1")
    def step(client: openai.OpenAI, task: str) -> str:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": task}])
        return log

    script = [Reply("I will patch the parser."), Reply.error(529, "Overloaded", error_type="overloaded_error")]
    with capture_spans() as exporter, ModelServer(script) as server:
        client = server.client()
        with pytest.raises(openai.InternalServerError), valiqor_trace.trace_workflow("fix-issue") as run:
            run.set_input("Make the parser strict.")
            step(client, "Make the parser strict.")
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": log}])
        records = [span_record(span) for span in exporter.get_finished_spans()]
    item = reconstruct_item(records)
    assert item.output == ""  # not the step's log
    failed = item.metadata["output_error"]
    assert failed["span_id"] == run.span_id and "Overloaded" in failed["message"]

    tags = {t.subcategory_id: t for t in engine.analyze_item(item, 0, engine.AnalysisOptions()).tags}
    assert {sub for sub, t in tags.items() if t.decision != "pass"} == {"empty_output", "llm_error"}
    assert run.span_id in {e.span_id for e in tags["empty_output"].evidence_items}
    assert "'fix-issue' ended in error before answering" in tags["empty_output"].judge_rationale
    failed_call = next(r.span_id for r in records if r.name.startswith("chat") and r.is_error)
    assert [e.span_id for e in tags["llm_error"].evidence_items] == [failed_call]


class OrderServiceDown(ConnectionError):
    pass


@valiqor_trace.tool("get_order_status", description="Delivery status of an order")
def _get_order_status(order_id: str) -> dict[str, str]:
    raise OrderServiceDown(f"order service timed out looking up {order_id}")


ORDER_TOOL = {"type": "function", "function": {
    "name": "get_order_status", "description": "Delivery status of an order",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}}


def _order_bot(answer: str) -> tuple[object, dict[str, object], list[object]]:
    """A support bot's tool loop: the lookup raises (its span ends in error), the app tells the model, the
    model answers ``answer``."""
    question = "Where is my order A-48213?"
    script = [Reply.tool_call("get_order_status", {"order_id": "A-48213"}), Reply(answer)]
    with capture_spans() as exporter, ModelServer(script) as server:
        client = server.client()
        with valiqor_trace.trace_workflow("support") as run:
            run.set_input(question)
            messages: list[dict[str, object]] = [{"role": "user", "content": question}]
            message = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                     tools=[ORDER_TOOL]).choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            call = message.tool_calls[0]
            try:
                result = json.dumps(_get_order_status(**json.loads(call.function.arguments)))
            except OrderServiceDown as exc:
                result = json.dumps({"error": str(exc)})
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[ORDER_TOOL])
            run.set_output(final.choices[0].message.content or "")
        records = [span_record(span) for span in exporter.get_finished_spans()]
    analysis = engine.analyze_item(reconstruct_item(records), 0, engine.AnalysisOptions(), run_id="run_trace")
    return analysis, {t.subcategory_id: t for t in analysis.tags}, records


def test_an_answer_that_invents_the_result_of_a_failed_tool_span_alerts_on_both_spans() -> None:
    from valiqor_trace.analyzer.fa.summary import summarize

    analysis, tags, records = _order_bot("Your order A-48213 has been delivered.")
    ignored = tags["tool_failure_ignored"]
    assert ignored.decision == "fail" and summarize([analysis]).should_alert
    tool_span = next(r.span_id for r in records if r.name == "execute_tool get_order_status")
    answering = [r for r in records if r.name.startswith("chat")][-1].span_id  # the second chat call answered
    spans = {e.span_id for e in ignored.evidence_items}
    assert tool_span in spans and answering in spans


def test_an_honest_answer_after_a_failed_tool_span_does_not_alert() -> None:
    from valiqor_trace.analyzer.fa.summary import summarize

    analysis, tags, _ = _order_bot("I'm sorry, I couldn't reach our order system just now. Please try again soon.")
    assert tags["tool_failure_ignored"].decision == "pass" and tags["tool_error"].decision == "fail"
    assert not summarize([analysis]).should_alert
