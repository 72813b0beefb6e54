"""An item's ``tool_calls`` in the layouts users have, turned into our one :class:`ToolCall` form.

Entries of ``tool_calls`` may be, in any mix:

- ours: ``{"name", "arguments", "output", "error", "id", "executed", "span_id"}``, the result also
  accepted under ``result`` or ``response``;
- an OpenAI tool call: ``{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}``
  (our result fields may sit next to it);
- a LangChain tool call: ``{"name", "args", "id", "type": "tool_call"}``;
- a tool result message, joined to the call with the same id: OpenAI's ``{"role": "tool",
  "tool_call_id", "content"}`` or a LangChain ``ToolMessage`` dump ``{"type": "tool", "content",
  "tool_call_id", "name", "status", ...}`` (``status: "error"`` makes the content the call's error).

Items carry no message list, so result messages live in ``tool_calls`` next to their calls. Every
other key, type or shape is a problem reported as ``items[N].tool_calls[K].field: what; the fix``:
nothing is dropped silently, because a result under a key we ignore would hide a tool error from FA.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from valiqor_trace.analyzer.models import ToolCall

RESULT_KEYS = ("output", "result", "response")  # our key first, then the aliases users write
_COMMON_KEYS = frozenset({"id", *RESULT_KEYS, "error", "executed", "span_id"})
_FLAT_KEYS = _COMMON_KEYS | {"name", "arguments", "args", "type"}
_OPENAI_CALL_KEYS = _COMMON_KEYS | {"type", "function"}
_FUNCTION_KEYS = frozenset({"name", "arguments"})
_OPENAI_RESULT_KEYS = frozenset({"role", "tool_call_id", "content", "name"})
_LANGCHAIN_RESULT_KEYS = frozenset({"type", "tool_call_id", "content", "name", "status", "id", "artifact",
                                    "additional_kwargs", "response_metadata"})
_TYPES = "'function' (OpenAI tool call), 'tool_call' (LangChain tool call) or 'tool' (LangChain ToolMessage)"
_ARGUMENTS_FIX = 'write them as an object ({"city": "Paris"}) or as JSON text (\'{"city": "Paris"}\')'
_MOVED = {"name": "in the OpenAI layout the name goes under 'function': function.name",
          "arguments": "in the OpenAI layout the arguments go under 'function': function.arguments",
          "args": "in the OpenAI layout the arguments go under 'function': function.arguments"}


def unknown_key_problems(at: str, keys: Iterable[Any], valid: Iterable[str], what: str,
                         hints: Mapping[str, str] | None = None, otherwise: str = "") -> list[str]:
    """One ``at.key: unknown field ...; fix`` line per key of ``keys`` not in ``valid``.

    The fix is ``hints[key]`` when given, else the closest valid name and the valid names (then ``otherwise``).
    """
    valid = sorted(valid)
    problems = []
    for key in sorted((k for k in keys if k not in valid), key=str):
        if hints and key in hints:
            fix = hints[key]
        else:
            close = difflib.get_close_matches(str(key), valid, n=1)
            fix = (f"did you mean '{close[0]}'? " if close else "") + f"valid fields are {', '.join(valid)}" \
                + (f" ({otherwise})" if otherwise else "")
        problems.append(f"{at}.{key}: unknown field of {what}; {fix}")
    return problems


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@dataclass
class _Call:
    """A tool call being assembled: the ToolCall fields, and where it sits (for messages)."""

    at: str
    fields: dict[str, Any]
    result_at: str | None = None  # where its result came from, once it has one


@dataclass
class _Result:
    at: str
    call_id: str | None
    text: str | None
    is_error: bool
    name: str | None = None


@dataclass
class _Reader:
    """Reads one item's tool_calls, collecting problems instead of stopping at the first."""

    max_chars: int
    problems: list[str] = field(default_factory=list)

    def problem(self, at: str, message: str) -> None:
        self.problems.append(f"{at}: {message}")

    # -- one entry ---------------------------------------------------------------------------------

    def entry(self, at: str, raw: Any) -> _Call | _Result | None:
        if not isinstance(raw, Mapping):
            self.problem(at, f"must be an object like {{\"name\": \"search\", \"arguments\": {{...}}, "
                             f"\"output\": \"...\"}}, got {type_name(raw)}")
            return None
        kind = raw.get("type")
        if "role" in raw:
            return self.openai_result(at, raw)
        if kind == "tool":
            return self.langchain_result(at, raw)
        if kind == "function" or (kind is None and "function" in raw):
            return self.openai_call(at, raw)
        if kind not in (None, "tool_call"):
            self.problem(f"{at}.type", f"{kind!r} is not a tool call type; use {_TYPES}, "
                                       "or leave 'type' out for our layout")
            return None
        if kind is None and "tool_call_id" in raw:
            self.problem(f"{at}.role", "missing: a tool result message needs \"role\": \"tool\" (OpenAI) or "
                                       "\"type\": \"tool\" (LangChain ToolMessage)")
            return None
        return self.flat_call(at, raw)

    def flat_call(self, at: str, raw: Mapping[str, Any]) -> _Call:
        """Ours, or LangChain's ``{"name", "args", "id", "type": "tool_call"}``."""
        self.problems.extend(unknown_key_problems(at, raw, _FLAT_KEYS, "a tool call"))
        fields = self.common(at, raw)
        fields["name"] = self.name(f"{at}.name", raw.get("name"))
        key = self.one_of(at, raw, ("arguments", "args"), "the arguments")
        fields["arguments"] = self.arguments(f"{at}.{key}", raw.get(key)) if key else None
        return _Call(at, fields)

    def openai_call(self, at: str, raw: Mapping[str, Any]) -> _Call:
        """``{"id", "type": "function", "function": {"name", "arguments"}}``."""
        self.problems.extend(unknown_key_problems(at, raw, _OPENAI_CALL_KEYS, "an OpenAI tool call", _MOVED))
        fields = self.common(at, raw)
        function = raw.get("function")
        if not isinstance(function, Mapping):
            self.problem(f"{at}.function", f"must be an object {{\"name\": ..., \"arguments\": \"<JSON text>\"}}, "
                                           f"got {type_name(function)}")
            function = {}
        self.problems.extend(unknown_key_problems(f"{at}.function", function, _FUNCTION_KEYS, "an OpenAI function"))
        fields["name"] = self.name(f"{at}.function.name", function.get("name"))
        fields["arguments"] = self.arguments(f"{at}.function.arguments", function.get("arguments"))
        return _Call(at, fields)

    def openai_result(self, at: str, raw: Mapping[str, Any]) -> _Result | None:
        """``{"role": "tool", "tool_call_id", "content"}``: the message that answers a tool call."""
        if raw.get("role") != "tool":
            self.problem(f"{at}.role", f"{raw.get('role')!r} is not a tool message; only \"role\": \"tool\" "
                                       "messages (tool results) belong in tool_calls; put an assistant "
                                       "message's tool_calls here, not the message")
            return None
        self.problems.extend(unknown_key_problems(at, raw, _OPENAI_RESULT_KEYS, "an OpenAI tool message"))
        return _Result(at, self.call_id(at, raw), self.content(at, raw), False, self.optional_str(at, raw, "name"))

    def langchain_result(self, at: str, raw: Mapping[str, Any]) -> _Result | None:
        """A ``ToolMessage.model_dump()`` (or ``messages_to_dict``'s ``{"type": "tool", "data": {...}}``)."""
        if set(raw) == {"type", "data"} and isinstance(raw["data"], Mapping):
            at, raw = f"{at}.data", raw["data"]
        self.problems.extend(unknown_key_problems(at, raw, _LANGCHAIN_RESULT_KEYS, "a LangChain ToolMessage"))
        status = raw.get("status")
        if status not in (None, "success", "error"):
            self.problem(f"{at}.status", f"must be 'success' or 'error', got {status!r}")
        self.optional_str(at, raw, "id")
        return _Result(at, self.call_id(at, raw), self.content(at, raw), status == "error",
                       self.optional_str(at, raw, "name"))

    # -- fields ------------------------------------------------------------------------------------

    def common(self, at: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The fields every call layout may carry: id, the result (or its aliases), error, executed, span_id."""
        fields: dict[str, Any] = {"id": self.optional_str(at, raw, "id"),
                                  "error": self.optional_str(at, raw, "error", fix="the error message"),
                                  "span_id": self.optional_str(at, raw, "span_id")}
        executed = raw.get("executed")
        if executed is not None and not isinstance(executed, bool):
            self.problem(f"{at}.executed", f"must be true or false, got {type_name(executed)}")
        fields["executed"] = executed if isinstance(executed, bool) else True
        key = self.one_of(at, raw, RESULT_KEYS, "the tool's result")
        fields["output"] = self.result_text(f"{at}.{key}", raw.get(key)) if key else None
        return fields

    def one_of(self, at: str, raw: Mapping[str, Any], aliases: tuple[str, ...], what: str) -> str | None:
        """The one key of ``aliases`` that ``raw`` uses (a problem when it uses several)."""
        present = [key for key in aliases if raw.get(key) is not None]
        if len(present) > 1:
            self.problem(f"{at}.{present[1]}", f"'{present[0]}' and '{present[1]}' both give {what}; keep one")
        return present[0] if present else None

    def name(self, at: str, value: Any) -> str:
        if isinstance(value, str) and value:
            return value
        what = "missing" if value in (None, "") else f"must be a string, got {type_name(value)}"
        self.problem(at, f"{what}; every tool call needs the tool's name")
        return ""

    def arguments(self, at: str, value: Any) -> Any:
        """Arguments as an object when they are JSON text for one; text that is not JSON stays text,
        so FA can report the malformed call rather than the dataset hiding it."""
        if value is None or isinstance(value, (Mapping, list)):
            return value
        if not isinstance(value, str):
            self.problem(at, f"must be an object or JSON text, got {type_name(value)}; {_ARGUMENTS_FIX}")
            return None
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return value

    def result_text(self, at: str, value: Any) -> str | None:
        """A tool's result as text: strings as they are, other JSON values as JSON text."""
        if value is None or isinstance(value, str):
            text = value
        else:
            try:
                text = json.dumps(value, ensure_ascii=False)
            except (TypeError, ValueError):
                self.problem(at, f"must be text or a JSON value, got {type_name(value)}; convert it with str()")
                return None
        if text is not None and len(text) > self.max_chars:
            self.problem(at, f"{len(text):,} characters, over the limit of {self.max_chars:,}; shorten it or "
                             "raise max_field_chars")
        return text

    def content(self, at: str, raw: Mapping[str, Any]) -> str | None:
        """A result message's ``content``: text, or a list of text parts (joined)."""
        if "content" not in raw:
            self.problem(f"{at}.content", "missing; a tool result message carries the tool's output in 'content'")
            return None
        content = raw["content"]
        if not isinstance(content, list):
            return self.result_text(f"{at}.content", content)
        texts = []
        for position, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                self.problem(f"{at}.content[{position}]", "only text parts can be analyzed: write "
                                                          "{\"type\": \"text\", \"text\": \"...\"} or a string")
        return self.result_text(f"{at}.content", "\n".join(texts))

    def call_id(self, at: str, raw: Mapping[str, Any]) -> str | None:
        value = raw.get("tool_call_id")
        if isinstance(value, str) and value:
            return value
        what = "missing" if value in (None, "") else f"must be a string, got {type_name(value)}"
        self.problem(f"{at}.tool_call_id", f"{what}; a tool result names the call it answers by that call's id")
        return None

    def optional_str(self, at: str, raw: Mapping[str, Any], key: str, *, fix: str = "") -> str | None:
        value = raw.get(key)
        if value is None or isinstance(value, str):
            return value
        self.problem(f"{at}.{key}", f"must be a string{' (' + fix + ')' if fix else ''}, got {type_name(value)}")
        return None

    # -- results joined to calls -------------------------------------------------------------------

    def join(self, calls: list[_Call], results: list[_Result]) -> None:
        for result in results:
            if result.call_id is None:
                continue
            matches = [call for call in calls if call.fields.get("id") == result.call_id]
            if len(matches) != 1:
                where = ", ".join(call.at for call in matches)
                self.problem(f"{result.at}.tool_call_id", (
                    f"no tool call in this item has id {result.call_id!r}; add the call it answers to "
                    "tool_calls, or fix the id") if not matches else (
                    f"{len(matches)} tool calls have id {result.call_id!r} ({where}); give each call its own id"))
                continue
            self.attach(matches[0], result)

    def attach(self, call: _Call, result: _Result) -> None:
        fields = call.fields
        if fields["output"] is not None or fields["error"] is not None:
            earlier = f" (from {call.result_at})" if call.result_at else ""
            self.problem(result.at, f"the call at {call.at} already has a result{earlier}; give each call one "
                                    "result")
            return
        if result.name and fields["name"] and result.name != fields["name"]:
            self.problem(f"{result.at}.name", f"{result.name!r}, but the call at {call.at} with id "
                                              f"{result.call_id!r} is {fields['name']!r}; fix the name or the id")
            return
        fields["error" if result.is_error else "output"] = result.text
        call.result_at = result.at


def normalize_tool_calls(at: str, raw: Any, max_chars: int) -> tuple[list[ToolCall], list[str]]:
    """``raw`` (an item's ``tool_calls``) as ToolCalls in call order, and the problems found.

    Args:
        at: where the list sits, e.g. ``items[3].tool_calls``.
        raw: the list as the user wrote it.
        max_chars: the longest result text accepted.
    """
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, (list, tuple)):
        hint = " (wrap a single call in a list: [{...}])" if isinstance(raw, Mapping) else ""
        return [], [f"{at}: must be a list of tool calls, got {type_name(raw)}{hint}"]
    reader = _Reader(max_chars)
    calls: list[_Call] = []
    results: list[_Result] = []
    for position, entry in enumerate(raw):
        parsed = reader.entry(f"{at}[{position}]", entry)
        if isinstance(parsed, _Call):
            calls.append(parsed)
        elif isinstance(parsed, _Result):
            results.append(parsed)
    reader.join(calls, results)
    if reader.problems:
        return [], reader.problems
    return [ToolCall(**call.fields) for call in calls], []
