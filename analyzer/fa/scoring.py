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

from analyzer.fa.models import DetectorType, EvidenceItem, FailureTag, Finding, ScoringBreakdown
from analyzer.fa.taxonomy import subcategory

IMPACT_WEIGHT = 0.6
RISK_WEIGHT = 0.4
MAX_EVIDENCE = 10
MAX_CONFIDENCE = 0.99
_RANK = {"fail": 2, "unsure": 1, "pass": 0}


def tag_id(run_id: str, item_index: int, subcategory_id: str) -> str:
    """A stable id for the verdict on one subcategory of one item of one run."""
    digest = hashlib.sha256(f"{run_id}\x1f{item_index}\x1f{subcategory_id}".encode()).hexdigest()
    return f"tag_{digest[:20]}"


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


def _breakdown(impact: float, risk: float, severity: float, confidence: float) -> ScoringBreakdown:
    return ScoringBreakdown(impact=impact, risk=risk, final_severity=severity, final_confidence=confidence,
                            weights={"impact": IMPACT_WEIGHT, "risk": RISK_WEIGHT})


def score(finding: Finding, *, item_index: int, run_id: str = "", trace_id: str | None = None,
          detector_type_used: DetectorType | None = None) -> FailureTag:
    """Turn a (merged) finding into a tag with severity, confidence and breakdown."""
    sub = subcategory(finding.subcategory_id)
    impact, risk = float(sub["default_impact"]), float(sub["default_risk"])
    if finding.decision == "pass":
        severity = 0.0
    else:
        base = IMPACT_WEIGHT * impact + RISK_WEIGHT * risk
        severity = round(min(5.0, max(0.0, base + finding.severity_adjustment)), 1)
    confidence = round(min(1.0, max(0.0, finding.confidence)), 3)
    return FailureTag(
        tag_id=tag_id(run_id, item_index, sub["id"]),
        bucket_id=sub["bucket_id"],
        bucket_name=sub["bucket_name"],
        subcategory_id=sub["id"],
        subcategory_name=sub["name"],
        decision=finding.decision,
        severity=severity,
        confidence=confidence,
        detector_type_used=detector_type_used or finding.detector_type,
        judge_rationale=finding.rationale,
        scoring_breakdown=_breakdown(impact, risk, severity, confidence),
        evidence_items=list(finding.evidence[:MAX_EVIDENCE]),
        item_index=item_index,
        trace_id=trace_id,
        detector=finding.detector,
    )


def pass_finding(subcategory_id: str, confidence: float, detector: str,
                 detector_type: DetectorType = "deterministic") -> Finding:
    """The finding behind a pass tag: the subcategory was checked and nothing was found."""
    return Finding(subcategory_id=subcategory_id, decision="pass", confidence=confidence,
                   rationale="Checked; no sign of this failure.", detector=detector, detector_type=detector_type)
