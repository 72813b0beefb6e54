"""LangChain messages, generations and tools -> GenAI semantic-convention JSON.

Shapes follow :mod:`valiqor_trace.instrumentors._genai` (and the OpenAI instrumentor's choices for
parts the conventions do not name): inline binary data becomes a ``blob`` part
whose content is a size note, reasoning blocks become ``reasoning`` parts, and
tool-call arguments are the parsed object LangChain holds (``AIMessage.tool_calls``),
and finish reasons are the provider's own values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from valiqor_trace.instrumentors import _genai as genai

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool",
          "developer": "system"}


_NOT_PYDANTIC = object()
_class_has: dict[tuple[type, str], bool] = {}  # hasattr(cls, name): a miss on a pydantic class raises too (~1 µs)


def _on_class(cls: type, name: str) -> bool:
    found = _class_has.get((cls, name))
    if found is None:
        if len(_class_has) > 4096:  # classes made at run time must not grow it without bound
            _class_has.clear()
        found = _class_has[(cls, name)] = hasattr(cls, name)
    return found


def field(message: Any, name: str) -> Any:
    """``getattr(message, name, None)``, without pydantic's slow way of saying a message has no such field.

    Messages are pydantic models: a name they lack goes through ``BaseModel.__getattr__``, which builds
    and raises an AttributeError (~5 µs), and most messages lack ``role`` and ``tool_calls``. The same
    answer, looked up where pydantic keeps it: declared fields in ``__dict__``, extra ones (messages
    allow extras) in ``__pydantic_extra__``, properties and methods on the class.
    """
    values = getattr(message, "__dict__", None)
    if values is None:
        return getattr(message, name, None)
    if name in values:
        return values[name]
    if _on_class(type(message), name) or name.startswith("_"):  # properties, methods; pydantic's private attributes
        return getattr(message, name, None)
    extra: Any = getattr(message, "__pydantic_extra__", _NOT_PYDANTIC)  # every pydantic model has it: None or a dict
    if extra is _NOT_PYDANTIC:
        return getattr(message, name, None)  # its own __getattr__ may know the name
    return extra.get(name) if extra else None


def role_of(message: Any) -> str:
    role = field(message, "role")  # ChatMessage carries its own role
    if isinstance(role, str) and role:
        return _ROLES.get(role, role)
    kind = str(getattr(message, "type", "") or "").lower()
    if kind.endswith("messagechunk"):
        kind = kind[: -len("messagechunk")]
    return _ROLES.get(kind, kind or "user")


def _media_part(block: Mapping[str, Any], modality: str) -> dict[str, Any]:
    url = block.get("url")
    if isinstance(block.get("image_url"), Mapping):
        url = block["image_url"].get("url")
    elif isinstance(block.get("image_url"), str):
        url = block["image_url"]
    mime_type = block.get("mime_type")
    data = block.get("base64") or block.get("data")
    if isinstance(url, str) and url.startswith("data:"):
        mime_type = mime_type or url[5:].split(";", 1)[0] or None
        data = url
    if data is not None:
        return {"type": "blob", "modality": modality, "mime_type": mime_type,
                "content": f"<{len(str(data))} chars of inline data omitted>"}
    if isinstance(url, str):
        return {"type": "uri", "modality": modality, "uri": url}
    return {"type": "file", "modality": modality, "file_id": block.get("file_id") or block.get("id")}


def content_parts(content: Any) -> list[dict[str, Any]]:
    """Parts of a message's ``content``: a string, or a list of strings and content blocks."""
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [genai.text_part(content)]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, Sequence) else [content]:
        if isinstance(block, str):
            parts.append(genai.text_part(block))
            continue
        if not isinstance(block, Mapping):
            parts.append(genai.text_part(str(block)))
            continue
        kind = block.get("type")
        if kind in ("text", "input_text", "output_text"):
            parts.append(genai.text_part(str(block.get("text") or "")))
        elif kind in ("reasoning", "thinking"):
            parts.append({"type": "reasoning",
                          "content": block.get("reasoning") or block.get("thinking") or block.get("text") or ""})
        elif kind in ("image_url", "image", "audio", "video", "file", "input_audio"):
            modality = "image" if kind in ("image_url", "image") else ("audio" if "audio" in kind else kind)
            parts.append(_media_part(block, modality))
        elif kind in ("tool_call", "tool_use", "tool_call_chunk", "function_call"):
            continue  # recorded from message.tool_calls, the parsed form
        elif kind == "refusal":
            parts.append({"type": "refusal", "content": block.get("refusal") or ""})
        else:
            parts.append({"type": str(kind)})
    return parts


def content_text(content: Any) -> Any:
    """A tool result's text: strings stay, text blocks are joined, anything else is kept as is."""
    if content is None or isinstance(content, str):
        return content
    texts = [part["content"] for part in content_parts(content) if part.get("type") == "text"]
    return "".join(texts) if texts else content


def _tool_call_parts(message: Any) -> list[dict[str, Any]]:
    parts = [genai.tool_call_part(call.get("id"), call.get("name"), call.get("args"))
             for call in field(message, "tool_calls") or ()]
    # Calls the model made with unparsable arguments: keep the raw text, the analyzer flags them.
    parts.extend(genai.tool_call_part(call.get("id"), call.get("name"), call.get("args"))
                 for call in field(message, "invalid_tool_calls") or ())
    return parts


def input_message(message: Any) -> dict[str, Any]:
    """A LangChain ``BaseMessage`` as a convention input message."""
    role = role_of(message)
    if role == "tool":
        call_id = getattr(message, "tool_call_id", None) or getattr(message, "name", None)
        return {"role": "tool", "parts": [genai.tool_response_part(call_id, content_text(message.content))]}
    entry: dict[str, Any] = {"role": role,
                             "parts": content_parts(getattr(message, "content", None)) + _tool_call_parts(message)}
    name = getattr(message, "name", None)
    if name:
        entry["name"] = name
    return entry


def input_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    return [input_message(message) for message in messages]


def finish_reason_of(generation: Any) -> str | None:
    info = getattr(generation, "generation_info", None) or {}
    reason = info.get("finish_reason") or info.get("stop_reason")
    message = field(generation, "message")
    if reason is None and message is not None:
        metadata = getattr(message, "response_metadata", None) or {}
        reason = metadata.get("finish_reason") or metadata.get("stop_reason")
    return str(reason) if reason is not None else None


def output_message(generation: Any) -> dict[str, Any]:
    """One generation (chat or text) as a convention output message."""
    # The provider's own value ("tool_calls", "end_turn"), as the OpenAI instrumentor records it.
    reason = finish_reason_of(generation)
    message = field(generation, "message")
    if message is None:
        return genai.message("assistant", [genai.text_part(generation.text)], reason)
    return genai.message("assistant", content_parts(message.content) + _tool_call_parts(message), reason)


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """Tools bound to a model (OpenAI, Anthropic or plain shapes) as ``[{type, name, description, parameters}]``."""
    definitions: list[dict[str, Any]] = []
    for tool in tools or ():
        if not isinstance(tool, Mapping):
            continue
        function = tool.get("function")
        source = function if isinstance(function, Mapping) else tool
        definition: dict[str, Any] = {"type": tool.get("type") or "function",
                                      "name": source.get("name") or tool.get("type")}
        description = source.get("description")
        parameters = source.get("parameters") or source.get("input_schema")
        if description is not None:
            definition["description"] = description
        if parameters is not None:
            definition["parameters"] = parameters
        definitions.append(definition)
    return definitions or None
