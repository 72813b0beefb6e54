"""tau-bench (airline): do tool-use tags find the failed tasks?

Each trajectory becomes a dataset-mode FA item (no spans): ``input`` the user's messages,
``output`` the agent's last message, ``tool_calls`` every call joined with its
result by call id, and the airline policy as the system prompt. A task is predicted
failed when the item gets a *fail* tag in the ``tool_use`` bucket. Ground truth: reward 0.

Reported: recall on failed tasks, the false-alarm rate on successful ones (the share of
reward-1 tasks flagged), and the same for "any fail tag" for comparison.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.models import FAItem, ToolCall, TraceFacts


def to_item(record: dict[str, Any]) -> FAItem:
    traj = record["traj"]
    system = next((m["content"] for m in traj if m["role"] == "system"), "")
    users = [m["content"] for m in traj if m["role"] == "user" and m.get("content")]
    answers = [m["content"] for m in traj if m["role"] == "assistant" and m.get("content")]
    results = {m.get("tool_call_id"): m.get("content") for m in traj if m["role"] == "tool"}
    calls = []
    for message in traj:
        for call in message.get("tool_calls") or []:
            raw = call["function"].get("arguments")
            try:
                arguments = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                arguments = raw
            output = results.get(call.get("id"))
            calls.append(ToolCall(id=call.get("id"), name=call["function"]["name"], arguments=arguments,
                                  output=output, executed=output is not None))
    return FAItem(input="\n".join(users), output=answers[-1] if answers else "", tool_calls=calls,
                  metadata={TraceFacts.SYSTEM_PROMPT: system})


def run(data_dir: Path) -> list[dict[str, Any]]:
    records = json.loads((data_dir / "taubench" / "airline.json").read_text())
    options = engine.AnalysisOptions(feature_kind="agent", run_eval=False, run_security=False, run_scan=False)
    rows = []
    for i, record in enumerate(records):
        analysis = engine.analyze_item(to_item(record), i, options)
        fails = [t for t in analysis.tags if t.decision == "fail"]
        rows.append({"failed": record["reward"] == 0, "tool_use": any(t.bucket_id == "tool_use" for t in fails),
                     "any": bool(fails), "subcategories": sorted({t.subcategory_id for t in fails})})
    failed = [r for r in rows if r["failed"]]
    passed = [r for r in rows if not r["failed"]]
    summary = []
    for key, label in (("tool_use", "tool_use fail tags"), ("any", "any fail tag")):
        summary.append({"signal": label, "failed_tasks": len(failed), "passed_tasks": len(passed),
                        "failed_recall": sum(r[key] for r in failed) / len(failed),
                        "false_alarm_rate": sum(r[key] for r in passed) / len(passed),
                        "precision": (sum(r[key] for r in failed) / max(1, sum(r[key] for r in rows)))})
    return summary
