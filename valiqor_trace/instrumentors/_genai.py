"""OpenTelemetry GenAI message shapes, shared by every instrumentor (the keys are in ``valiqor_trace.attributes``).

Messages are recorded as the convention's JSON: ``gen_ai.input.messages`` is a
list of ``{"role", "parts": [...]}``; ``gen_ai.output.messages`` adds
``finish_reason``; parts are ``{"type": "text", "content"}``,
``{"type": "tool_call", "id", "name", "arguments"}`` and
``{"type": "tool_call_response", "id", "response"}``.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span

from valiqor_trace.internal import get_content_policy, to_json


def text_part(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def tool_response_part(call_id: str | None, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def message(role: str, parts: list[dict[str, Any]], finish_reason: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": role, "parts": parts}
    if finish_reason is not None:
        entry["finish_reason"] = finish_reason
    return entry


def set_json_content(span: Span, key: str, value: Any) -> None:
    """Record a JSON-serialisable content value under ``key`` if the content policy allows it."""
    policy = get_content_policy()
    if not policy.capture or value is None:
        return
    text = policy.text(value if isinstance(value, str) else to_json(value))
    if text is not None:
        span.set_attribute(key, text)


def put_json_content(attributes: dict[str, Any], key: str, value: Any) -> None:
    """:func:`set_json_content` into ``attributes``, to be set on the span together with others (one call)."""
    policy = get_content_policy()
    if not policy.capture or value is None:
        return
    text = policy.text(value if isinstance(value, str) else to_json(value))
    if text is not None:
        attributes[key] = text
