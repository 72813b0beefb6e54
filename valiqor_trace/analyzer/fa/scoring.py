"""Findings + taxonomy defaults -> scored :class:`FailureTag`.

- **Severity** (0-5) is how bad the failure is *if true*:
  ``0.6 * impact + 0.4 * risk`` from the subcategory's defaults, plus the detector's
  ``severity_adjustment`` (-2..+2, e.g. a truncated intermediate step is less severe than a
  truncated answer), clamped to 0-5. Unsure tags keep the severity they would have, so a
  reviewer sees what is at stake; pass tags have severity 0.
- **Confidence** (0-1) is how sure the verdict is. Several findings on the same
  subcategory of one item are independent evidence and combine by noisy-OR:
  ``1 - prod(1 - c)`` (capped at 0.99).
- **Decision**: ``fail`` if any finding fails, else ``unsure`` if any is unsure, else ``pass``.
- **Tag ids** are deterministic: the same run, item and subcategory always give the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from valiqor_trace.analyzer.fa.models import DetectorType, EvidenceItem, FailureTag, Finding, ScoringBreakdown
from valiqor_trace.analyzer.fa.taxonomy import subcategory

IMPACT_WEIGHT = 0.6
RISK_WEIGHT = 0.4
MAX_EVIDENCE = 24  # enough for a loop of a dozen failing calls (tool span + requesting LLM span each)
MAX_CONFIDENCE = 0.99
_RANK = {"fail": 2, "unsure": 1, "pass": 0}


def tag_id(run_id: str, item_index: int, subcategory_id: str) -> str:
    """A stable id for the verdict on one subcategory of one item of one run."""
    return "tag_" + hashlib.sha256(f"{run_id}\x1f{item_index}\x1f{subcategory_id}".encode()).hexdigest()[:20]


def merge_findings(findings: Sequence[Finding]) -> Finding:
    """Combine findings about one subcategory of one item into one (see module docstring)."""
    if not findings:
        raise ValueError("merge_findings needs at least one finding")
    if len(findings) == 1:
        return findings[0]
    top = max(_RANK[f.decision] for f in findings)
    chosen = [f for f in findings if _RANK[f.decision] == top]
    miss = 1.0
    for f in chosen:
        miss *= 1.0 - f.confidence
    evidence: list[EvidenceItem] = [e for f in chosen for e in f.evidence]
    types = {f.detector_type for f in chosen}
    return Finding(
        subcategory_id=chosen[0].subcategory_id,
        decision=chosen[0].decision,
        confidence=round(min(MAX_CONFIDENCE, 1.0 - miss), 3),
        rationale=" ".join(dict.fromkeys(f.rationale for f in chosen)),
        evidence=evidence[:MAX_EVIDENCE],
        detector="+".join(dict.fromkeys(f.detector for f in chosen)),
        detector_type=types.pop() if len(types) == 1 else "hybrid",
        severity_adjustment=max(f.severity_adjustment for f in chosen),
    )


@lru_cache(maxsize=4096)
def _breakdown(impact: float, risk: float, severity: float, confidence: float) -> ScoringBreakdown:
    """Shared per distinct score (treat as immutable): most tags are pass tags with the same few scores."""
    return ScoringBreakdown.model_construct(impact=impact, risk=risk, final_severity=severity,
                                            final_confidence=confidence,
                                            weights={"impact": IMPACT_WEIGHT, "risk": RISK_WEIGHT})


def _built(values: dict[str, Any]) -> FailureTag:
    """A FailureTag from values that are valid by construction, without re-validating them.

    Large runs create hundreds of thousands of tags (most of them pass tags); validation and even
    ``model_construct`` dominate the cost. This sets exactly what ``model_construct`` sets when
    every field is given; a test checks the result equals a validated tag.
    """
    tag = FailureTag.__new__(FailureTag)
    object.__setattr__(tag, "__dict__", values)
    # pydantic's own slots, set through their descriptors (a third faster than ``object.__setattr__``); every
    # field is given, so the fields set is a copy of the full one (copying a set beats building one from the keys)
    _set_fields_set(tag, _ALL_FIELDS.copy())
    _set_extra(tag, None)
    _set_private(tag, None)
    return tag


_ALL_FIELDS = set(FailureTag.model_fields)
_set_fields_set, _set_extra, _set_private = (BaseModel.__dict__[slot].__set__ for slot in (
    "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"))


def _tag(sub: dict[str, Any], decision: str, severity: float, confidence: float, detector_type: str,
         rationale: str | None, evidence: list[EvidenceItem], item_index: int, run_id: str, trace_id: str | None,
         detector: str | None) -> FailureTag:
    impact, risk = float(sub["default_impact"]), float(sub["default_risk"])
    return _built({
        "tag_id": tag_id(run_id, item_index, sub["id"]),
        "bucket_id": sub["bucket_id"],
        "bucket_name": sub["bucket_name"],
        "subcategory_id": sub["id"],
        "subcategory_name": sub["name"],
        "decision": decision,
        "severity": severity,
        "confidence": confidence,
        "detector_type_used": detector_type,
        "judge_rationale": rationale,
        "scoring_breakdown": _breakdown(impact, risk, severity, confidence),
        "evidence_items": evidence,
        "item_index": item_index,
        "trace_id": trace_id,
        "detector": detector,
    })


def severity_of(sub: dict[str, Any], adjustment: float = 0.0) -> float:
    """``0.6 * impact + 0.4 * risk + adjustment``, clamped to 0-5, one decimal."""
    base = IMPACT_WEIGHT * float(sub["default_impact"]) + RISK_WEIGHT * float(sub["default_risk"])
    return round(min(5.0, max(0.0, base + adjustment)), 1)


def score(finding: Finding, *, item_index: int, run_id: str = "", trace_id: str | None = None,
          detector_type_used: DetectorType | None = None, decided_by: dict[str, float] | None = None) -> FailureTag:
    """Turn a (merged) finding into a tag with severity, confidence and breakdown.

    ``decided_by`` (judge tags): how much the judge and the deterministic detector decided the tag
    (see :mod:`valiqor_trace.analyzer.fa.reconcile`); added to ``scoring_breakdown.weights``.
    """
    sub = subcategory(finding.subcategory_id)
    severity = 0.0 if finding.decision == "pass" else severity_of(sub, finding.severity_adjustment)
    confidence = round(min(1.0, max(0.0, finding.confidence)), 3)
    tag = _tag(sub, finding.decision, severity, confidence, detector_type_used or finding.detector_type,
               finding.rationale, list(finding.evidence[:MAX_EVIDENCE]), item_index, run_id, trace_id,
               finding.detector)
    if decided_by:
        shared = tag.scoring_breakdown
        tag.__dict__["scoring_breakdown"] = ScoringBreakdown.model_construct(
            impact=shared.impact, risk=shared.risk, final_severity=shared.final_severity,
            final_confidence=shared.final_confidence, weights={**shared.weights, **decided_by})
    return tag


PASS_RATIONALE = "Checked; no sign of this failure."


def pass_tag(subcategory_id: str, confidence: float, detector: str, *, item_index: int, run_id: str = "",
             trace_id: str | None = None, detector_type: DetectorType = "deterministic") -> FailureTag:
    """A pass tag: the subcategory was checked and nothing was found (severity 0)."""
    values = _pass_template(subcategory_id, confidence, detector, detector_type).copy()  # keeps the field order
    values["tag_id"] = tag_id(run_id, item_index, subcategory_id)
    values["evidence_items"] = []
    values["item_index"] = item_index
    values["trace_id"] = trace_id
    return _built(values)


@lru_cache(maxsize=4096)
def _pass_template(subcategory_id: str, confidence: float, detector: str, detector_type: str) -> dict[str, Any]:
    """The item-independent values of a pass tag (most tags of a run): built and checked once, then copied."""
    return dict(_tag(subcategory(subcategory_id), "pass", 0.0, round(confidence, 3), detector_type, PASS_RATIONALE,
                     [], 0, "", None, detector).__dict__)


def pass_finding(subcategory_id: str, confidence: float, detector: str,
                 detector_type: DetectorType = "deterministic") -> Finding:
    """The finding behind a pass tag, for callers that merge findings (the engine uses :func:`pass_tag`)."""
    return Finding(subcategory_id=subcategory_id, decision="pass", confidence=confidence, rationale=PASS_RATIONALE,
                   detector=detector, detector_type=detector_type)
