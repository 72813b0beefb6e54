"""What a run looks like to users: ``FAResult``, ``RunStatus``, ``RunInput``, ``RunInfo``."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from valiqor_trace.analyzer.fa.models import FailureTag, RunSummary, SkippedDetector

RunState = Literal["queued", "running", "completed", "failed", "cancelled"]
FINISHED_STATES = ("completed", "failed", "cancelled")
# Where a run's input came from: a dataset or a trace someone asked to analyze, a trace the production
# monitor sampled, or the playground's one pair (``source`` of runs, and the filter of ``list_runs``).
RUN_SOURCES = ("dataset", "trace", "monitor", "playground")


class Cost(BaseModel):
    """Estimated cost of model calls (docs/cost.md): of one traced item, or summed over a run's items.

    ``usd`` sums the calls that could be priced; it is None (unknown, not 0) when none could, and a lower
    bound when ``unpriced_calls`` > 0. Dataset items carry no calls, so no cost.
    """

    usd: float | None = None
    llm_calls: int = 0
    unpriced_calls: int = 0

    @classmethod
    def total(cls, costs: list[Cost]) -> Cost:
        priced = [cost.usd for cost in costs if cost.usd is not None]
        return cls(usd=sum(priced) if priced else None, llm_calls=sum(cost.llm_calls for cost in costs),
                   unpriced_calls=sum(cost.unpriced_calls for cost in costs))

    def describe(self) -> str:
        """``$0.0123 (4 LLM calls)``, ``≥ $0.0123 (4 LLM calls, 1 unpriced)``, ``unknown (2 LLM calls, ...)``."""
        calls = f"{self.llm_calls} LLM call{'s' if self.llm_calls != 1 else ''}"
        if self.unpriced_calls:
            calls += f", {self.unpriced_calls} unpriced"
        if self.usd is None:
            return f"unknown ({calls})"
        return f"{'≥ ' if self.unpriced_calls else ''}{format_usd(self.usd)} ({calls})"


def format_usd(usd: float) -> str:
    """Dollars with the digits a small cost needs (three significant ones): $1.23, $0.0123, $0.00000255."""
    if usd >= 1:
        return f"${usd:,.2f}"
    if usd <= 0:
        return "$0"
    decimals = max(2, 2 - math.floor(math.log10(usd)))
    return f"${usd:.{decimals}f}"


class RunInput(BaseModel):
    """One analyzed item of a run, with its per-item stats."""

    item_index: int
    input: str
    output: str
    context: list[str] = Field(default_factory=list)
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    trace_id: str | None = None
    feature_kind: str | None = None
    failures: int = 0
    max_severity: float = 0.0
    analyzed: bool = True  # False for items a cancelled run never reached
    # the item's trace had no root span (another service's, or dropped): analyzed from the spans there were
    root_missing: bool = False
    # a dataset item's own metadata, kept with the run (a CSV's extra columns land here); empty for items
    # rebuilt from a trace, whose metadata is what reconstruction read from the trace, which keeps it
    metadata: dict[str, Any] = Field(default_factory=dict)
    cost: Cost | None = None  # of the item's model calls; None for a dataset item (no trace)


class RunStatus(BaseModel):
    """Progress of a run, as ``handle.status()`` and ``on_progress`` see it."""

    run_id: str
    status: RunState
    progress_percent: float
    current_item: int
    total_items: int
    error: str | None = None
    # a server run is a job: a replica that stopped mid-run leaves it to another, which starts it again
    attempts: int = Field(default=1, description="how many times the run was started: 0 while it is queued; "
                                                 "more than 1 when a server replica stopped mid-run and another "
                                                 "started it again")

    @classmethod
    def counting(cls, run_id: str, status: RunState, items_done: int, total_items: int,
                 error: str | None = None, *, attempts: int = 1) -> RunStatus:
        """The status of a run that has analyzed ``items_done`` of its ``total_items`` items."""
        percent = 100.0 * items_done / total_items if total_items else 100.0
        return cls(run_id=run_id, status=status, current_item=items_done, total_items=total_items,
                   progress_percent=percent, error=error, attempts=attempts)

    def __repr__(self) -> str:
        return (f"<RunStatus {self.run_id} [{self.status}] {self.progress_percent:.0f}% "
                f"{self.current_item}/{self.total_items} items{': ' + self.error if self.error else ''}>")

    __str__ = __repr__


class FAResult(BaseModel):
    """The result of a Failure Analysis run (field names as in the seed guide)."""

    model_config = ConfigDict(populate_by_name=True)

    run_id: str
    status: RunState
    project_name: str
    input_type: Literal["dataset", "trace"]
    feature_kind: str | None
    summary: RunSummary
    failure_tags: list[FailureTag] = Field(default_factory=list)
    eval_run_id: str | None = None
    eval_metrics: dict[str, float] = Field(default_factory=dict)
    security_batch_id: str | None = None
    security_flags: dict[str, str] = Field(default_factory=dict)
    detectors_run: list[str] = Field(default_factory=list)
    detectors_skipped: list[SkippedDetector] = Field(default_factory=list)
    duration_ms: float = 0.0
    tokens_used: int = 0  # by the LLM judge
    cost: Cost = Field(default_factory=Cost)  # of the analyzed traces' own model calls, summed over items
    created_at: str
    trace_id: str | None = None
    inputs: list[RunInput] = Field(default_factory=list)
    partial: bool = False  # a cancelled run: only the analyzed items are in it
    error: str | None = None
    source: str = "dataset"  # dataset | trace | monitor | playground (RUN_SOURCES)

    @property
    def tags(self) -> list[FailureTag]:
        """Alias of ``failure_tags``."""
        return self.failure_tags

    def failures(self) -> list[FailureTag]:
        """The tags whose decision is ``fail``."""
        return [tag for tag in self.failure_tags if tag.decision == "fail"]

    def __repr__(self) -> str:
        # A few lines, not every field: a result can hold thousands of tags (model_dump() has them all)
        s = self.summary
        state = f"{self.status}, partial" if self.partial else self.status
        source = f"trace {self.trace_id}" if self.trace_id else self.input_type
        primary = (f"primary failure {s.primary_failure_name} (severity {s.overall_severity:.1f}/5)"
                   if s.primary_failure_name else "no failure found")
        gates = ", ".join(name for name, on in (("alert", s.should_alert), ("CI gate: block", s.should_gate_ci),
                                                 ("needs human review", s.needs_human_review)) if on)
        return (f"<FAResult {self.run_id} [{state}] project {self.project_name!r}, {source}\n"
                f"  items {s.total_items}: {s.items_with_failures} with failures, "
                f"{s.total_failures_detected} failures, {s.total_uncertain} unsure\n"
                f"  {primary}{'; ' + gates if gates else ''}"
                + (f"\n  error: {self.error}" if self.error else "")
                + "\n  print(valiqor_trace.format_result(result)) for the table; .failures(), .summary>")

    __str__ = __repr__


class RunInfo(BaseModel):
    """One line of ``list_runs``."""

    run_id: str
    project_name: str
    status: RunState
    input_type: str
    feature_kind: str | None
    trace_id: str | None
    created_at: str
    duration_ms: float
    total_items: int
    items_with_failures: int | None
    total_failures_detected: int | None
    overall_severity: float | None
    primary_failure: str | None
    should_gate_ci: bool | None
    source: str

    def __repr__(self) -> str:
        failures = "" if self.items_with_failures is None else f", {self.items_with_failures} with failures"
        return (f"<RunInfo {self.run_id} [{self.status}] project {self.project_name!r}, {self.input_type}, "
                f"{self.created_at[:19]}: {self.total_items} items{failures}, "
                f"primary failure {self.primary_failure or '-'}>")

    __str__ = __repr__


# What the monitor did with one alert: delivered on every channel, held back by the per-failure-type
# cooldown, or tried and failed on some channel (the callback raised, the webhook did not answer 2xx).
ALERT_OUTCOMES = ("sent", "suppressed", "failed")
AlertOutcome = Literal["sent", "suppressed", "failed"]


class AlertRecord(BaseModel):
    """One alert decision of the production monitor, as stored (never the webhook URL, headers or a secret)."""

    created_at: str  # ISO 8601, UTC
    created_ns: int
    project_name: str
    run_id: str
    trace_id: str
    subcategory_id: str  # the alert's failure type
    subcategory_name: str
    severity: float
    channel: str  # the channels tried, e.g. "log,webhook"
    outcome: AlertOutcome
