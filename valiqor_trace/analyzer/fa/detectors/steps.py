"""Failed agent steps (trace mode): an agent/chain span that ended in error.

Agent frameworks record a failed step on the step span (smolagents ``Step N``, LangGraph
nodes, LangChain chains). The fault usually lies in the LLM call that wrote the step (bad
code, a malformed tool call), so evidence points at the step span *and* the LLM call(s)
under it. The error message decides the subcategory: output that could not be parsed is
a format violation, a rejected tool call is invalid arguments, anything else is a failed
tool/code execution.
"""

from __future__ import annotations

import re

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.tools import AGENT_KINDS, ARGUMENT_ERROR

_DIRECT_KINDS = frozenset({"llm", "tool", "retrieval", "embedding"})  # handled by their own detectors
_PARSE_ERROR = re.compile(
    r"pars(?:e|ing) (?:failed|error)|could not parse|regex pattern .{0,120}? was not found|syntax ?error|"
    r"unterminated|indentationerror|invalid syntax|outputparserexception|invalid format|"
    r"not (?:a )?valid (?:json|python)|expected .{0,30}? format",
    re.IGNORECASE,
)


def check_step_errors(view: ItemView) -> CheckResult:
    entries = [e for e in view.error_spans if e.get("kind") not in _DIRECT_KINDS]
    if not entries:
        return []
    findings = []
    for entry in entries:
        message = f"{entry.get('error_type') or ''}: {entry.get('message') or ''}".strip(": ")
        if ARGUMENT_ERROR.search(message):
            sub, what = "invalid_tool_arguments", "a tool call the step made was rejected"
        elif _PARSE_ERROR.search(message):
            sub, what = "format_violation", "the model's output for the step could not be parsed"
        else:
            sub, what = "tool_error", "the step's tool or code execution failed"
        evidence = [view.in_span(entry.get("span_id"), message, note=f"failed step {entry.get('name')!r}")]
        evidence += [view.in_span(c.get("span_id"), str(c.get("output") or ""), note="the LLM call that wrote the step")
                     for c in view.llm_children(entry.get("span_id"))]
        findings.append(finding(sub, "fail", 0.85, f"Agent step {entry.get('name')!r} failed: {what} "
                                f"({message[:160]}).", evidence, "step_errors"))
    return findings


DETECTORS = (
    Detector("step_errors", ("tool_error", "invalid_tool_arguments", "format_violation"), check_step_errors,
             feature_kinds=AGENT_KINDS, needs_trace=True, pass_confidence=0.7),
)
