"""Generation detectors: empty, truncated, failed and degenerate output."""

from __future__ import annotations

from fa_helpers import make_item, only, trace_item, view_of

from valiqor_trace.analyzer.fa.detectors import generation
from valiqor_trace.analyzer.models import TraceFacts


def test_empty_output_fails_and_real_text_passes() -> None:
    assert only(generation.check_empty_output(view_of(make_item("Hi?", "  ...  "))), "empty_output")[0].decision == "fail"
    assert generation.check_empty_output(view_of(make_item("Hi?", "Hello! How can I help?"))) == []


def test_finish_reason_length_points_at_the_truncated_call() -> None:
    calls = [{"span_id": "1111111111111111", "finish_reasons": ["tool_calls"], "output": ""},
             {"span_id": "2222222222222222", "finish_reasons": ["length"], "output": "The three causes are: first, the"}]
    item = trace_item("Why did Rome fall?", "The three causes are: first, the", output_span="2222222222222222",
                      **{TraceFacts.FINISH_REASONS: ["tool_calls", "length"], TraceFacts.LLM_CALLS: calls})
    found = only(generation.check_truncated_output(view_of(item)), "truncated_output")
    assert found[0].decision == "fail" and found[0].confidence >= 0.9
    assert {e.span_id for e in found[0].evidence} == {"2222222222222222"}


def test_an_intermediate_truncation_is_less_severe() -> None:
    item = trace_item("q", "A complete final answer.", **{TraceFacts.FINISH_REASONS: ["length", "stop"]})
    found = only(generation.check_truncated_output(view_of(item)), "truncated_output")[0]
    assert found.decision == "fail" and found.severity_adjustment < 0


def test_truncation_shape_without_finish_reasons() -> None:
    assert only(generation.check_truncated_output(view_of(make_item("q", '{"items": [1, 2, 3'))),
                "truncated_output")[0].decision == "unsure"
    assert only(generation.check_truncated_output(view_of(make_item("q", "Run:\n```python\nprint(1)\n"))),
                "truncated_output")
    assert generation.check_truncated_output(view_of(make_item("q", '{"items": [1, 2, 3]}'))) == []
    assert generation.check_truncated_output(view_of(make_item("q", "Done.\n```python\nprint(1)\n```"))) == []


def test_llm_error_spans_carry_the_kind_of_failure() -> None:
    errors = [{"span_id": "3333333333333333", "name": "chat gpt-4o", "kind": "llm", "error_type": "RateLimitError",
               "message": "Error code: 429 - rate limit reached"},
              {"span_id": "4444444444444444", "name": "execute_tool search", "kind": "tool", "error_type": "ValueError",
               "message": "bad"}]
    found = only(generation.check_llm_error(view_of(trace_item("q", "", **{TraceFacts.ERROR_SPANS: errors}))),
                 "llm_error")
    assert len(found) == 1 and "rate limit" in found[0].rationale
    assert found[0].evidence[0].span_id == "3333333333333333"
    assert generation.check_llm_error(view_of(trace_item("q", "fine"))) == []


def test_content_filter_is_an_llm_error() -> None:
    item = trace_item("q", "", **{TraceFacts.FINISH_REASONS: ["content_filter"]})
    assert "content filter" in only(generation.check_llm_error(view_of(item)), "llm_error")[0].rationale


def test_degenerate_repetition() -> None:
    loop = "I am sorry for the confusion. " * 6
    assert only(generation.check_degenerate_repetition(view_of(make_item("q", loop))), "degenerate_repetition")
    stutter = "The answer is " + "very " * 12 + "simple."
    assert only(generation.check_degenerate_repetition(view_of(make_item("q", stutter))), "degenerate_repetition")
    normal = ("Rome fell for many reasons. Economic troubles weakened the army, while political instability "
              "made it hard to respond to invasions. The split into eastern and western halves also left the west "
              "exposed, and the sack of 410 was a turning point that historians still debate today.")
    assert generation.check_degenerate_repetition(view_of(make_item("q", normal))) == []
