"""The taxonomy as users browse it: complete records, filters that mean what they say, clear errors."""

from __future__ import annotations

import pytest

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa import taxonomy
from valiqor_trace.analyzer.fa.detectors import REGISTRY

FIELDS = {"id", "name", "description", "scope", "applies_to", "detector_type", "default_impact", "default_risk",
          "bucket_id", "bucket_name"}


def test_taxonomy_covers_the_design_buckets_with_complete_subcategories() -> None:
    buckets = taxonomy.get_taxonomy()
    assert [b["id"] for b in buckets] == ["hallucination", "retrieval", "tool_use", "instruction_compliance",
                                         "generation", "safety_security"]
    design = {"entity_fabrication", "contradicts_source", "unsupported_claim", "numeric_mismatch", "empty_retrieval",
              "retrieval_error", "irrelevant_context", "missing_context", "context_ignored", "tool_error",
              "invalid_tool_arguments", "unknown_tool", "unexecuted_tool_call", "repeated_tool_calls",
              "tool_result_ignored", "step_limit_reached", "off_topic", "incomplete_answer", "unwarranted_refusal",
              "format_violation", "language_mismatch", "empty_output", "truncated_output", "llm_error",
              "degenerate_repetition", "prompt_injection", "pii_leak", "secret_leak", "system_prompt_leak",
              "harmful_content"}
    subs = [s for b in buckets for s in b["subcategories"]]
    assert design <= {s["id"] for s in subs}
    for sub in subs:
        assert FIELDS <= set(sub), sub["id"]
        assert sub["scope"] in ("rag", "agent", "agentic_rag", "generic_llm")
        assert sub["detector_type"] in ("deterministic", "llm_judge", "hybrid")
        assert 0 <= sub["default_impact"] <= 5 and 0 <= sub["default_risk"] <= 5


def test_every_rule_based_subcategory_has_a_detector_and_only_judge_ones_lack_one() -> None:
    covered = {s for d in REGISTRY for s in d.subcategories}
    for sub in taxonomy.get_subcategories():
        assert (sub["id"] in covered) == (sub["detector_type"] != "llm_judge"), sub["id"]


def test_filters_by_bucket_scope_and_detector_type() -> None:
    judge_only = taxonomy.get_subcategories(detector_type="llm_judge")
    assert {s["id"] for s in judge_only} == {"incomplete_answer", "harmful_content", "wrong_tool_selection"}
    rag_hallucination = taxonomy.get_subcategories(bucket_id="hallucination", scope="rag")
    assert "entity_fabrication" in {s["id"] for s in rag_hallucination}
    assert all(s["bucket_id"] == "hallucination" and "rag" in s["applies_to"] for s in rag_hallucination)
    generic = {s["id"] for s in taxonomy.get_subcategories(scope="generic_llm")}
    assert "tool_error" not in generic and "empty_retrieval" not in generic and "empty_output" in generic
    agentic = {s["id"] for s in taxonomy.get_subcategories(scope="agentic_rag")}
    assert {"tool_error", "empty_retrieval", "empty_output"} <= agentic


def test_bucket_details_count_the_subcategories() -> None:
    details = taxonomy.get_bucket_details("tool_use")
    assert details["subcategory_count"] == len(details["subcategories"]) > 5
    assert sum(details["detector_types"].values()) == details["subcategory_count"]


@pytest.mark.parametrize("call, bad", [
    (lambda: taxonomy.get_bucket_details("halucination"), "halucination"),
    (lambda: taxonomy.get_subcategories(bucket_id="nope"), "nope"),
    (lambda: taxonomy.get_subcategories(scope="chatbot"), "chatbot"),
    (lambda: taxonomy.get_subcategories(detector_type="regex"), "regex"),
    (lambda: taxonomy.subcategory("made_up"), "made_up"),
])
def test_unknown_ids_name_the_value_and_list_the_valid_ones(call, bad: str) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError) as excinfo:
        call()
    message = str(excinfo.value)
    assert repr(bad) in message and "valid" in message


def test_results_are_copies() -> None:
    first = taxonomy.get_taxonomy()
    first[0]["subcategories"][0]["name"] = "changed"
    assert taxonomy.get_taxonomy()[0]["subcategories"][0]["name"] != "changed"
