"""Tool-call failures: errors, invalid arguments, unknown tools, calls that never ran.

Trace mode uses span status/exception events (``ToolCall.error``, ``error_spans``) and the
tool definitions the model was offered (``TraceFacts.TOOL_DEFINITIONS``); dataset mode uses
what the item's ``tool_calls`` carry (``error``, ``output``, ``executed``).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.jsonschema_lite import validate
from valiqor_trace.analyzer.fa.models import Finding
from valiqor_trace.analyzer.fa.text import clip

AGENT_KINDS = ("agent", "agentic_rag")
# Output that is an error report rather than a result. Anchored at the start (or a JSON error
# object) so that a document merely *mentioning* errors is not mistaken for one.
_ERROR_OUTPUT = re.compile(
    r"^\s*(?:traceback \(most recent call last\)|(?:\w+\.)*\w*(?:error|exception)\b\s*[:(]|error\b\s*[:\-!]|"
    r"failed\b|fatal\b|\d{3} (?:bad request|unauthorized|forbidden|not found|internal server error|"
    r"service unavailable|too many requests))",
    re.IGNORECASE,
)
ARGUMENT_ERROR = re.compile(
    r"unexpected keyword argument|missing \d+ required (?:positional|keyword)|required (?:positional )?argument|"
    r"validation error|invalid (?:tool )?(?:argument|parameter|input)s?|takes \d+ positional|"
    r"got an unexpected|argument of type|is not a valid (?:json|integer|number)|jsondecodeerror|"
    r"could not parse (?:tool )?(?:input|arguments)",
    re.IGNORECASE,
)


def tool_error_text(call: Any) -> str | None:
    """The error a tool call reported, from its status or from error-shaped output."""
    if call.error:
        return str(call.error)
    output = call.output
    if not output:
        return None
    return _error_output(output)


@lru_cache(maxsize=1024)
def _error_output(output: str) -> str | None:
    """``output`` when it is error-shaped (JSON stripped); cached, since three checks read every output."""
    if _ERROR_OUTPUT.match(output):
        return output
    stripped = output.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except ValueError:
            return None
        status = str(value.get("status", "")).lower() if isinstance(value, dict) else ""
        if isinstance(value, dict) and (value.get("error") or status in ("error", "failed")):
            return stripped
    return None


def check_tool_error(view: ItemView) -> CheckResult:
    if not view.tool_calls and not view.error_spans:
        return None
    findings: list[Finding] = []
    seen_spans = set()
    for i, call in enumerate(view.tool_calls):
        if not call.executed:
            continue
        error = tool_error_text(call)
        if error is None:
            continue
        seen_spans.add(call.span_id)
        if ARGUMENT_ERROR.search(error):
            continue  # the tool rejected its arguments: reported once, as invalid_tool_arguments
        status = bool(call.error)
        findings.append(finding(
            "tool_error", "fail", 0.95 if status else 0.8,
            f"Tool {call.name!r} {'raised' if status else 'returned an error'}: {clip(error, 200)}",
            view.tool_evidence(i, "tool_output" if not status else "tool_call", text=error,
                               note="error status" if status else "error-shaped output"), "tool_error"))
    for entry in view.error_spans:
        if entry.get("kind") == "tool" and entry.get("span_id") not in seen_spans:
            message = f"{entry.get('error_type') or ''}: {entry.get('message') or ''}".strip(": ")
            findings.append(finding("tool_error", "fail", 0.95,
                                    f"Tool span {entry.get('name')!r} failed: {message[:200]}",
                                    [view.in_span(entry.get("span_id"), message, note="error status")], "tool_error"))
    return findings


def _schema_of(view: ItemView, name: str) -> dict[str, Any] | None:
    definition = view.tool_definitions.get(name)
    if not definition:
        return None
    schema = definition.get("parameters") or definition.get("input_schema") or definition.get("inputs")
    return schema if isinstance(schema, dict) and schema else None


def check_invalid_tool_arguments(view: ItemView) -> CheckResult:
    if not view.tool_calls:
        return None
    findings: list[Finding] = []
    for i, call in enumerate(view.tool_calls):
        problem = argument_problem(view, call)
        if problem is not None:
            confidence, reason = problem
            findings.append(finding("invalid_tool_arguments", "fail", confidence,
                                    f"Arguments of {call.name!r} are invalid: {reason}",
                                    view.tool_evidence(i, note=reason), "invalid_tool_arguments"))
    return findings


def argument_problem(view: ItemView, call: Any) -> tuple[float, str] | None:
    schema = _schema_of(view, call.name)
    arguments = call.arguments
    if isinstance(arguments, str):
        text = arguments.strip()
        wants_object = schema is not None and schema.get("type", "object") == "object"
        if text and (text[0] in "{[" or wants_object):
            try:
                arguments = json.loads(text)
            except json.JSONDecodeError as exc:
                return 0.9, f"not valid JSON ({exc.msg} at position {exc.pos})"
            except ValueError as exc:  # valid syntax Python cannot read: an integer over sys.get_int_max_str_digits()
                return 0.9, f"not readable as JSON ({exc})"
    if schema is not None and arguments is not None and _is_json_schema(schema):
        errors = validate(arguments, schema)
        if errors:
            return 0.9, "; ".join(errors[:3])
    error = call.error or (call.output if call.output and _ERROR_OUTPUT.match(call.output) else None)
    if error and ARGUMENT_ERROR.search(error):
        return 0.85, f"the tool rejected them: {clip(error, 160)}"
    return None


def _is_json_schema(schema: dict[str, Any]) -> bool:
    """Tool definitions from some frameworks map parameter names to specs without a JSON-schema wrapper."""
    return "type" in schema or "properties" in schema or "$ref" in schema or "anyOf" in schema


def check_unknown_tool(view: ItemView) -> CheckResult:
    if not view.tool_calls or not view.tool_definitions:
        return None
    offered = sorted(view.tool_definitions)
    return [
        finding("unknown_tool", "fail", 0.9,
                f"The model called {call.name!r}, which was not offered (offered: {', '.join(offered)}).",
                view.tool_evidence(i, note="not in tool definitions"), "unknown_tool")
        for i, call in enumerate(view.tool_calls)
        if call.name not in view.tool_definitions
    ]


def check_unexecuted_tool_call(view: ItemView) -> CheckResult:
    if not view.tool_calls:
        return None
    return [
        finding("unexecuted_tool_call", "fail", 0.85,
                f"The model asked for {call.name!r} but the call never ran (no execution, no result).",
                view.tool_evidence(i, note="requested, never executed"), "unexecuted_tool_call")
        for i, call in enumerate(view.tool_calls)
        if not call.executed
    ]


DETECTORS = (
    Detector("tool_error", ("tool_error",), check_tool_error, feature_kinds=AGENT_KINDS, pass_confidence=0.9),
    Detector("invalid_tool_arguments", ("invalid_tool_arguments",), check_invalid_tool_arguments,
             feature_kinds=AGENT_KINDS, pass_confidence=0.8),
    Detector("unknown_tool", ("unknown_tool",), check_unknown_tool, feature_kinds=AGENT_KINDS, pass_confidence=0.95),
    Detector("unexecuted_tool_call", ("unexecuted_tool_call",), check_unexecuted_tool_call,
             feature_kinds=AGENT_KINDS, pass_confidence=0.85),
)
