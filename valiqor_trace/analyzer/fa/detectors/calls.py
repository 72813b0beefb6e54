"""Per-model-call output instructions (trace mode): an end marker the call's prompt requires.

Prompts that drive agents often tell the model how to close its output: "write the
'<end_plan>' tag and stop there", 'end your answer with "DONE"', "finish with </answer>".
A parser downstream waits for that marker, so an output without it is an output-format
failure of that one call (TRAIL: output generation - formatting / instruction
non-compliance), located at the call. The instruction is read from the opening of the
call's first and last input messages (``instructions``); a marker that is one of the request's stop
sequences is cut off by the API, so its absence is expected and not reported.
"""

from __future__ import annotations

import re
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.tools import AGENT_KINDS


def _marker(n: int) -> str:
    """A literal marker: an angle-bracket tag, or a short quoted token (the leading "\\n" some prompts
    put inside the quotes, as in '\\n<end_plan>', is not part of it). ``n`` keeps group names apart."""
    return (rf"""(?:(?P<q{n}>['"`])(?:\\n|\s)*(?P<quoted{n}>[^'"`\n]{{1,30}}?)(?P=q{n})|"""
            rf"(?P<tag{n}></?[A-Za-z_][\w-]{{0,29}}>))")


_END_MARKER = re.compile(
    r"\b(?:(?:end|finish|terminate|close|conclude)\w*\s+(?:it\s+|(?:your|the|each|every)\s+\w+\s+)?with\s+(?:the\s+|a\s+)?"
    + _marker(1) +
    r"|(?:write|add|append|output|print|put|emit)\s+(?:the\s+|a\s+)?" + _marker(2) +
    r"(?:\s+(?:tag|token|marker|line|string))?\s*(?:,\s*)?(?:and\s+(?:then\s+)?stop|at\s+the\s+(?:very\s+)?end|"
    r"last\b|to\s+(?:end|finish|close)|when\s+(?:you(?:'re|\s+are)\s+)?(?:done|finished)))",
    re.IGNORECASE,
)


_MAX_EVIDENCE = 50  # every violating call up to this many (a long agent run repeats the same slip)


def required_end_marker(prompt: str) -> str | None:
    """The literal marker ``prompt`` tells the model to end its output with, if it names one."""
    match = _END_MARKER.search(prompt)
    if match is None:
        return None
    groups = [g for name, g in match.groupdict().items() if not name[1:].isdigit() and g]  # not q1/q2 (the quote)
    return groups[0].strip() if groups and groups[0].strip() else None


def _missing_marker(call: dict[str, Any]) -> str | None:
    marker = required_end_marker(str(call.get("instructions") or ""))
    if marker is None or marker in (call.get("stop_sequences") or []):
        return None
    output = str(call.get("output") or "")
    if not output.strip() or call.get("tool_requests") or marker in output:
        return None  # no text (a tool request answers differently), or the marker is there
    return marker


def check_required_end_marker(view: ItemView) -> CheckResult:
    calls = [c for c in view.llm_calls if c.get("instructions")]
    if not calls:
        return None
    missing = [(c, marker) for c in calls if (marker := _missing_marker(c)) is not None]
    if not missing:
        return []
    evidence = [view.in_span(c.get("span_id"), str(c.get("output") or "")[-200:],
                             note=f"the prompt asks to end with {marker!r}; the output does not contain it")
                for c, marker in missing[:_MAX_EVIDENCE]]
    markers = sorted({marker for _, marker in missing})
    return [finding("format_violation", "fail", 0.8,
                    f"{len(missing)} model call(s) did not end their output with the marker their prompt requires "
                    f"({', '.join(repr(m) for m in markers[:3])}); a parser waiting for it will not see the end.",
                    evidence, "required_end_marker")]


DETECTORS = (
    Detector("required_end_marker", ("format_violation",), check_required_end_marker, feature_kinds=AGENT_KINDS,
             needs_trace=True, pass_confidence=0.8),
)
