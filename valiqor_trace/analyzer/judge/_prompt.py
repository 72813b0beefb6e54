"""The judge's prompt: versioned template files, one batched rubric per item, the verdict JSON schema.

Templates live in ``valiqor_trace/analyzer/judge/prompts/`` (package data). :data:`PROMPT_VERSION` is part of every
cache key, so editing a template means bumping the version (and the file names with it).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from valiqor_trace.analyzer.fa.judge import JudgeRequest
from valiqor_trace.analyzer.fa.models import Finding
from valiqor_trace.analyzer.models import TraceFacts

PROMPT_VERSION = "judge_v1"
EVIDENCE_SOURCES = ("output", "input", "context", "tool_output", "tool_call", "system_prompt")
DECISIONS = ("pass", "fail", "unsure")


@cache
def template(name: str) -> str:
    """The text of ``prompts/{PROMPT_VERSION}_{name}.md``."""
    prompts = resources.files("valiqor_trace.analyzer.judge").joinpath("prompts")  # on 3.10 Traversable.joinpath takes one name
    return prompts.joinpath(f"{PROMPT_VERSION}_{name}.md").read_text("utf-8")


def fill(text: str, **values: str) -> str:
    """Replace ``{name}`` placeholders (not ``str.format``: the templates contain JSON braces)."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def verdict_schema(subcategory_ids: list[str]) -> dict[str, Any]:
    """The ``response_format`` asking for one verdict per rubric id (strict JSON schema)."""
    evidence = {
        "type": "object", "additionalProperties": False, "required": ["source", "index", "quote"],
        "properties": {"source": {"type": "string", "enum": list(EVIDENCE_SOURCES)},
                       "index": {"type": ["integer", "null"]}, "quote": {"type": "string"}},
    }
    verdict = {
        "type": "object", "additionalProperties": False,
        "required": ["subcategory_id", "decision", "confidence", "rationale", "evidence"],
        "properties": {"subcategory_id": {"type": "string", "enum": list(subcategory_ids)},
                       "decision": {"type": "string", "enum": list(DECISIONS)},
                       "confidence": {"type": "number"}, "rationale": {"type": "string"},
                       "evidence": {"type": "array", "items": evidence}},
    }
    schema = {"type": "object", "additionalProperties": False, "required": ["verdicts"],
              "properties": {"verdicts": {"type": "array", "items": verdict}}}
    return {"type": "json_schema", "json_schema": {"name": "valiqor_judge_verdicts", "strict": True,
                                                   "schema": schema}}


def messages(request: JudgeRequest, max_chars: int) -> list[dict[str, str]]:
    """System instructions plus one user message: the rubric, the deterministic hints and the item."""
    user = fill(template("rubric"), rubric=_rubric(request.subcategories), hints=_hints(request.findings),
                feature_kind=request.feature_kind, item=_item_text(request, max_chars))
    return [{"role": "system", "content": template("system")}, {"role": "user", "content": user}]


def repair_message(error: str, subcategory_ids: list[str]) -> dict[str, str]:
    return {"role": "user", "content": fill(template("repair"), error=error[:300], ids=", ".join(subcategory_ids))}


def _rubric(subcategories: list[dict[str, Any]]) -> str:
    return "\n".join(f"- id `{s['id']}` ({s['name']}): {s['description']}" for s in subcategories)


def _hints(findings: list[Finding]) -> str:
    if not findings:
        return "(none)"
    lines = []
    for f in findings:
        quotes = "; ".join(f"{e.source}: {e.text!r}" for e in f.evidence[:3] if e.text)
        lines.append(f"- `{f.subcategory_id}`: {f.decision} (confidence {f.confidence:.2f}, {f.detector}): "
                     f"{f.rationale}" + (f" Evidence: {quotes}" if quotes else ""))
    return "\n".join(lines)


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars] + " [...truncated]"


MAX_SOURCE_CHARS = 40_000  # context passages and tool outputs together, per request


def _item_text(request: JudgeRequest, max_chars: int) -> str:
    item = request.item
    budget = _Budget(MAX_SOURCE_CHARS)
    parts = [f"### INPUT\n{_clip(item.input, max_chars)}"]
    system_prompt = (item.metadata or {}).get(TraceFacts.SYSTEM_PROMPT)
    if isinstance(system_prompt, str) and system_prompt.strip():
        parts.append(f"### SYSTEM PROMPT\n{_clip(system_prompt, max_chars)}")
    for index, passage in enumerate(item.context):
        parts.append(f"### CONTEXT [{index}]\n{budget.take(passage, max_chars)}")
    tools = (item.metadata or {}).get(TraceFacts.TOOL_DEFINITIONS) or []
    if tools:
        offered = [{"name": t.get("name"), "description": t.get("description")} for t in tools if isinstance(t, dict)]
        parts.append(f"### TOOLS OFFERED\n{_clip(json.dumps(offered, ensure_ascii=False), max_chars)}")
    for index, call in enumerate(item.tool_calls):
        arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments,
                                                                                      ensure_ascii=False)
        parts.append(f"### TOOL CALL [{index}] {call.name}({_clip(arguments or '', max_chars)})")
        if not call.executed:
            parts.append(f"### TOOL OUTPUT [{index}]\n(never executed)")
        elif call.error:
            parts.append(f"### TOOL OUTPUT [{index}]\n(error) {_clip(call.error, max_chars)}")
        elif call.output is not None:
            parts.append(f"### TOOL OUTPUT [{index}]\n{budget.take(call.output, max_chars)}")
    parts.append(f"### OUTPUT (the answer under review)\n{_clip(item.output, max_chars)}")
    return "\n\n".join(parts)


class _Budget:
    """Characters left for sources in one request: a long list of passages is cut, not sent whole."""

    def __init__(self, chars: int) -> None:
        self.left = chars

    def take(self, text: str, max_chars: int) -> str:
        if self.left <= 0:
            return "[omitted: the request's source budget is used up]"
        clipped = _clip(text, min(max_chars, self.left))
        self.left -= len(clipped)
        return clipped
