"""Gate a release on Failure Analysis of a test dataset — run it with pytest in CI.

    pytest examples/ci_gate.py          # fails when the analysis says block (should_gate_ci)
    python examples/ci_gate.py          # the same check, printing the report

The dataset is what your app answered for a fixed set of questions (here inline; in practice a file
written by your evaluation job: ``valiqor_trace.load_dataset_file("answers.jsonl")`` reads .json, .jsonl or .csv).
No key and no network are needed: the deterministic detectors run locally.
"""

from __future__ import annotations

import sys
import tempfile

from valiqor_trace import ValiqorClient, format_result

ANSWERS = [
    {"input": "How long do refunds take?",
     "output": "Refunds are issued within 14 days to your original payment method.",
     "context": ["Refunds are issued within 14 days to the original payment method."]},
    {"input": "Can I return a gift card?",
     "output": "No. Gift cards cannot be refunded.",
     "context": ["Gift cards and final-sale items cannot be refunded."]},
    {"input": "What's the status of order A-1001?",
     "output": "Order A-1001 shipped on 2 March and arrives tomorrow.",
     "tool_calls": [{"name": "get_order", "arguments": {"order_id": "A-1001"},
                     "output": '{"order_id": "A-1001", "status": "shipped", "shipped_on": "2 March"}'}]},
]


def analyze(dataset: list[dict]) -> object:
    with ValiqorClient(project_name="ci-gate", home=tempfile.mkdtemp(prefix="valiqor-ci-")) as client:
        return client.failure_analysis.run(dataset=dataset)


def test_release_gate() -> None:
    result = analyze(ANSWERS)
    blocking = [f"item {t.item_index}: {t.subcategory_name} (severity {t.severity:.0f}): {t.judge_rationale}"
                for t in result.failure_tags if t.decision == "fail" and t.severity >= 3]
    assert not result.summary.should_gate_ci, "critical failures — blocking deployment:\n" + "\n".join(blocking)


if __name__ == "__main__":
    outcome = analyze(ANSWERS)
    print(format_result(outcome))
    if outcome.summary.needs_human_review:
        print("uncertain results — flagged for human review")
    sys.exit(1 if outcome.summary.should_gate_ci else 0)
