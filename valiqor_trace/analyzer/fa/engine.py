"""The FA engine: options, feature-kind inference, per-item analysis, run summary.

Per item: the deterministic detectors that apply to the item's feature kind run first
(no key, no network); then the judge, if one is configured and available, decides the
``llm_judge`` and ``hybrid`` subcategories; findings are merged per subcategory and
scored into tags. Tags are emitted for every selected subcategory that was checked:
``fail`` and ``unsure`` tags carry evidence, ``pass`` tags record a clean check (so
``summary.total_passes`` counts real checks). A subcategory that could not be checked
(nothing to check, judge missing) gets no tag; the latter is listed in ``detectors_skipped``.

A detector bug never sinks a run: in production it is logged once and the detector is
reported in ``detectors_skipped``; under tests it is re-raised.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeGuard

from pydantic import ConfigDict, Field, PrivateAttr, SkipValidation

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa import taxonomy
from valiqor_trace.analyzer.fa.detectors import REGISTRY, Detector, ItemView
from valiqor_trace.analyzer.fa.judge import NO_JUDGE_REASON, Judge, JudgeRequest
from valiqor_trace.analyzer.fa.metrics import EVAL_METRICS, compute_metrics
from valiqor_trace.analyzer.fa.models import (
    FEATURE_KINDS,
    EvidenceItem,
    FailureTag,
    Finding,
    ItemAnalysis,
    SkippedDetector,
    Thresholds,
)
from valiqor_trace.analyzer.fa.options import FailureAnalysisOptions
from valiqor_trace.analyzer.fa.reconcile import reconcile
from valiqor_trace.analyzer.fa.scoring import merge_findings, pass_finding, pass_tag, score
from valiqor_trace.analyzer.fa.security import SECURITY_CATEGORIES, item_flags, resolve_categories, security_subcategories
from valiqor_trace.analyzer.fa.summary import summarize
from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.internal import report_internal_error

__all__ = ["STRUCTURAL_SUBCATEGORIES", "AnalysisOptions", "analyze_item", "infer_feature_kind", "needs_judge",
           "summarize", "validate_options"]

SCAN_REASON = "no AST scan data: static code scanning is not part of the embedded engine"
TRACE_ONLY_REASON = "needs trace metadata (span status, finish reasons): analyze by trace_id"
NO_CONTENT_REASON = ("the trace carries no text (recorded with capture_content off, or by an instrumentor that "
                     "records no messages): only span-level failures can be checked")

# What FA can decide from span structure alone (status, finish reasons, call counts). An item whose text
# was never recorded (``TraceFacts.CONTENT_CAPTURED`` False) is checked for these only: content checks
# would read the missing answer as an empty one and flag every trace.
STRUCTURAL_SUBCATEGORIES = ("retrieval_error", "tool_error", "step_limit_reached", "truncated_output", "llm_error")
STRUCTURAL_METRICS = ("tool_success_rate",)


class AnalysisOptions(FailureAnalysisOptions):
    """A run's :class:`~valiqor_trace.analyzer.fa.options.FailureAnalysisOptions` as the engine takes them:
    the thresholds filled in, and the judge they chose.

    The engine reads ``feature_kind`` (``None`` infers it per item), the ``buckets`` / ``subcategories``
    filters (both apply when both are given), ``run_eval``, ``run_security`` (security detectors run even
    when filtered out of the tags), ``run_scan`` (the embedded engine has no scan data: reported as
    skipped), ``mandatory_eval_metrics``, ``mandatory_security_categories`` (one that cannot run, needing a
    judge when none is configured, is a validation error) and ``thresholds``. ``project_name`` is the run
    spec's and ``openai_api_key`` the judge's: the engine reads neither.

    Attributes:
        judge: an optional :class:`~valiqor_trace.analyzer.fa.judge.Judge` (never dumped: it may hold a key).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    thresholds: Thresholds = Field(default_factory=Thresholds)
    judge: SkipValidation[Judge | None] = Field(default=None, exclude=True, repr=False)
    _plan: _Plan | None = PrivateAttr(None)

    @classmethod
    def of(cls, options: FailureAnalysisOptions, judge: Judge | None) -> AnalysisOptions:
        """The engine's view of ``options``: every option carried over, but the key (the judge holds it)."""
        values = {name: getattr(options, name) for name in FailureAnalysisOptions.model_fields}
        values.update(openai_api_key=None, thresholds=options.thresholds or Thresholds(), judge=judge)
        return cls(**values)

    def recorded(self) -> dict[str, Any]:
        """The options kept with a run: all but the project (a column of its own), the key and the judge."""
        return self.model_dump(mode="json", exclude={"project_name"})


@dataclass
class _KindPlan:
    detectors: list[Detector]
    needed: set[str]  # subcategories whose findings matter (emitted or feeding security flags)
    emit: list[str]  # subcategories that become tags, in taxonomy order
    judged: list[dict[str, Any]]  # subcategory records for the judge
    skipped: list[SkippedDetector]
    security_runnable: set[str]
    metrics: list[str]  # eval metrics to fill
    # ``needed`` in taxonomy order and ``emit`` as a set: what :func:`_tags` walks per item, derived once per plan
    order: list[str] = field(init=False)
    emit_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.order = [s for s in taxonomy.subcategory_ids() if s in self.needed]
        self.emit_set = frozenset(self.emit)


@dataclass
class _Plan:
    selected: list[str]
    security: list[str]
    metrics: list[str]
    judge: Judge | None
    kinds: dict[tuple[str, bool], _KindPlan] = field(default_factory=dict)


def _judge_ok(judge: Judge | None) -> TypeGuard[Judge]:
    return judge is not None and bool(getattr(judge, "available", False))


def validate_options(options: AnalysisOptions) -> None:
    """Check every option, naming the bad value and the valid ones.

    Raises:
        ValidationError: unknown feature kind, bucket, subcategory, eval metric or security category; filters
            that select nothing; a mandatory security category that cannot run.
    """
    options._plan = _build_plan(options)


def _build_plan(options: AnalysisOptions) -> _Plan:
    if options.feature_kind is not None and options.feature_kind not in FEATURE_KINDS:
        raise ValidationError(f"unknown feature_kind {options.feature_kind!r}; valid kinds: {', '.join(FEATURE_KINDS)}")
    buckets, subs = options.buckets, options.subcategories
    for bucket in buckets or []:
        if bucket not in taxonomy.bucket_ids():
            raise ValidationError(f"unknown bucket {bucket!r}; valid buckets: {', '.join(taxonomy.bucket_ids())}")
    for sub in subs or []:
        taxonomy.subcategory(sub)  # raises with the valid list
    selected = [s for s in taxonomy.subcategory_ids()
                if (buckets is None or taxonomy.subcategory(s)["bucket_id"] in buckets) and (subs is None or s in subs)]
    if not selected:
        raise ValidationError(f"subcategories {subs} are not in buckets {buckets}: the filters select nothing")
    metrics = options.mandatory_eval_metrics or []
    for name in metrics:
        if name not in EVAL_METRICS:
            raise ValidationError(f"unknown eval metric {name!r}; valid metrics: {', '.join(EVAL_METRICS)}")
    mandatory = resolve_categories(options.mandatory_security_categories)
    judge_ok = _judge_ok(options.judge)
    for cid in mandatory:
        if not judge_ok and all(taxonomy.subcategory(s)["detector_type"] == "llm_judge"
                                for s in SECURITY_CATEGORIES[cid]["subcategories"]):
            reason = options.judge.unavailable_reason if options.judge is not None else NO_JUDGE_REASON
            raise ValidationError(f"mandatory security category {cid} ({SECURITY_CATEGORIES[cid]['name']}) needs an "
                                  f"LLM judge, and none can run: {reason}")
    security = list(SECURITY_CATEGORIES) if options.run_security else mandatory
    metric_names = list(EVAL_METRICS) if options.run_eval else [m for m in EVAL_METRICS if m in metrics]
    return _Plan(selected=selected, security=security, metrics=metric_names, judge=options.judge)


def needs_judge(options: AnalysisOptions) -> bool:
    """Whether analyzing with ``options`` asks a judge anything: one is available and a judge subcategory
    (``llm_judge`` or ``hybrid``, selected or feeding a security flag) is in play."""
    if not _judge_ok(options.judge):
        return False
    if options._plan is None:
        validate_options(options)
    plan = options._plan
    assert plan is not None  # validate_options sets it
    in_play = set(plan.selected) | security_subcategories(plan.security)
    return any(taxonomy.subcategory(sub)["detector_type"] != "deterministic" for sub in in_play)


def _kind_plan(plan: _Plan, kind: str, content: bool = True) -> _KindPlan:
    found = plan.kinds.get((kind, content))
    if found is None:
        found = _full_kind_plan(plan, kind) if content else _structural_plan(_kind_plan(plan, kind))
        plan.kinds[(kind, content)] = found
    return found


def _full_kind_plan(plan: _Plan, kind: str) -> _KindPlan:
    judge_ok = _judge_ok(plan.judge)
    security_subs = security_subcategories(plan.security)
    applicable = [s for s in taxonomy.subcategory_ids() if taxonomy.applies_to(s, kind)]
    emit = [s for s in plan.selected if s in applicable]
    needed = set(emit) | (security_subs & set(applicable))
    detectors = [d for d in REGISTRY if kind in d.feature_kinds and needed & set(d.subcategories)]
    covered = {s for d in REGISTRY for s in d.subcategories}
    judged, skipped = [], []
    reason = plan.judge.unavailable_reason if plan.judge is not None else NO_JUDGE_REASON
    for sub in (s for s in taxonomy.subcategory_ids() if s in needed):
        record = taxonomy.subcategory(sub)
        if record["detector_type"] == "deterministic":
            continue
        if judge_ok:
            judged.append(dict(record))
        elif record["detector_type"] == "llm_judge":
            skipped.append(SkippedDetector(detector=f"llm_judge:{sub}", reason=reason))
    for cid in plan.security:
        if not judge_ok and not any(s in covered for s in SECURITY_CATEGORIES[cid]["subcategories"]):
            skipped.append(SkippedDetector(detector=f"security:{cid}", reason=reason))
    runnable = {s for s in security_subs if s in covered or judge_ok}
    return _KindPlan(detectors, needed, emit, judged, skipped, runnable, plan.metrics)


def _structural_plan(full: _KindPlan) -> _KindPlan:
    """``full`` cut down to the structural subcategories; every detector or judge check dropped is reported."""
    needed = full.needed & set(STRUCTURAL_SUBCATEGORIES)
    detectors = [d for d in full.detectors if needed & set(d.subcategories)]
    skipped = [SkippedDetector(detector=d.name, reason=NO_CONTENT_REASON) for d in full.detectors
               if d not in detectors]
    judge_checks = [f"llm_judge:{s['id']}" for s in full.judged]
    judge_checks += [s.detector for s in full.skipped if s.detector.startswith("llm_judge:")]
    skipped += [SkippedDetector(detector=name, reason=NO_CONTENT_REASON) for name in judge_checks]
    skipped += [s for s in full.skipped if not s.detector.startswith("llm_judge:")]
    return _KindPlan(detectors, needed, [s for s in full.emit if s in needed], [], skipped,
                     full.security_runnable & needed, [m for m in full.metrics if m in STRUCTURAL_METRICS])


def infer_feature_kind(item: FAItem) -> str:
    """context + tools -> agentic_rag; tools (called or offered) -> agent; context -> rag; else generic_llm."""
    has_context = any(c.strip() for c in item.context)
    has_tools = bool(item.tool_calls) or bool((item.metadata or {}).get(TraceFacts.TOOL_DEFINITIONS))
    if has_context and has_tools:
        return "agentic_rag"
    if has_tools:
        return "agent"
    return "rag" if has_context else "generic_llm"


def _run_detector(detector: Detector, view: ItemView, item_index: int) -> tuple[list[Finding] | None, str | None]:
    try:
        return detector.check(view), None
    except Exception as exc:  # a detector bug must not sink the run (re-raised under tests)
        report_internal_error(f"fa-detector:{detector.name}", "FA detector %s failed on item %d (skipped)",
                              detector.name, item_index, level=logging.WARNING)
        return None, f"internal error in detector: {type(exc).__name__} (logged)"


@lru_cache(maxsize=256)
def _trace_only(name: str) -> SkippedDetector:
    """The entry for a trace-only detector skipped on a plain item: one per detector, shared by every item (as the
    plan's own skipped entries are)."""
    return SkippedDetector(detector=name, reason=TRACE_ONLY_REASON)


def analyze_item(item: FAItem, item_index: int, options: AnalysisOptions, run_id: str = "") -> ItemAnalysis:
    """Analyze one item: run detectors (and the judge), score tags, fill metrics and security flags."""
    if options._plan is None:
        validate_options(options)
    plan = options._plan
    assert plan is not None  # validate_options sets it
    kind = options.feature_kind or infer_feature_kind(item)
    content = (item.metadata or {}).get(TraceFacts.CONTENT_CAPTURED) is not False
    kp = _kind_plan(plan, kind, content)
    view = ItemView(item, kind)
    findings: dict[str, list[Finding]] = defaultdict(list)
    checked: dict[str, tuple[float, str]] = {}
    ran, skipped = [], list(kp.skipped)
    for detector in kp.detectors:
        if detector.needs_trace and not view.is_trace:
            skipped.append(_trace_only(detector.name))
            continue
        result, error = _run_detector(detector, view, item_index)
        if error is not None:
            skipped.append(SkippedDetector(detector=detector.name, reason=error))
            continue
        ran.append(detector.name)
        if result is None:
            continue
        for sub in detector.subcategories:
            if sub in kp.needed and checked.get(sub, (0.0, ""))[0] < detector.pass_confidence:
                checked[sub] = (detector.pass_confidence, detector.name)
        for f in result:
            if f.subcategory_id in kp.needed:
                findings[f.subcategory_id].append(f)
    tokens, judged, judge_skipped = _ask_judge(plan.judge, kp, item, item_index, kind, findings)
    if judged:
        ran.append("llm_judge")
    skipped.extend(judge_skipped)
    if options.run_scan:
        skipped.append(SkippedDetector(detector="scan", reason=SCAN_REASON))
    anchor = (view.output_span_id() or view.input_span_id()) if view.is_trace else None
    tags, decisions = _tags(kp, findings, judged, checked, item_index, run_id, item.trace_id, anchor)
    return ItemAnalysis(
        item_index=item_index,
        feature_kind=kind,
        tags=tags,
        eval_metrics=compute_metrics(view, kp.metrics),
        security_flags=item_flags(plan.security, decisions, kp.security_runnable),
        detectors_run=ran,
        detectors_skipped=skipped,
        tokens_used=tokens,
    )


def _ask_judge(judge: Judge | None, kp: _KindPlan, item: FAItem, item_index: int, kind: str,
               findings: dict[str, list[Finding]]) -> tuple[int, dict[str, Finding], list[SkippedDetector]]:
    if not kp.judged or not _judge_ok(judge):
        return 0, {}, []
    hints = [f for sub in (s["id"] for s in kp.judged) for f in findings.get(sub, [])]
    result = judge.evaluate(JudgeRequest(item=item, item_index=item_index, feature_kind=kind,
                                         subcategories=[dict(s) for s in kp.judged], findings=hints))
    wanted = {s["id"] for s in kp.judged}
    verdicts: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.subcategory_id in wanted:
            verdicts[f.subcategory_id].append(f.model_copy(update={"detector_type": "llm_judge"}))
    return (result.tokens_used, {sub: merge_findings(fs) for sub, fs in verdicts.items()},
            list(getattr(result, "skipped", None) or []))


def _anchored(verdict: Finding, anchor: str | None) -> Finding:
    """Trace mode: every fail/unsure tag points at a span; when no detector knew a finer one, the answer's."""
    if anchor is None or verdict.decision == "pass" or any(e.span_id for e in verdict.evidence):
        return verdict
    pointer = EvidenceItem(source="span", span_id=anchor, note="the span of the answer (no finer location known)")
    return verdict.model_copy(update={"evidence": [*verdict.evidence, pointer]})


def _tags(kp: _KindPlan, findings: dict[str, list[Finding]], judged: dict[str, Finding],
          checked: dict[str, tuple[float, str]], item_index: int, run_id: str, trace_id: str | None,
          anchor: str | None) -> tuple[list[FailureTag], dict[str, str]]:
    tags, decisions = [], {}
    emit = kp.emit_set
    for sub in kp.order:
        deterministic = merge_findings(findings[sub]) if findings.get(sub) else None
        verdict, used, decided_by = deterministic, None, None
        if sub in judged:
            if deterministic is None and sub in checked:  # a clean deterministic check is a "pass" view
                deterministic = pass_finding(sub, checked[sub][0], checked[sub][1])
            verdict, used, decided_by = reconcile(judged[sub], deterministic)
        elif verdict is None and sub in checked:
            decisions[sub] = "pass"
            if sub in emit:
                confidence, name = checked[sub]
                tags.append(pass_tag(sub, confidence, name, item_index=item_index, run_id=run_id, trace_id=trace_id))
            continue
        if verdict is None:
            continue
        decisions[sub] = verdict.decision
        if sub in emit:
            tags.append(score(_anchored(verdict, anchor), item_index=item_index, run_id=run_id, trace_id=trace_id,
                              detector_type_used=used, decided_by=decided_by))
    return tags, decisions
