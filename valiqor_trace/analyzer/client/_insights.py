"""Insights, trends and security insights: aggregates over stored runs and tags (pure functions)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa.models import FailureTag
from valiqor_trace.analyzer.runs._models import AlertRecord

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
_DAY_NS = 86_400 * 10**9


def period_start_ns(period: str, now_ns: int) -> int:
    """The start of ``period`` ("7d", "30d", "90d") before ``now_ns``."""
    if period not in PERIODS:
        raise ValidationError(f"period {period!r} is not supported; use one of {', '.join(PERIODS)}")
    return now_ns - PERIODS[period] * _DAY_NS


def insights(runs: list[tuple[int, dict[str, Any]]], tags: list[tuple[int, FailureTag]], period: str) -> dict:
    """What fails most, how often and how badly, over the runs of a period."""
    failing = [tag for _, tag in tags if tag.decision == "fail"]
    items = sum(run["summary"]["total_items"] for _, run in runs)
    items_failed = sum(run["summary"]["items_with_failures"] for _, run in runs)
    by_subcategory: dict[str, list[FailureTag]] = defaultdict(list)
    for tag in failing:
        by_subcategory[tag.subcategory_id].append(tag)
    top = sorted(by_subcategory.values(), key=lambda group: (-len(group), group[0].subcategory_id))
    return {
        "period": period,
        "total_runs": len(runs),
        "total_items": items,
        "items_with_failures": items_failed,
        "failure_rate": round(items_failed / items, 4) if items else 0.0,
        "total_failures": len(failing),
        "average_severity": round(sum(t.severity for t in failing) / len(failing), 3) if failing else 0.0,
        "runs_gating_ci": sum(1 for _, run in runs if run["summary"]["should_gate_ci"]),
        "top_failures": [
            {"subcategory_id": group[0].subcategory_id, "subcategory_name": group[0].subcategory_name,
             "bucket_id": group[0].bucket_id, "count": len(group),
             "average_severity": round(sum(t.severity for t in group) / len(group), 3)}
            for group in top[:10]
        ],
        "buckets": dict(Counter(tag.bucket_id for tag in failing).most_common()),
        "cost": _cost(runs),
    }


def _cost(runs: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """The estimated cost of the analyzed traces' model calls (docs/cost.md): usd sums the priced calls
    (None when none was priced); runs stored before costs were read carry none and count nowhere."""
    costs = [run["cost"] for _, run in runs if isinstance(run.get("cost"), dict)]
    priced = [cost["usd"] for cost in costs if cost.get("usd") is not None]
    return {"usd": sum(priced) if priced else None,
            "llm_calls": sum(int(cost.get("llm_calls") or 0) for cost in costs),
            "unpriced_calls": sum(int(cost.get("unpriced_calls") or 0) for cost in costs)}


def trends(runs: list[tuple[int, dict[str, Any]]], tags: list[tuple[int, FailureTag]], period: str,
           now_ns: int, alerts: Sequence[AlertRecord] = ()) -> dict:
    """One point per day of the period: runs, items, failures (in all and per bucket), average severity,
    the runs that met the alert thresholds (``alerting_runs``; of them, ``monitor_alerting_runs`` were
    the production monitor's), and the monitor's alerts by outcome (``alerts_sent``, ``alerts_suppressed``
    by the cooldown, ``alerts_failed`` to deliver)."""
    days = PERIODS[period]
    start_day = _day(now_ns - (days - 1) * _DAY_NS)
    points: dict[str, dict[str, Any]] = {
        _shift(start_day, offset): {"runs": 0, "items": 0, "items_with_failures": 0, "alerting_runs": 0,
                                    "monitor_alerting_runs": 0, "alerts_sent": 0, "alerts_suppressed": 0,
                                    "alerts_failed": 0, "failures": 0, "severity_sum": 0.0,
                                    "buckets": Counter()} for offset in range(days)}
    for created_ns, run in runs:
        point = points.get(_day(created_ns))
        if point is not None:
            point["runs"] += 1
            point["items"] += run["summary"]["total_items"]
            point["items_with_failures"] += run["summary"]["items_with_failures"]
            if run["summary"].get("should_alert"):
                point["alerting_runs"] += 1
                point["monitor_alerting_runs"] += run.get("source") == "monitor"
    for alert in alerts:
        point = points.get(_day(alert.created_ns))
        if point is not None:
            point[f"alerts_{alert.outcome}"] += 1
    for created_ns, tag in tags:
        point = points.get(_day(created_ns))
        if point is not None and tag.decision == "fail":
            point["failures"] += 1
            point["severity_sum"] += tag.severity
            point["buckets"][tag.bucket_id] += 1
    series = []
    for day, point in points.items():
        failures = point.pop("failures")
        severity_sum = point.pop("severity_sum")
        buckets = dict(sorted(point.pop("buckets").items()))
        series.append({"date": day, **point, "failures": failures, "failures_by_bucket": buckets,
                       "average_severity": round(severity_sum / failures, 3) if failures else 0.0})
    return {"period": period, "points": series}


def security_insights(runs: list[tuple[int, dict[str, Any]]], categories: dict[str, str], period: str) -> dict:
    """Per security category, how many runs passed and failed it."""
    counts: dict[str, dict[str, Any]] = {code: {"name": name, "fail": 0, "pass": 0}
                                         for code, name in categories.items()}
    for _, run in runs:
        for code, verdict in (run.get("security_flags") or {}).items():
            entry = counts.setdefault(code, {"name": code, "fail": 0, "pass": 0})
            entry["fail" if verdict == "fail" else "pass"] += 1
    return {"period": period, "total_runs": len(runs),
            "runs_with_security_failures": sum(
                1 for _, run in runs if "fail" in (run.get("security_flags") or {}).values()),
            "categories": counts}


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).strftime("%Y-%m-%d")


def _shift(day: str, offset: int) -> str:
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(start.timestamp() + offset * 86_400, timezone.utc).strftime("%Y-%m-%d")
