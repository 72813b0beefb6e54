"""Run-level roll-ups: ``result.summary``, run-level eval metrics and security flags.

Decision rules (thresholds are :class:`~valiqor_trace.analyzer.fa.models.Thresholds`, all configurable):

- ``should_alert``: some *fail* tag has ``severity >= alert_severity`` (4.0) and
  ``confidence >= alert_confidence`` (0.7).
- ``should_gate_ci``: some *fail* tag has ``severity >= gate_severity`` (3.0) and
  ``confidence >= gate_confidence`` (0.6).
- ``needs_human_review``: some *unsure* tag has ``confidence >= review_confidence_low`` (0.4)
  (weaker unsure signals are noise and stay silent), or some *fail* tag has
  ``confidence < review_confidence_high`` (0.6): the engine leans to fail but is not
  sure enough to act alone.
- ``overall_severity``: the highest severity among fail tags (0 when none).
- ``overall_confidence``: mean confidence of fail tags; with no failures, mean confidence
  of the pass tags (how sure the clean verdict is).
- ``primary_failure``: the subcategory with the most fail tags (ties: higher severity,
  then taxonomy order).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from valiqor_trace.analyzer.fa.models import FailureTag, ItemAnalysis, RunSummary, Thresholds
from valiqor_trace.analyzer.fa.security import merge_flags
from valiqor_trace.analyzer.fa.taxonomy import subcategory, subcategory_ids


def summarize(analyses: Sequence[ItemAnalysis], thresholds: Thresholds | None = None) -> RunSummary:
    """The run summary over every item's tags (field names exactly as the seed guide lists them)."""
    thresholds = thresholds or Thresholds()
    tags = [tag for analysis in analyses for tag in analysis.tags]
    fails = [t for t in tags if t.decision == "fail"]
    unsure = [t for t in tags if t.decision == "unsure"]
    passes = [t for t in tags if t.decision == "pass"]
    failing_items = {a.item_index for a in analyses if any(t.decision == "fail" for t in a.tags)}
    clean_items = [a for a in analyses if all(t.decision == "pass" for t in a.tags)]
    primary = _primary(fails)
    basis = fails or passes
    return RunSummary(
        total_items=len(analyses),
        items_with_failures=len(failing_items),
        items_all_passed=len(clean_items),
        total_failures_detected=len(fails),
        total_passes=len(passes),
        total_uncertain=len(unsure),
        overall_severity=max((t.severity for t in fails), default=0.0),
        overall_confidence=round(sum(t.confidence for t in basis) / len(basis), 3) if basis else 0.0,
        primary_failure=primary,
        primary_failure_name=subcategory(primary)["name"] if primary else None,
        buckets_affected=sorted({t.bucket_id for t in fails}),
        should_alert=any(t.severity >= thresholds.alert_severity and t.confidence >= thresholds.alert_confidence
                         for t in fails),
        should_gate_ci=any(t.severity >= thresholds.gate_severity and t.confidence >= thresholds.gate_confidence
                           for t in fails),
        needs_human_review=any(t.confidence >= thresholds.review_confidence_low for t in unsure)
        or any(t.confidence < thresholds.review_confidence_high for t in fails),
    )


def _primary(fails: Sequence[FailureTag]) -> str | None:
    if not fails:
        return None
    counts = Counter(t.subcategory_id for t in fails)
    worst: dict[str, float] = defaultdict(float)
    for t in fails:
        worst[t.subcategory_id] = max(worst[t.subcategory_id], t.severity)
    order = {sub: i for i, sub in enumerate(subcategory_ids())}
    return min(counts, key=lambda sub: (-counts[sub], -worst[sub], order.get(sub, 1 << 30)))


def aggregate_eval_metrics(analyses: Sequence[ItemAnalysis]) -> dict[str, float]:
    """Run-level eval metrics: the mean of each metric over the items it applied to."""
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for analysis in analyses:
        for name, value in analysis.eval_metrics.items():
            sums[name] += value
            counts[name] += 1
    return {name: round(sums[name] / counts[name], 4) for name in sums}


def aggregate_security_flags(analyses: Sequence[ItemAnalysis]) -> dict[str, str]:
    """Run-level security flags: a category fails when it fails on any item."""
    return merge_flags(a.security_flags for a in analyses)
