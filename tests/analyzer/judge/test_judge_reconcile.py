"""Judge vs deterministic detector: agreement, confirm/clear, overrule, and disagreement -> human review."""

from __future__ import annotations

import pytest

from valiqor_trace.analyzer.fa.models import EvidenceItem, Finding
from valiqor_trace.analyzer.fa.reconcile import reconcile
from valiqor_trace.analyzer.fa.scoring import score
from valiqor_trace.testing import JudgeServer
from tests.analyzer.judge.judge_helpers import RAG_ITEM, judge_tags


def _f(decision: str, confidence: float, detector: str = "entity_grounding", kind: str = "deterministic") -> Finding:
    return Finding(subcategory_id="entity_fabrication", decision=decision, confidence=confidence,
                   rationale=f"{detector} says {decision}", detector=detector, detector_type=kind,
                   evidence=[EvidenceItem(source="output", text=f"{detector} quote")])


def _j(decision: str, confidence: float) -> Finding:
    return _f(decision, confidence, "llm_judge", "llm_judge")


@pytest.mark.parametrize(("judge", "det", "decision", "confidence", "says", "weights"), [
    (_j("fail", 0.8), _f("fail", 0.5), "fail", 0.9, "agrees with entity_grounding", {"llm_judge": 0.615}),
    (_j("pass", 0.9), _f("unsure", 0.45), "pass", 0.9, "clears the finding of entity_grounding", {"llm_judge": 1.0}),
    (_j("fail", 0.7), _f("unsure", 0.45), "fail", 0.7, "confirms the finding", {"llm_judge": 1.0}),
    (_j("pass", 0.9), _f("fail", 0.7), "pass", 0.9, "overrules entity_grounding", {"llm_judge": 1.0}),
    (_j("fail", 0.3), _f("pass", 0.6), "pass", 0.6, "The judge disagreed", {"deterministic": 1.0}),
    (_j("fail", 0.5), _f("pass", 0.6), "unsure", 0.6, "a person should decide", {"llm_judge": 0.455}),
    (_j("fail", 0.8), None, "fail", 0.8, "llm_judge says fail", {"llm_judge": 1.0}),
])
def test_reconcile_rules(judge: Finding, det: Finding | None, decision: str, confidence: float, says: str,
                         weights: dict[str, float]) -> None:
    merged, used, decided_by = reconcile(judge, det)
    assert (merged.decision, merged.confidence) == (decision, confidence)
    assert says in merged.rationale and used == ("llm_judge" if det is None else "hybrid")
    assert {k: decided_by[k] for k in weights} == weights and sum(decided_by.values()) == pytest.approx(1.0)
    if decision != "pass":
        assert merged.evidence  # a fail/unsure tag always points somewhere


def test_a_close_disagreement_asks_for_a_person(make_client) -> None:
    with JudgeServer(model="judge-model") as server:
        server.decisions["entity_fabrication"] = ("fail", 0.5)  # the rules pass it (0.6): too close to call
        client = make_client(judge_base_url=server.base_url, openai_api_key=None)
        result = client.failure_analysis.run(dataset=[RAG_ITEM])
    tag = judge_tags(result)[(0, "entity_fabrication")]
    assert tag.decision == "unsure" and tag.detector_type_used == "hybrid"
    assert "disagree" in tag.judge_rationale and tag.scoring_breakdown.weights["llm_judge"] < 1.0
    assert tag.evidence_items and result.summary.needs_human_review


def test_a_judge_that_confirms_weak_evidence_restores_the_full_severity() -> None:
    weak = _f("fail", 0.7).model_copy(update={"severity_adjustment": -1.0})  # a lone capitalised word
    assert score(weak, item_index=0).severity == 3.0
    merged, _, _ = reconcile(_j("fail", 0.8), weak)
    assert score(merged, item_index=0).severity == 4.0
