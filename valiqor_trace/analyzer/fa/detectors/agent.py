"""Agent-loop failures: loops and blind retries, step limits, skipped tools, ignored tool results."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import lru_cache
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.tools import AGENT_KINDS, tool_error_text
from valiqor_trace.analyzer.fa.source_index import SourceIndex
from valiqor_trace.analyzer.fa.models import EvidenceItem, Finding
from valiqor_trace.analyzer.fa.text import STOPWORDS, WORD_RE, content_terms, lowered, may_contain

_STEP_LIMIT = re.compile(
    r"max(?:imum)?[ _-]?(?:number of )?(?:steps|iterations|turns|rounds)\b(?: \(\d+\))? (?:reached|exceeded)|"
    r"(?:reached|exceeded|hit) (?:the )?max(?:imum)?[ _-]?(?:number of )?(?:steps|iterations|turns|rounds)|"
    r"(?:iteration|step|turn|recursion) limit(?: of \d+)? (?:reached|exceeded|hit)|"
    r"stopped due to (?:the )?(?:iteration|step|max[ _]iterations|time) limit|recursion limit of \d+|"
    r"GraphRecursionError|MaxTurnsExceeded|AgentMaxIterations|max_iterations",
    re.IGNORECASE,
)
_STEP_LIMIT_HINTS = ("max", "limit", "recursionerror")  # every _STEP_LIMIT match contains one
_TOOLS_IN_PROMPT = re.compile(r"\b(?:access to|can use|you have|given)\b[^.\n]{0,40}\btools?\b|"
                              r"\btools? (?:available|you can use)",
                              re.IGNORECASE)
# Tools whose only job is to hand back the answer; using them alone is not "using tools".
ANSWER_TOOLS = re.compile(r"final[_ ]?answer|^answer$|^respond|^reply|^finish|^submit|^return_answer", re.IGNORECASE)


def _canonical(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments.strip()
    try:
        return json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(arguments)


def check_repeated_tool_calls(view: ItemView) -> CheckResult:
    calls = view.tool_calls
    if len(calls) < 2:
        return None if not calls else []
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, call in enumerate(calls):
        groups[(call.name, _canonical(call.arguments))].append(i)
    findings: list[Finding] = []
    for (name, _), indexes in groups.items():
        if len(indexes) < 2:
            continue
        failed_before = any(tool_error_text(calls[i]) for i in indexes[:-1])
        evidence = [e for n, i in enumerate(indexes)
                    for e in view.tool_evidence(i, note=f"call {n + 1} of {len(indexes)}")]
        if len(indexes) >= 3:
            findings.append(finding("repeated_tool_calls", "fail", min(0.95, 0.75 + 0.05 * len(indexes)),
                                    f"{name!r} was called {len(indexes)} times with identical arguments (a loop).",
                                    evidence, "repeated_tool_calls",
                                    severity_adjustment=0.5 if len(indexes) >= 5 else 0))
        elif failed_before:
            findings.append(finding("repeated_tool_calls", "fail", 0.7,
                                    f"{name!r} failed and was retried with the same arguments.", evidence,
                                    "repeated_tool_calls"))
        else:
            findings.append(finding("repeated_tool_calls", "unsure", 0.45,
                                    f"{name!r} was called twice with identical arguments.", evidence,
                                    "repeated_tool_calls", severity_adjustment=-1.0))
    return findings


def _step_limit(text: str) -> re.Match[str] | None:
    return _STEP_LIMIT.search(text) if may_contain(text, lowered(text), _STEP_LIMIT_HINTS) else None


def check_step_limit(view: ItemView) -> CheckResult:
    places: list[tuple[str, EvidenceItem]] = []
    match = _step_limit(view.output)
    if match:
        places.append((match.group(0), view.in_output(match.start(), match.end())))
    for entry in view.error_spans:
        message = f"{entry.get('error_type') or ''} {entry.get('message') or ''}"
        match = _step_limit(message)
        if match:
            places.append((match.group(0), view.in_span(entry.get("span_id"), message)))
    for i, call in enumerate(view.tool_calls):
        match = _step_limit(call.error or "")
        if match:
            places.append((match.group(0), view.in_tool(i, text=call.error)))
    if not places:
        return [] if view.tool_calls or view.is_trace else None
    return [finding("step_limit_reached", "fail", 0.9,
                    f"The agent stopped at its step limit ({places[0][0]!r}); the answer is likely incomplete.",
                    [evidence for _, evidence in places[:5]], "step_limit_reached")]


def answer_call(view: ItemView) -> dict[str, Any] | None:
    """The LLM call that produced the final answer (trace mode with per-call facts)."""
    calls = [c for c in view.llm_calls if c.get("output")]
    for call in reversed(calls):
        text = str(call.get("output"))
        if any(ANSWER_TOOLS.search(str(name)) for name in call.get("tool_requests") or []) or _calls_answer_tool(text):
            return call
    output = view.output.strip()
    for call in reversed(calls):
        if output and output in str(call.get("output")):
            return call
    return calls[-1] if calls else None


_FUNCTION_CALL = re.compile(r"\b([A-Za-z_]\w{0,40})\s*\(")


def _calls_answer_tool(text: str) -> bool:
    """Whether ``text`` calls an answer tool as a function: code agents write ``final_answer(...)`` in
    the code they output instead of a structured tool request."""
    return any(ANSWER_TOOLS.search(m.group(1)) for m in _FUNCTION_CALL.finditer(text))


def offered_tools(view: ItemView) -> list[str]:
    """Tools the model could use, besides answer tools: declared definitions, or (code and ReAct agents,
    whose tools live in the prompt) a system prompt that gives it tools."""
    names = [name for name in view.tool_definitions if not ANSWER_TOOLS.search(name)]
    if not names and _prompt_gives_tools(view.system_prompt):
        names = ["(tools listed in the system prompt)"]
    return names


@lru_cache(maxsize=256)
def _prompt_gives_tools(prompt: str) -> bool:
    """Cached per prompt: the items of an app share one (long) system prompt."""
    return _TOOLS_IN_PROMPT.search(prompt) is not None


def _novel_answer_tokens(view: ItemView) -> list[str]:
    """Words and numbers of the answer that the request does not contain (the system prompt's examples
    are not the task, so they do not count)."""
    index = SourceIndex([view.input])
    novel = []
    for token in dict.fromkeys(w.lower() for w in WORD_RE.findall(view.output)):
        if token in STOPWORDS or ANSWER_TOOLS.fullmatch(token):
            continue  # an answer tool's name is how the answer is handed back, not content
        if token.replace(".", "", 1).isdigit():
            if float(token) not in index.numbers:
                novel.append(token)
        elif len(token) >= 3 and not index._known_word(token):
            novel.append(token)
    return novel


def check_skipped_tool_use(view: ItemView) -> CheckResult:
    offered = offered_tools(view)
    if not offered:
        return None
    used = [c for c in view.tool_calls if c.executed and not ANSWER_TOOLS.search(c.name)]
    if used or not view.output.strip() or view.context:
        return []
    novel = _novel_answer_tokens(view)
    if not novel:
        return []  # the answer only restates the request: tools were not needed
    call = answer_call(view)
    evidence = [view.in_output(note="answer content not in the request: " + ", ".join(novel[:8]))]
    if call is not None:
        evidence.insert(0, view.in_span(call.get("span_id"), str(call.get("output")), note="answered without tools"))
    return [finding("skipped_tool_use", "fail", 0.65,
                    f"Tools were available ({', '.join(offered[:6])}) but none was used, and the answer brings "
                    f"content the request does not contain ({', '.join(novel[:5])}).", evidence,
                    "skipped_tool_use")]


def check_tool_result_ignored(view: ItemView) -> CheckResult:
    outputs = [(i, text) for i, text in view.executed_outputs if not tool_error_text(view.tool_calls[i])]
    answer = content_terms(view.output)
    if not outputs or len(answer) < 8:
        return None
    tool_terms = set().union(*(content_terms(text) for _, text in outputs))
    shared = len(answer & tool_terms) / len(answer)
    if shared >= 0.1:
        return []
    return [finding("tool_result_ignored", "unsure", 0.45,
                    f"Only {shared:.0%} of the answer's content words occur in any tool result.",
                    [view.in_output(), *(view.in_tool(i, "tool_output") for i, _ in outputs[:3])],
                    "tool_result_ignored")]


DETECTORS = (
    Detector("repeated_tool_calls", ("repeated_tool_calls",), check_repeated_tool_calls, feature_kinds=AGENT_KINDS,
             pass_confidence=0.85),
    Detector("step_limit_reached", ("step_limit_reached",), check_step_limit, feature_kinds=AGENT_KINDS,
             pass_confidence=0.8),
    Detector("skipped_tool_use", ("skipped_tool_use",), check_skipped_tool_use, feature_kinds=AGENT_KINDS,
             pass_confidence=0.6),
    Detector("tool_result_ignored", ("tool_result_ignored",), check_tool_result_ignored, feature_kinds=AGENT_KINDS,
             pass_confidence=0.5),
)
