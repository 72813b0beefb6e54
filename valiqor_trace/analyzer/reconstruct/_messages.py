"""Chat messages in the shapes instrumentations record them, turned into :class:`Message`.

Two families: the GenAI semantic-convention shape (``{"role", "parts": [...]}``)
and the OpenAI API shape (``{"role", "content", "tool_calls", "tool_call_id"}``),
which older GenAI attributes, per-message events and many exports use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valiqor_trace.analyzer.reconstruct._values import content_text, normalize_arguments, parse_json, role_of, to_text
from valiqor_trace.analyzer.reconstruct._views import Message, ToolRequest

__all__ = ["content_text", "message_of", "messages_of", "role_of", "tool_definition_of", "tool_request_of"]


def messages_of(value: Any) -> list[Message]:
    """Messages from a JSON list (either family); [] when it is not one."""
    value = parse_json(value)
    if isinstance(value, Mapping):
        value = value.get("messages", [value])
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        item = parse_json(item)
        if isinstance(item, Mapping):
            out.append(message_of(item))
    return out


def message_of(item: Mapping[str, Any]) -> Message:
    """One message of either family."""
    if isinstance(item.get("message"), Mapping) and "role" not in item:
        # An OpenAI choice ({"index", "finish_reason", "message"}) or a gen_ai.choice event body.
        message = message_of(item["message"])
        message.finish_reason = message.finish_reason or _str(item.get("finish_reason"))
        return message
    if isinstance(item.get("parts"), list):
        return _from_parts(item)
    return _from_openai(item)


def _from_parts(item: Mapping[str, Any]) -> Message:
    message = Message(role=role_of(item.get("role")), finish_reason=_str(item.get("finish_reason")))
    texts: list[str] = []
    for part in item["parts"]:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text" or (kind is None and "content" in part):
            text = to_text(part.get("content"))
            if text:
                texts.append(text)
        elif kind == "tool_call":
            message.tool_calls.append(ToolRequest(id=_str(part.get("id")), name=str(part.get("name") or ""),
                                                  arguments=normalize_arguments(part.get("arguments"))))
        elif kind == "tool_call_response":
            message.tool_call_id = _str(part.get("id"))
            texts.append(to_text(part.get("response")) or "")
    message.text = "\n".join(texts) if texts else None
    _add_openai_keys(message, item)  # LiteLLM writes its history's tool calls and results OpenAI-style next to parts
    if message.tool_call_id and not message.tool_calls and not any(
            isinstance(p, Mapping) and p.get("type") in ("text", None) for p in item["parts"]):
        message.role = "tool"  # Anthropic and Gemini send tool results in a user turn: not something the user said
    return message


def _from_openai(item: Mapping[str, Any]) -> Message:
    message = Message(role=role_of(item.get("role")), text=content_text(item.get("content")),
                      tool_call_id=_str(item.get("tool_call_id")) or (
                          _str(item.get("id")) if role_of(item.get("role")) == "tool" else None),
                      finish_reason=_str(item.get("finish_reason")))
    _add_openai_keys(message, item)
    function_call = parse_json(item.get("function_call"))
    if isinstance(function_call, Mapping) and function_call.get("name"):  # the pre-tools API
        message.tool_calls.append(ToolRequest(id=None, name=str(function_call["name"]),
                                              arguments=normalize_arguments(function_call.get("arguments"))))
    return message


def _add_openai_keys(message: Message, item: Mapping[str, Any]) -> None:
    """The OpenAI-shape ``tool_calls`` and ``tool_call_id`` of ``item``, where the parts had none."""
    if not message.tool_calls:
        calls = parse_json(item.get("tool_calls"))
        for call in calls if isinstance(calls, list) else []:
            request = tool_request_of(call)
            if request is not None:
                message.tool_calls.append(request)
    message.tool_call_id = message.tool_call_id or _str(item.get("tool_call_id"))


def tool_request_of(call: Any) -> ToolRequest | None:
    """A tool request in the OpenAI shape (``{"id", "function": {"name", "arguments"}}``) or flat."""
    call = parse_json(call)
    if not isinstance(call, Mapping):
        return None
    nested = call.get("function")
    function = nested if isinstance(nested, Mapping) else call
    name = function.get("name")
    if not name:
        return None
    return ToolRequest(id=_str(call.get("id")), name=str(name), arguments=normalize_arguments(function.get("arguments")))


def tool_definition_of(value: Any) -> dict[str, Any] | None:
    """``{name, description, parameters}`` from an OpenAI tool schema or a flat definition."""
    value = parse_json(value)
    if not isinstance(value, Mapping):
        return None
    nested = value.get("function")
    function = nested if isinstance(nested, Mapping) else value
    if not function.get("name"):
        return None
    return {"name": str(function["name"]), "description": function.get("description"),
            "parameters": parse_json(function.get("parameters"))}


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
