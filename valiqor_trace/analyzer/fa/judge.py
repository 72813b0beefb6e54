"""The seam for LLM-judge detectors (the judge itself is a separate piece of work).

The engine asks a :class:`Judge` about the ``llm_judge`` and ``hybrid`` subcategories of
one item, passing the deterministic findings as hints. A judge that is not usable (no key,
no base URL) says so with ``available = False`` and ``unavailable_reason``; the engine then
lists every ``llm_judge`` subcategory in ``detectors_skipped`` with that reason.

Judge calls must never be traced into the user's traces (implementations run them under
the suppress-instrumentation key) and keys never appear in findings or logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from valiqor_trace.analyzer.fa.models import Finding, SkippedDetector
from valiqor_trace.analyzer.models import FAItem

NO_JUDGE_REASON = "no judge configured: pass openai_api_key=... or set VALIQOR_JUDGE_BASE_URL"


@dataclass
class JudgeRequest:
    """What the judge is asked about one item.

    Attributes:
        item: the item.
        item_index: its position in the run.
        feature_kind: the kind it is analyzed as.
        subcategories: taxonomy records (``id``, ``name``, ``description``, ``detector_type``...) to decide.
        findings: the deterministic findings so far, for hybrid subcategories to confirm or overturn.
    """

    item: FAItem
    item_index: int
    feature_kind: str
    subcategories: list[dict[str, Any]]
    findings: list[Finding] = field(default_factory=list)


@dataclass
class JudgeResult:
    """The judge's verdicts: one :class:`Finding` per subcategory it decided (``detector_type="llm_judge"``).

    A subcategory it returns nothing for keeps its deterministic outcome (or, for an
    ``llm_judge`` subcategory, yields no tag). ``skipped`` names what it could not decide
    (a failed request, a spent token budget) with the reason; the engine reports them in
    ``detectors_skipped``.
    """

    findings: list[Finding] = field(default_factory=list)
    tokens_used: int = 0
    skipped: list[SkippedDetector] = field(default_factory=list)  # what it could not decide, and why


@runtime_checkable
class Judge(Protocol):
    """An LLM judge the engine can call; see the module docstring for the contract."""

    available: bool
    unavailable_reason: str
    # Optional: ``concurrency`` (int), how many items a run may analyze at once with this judge.

    def evaluate(self, request: JudgeRequest) -> JudgeResult:
        """Decide ``request.subcategories`` for ``request.item``. Must not raise for a bad model answer:
        return fewer findings instead."""
        ...
