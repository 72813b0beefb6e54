"""Runs to look at while they run: a judge that holds one item until the test releases it."""

from __future__ import annotations

import threading

from valiqor_trace.analyzer.datasets import validate_dataset
from valiqor_trace.analyzer.fa.engine import AnalysisOptions, validate_options
from valiqor_trace.analyzer.fa.judge import JudgeRequest, JudgeResult
from valiqor_trace.analyzer.runs import RunHandle, RunJob, RunSpec, RunStore, launch


def items(n: int) -> list[dict]:
    """``n`` clean RAG items (nothing fails)."""
    return [{"input": f"What is the boiling point of water in case {i}?",
             "output": f"Water boils at 100 °C at sea level (case {i}).",
             "context": ["At sea level, water boils at 100 °C."]} for i in range(n)]


class GatedJudge:
    """A judge that holds item ``hold_at`` until ``release`` is set (it decides nothing)."""

    available = True
    unavailable_reason = ""
    concurrency = 1  # items one after another: the items before ``hold_at`` are done when it is reached

    def __init__(self, hold_at: int) -> None:
        self.hold_at = hold_at
        self.reached = threading.Event()
        self.release = threading.Event()

    def evaluate(self, request: JudgeRequest) -> JudgeResult:
        if request.item_index == self.hold_at:
            self.reached.set()
            assert self.release.wait(60), "the test never released the judge"
        return JudgeResult()


def held_run(store: RunStore, judge: GatedJudge, count: int) -> RunHandle:
    """Start a run of ``count`` clean items on ``store`` in the background; return once ``judge`` holds its item."""
    options = AnalysisOptions(judge=judge)
    validate_options(options)
    job = RunJob(RunSpec(project_name="runs", input_type="dataset", options=options), validate_dataset(items(count)),
                 store)
    handle = launch(job, background=True)
    assert judge.reached.wait(60), "the run never reached the held item"
    return handle
