"""Small pure helpers for reading attribute values written by many instrumentations.

Attribute values arrive as JSON text, plain text, numbers, or (after an OTLP
round trip) lists; these helpers turn them into Python values and text without
ever raising on odd input: a reader that meets something unexpected returns
``None`` and reconstruction carries on with what the other spans say.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Keys under which frameworks wrap the one value they record, in the order we trust them.
_WRAPPER_KEYS = ("task", "input", "inputs", "question", "query", "prompt", "request", "user_input", "message",
                 "text", "content", "outputs", "output", "answer", "result", "response", "final_answer")
# Keys that are bookkeeping next to the wrapped value (OpenLLMetry, LangChain callbacks, smolagents).
_NOISE_KEYS = frozenset({"tags", "metadata", "kwargs", "run_id", "parent_run_id", "callbacks", "config",
                         "sanitize_inputs_outputs", "name", "run_name"})


def parse_json(value: Any) -> Any:
    """``value`` decoded from JSON when it is JSON text for an object, array or string; else ``value``.

    Bare numbers and words stay text: an answer of ``"3"`` is the text 3, not the number.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or text[0] not in "{[\"":
        return value
    try:
        return json.loads(text)
    except ValueError:
        return value


def to_text(value: Any) -> str | None:
    """Text for a value that is a message, a document, or anything else; ``None`` for nothing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def unwrap(value: Any, *, depth: int = 0) -> Any:
    """The meaningful value inside framework wrappers.

    ``{"task": "..."}`` (smolagents), ``{"inputs": ..., "tags": [], "kwargs": {}}``
    (OpenLLMetry over LangChain), LangChain serialized messages (``{"lc": 1,
    "kwargs": {"content": ...}}`` and ``{"type": "ai", "data": {"content": ...}}``)
    and single-key dicts all give up the value they carry.
    """
    if depth > 6 or not isinstance(value, Mapping):
        return value
    content = langchain_content(value)
    if content is not None:
        return content
    keys = [k for k in value if k not in _NOISE_KEYS]
    if len(keys) == 1:
        return unwrap(value[keys[0]], depth=depth + 1)
    for key in _WRAPPER_KEYS:
        if key in value and isinstance(value[key], (str, Mapping)):
            return unwrap(value[key], depth=depth + 1)
    return value


def text_of(raw: Any, *, answer: bool = False) -> str | None:
    """Readable text of a recorded input (or, with ``answer``, output) value: JSON text, wrappers and all.

    A chat history (an agent's or a graph's state: ``{"messages": [...]}``) reads as its last user
    message for an input and its last assistant text for an output.
    """
    if raw is None:
        return None
    value = unwrap(parse_json(raw))
    chat = chat_turns(value)
    if chat:
        wanted: list[str | None] = [text for role, text in chat if text and role == ("assistant" if answer else "user")]
        return (wanted or [text for _, text in chat if text] or [None])[-1]
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]  # positional arguments of a decorated function: f("question")
    if isinstance(value, list) and value and all(isinstance(p, Mapping) and "text" in p for p in value):
        return "\n".join(str(p["text"]) for p in value)  # content parts
    return to_text(value)


ROLE_ALIASES = {"human": "user", "ai": "assistant", "model": "assistant", "developer": "system",
                "function": "tool", "ipython": "tool"}
# LangChain message classes (serialized ``{"lc": 1, "id": [..., "HumanMessage"]}``) -> role.
_LANGCHAIN_CLASSES = {"HumanMessage": "user", "HumanMessageChunk": "user", "AIMessage": "assistant",
                      "AIMessageChunk": "assistant", "SystemMessage": "system", "ToolMessage": "tool",
                      "FunctionMessage": "tool", "ChatMessage": None}
_CHAT_ROLES = frozenset({"user", "assistant", "system", "tool"})


def role_of(value: Any) -> str:
    role = str(value or "").lower()
    return ROLE_ALIASES.get(role, role)


def chat_turns(value: Any) -> list[tuple[str, str | None]] | None:
    """``[(role, text)]`` when ``value`` is a list of chat messages in any shape frameworks record
    (``{"role", "content"}``, LangChain ``{"type": "human", "content"}`` and ``{"type", "data"}`` dumps
    and serialized messages, ``("user", "text")`` tuples); ``None`` when any element is something else."""
    if not isinstance(value, list) or not value:
        return None
    turns = []
    for item in value:
        turn = _chat_turn(parse_json(item))
        if turn is None:
            return None
        turns.append(turn)
    return turns


def _chat_turn(item: Any) -> tuple[str, str | None] | None:
    if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and role_of(item[0]) in _CHAT_ROLES:
        return role_of(item[0]), to_text(item[1])
    if not isinstance(item, Mapping):
        return None
    if item.get("lc") == 1 and isinstance(item.get("id"), list) and item["id"]:
        declared = item.get("kwargs")
        kwargs = declared if isinstance(declared, Mapping) else {}
        role = _LANGCHAIN_CLASSES.get(str(item["id"][-1]), "") or role_of(kwargs.get("role"))
        return (role, content_text(kwargs.get("content")) or None) if role in _CHAT_ROLES else None
    data = item.get("data")
    if isinstance(data, Mapping) and "type" in item and "content" in data and "content" not in item:
        item = {**data, "type": item["type"]}  # LangChain's message_to_dict: {"type": "human", "data": {...}}
    role = role_of(item.get("role") or item.get("type"))
    if role not in _CHAT_ROLES or ("content" not in item and "parts" not in item):
        return None
    return role, content_text(item.get("content", item.get("parts"))) or None


def content_text(content: Any) -> str | None:
    """Text of a message ``content``: a string, or a list of parts whose text parts are joined."""
    content = parse_json(content) if isinstance(content, str) and content[:1] == "[" else content
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text", part.get("content"))
                if isinstance(text, Mapping):  # {"type": "text", "text": {"value": ...}} (assistants API)
                    text = text.get("value")
                if text is not None:
                    texts.append(to_text(text) or "")
        return "\n".join(texts) if texts else None
    return to_text(content)


def langchain_content(value: Mapping[str, Any]) -> Any:
    """The ``content`` of a serialized LangChain message or document, else ``None``."""
    if value.get("lc") == 1 and isinstance(value.get("kwargs"), Mapping):
        kwargs = value["kwargs"]
        for key in ("content", "page_content"):
            if key in kwargs:
                return kwargs[key]
    data = value.get("data")
    if isinstance(data, Mapping) and "type" in value and "content" in data:
        return data["content"]
    return None


def langchain_tool_call_id(value: Any) -> str | None:
    """The ``tool_call_id`` inside a serialized LangChain ToolMessage (or its wrapper), if any."""
    value = parse_json(value)
    for _ in range(3):
        if not isinstance(value, Mapping):
            return None
        for inner in (value.get("kwargs"), value.get("data"), value):
            if isinstance(inner, Mapping) and isinstance(inner.get("tool_call_id"), str):
                return inner["tool_call_id"]
        value = value.get("output")
    return None


def unflatten(attributes: Mapping[str, Any], prefix: str) -> Any:
    """Nested value of flattened keys: ``a.0.b.c`` under prefix ``a.`` gives ``[{"b": {"c": ...}}]``."""
    root: dict[str, Any] = {}
    found = False
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        found = True
        node = root
        parts = key[len(prefix):].split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _lists(root) if found else None


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def as_list(value: Any) -> list[Any]:
    value = parse_json(value)
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def document_text(doc: Any) -> str | None:
    """The text of one retrieved document in any of the usual shapes."""
    doc = parse_json(doc)
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, Mapping):
        return to_text(doc)
    if "document" in doc and isinstance(doc["document"], Mapping):
        return document_text(doc["document"])
    content = langchain_content(doc)
    if content is not None:
        return to_text(content)
    for key in ("content", "page_content", "text", "chunk", "body"):
        if key in doc and doc[key] is not None:
            return to_text(doc[key])
    return None


def normalize_arguments(value: Any) -> Any:
    """Tool arguments as a dict when they are JSON, else as recorded."""
    parsed = parse_json(value)
    return parsed if parsed is not None else None


_FINISH_REASONS = {"tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call",
                   "max_tokens": "length", "max_output_tokens": "length", "end_turn": "stop",
                   "stop_sequence": "stop", "eos": "stop", "safety": "content_filter"}


def finish_reason(value: str) -> str:
    """A finish reason in the GenAI convention's words (stop, length, content_filter, tool_call, error)."""
    text = str(value).strip().lower()
    return _FINISH_REASONS.get(text, text)
