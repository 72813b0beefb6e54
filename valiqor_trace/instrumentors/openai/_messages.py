"""OpenAI message and tool shapes -> GenAI semantic-convention JSON (``gen_ai.*.messages``, tool definitions).

Conventions used for parts the semantic conventions do not name (documented in docs/openai.md):

- a refusal is ``{"type": "refusal", "content": ...}``;
- inline binary data (``data:`` URLs, audio) is a ``blob`` part whose content is
  replaced by a size note: base64 media is not analyzable text and would crowd
  the real text out of the length cap;
- tool-call arguments are recorded verbatim (the model's string), so invalid
  JSON stays visible to the analyzer.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _json_string  # C-accelerated, keeps non-ASCII as to_json does
from typing import Any

from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.openai._common import as_list, field
from valiqor_trace.internal import to_json


def refusal_part(content: str) -> dict[str, Any]:
    return {"type": "refusal", "content": content}


def _uri_part(url: str, modality: str) -> dict[str, Any]:
    if url.startswith("data:"):
        mime_type = url[5:].split(";", 1)[0] or None
        return {"type": "blob", "modality": modality, "mime_type": mime_type,
                "content": f"<{len(url)} chars of inline data omitted>"}
    return {"type": "uri", "modality": modality, "uri": url}


def content_parts(content: Any) -> list[dict[str, Any]]:
    """The parts of a chat message's ``content``: a string, or a list of typed content parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [genai.text_part(content)]
    items = as_list(content)
    if items is None:
        return []
    parts: list[dict[str, Any]] = []
    for item in items:
        kind = field(item, "type")
        if kind in ("text", "input_text", "output_text"):
            parts.append(genai.text_part(field(item, "text") or ""))
        elif kind == "refusal":
            parts.append(refusal_part(field(item, "refusal") or ""))
        elif kind == "image_url":
            url = field(field(item, "image_url"), "url")
            parts.append(_uri_part(url, "image") if isinstance(url, str) else {"type": "image_url"})
        elif kind == "input_image":  # Responses API: image_url is the URL string itself
            url = field(item, "image_url")
            parts.append(_uri_part(url, "image") if isinstance(url, str)
                         else {"type": "file", "modality": "image", "file_id": field(item, "file_id")})
        elif kind == "input_file":
            parts.append({"type": "file", "modality": "file", "file_id": field(item, "file_id"),
                          "filename": field(item, "filename")})
        elif kind == "input_audio":
            audio = field(item, "input_audio")
            parts.append({"type": "blob", "modality": "audio", "mime_type": f"audio/{field(audio, 'format')}",
                          "content": "<audio omitted>"})
        elif kind == "file":
            file = field(item, "file")
            parts.append({"type": "file", "modality": "file", "file_id": field(file, "file_id"),
                          "filename": field(file, "filename")})
        else:
            parts.append({"type": str(kind)})
    return parts


def content_text(content: Any) -> str | None:
    """The text of a content value (string, or text parts joined), for tool results."""
    if content is None or isinstance(content, str):
        return content
    texts = [part["content"] for part in content_parts(content) if part.get("type") == "text"]
    return "".join(texts)


def tool_call_parts(tool_calls: Any) -> list[dict[str, Any]]:
    parts = []
    for call in as_list(tool_calls) or ():
        function = field(call, "function")
        if function is not None:
            parts.append(genai.tool_call_part(field(call, "id"), field(function, "name"), field(function, "arguments")))
        else:  # custom tools carry free-form input instead of JSON arguments
            custom = field(call, "custom")
            parts.append(genai.tool_call_part(field(call, "id"), field(custom, "name"), field(custom, "input")))
    return parts


def text_message_json(role: str, text: str, finish_reason: str | None = None) -> str:
    """``to_json(message(role, [text_part(text)], finish_reason))``, built directly.

    Most messages are one role and one string; building their JSON without the
    intermediate dicts keeps the per-call cost of content capture small (tested
    to be byte-identical to the general path).
    """
    tail = f', "finish_reason": {_json_string(finish_reason)}}}' if finish_reason is not None else "}"
    return f'{{"role": {_json_string(role)}, "parts": [{{"type": "text", "content": {_json_string(text)}}}]{tail}'


def chat_input_messages_json(messages: Any) -> str | None:
    """``gen_ai.input.messages`` JSON for a chat ``messages`` argument (None if it is not a sequence)."""
    items = as_list(messages)
    if items is None:
        return None
    fragments = []
    for message in items:
        if type(message) is dict and len(message) == 2:  # the common {"role", "content": str}
            role, content = message.get("role"), message.get("content")
            if type(role) is str and type(content) is str and role not in ("tool", "function"):
                fragments.append(text_message_json(role, content))
                continue
        fragments.append(to_json(chat_input_message(message)))
    return f"[{', '.join(fragments)}]"


def chat_input_message(message: Any) -> dict[str, Any]:
    """One chat ``messages`` entry (dict or SDK model) as a convention input message."""
    role = field(message, "role") or "user"
    content = field(message, "content")
    if role == "tool":
        parts = [genai.tool_response_part(field(message, "tool_call_id"), content_text(content))]
    elif role == "function":  # the pre-tools function-calling API
        parts = [genai.tool_response_part(field(message, "name"), content_text(content))]
    else:
        parts = content_parts(content)
        refusal = field(message, "refusal")
        if refusal:
            parts.append(refusal_part(refusal))
        parts.extend(tool_call_parts(field(message, "tool_calls")))
        function_call = field(message, "function_call")
        if function_call is not None:
            parts.append(genai.tool_call_part(None, field(function_call, "name"), field(function_call, "arguments")))
    entry: dict[str, Any] = {"role": role, "parts": parts}
    name = field(message, "name")
    if name and role != "function":
        entry["name"] = name
    return entry


def chat_output_messages_json(choices: Any) -> str:
    """``gen_ai.output.messages`` JSON for a completion's choices."""
    fragments = []
    for choice in choices:
        message, finish_reason = getattr(choice, "message", None), getattr(choice, "finish_reason", None)
        content = getattr(message, "content", None)
        if (type(content) is str and not getattr(message, "tool_calls", None) and not getattr(message, "refusal", None)
                and getattr(message, "function_call", None) is None):
            fragments.append(text_message_json(getattr(message, "role", None) or "assistant", content, finish_reason))
        else:
            fragments.append(to_json(chat_output_message(message, finish_reason)))
    return f"[{', '.join(fragments)}]"


def chat_output_message(message: Any, finish_reason: str | None) -> dict[str, Any]:
    """A choice's ``message`` (SDK model or dict) as a convention output message."""
    parts = content_parts(field(message, "content"))
    refusal = field(message, "refusal")
    if refusal:
        parts.append(refusal_part(refusal))
    parts.extend(tool_call_parts(field(message, "tool_calls")))
    function_call = field(message, "function_call")
    if function_call is not None:
        parts.append(genai.tool_call_part(None, field(function_call, "name"), field(function_call, "arguments")))
    return genai.message(field(message, "role") or "assistant", parts, finish_reason)


def tool_definitions(tools: Any, functions: Any = None) -> list[dict[str, Any]] | None:
    """Tools offered to the model as ``[{type, name, description, parameters}]`` (chat or Responses shape)."""
    definitions: list[dict[str, Any]] = []
    for tool in as_list(tools) or ():
        kind = field(tool, "type") or "function"
        function = field(tool, "function")
        source = function if function is not None else field(tool, "custom")
        if source is None:  # Responses API: flat function tools, or built-ins like web_search
            source = tool
        definition: dict[str, Any] = {"type": kind, "name": field(source, "name") or kind}
        for key in ("description", "parameters", "strict"):
            value = field(source, key)
            if value is not None:
                definition[key] = value
        definitions.append(definition)
    for function in as_list(functions) or ():
        definitions.append({"type": "function", "name": field(function, "name"),
                            "description": field(function, "description"),
                            "parameters": field(function, "parameters")})
    return definitions or None
