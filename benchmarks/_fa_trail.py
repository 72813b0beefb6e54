"""TRAIL: error localisation and categorisation on real agent traces (smolagents on GAIA and SWE-bench).

Each trace file is read with :mod:`valiqor_trace.analyzer.sources`, rebuilt into one FA item by
:mod:`valiqor_trace.analyzer.reconstruct`, and analyzed as-is. Every *fail* tag predicts, for each span id
in its evidence, an error at that span with the TRAIL category its subcategory maps to
(:data:`TRAIL_CATEGORY`, fixed by meaning, exactly one category per subcategory, so a tag never
counts as two guesses; tool and LLM errors are refined by their message, e.g. HTTP 429 -> Rate Limiting, "no results found" -> Poor Information Retrieval).

Metrics, against the human annotations (``errors[].location`` = span id, ``category``):

- location recall: gold errors whose span is among the predicted spans;
- location precision: predicted spans that carry at least one gold error;
- category agreement: of the gold errors whose span was found, those whose category was predicted there;
- joint accuracy (TRAIL paper): per trace, the share of gold (location, category) pairs predicted,
  averaged over traces; "micro" pools all gold errors instead.

Every figure is reported per half of the traces (:mod:`_splits`: the MD5 of the trace id, even =
calibration, odd = held-out): rules and constants are checked on the calibration half, and the
held-out half is what says whether they generalise.

Reconstruction supplies the per-LLM-call facts (``TraceFacts.LLM_CALLS``) that let evidence point at
the exact LLM call (the one that wrote a failed step or requested a malformed tool call).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.analyzer.sources import read_trace_file

from _splits import SPLITS, split_of  # benchmarks/ is on sys.path (the scripts run from there)

TRAIL_CATEGORY = {
    "entity_fabrication": "Language-only", "numeric_mismatch": "Language-only", "contradicts_source": "Language-only",
    "unsupported_claim": "Language-only", "speculative_answer": "Language-only",
    "fabricated_tool_use": "Tool-related", "tool_failure_ignored": "Tool-related",
    "empty_retrieval": "Poor Information Retrieval", "irrelevant_context": "Poor Information Retrieval",
    "redundant_context": "Poor Information Retrieval", "retrieval_error": "Service Errors",
    "missing_context": "Context Handling Failures", "context_ignored": "Context Handling Failures",
    "tool_error": "Service Errors", "invalid_tool_arguments": "Formatting Errors",
    "unknown_tool": "Tool Selection Errors", "unexecuted_tool_call": "Task Orchestration",
    "repeated_tool_calls": "Resource Abuse", "step_limit_reached": "Resource Exhaustion",
    "tool_result_ignored": "Tool Output Misinterpretation",
    "wrong_tool_selection": "Tool Selection Errors", "skipped_tool_use": "Tool Selection Errors",
    "off_topic": "Goal Deviation", "incomplete_answer": "Instruction Non-compliance",
    "unwarranted_refusal": "Instruction Non-compliance", "format_violation": "Formatting Errors",
    "language_mismatch": "Instruction Non-compliance", "ignored_instruction": "Instruction Non-compliance",
    "empty_output": "Formatting Errors", "truncated_output": "Resource Exhaustion", "llm_error": "Service Errors",
    "degenerate_repetition": "Formatting Errors",
}
_ERROR_REFINEMENTS = [
    # A search that found nothing is a retrieval problem (a poor query), not a failed service.
    (re.compile(r"no (?:results?|matches|documents|hits) (?:were )?(?:found|returned)|returned no results", re.I),
     "Poor Information Retrieval"),
    (re.compile(r"rate.?limit|429|too many requests", re.I), "Rate Limiting"),
    (re.compile(r"time(?:d)?.?out|deadline", re.I), "Timeout Issues"),
    (re.compile(r"\b40[13]\b|unauthori[sz]ed|forbidden|authentication|api key", re.I), "Authentication Errors"),
    (re.compile(r"\b404\b|not found|no such file|does not exist", re.I), "Resource Not Found"),
    (re.compile(r"out of memory|memoryerror|quota|max(?:imum)? number of operations", re.I), "Resource Exhaustion"),
]
# Spelling variants in the annotations (singular/plural, "Errors" suffix, a typo).
_FIXES = {"language-only": "language-only", "instruction non complience": "instruction non-compliance",
          "context handling failure": "context handling failures", "task orchestration errors": "task orchestration"}


def normalize_category(name: str) -> str:
    key = name.strip().lower()
    return _FIXES.get(key, key)


def load_item(path: Path) -> tuple[FAItem, str]:
    spans = read_trace_file(path).spans
    item = reconstruct_item(spans)
    app = next((str(s.attributes.get("pat.app")) for s in spans if s.attributes.get("pat.app")), "")
    return item, ("SWE" if "swe" in app.lower() else "GAIA")


def _categories(tag: Any) -> tuple[str, ...]:
    category = _category(tag)
    return (category,) if category else ()


def _category(tag: Any) -> str | None:
    category = TRAIL_CATEGORY.get(tag.subcategory_id)
    if tag.subcategory_id in ("tool_error", "llm_error", "retrieval_error"):
        text = " ".join(e.text or "" for e in tag.evidence_items) + " " + (tag.judge_rationale or "")
        category = next((name for pattern, name in _ERROR_REFINEMENTS if pattern.search(text)), category)
    return category


def predictions(item: FAItem, include_unsure: bool = False) -> dict[str, set[str]]:
    """span id -> predicted TRAIL categories (normalized)."""
    analysis = engine.analyze_item(item, 0, engine.AnalysisOptions(run_eval=False, run_security=False,
                                                                    run_scan=False))
    found: dict[str, set[str]] = defaultdict(set)
    for tag in analysis.tags:
        if tag.decision == "fail" or (include_unsure and tag.decision == "unsure"):
            categories = _categories(tag)
            for evidence in tag.evidence_items:
                if evidence.span_id:
                    found[evidence.span_id].update(normalize_category(c) for c in categories)
    return found


def score_trace(gold: list[dict[str, Any]], predicted: dict[str, set[str]]) -> dict[str, float]:
    pairs = [(e["location"], normalize_category(e["category"])) for e in gold]
    located = [p for p in pairs if p[0] in predicted]
    joint = [p for p in located if p[1] in predicted[p[0]]]
    gold_spans = {loc for loc, _ in pairs}
    return {"gold": len(pairs), "located": len(located), "joint": len(joint), "predicted_spans": len(predicted),
            "correct_spans": len(set(predicted) & gold_spans)}


def summarize(chosen: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled location / category figures and the TRAIL joint accuracy over per-trace counts."""
    gold = sum(t["gold"] for t in chosen)
    located = sum(t["located"] for t in chosen)
    predicted = sum(t["predicted_spans"] for t in chosen)
    return {
        "traces": len(chosen), "gold_errors": gold,
        "location_recall": located / gold if gold else 0.0,
        "location_precision": sum(t["correct_spans"] for t in chosen) / predicted if predicted else 0.0,
        "category_agreement": sum(t["joint"] for t in chosen) / located if located else 0.0,
        "joint_accuracy": sum(t["joint"] / t["gold"] for t in chosen if t["gold"]) / len(chosen) if chosen else 0.0,
        "joint_micro": sum(t["joint"] for t in chosen) / gold if gold else 0.0,
    }


def run(data_dir: Path, include_unsure: bool = False) -> list[dict[str, Any]]:
    """Per-trace rows, then one summary row per (split, subset): split is the trace id's half
    (:func:`_splits.split_of`) or "all"; subset GAIA, SWE or "all"."""
    per_trace = []
    for annotation in sorted((data_dir / "trail" / "annotations").glob("*.json")):
        gold = json.loads(annotation.read_text())["errors"]
        item, subset = load_item(data_dir / "trail" / "traces" / annotation.name)
        counts = score_trace(gold, predictions(item, include_unsure))
        per_trace.append({"trace": annotation.stem, "subset": subset, "split": split_of(annotation.stem), **counts})
    rows = []
    for split in (*SPLITS, "all"):
        for subset in ("GAIA", "SWE", "all"):
            chosen = [t for t in per_trace if split in ("all", t["split"]) and subset in ("all", t["subset"])]
            rows.append({"split": split, "subset": subset, **summarize(chosen)})
    return [*per_trace, *rows]
