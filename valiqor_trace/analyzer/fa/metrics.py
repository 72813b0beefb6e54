"""Deterministic eval metrics (``eval_metrics``): floats in 0-1, lexical by design.

They are cheap proxies, comparable across runs of the same app; they are not semantic
judgements (a judge-based variant belongs to the judge). A metric that does not apply to
an item (no context, no tool calls) is left out rather than reported as 0 or 1.

- ``groundedness``: share of the answer's distinct content words and checkable facts
  (numbers, dates, names, quotes) found in some source (input, context, tool outputs).
- ``answer_relevance``: share of the request's content terms that the answer picks up.
  Short factual answers ("Paris") score low: read it across runs, not per item.
- ``context_relevance``: mean share of the question's content terms each passage contains.
- ``context_utilization``: share of passages the answer draws on (two or more shared content terms).
- ``tool_success_rate``: share of executed tool calls that did not error.
- ``tool_call_validity``: share of tool calls that were executed, named an offered tool and had valid arguments.
"""

from __future__ import annotations

from collections.abc import Callable

from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.fa.detectors.grounding import answer_mentions, grounding_applies, novel_words, unsupported_answer_facts
from valiqor_trace.analyzer.fa.detectors.retrieval import question_coverage
from valiqor_trace.analyzer.fa.detectors.tools import argument_problem, tool_error_text
from valiqor_trace.analyzer.fa.text import content_terms


def groundedness(view: ItemView) -> float | None:
    if not grounding_applies(view) or not view.output.strip():
        return None
    novel, total_words = novel_words(view)
    facts = [m for m in answer_mentions(view) if m.strong]
    unsupported = {id(m) for m in unsupported_answer_facts(view)}  # the same mention objects, looked up once
    supported = sum(1 for m in facts if id(m) not in unsupported)
    total = total_words + len(facts)
    return None if total == 0 else (total_words - len(novel) + supported) / total


def answer_relevance(view: ItemView) -> float | None:
    asked = content_terms(view.input)
    if not asked or not view.output.strip():
        return None
    return len(asked & content_terms(view.output)) / len(asked)


def context_relevance(view: ItemView) -> float | None:
    coverage = question_coverage(view)
    return sum(coverage) / len(coverage) if coverage else None


def context_utilization(view: ItemView) -> float | None:
    chunks = [c for c in view.context if c.strip()]
    if not chunks or not view.output.strip():
        return None
    answer = content_terms(view.output)
    need = 1 if len(answer) < 6 else 2
    return sum(1 for c in chunks if len(answer & content_terms(c)) >= need) / len(chunks)


def tool_success_rate(view: ItemView) -> float | None:
    executed = [c for c in view.tool_calls if c.executed]
    if not executed:
        return None
    return sum(1 for c in executed if tool_error_text(c) is None) / len(executed)


def tool_call_validity(view: ItemView) -> float | None:
    calls = view.tool_calls
    if not calls:
        return None
    offered = view.tool_definitions
    ok = sum(1 for c in calls
             if c.executed and (not offered or c.name in offered) and argument_problem(view, c) is None)
    return ok / len(calls)


EVAL_METRICS: dict[str, Callable[[ItemView], float | None]] = {
    "groundedness": groundedness,
    "answer_relevance": answer_relevance,
    "context_relevance": context_relevance,
    "context_utilization": context_utilization,
    "tool_success_rate": tool_success_rate,
    "tool_call_validity": tool_call_validity,
}


def compute_metrics(view: ItemView, names: list[str]) -> dict[str, float]:
    """The named metrics that apply to the item, rounded to 4 places."""
    out = {}
    for name in names:
        value = EVAL_METRICS[name](view)
        if value is not None:
            out[name] = round(max(0.0, min(1.0, value)), 4)
    return out
