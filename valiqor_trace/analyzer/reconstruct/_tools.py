"""Tool arguments and outputs as frameworks record them, reduced to what the model sent and got.

Framework wrappers seen in real traces:

- LangChain via OpenLLMetry: arguments ``{"input_str", "inputs": {...}, "kwargs": {"tool_call_id"}}``,
  output ``{"output": <serialized ToolMessage>}``;
- LangChain via OpenInference: output is the ToolMessage as ``{"type": "tool", "data": {...}}``;
- smolagents via OpenInference: arguments ``{"args": [...], "kwargs": {...}, "sanitize_inputs_outputs"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from valiqor_trace.analyzer.reconstruct._values import langchain_content, langchain_tool_call_id, parse_json, to_text


def tool_arguments(raw: Any, parameter_names: Sequence[str] = ()) -> tuple[Any, str | None]:
    """(arguments, tool call id found in them) for a recorded tool input."""
    value = parse_json(raw)
    if not isinstance(value, Mapping):
        return value, None
    call_id = None
    kwargs = value.get("kwargs")
    if isinstance(kwargs, Mapping) and isinstance(kwargs.get("tool_call_id"), str):
        call_id = kwargs["tool_call_id"]
    if "input_str" in value and "inputs" in value:  # LangChain callback payload
        return parse_json(value["inputs"]), call_id
    if set(value) <= {"args", "kwargs", "sanitize_inputs_outputs"} and "args" in value:  # smolagents
        args = value.get("args") or []
        merged = dict(kwargs) if isinstance(kwargs, Mapping) else {}
        if isinstance(args, list) and args:
            if len(parameter_names) >= len(args):
                merged.update(zip(parameter_names, args))
            else:
                merged["args"] = args
        return merged, call_id
    return value, call_id


def tool_output(raw: Any) -> tuple[str | None, str | None]:
    """(output text, tool call id found in it) for a recorded tool output."""
    if raw is None:
        return None, None
    value = parse_json(raw)
    call_id = langchain_tool_call_id(value)
    wrapped = isinstance(value, Mapping) and set(value) <= {"output", "kwargs"} and "output" in value
    if wrapped:
        value = parse_json(value["output"])
    if isinstance(value, Mapping):
        content = langchain_content(value)
        if content is not None:
            return to_text(content), call_id
    if wrapped:
        return to_text(value), call_id
    # Not a wrapper: keep the text exactly as recorded.
    return (raw if isinstance(raw, str) else to_text(value)), call_id
