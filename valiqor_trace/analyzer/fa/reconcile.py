"""Merging the judge's verdict with the deterministic outcome of a ``hybrid`` subcategory.

The judge reads the item; the deterministic detector matched patterns. Rules, per subcategory
of one item (``D`` the deterministic outcome: a finding, or a clean check as *pass* with the
detector's ``pass_confidence``; ``J`` the judge's verdict):

- no ``D`` (an ``llm_judge`` subcategory, or no detector applied): ``J`` decides (``llm_judge``).
- ``D`` and ``J`` agree: the decision stands; confidence combines by noisy-OR (capped at 0.99);
  evidence from both; weights split by confidence (``hybrid``).
- ``D`` is *unsure*, or ``J`` is *unsure*: the judge was asked to settle it, so ``J`` decides
  (``hybrid``; the rationale says it confirmed or cleared the detector's suspicion).
- ``D`` and ``J`` conflict (pass vs fail): the judge, which read the item, overrules the detector
  when it is at least as confident (``cj >= cd``), with its own confidence, and the rationale says
  so; the detector stands when it is more confident by at least :data:`OVERRULE_MARGIN`; in between
  the tag is **unsure** with the higher confidence, naming both views, so
  ``summary.needs_human_review`` trips (an unsure tag with confidence >= 0.4).

``scoring_breakdown.weights`` then carries ``llm_judge`` and ``deterministic`` (summing to 1)
next to ``impact``/``risk``: how much each side decided the tag.
"""

from __future__ import annotations

from valiqor_trace.analyzer.fa.models import DetectorType, Finding
from valiqor_trace.analyzer.fa.scoring import MAX_CONFIDENCE, MAX_EVIDENCE

OVERRULE_MARGIN = 0.25


def reconcile(judge: Finding, deterministic: Finding | None) -> tuple[Finding, DetectorType, dict[str, float]]:
    """(the finding to score, ``detector_type_used``, decision weights) per the module docstring."""
    if deterministic is None:
        return judge, "llm_judge", {"llm_judge": 1.0, "deterministic": 0.0}
    det, cj, cd = deterministic, judge.confidence, deterministic.confidence
    if judge.decision == det.decision:
        confidence = round(min(MAX_CONFIDENCE, 1.0 - (1.0 - cj) * (1.0 - cd)), 3)
        merged = _combine(judge, det, judge.decision, confidence,
                          f"{judge.rationale} (The judge agrees with {det.detector}.)", both=True)
        return merged, "hybrid", _split(cj, cd)
    if det.decision == "unsure" or judge.decision == "unsure":
        verb = "confirms" if judge.decision == "fail" else "clears" if judge.decision == "pass" else "cannot settle"
        rationale = f"{judge.rationale} (The judge {verb} the finding of {det.detector}: {det.rationale})"
        return _combine(judge, det, judge.decision, cj, rationale, both=judge.decision != "pass"), "hybrid", \
            {"llm_judge": 1.0, "deterministic": 0.0}
    if cj >= cd:
        rationale = f"{judge.rationale} (The judge overrules {det.detector}, which found {det.decision}: " \
                    f"{det.rationale})"
        return _combine(judge, det, judge.decision, cj, rationale, both=False), "hybrid", \
            {"llm_judge": 1.0, "deterministic": 0.0}
    if cd - cj >= OVERRULE_MARGIN:
        rationale = f"{det.rationale} (The judge disagreed, less confidently: {judge.rationale})"
        return _combine(det, judge, det.decision, cd, rationale, both=False), "hybrid", \
            {"llm_judge": 0.0, "deterministic": 1.0}
    rationale = (f"The judge and {det.detector} disagree; a person should decide. Judge: {judge.decision} "
                 f"({cj:.2f}): {judge.rationale} {det.detector}: {det.decision} ({cd:.2f}): {det.rationale}")
    failing = judge if judge.decision == "fail" else det
    other = det if failing is judge else judge
    return _combine(failing, other, "unsure", max(cj, cd), rationale, both=True), "hybrid", _split(cj, cd)


def _combine(lead: Finding, other: Finding, decision: str, confidence: float, rationale: str, *,
             both: bool) -> Finding:
    evidence = list(lead.evidence) + (list(other.evidence) if both else [])
    if not evidence and decision != "pass":
        evidence = list(other.evidence)  # a judge that cited nothing still points where the detector did
    return Finding(subcategory_id=lead.subcategory_id, decision=decision, confidence=round(confidence, 3),  # type: ignore[arg-type]
                   rationale=rationale, evidence=evidence[:MAX_EVIDENCE],
                   detector="+".join(dict.fromkeys(d for f in (lead, other) for d in f.detector.split("+"))),
                   detector_type="hybrid", severity_adjustment=max(lead.severity_adjustment,
                                                                   other.severity_adjustment))


def _split(cj: float, cd: float) -> dict[str, float]:
    total = cj + cd
    judge = round(cj / total, 3) if total else 0.5
    return {"llm_judge": judge, "deterministic": round(1.0 - judge, 3)}
