"""tau-bench (airline): do tool-use tags find the failed tasks?

Each trajectory becomes a dataset-mode FA item (no spans): ``input`` the user's messages,
``output`` the agent's last message, ``tool_calls`` every call joined with its
result by call id, the airline policy as the system prompt and the environment's tools as the
offered tool definitions (:data:`AIRLINE_TOOLS`; names only, the data has no schemas). A task is predicted
failed when the item gets a *fail* tag in the ``tool_use`` bucket. Ground truth: reward 0.

Reported, per half of the tasks (:mod:`_splits`: the MD5 of the task id, so every trial of a
task is on one side) and over all of them:

- failed-task recall: the share of reward-0 trajectories the signal flags;
- false-alarm rate: the share of successful (reward-1) trajectories the signal flags;
- precision: the share of flagged trajectories that failed;

for three signals (:data:`SIGNALS`): a ``tool_use``-bucket fail tag; any fail tag; an alerting tag
(a fail tag at or above the default ``alert_severity`` and ``alert_confidence``, what makes a run's
``should_alert`` true).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.fa.models import Thresholds
from valiqor_trace.analyzer.models import FAItem, ToolCall, TraceFacts

from _splits import SPLITS, split_of  # benchmarks/ is on sys.path (the scripts run from there)


# The airline environment's tools (tau_bench/envs/airline/tools): the agent was offered all of them in
# every task, as the policy was its system prompt. The trajectories record calls, not the offer.
AIRLINE_TOOLS = ("book_reservation", "calculate", "cancel_reservation", "get_reservation_details",
                 "get_user_details", "list_all_airports", "search_direct_flight", "search_onestop_flight",
                 "send_certificate", "think", "transfer_to_human_agents", "update_reservation_baggages",
                 "update_reservation_flights", "update_reservation_passengers")


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
                  metadata={TraceFacts.SYSTEM_PROMPT: system,
                            TraceFacts.TOOL_DEFINITIONS: [{"name": name} for name in AIRLINE_TOOLS]})


SIGNALS = (("tool_use", "tool_use fail tags"), ("any", "any fail tag"), ("alert", "alerting tag"))


def _summary(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    failed = [r for r in rows if r["failed"]]
    passed = [r for r in rows if not r["failed"]]
    flagged = sum(r[key] for r in rows)
    return {"failed_tasks": len(failed), "passed_tasks": len(passed),
            "failed_recall": sum(r[key] for r in failed) / len(failed) if failed else 0.0,
            "false_alarm_rate": sum(r[key] for r in passed) / len(passed) if passed else 0.0,
            "precision": sum(r[key] for r in failed) / flagged if flagged else 0.0}


_DEFAULTS = Thresholds()


def _alerts(tag: Any) -> bool:
    return tag.severity >= _DEFAULTS.alert_severity and tag.confidence >= _DEFAULTS.alert_confidence


def run(data_dir: Path) -> list[dict[str, Any]]:
    records = json.loads((data_dir / "taubench" / "airline.json").read_text())
    options = engine.AnalysisOptions(feature_kind="agent", run_eval=False, run_security=False, run_scan=False)
    rows = []
    for i, record in enumerate(records):
        analysis = engine.analyze_item(to_item(record), i, options)
        fails = [t for t in analysis.tags if t.decision == "fail"]
        rows.append({"split": split_of(str(record["task_id"])), "failed": record["reward"] == 0,
                     "tool_use": any(t.bucket_id == "tool_use" for t in fails),
                     "any": bool(fails), "alert": any(_alerts(t) for t in fails),
                     "subcategories": sorted({t.subcategory_id for t in fails})})
    summary = []
    for split in (*SPLITS, "all"):
        chosen = [r for r in rows if split in ("all", r["split"])]
        for key, label in SIGNALS:
            summary.append({"split": split, "signal": label, **_summary(chosen, key)})
    return summary
