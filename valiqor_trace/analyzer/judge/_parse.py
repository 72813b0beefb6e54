"""Reading the judge's answer: a tolerant JSON parser, and verdicts -> :class:`Finding` with located evidence.

Models wrap JSON in code fences, add a sentence before it, return a bare list, or use
``"bucket.subcategory"`` ids; all of that is accepted. What cannot be read raises
:class:`VerdictError`, whose message is sent back to the model in the one repair retry.
"""

from __future__ import annotations

import json
import re
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.fa.models import EvidenceItem, Finding
from valiqor_trace.analyzer.judge._prompt import DECISIONS

JUDGE_DETECTOR = "llm_judge"
MAX_EVIDENCE = 6
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_SPACE = re.compile(r"\s+")


class VerdictError(ValueError):
    """The judge's reply is not usable JSON verdicts; the message says what is wrong."""


def parse_verdicts(content: str, wanted: list[str]) -> dict[str, dict[str, Any]]:
    """The usable verdicts in ``content``, by subcategory id (ids outside ``wanted`` are dropped).

    Raises:
        VerdictError: no JSON found, or not one usable verdict for the rubric.
    """
    data = _load_json(content)
    raw = data.get("verdicts", data) if isinstance(data, dict) else data
    if isinstance(raw, dict):  # {"contradicts_source": {...}, ...}
        raw = [dict(v, subcategory_id=k) for k, v in raw.items() if isinstance(v, dict)]
    if not isinstance(raw, list):
        raise VerdictError('expected {"verdicts": [...]}, got ' + type(raw).__name__)
    verdicts: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for entry in raw:
        verdict, problem = _verdict(entry, wanted)
        if verdict is not None:
            verdicts.setdefault(verdict["subcategory_id"], verdict)
        elif problem:
            problems.append(problem)
    if not verdicts:
        raise VerdictError("no usable verdict" + (f" ({'; '.join(problems[:3])})" if problems else ""))
    return verdicts


def _load_json(content: str) -> Any:
    text = content.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    error = "the reply contains no JSON object"
    for opener, closer in (("{", "}"), ("[", "]")):  # an object first: prose may hold a stray "[1]"
        start, end = text.find(opener), text.rfind(closer)
        if start >= 0 and end < start and opener == "{":
            error = f"the reply's JSON is not complete (no closing {closer!r}): was it cut off?"
        if 0 <= start < end:
            try:
                return json.loads(text[start:end + 1])
            except ValueError as exc:
                error = f"the reply is not valid JSON ({exc})"
    raise VerdictError(error)


def _verdict(entry: Any, wanted: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(entry, dict):
        return None, "a verdict is not an object"
    sub = str(entry.get("subcategory_id") or entry.get("id") or "").strip().strip("`")
    sub = sub.rsplit(".", 1)[-1]
    if sub not in wanted:
        return None, f"unknown subcategory_id {sub!r}"
    decision = str(entry.get("decision", "")).strip().lower()
    if decision not in DECISIONS:
        return None, f"{sub}: decision must be pass, fail or unsure, got {decision!r}"
    try:
        confidence = min(1.0, max(0.0, float(entry.get("confidence", 0.5))))
    except (TypeError, ValueError):
        confidence = 0.5
    declared = entry.get("evidence")
    evidence = declared if isinstance(declared, list) else []
    return {"subcategory_id": sub, "decision": decision, "confidence": round(confidence, 3),
            "rationale": str(entry.get("rationale") or "").strip(),
            "evidence": [e for e in evidence if isinstance(e, dict)][:MAX_EVIDENCE]}, None


def to_findings(verdicts: dict[str, dict[str, Any]], view: ItemView) -> list[Finding]:
    """One ``llm_judge`` :class:`Finding` per verdict, its quotes located in the item (span ids in trace mode)."""
    findings = []
    for sub, verdict in verdicts.items():
        rationale = verdict["rationale"] or f"The judge decided {verdict['decision']} without a rationale."
        evidence = [located for e in verdict["evidence"] if (located := locate(e, view)) is not None]
        findings.append(Finding(subcategory_id=sub, decision=verdict["decision"], confidence=verdict["confidence"],
                                rationale=rationale, evidence=evidence, detector=JUDGE_DETECTOR,
                                detector_type="llm_judge"))
    return findings


def locate(quote: dict[str, Any], view: ItemView) -> EvidenceItem | None:
    """An :class:`EvidenceItem` for one quoted passage: its source, index, offsets and span when found."""
    text = str(quote.get("quote") or "").strip()
    if not text:
        return None
    source = str(quote.get("source") or "output")
    index = quote.get("index") if isinstance(quote.get("index"), int) else None
    if source == "context":
        return _in_list(view, text, index, view.context, lambda i, s, e, n: view.in_context(i, s, e, n))
    if source in ("tool_output", "tool_call"):
        texts = [(c.output or c.error or "") if source == "tool_output" else c.name for c in view.tool_calls]
        found = _in_list(view, text, index, texts, lambda i, s, e, n: view.in_tool(i, source, text, n))
        return found or EvidenceItem(source=source, text=text, index=index, note=_NOT_FOUND)
    if source == "input":
        start = find_quote(view.input, text)
        if start is None:
            return _unplaced("input", text, view.input_span_id())
        return view.in_input(start, start + len(text))
    if source == "system_prompt":
        return EvidenceItem(source="system_prompt", text=text,
                            note=None if find_quote(view.system_prompt, text) is not None else _NOT_FOUND)
    start = find_quote(view.output, text)
    if start is None:
        return _unplaced("output", text, view.output_span_id())
    return view.in_output(start, start + len(text))


_NOT_FOUND = "quoted by the judge; not found verbatim in the item"


def _unplaced(source: str, text: str, span_id: str | None) -> EvidenceItem:
    return EvidenceItem(source=source, text=text, span_id=span_id, note=_NOT_FOUND)


def _in_list(view: ItemView, text: str, index: int | None, texts: list[str], build: Any) -> EvidenceItem | None:
    order = ([index] if index is not None and 0 <= index < len(texts) else []) + list(range(len(texts)))
    for i in order:
        start = find_quote(texts[i], text)
        if start is not None:
            return build(i, start, start + len(text), None)
    if index is not None and 0 <= index < len(texts):
        return build(index, None, None, _NOT_FOUND)
    return None


def find_quote(haystack: str, quote: str) -> int | None:
    """Where ``quote`` starts in ``haystack`` (exact, then ignoring case and runs of whitespace), or None."""
    if not haystack or not quote:
        return None
    exact = haystack.find(quote)
    if exact >= 0:
        return exact
    lowered = haystack.lower().find(quote.lower())
    if lowered >= 0:
        return lowered
    words = _SPACE.split(quote.strip())
    pattern = r"\s+".join(re.escape(w) for w in words if w)
    match = re.search(pattern, haystack, re.IGNORECASE) if pattern else None
    return match.start() if match else None
