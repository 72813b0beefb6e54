"""Failure Analysis result types (the seed's field names), shared by the engine, run store and client."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["pass", "fail", "unsure"]
DetectorType = Literal["deterministic", "llm_judge", "hybrid"]
FeatureKind = Literal["rag", "agent", "agentic_rag", "generic_llm"]
FEATURE_KINDS: tuple[str, ...] = ("rag", "agent", "agentic_rag", "generic_llm")


class EvidenceItem(BaseModel):
    """Where a finding shows: a quote and/or the span it came from."""

    model_config = ConfigDict(extra="allow")

    source: str  # output | input | context | tool_call | tool_output | span | system_prompt
    text: str | None = None  # the quoted passage
    span_id: str | None = None  # trace mode: the span that carries it
    index: int | None = None  # context or tool-call position, when source is context/tool_*
    start: int | None = None  # character offsets in the source text, when known
    end: int | None = None
    note: str | None = None


class Finding(BaseModel):
    """What one detector concluded about one subcategory of one item (before scoring)."""

    subcategory_id: str
    decision: Decision
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str
    evidence: list[EvidenceItem] = Field(default_factory=list)
    detector: str
    detector_type: DetectorType = "deterministic"
    severity_adjustment: float = 0.0  # detector's reason to move severity from the taxonomy default (-2..+2)


class ScoringBreakdown(BaseModel):
    impact: float
    risk: float
    final_severity: float
    final_confidence: float
    weights: dict[str, float]


class FailureTag(BaseModel):
    """One scored verdict on one subcategory of one item."""

    tag_id: str
    bucket_id: str
    bucket_name: str
    subcategory_id: str
    subcategory_name: str
    decision: Decision
    severity: float = Field(ge=0.0, le=5.0)
    confidence: float = Field(ge=0.0, le=1.0)
    detector_type_used: DetectorType
    judge_rationale: str | None = None
    scoring_breakdown: ScoringBreakdown
    evidence_items: list[EvidenceItem] = Field(default_factory=list)
    item_index: int
    trace_id: str | None = None
    detector: str | None = None

    def __repr__(self) -> str:
        return (f"<FailureTag item {self.item_index} {self.decision} {self.subcategory_id} "
                f"severity {self.severity:.1f} confidence {self.confidence:.2f}, {len(self.evidence_items)} evidence>")

    __str__ = __repr__


class SkippedDetector(BaseModel):
    detector: str
    reason: str


class ItemAnalysis(BaseModel):
    """Everything the engine found for one item."""

    item_index: int
    feature_kind: str
    tags: list[FailureTag] = Field(default_factory=list)
    eval_metrics: dict[str, float] = Field(default_factory=dict)
    security_flags: dict[str, str] = Field(default_factory=dict)
    detectors_run: list[str] = Field(default_factory=list)
    detectors_skipped: list[SkippedDetector] = Field(default_factory=list)
    tokens_used: int = 0


class RunSummary(BaseModel):
    """``result.summary`` — field names exactly as the seed guide lists them."""

    total_items: int
    items_with_failures: int
    items_all_passed: int
    total_failures_detected: int
    total_passes: int
    total_uncertain: int
    overall_severity: float
    overall_confidence: float
    primary_failure: str | None
    primary_failure_name: str | None
    buckets_affected: list[str]
    should_alert: bool
    should_gate_ci: bool
    needs_human_review: bool


class Thresholds(BaseModel):
    """When a run alerts, gates CI, or asks for a person (documented in the README)."""

    alert_severity: float = 4.0  # any failing tag at or above this severity (with enough confidence) alerts
    alert_confidence: float = 0.7
    gate_severity: float = 3.0  # any failing tag at or above this severity (with enough confidence) gates CI
    gate_confidence: float = 0.6
    review_confidence_low: float = 0.4  # unsure tags, or failing tags below this confidence, need review
    review_confidence_high: float = 0.6

    model_config = ConfigDict(extra="forbid")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()
