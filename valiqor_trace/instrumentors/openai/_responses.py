"""Responses API (``responses.create`` / ``parse`` / ``stream``): items in, output items out, events streamed.

The Responses API has no ``finish_reason``; we derive the conventional one from
``status`` so the analyzer reads both APIs alike: ``completed`` -> ``stop`` (or
``tool_calls`` when the output asks for a function call), ``incomplete`` ->
``length`` / ``content_filter`` / the raw reason, ``failed`` -> ``error``.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.openai._call import Endpoint
from valiqor_trace.instrumentors.openai._chat import (
    API_TYPE,
    REQUEST_SERVICE_TIER,
    RESPONSE_SERVICE_TIER,
    output_type,
)
from valiqor_trace.instrumentors.openai._common import as_list, base_attributes, field, given, put
from valiqor_trace.instrumentors.openai._messages import content_parts, content_text, refusal_part, tool_definitions
from valiqor_trace.internal import ContentPolicy, to_json
from valiqor_trace.attributes import (
    ERROR_TYPE,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_OUTPUT_TYPE,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_STREAM,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_REQUEST_TOP_P,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM_INSTRUCTIONS,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    REQUEST_PREVIOUS_RESPONSE_ID,
    REQUEST_RESPONSE_FORMAT,
    REQUEST_TOOL_CHOICE,
    SPAN_KIND,
)

_TOOL_CALL_ITEMS = ("function_call", "custom_tool_call")
_INCOMPLETE_REASONS: dict[str | None, str] = {"max_output_tokens": "length", "content_filter": "content_filter"}


def responses_request_attributes(resource: Any, kwargs: dict[str, Any], policy: ContentPolicy) -> dict[str, Any]:
    attributes = base_attributes(resource, "chat")
    attributes[SPAN_KIND] = "llm"
    attributes[API_TYPE] = "responses"
    put(attributes, GEN_AI_REQUEST_MODEL, given(kwargs, "model"))
    put(attributes, GEN_AI_REQUEST_TEMPERATURE, given(kwargs, "temperature"))
    put(attributes, GEN_AI_REQUEST_TOP_P, given(kwargs, "top_p"))
    put(attributes, GEN_AI_REQUEST_MAX_TOKENS, given(kwargs, "max_output_tokens"))
    put(attributes, REQUEST_SERVICE_TIER, given(kwargs, "service_tier"))
    put(attributes, REQUEST_PREVIOUS_RESPONSE_ID, given(kwargs, "previous_response_id"))
    if given(kwargs, "stream"):
        attributes[GEN_AI_REQUEST_STREAM] = True
    conversation = given(kwargs, "conversation")
    put(attributes, GEN_AI_CONVERSATION_ID, conversation if isinstance(conversation, str) else field(conversation, "id"))
    tool_choice = given(kwargs, "tool_choice")
    if tool_choice is not None:
        attributes[REQUEST_TOOL_CHOICE] = tool_choice if isinstance(tool_choice, str) else to_json(tool_choice)
    text_format = _text_format(kwargs)
    put(attributes, GEN_AI_OUTPUT_TYPE, output_type(text_format))
    if policy.capture:
        instructions = given(kwargs, "instructions")
        if isinstance(instructions, str):
            put(attributes, GEN_AI_SYSTEM_INSTRUCTIONS, policy.text([genai.text_part(instructions)]))
        put(attributes, GEN_AI_INPUT_MESSAGES, policy.text(input_messages(given(kwargs, "input"))))
        put(attributes, GEN_AI_TOOL_DEFINITIONS, policy.text(tool_definitions(given(kwargs, "tools"))))
        if text_format is not None:
            put(attributes, REQUEST_RESPONSE_FORMAT, policy.text(text_format))
    return attributes


def _text_format(kwargs: dict[str, Any]) -> Any:
    """``text.format`` as sent, or the format ``parse(text_format=Model)`` will send."""
    text_format = given(kwargs, "text_format")
    if inspect.isclass(text_format):
        try:
            from openai.lib._parsing._responses import type_to_text_format_param

            return type_to_text_format_param(text_format)
        except Exception:  # an SDK without the helper: name the class at least
            return {"type": "json_schema", "name": getattr(text_format, "__name__", "?")}
    return field(given(kwargs, "text"), "format")


def input_messages(value: Any) -> list[dict[str, Any]] | None:
    """``input`` (a string or a list of items) as convention input messages, one per item."""
    if isinstance(value, str):
        return [genai.message("user", [genai.text_part(value)])]
    items = as_list(value)
    if items is None:
        return None
    return [_input_item_message(item) for item in items]


def _input_item_message(item: Any) -> dict[str, Any]:
    kind = field(item, "type")
    role = field(item, "role")
    if role is not None and kind in (None, "message"):
        return genai.message(role, content_parts(field(item, "content")))
    if kind == "function_call":
        return genai.message("assistant", [genai.tool_call_part(field(item, "call_id"), field(item, "name"),
                                                               field(item, "arguments"))])
    if kind == "custom_tool_call":
        return genai.message("assistant", [genai.tool_call_part(field(item, "call_id"), field(item, "name"),
                                                               field(item, "input"))])
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = field(item, "output")
        response = output if isinstance(output, str) else content_text(output)
        return genai.message("tool", [genai.tool_response_part(field(item, "call_id"), response)])
    if kind == "reasoning":
        return genai.message("assistant", [_reasoning_part(item)])
    return genai.message(role or "assistant", [{"type": str(kind), "id": field(item, "id")}])


def _reasoning_part(item: Any) -> dict[str, Any]:
    summary = field(item, "summary") or ()
    return {"type": "reasoning", "content": "".join(field(entry, "text") or "" for entry in summary)}


def output_parts(items: Any) -> tuple[list[dict[str, Any]], bool]:
    """The parts of the output items, and whether any of them asks for a tool call."""
    parts: list[dict[str, Any]] = []
    asks_tool = False
    for item in items or ():
        kind = getattr(item, "type", None)
        if kind == "message":
            for content in getattr(item, "content", None) or ():
                content_kind = getattr(content, "type", None)
                if content_kind == "output_text":
                    parts.append(genai.text_part(getattr(content, "text", "") or ""))
                elif content_kind == "refusal":
                    parts.append(refusal_part(getattr(content, "refusal", "") or ""))
        elif kind in _TOOL_CALL_ITEMS:
            asks_tool = True
            arguments = getattr(item, "arguments" if kind == "function_call" else "input", None)
            parts.append(genai.tool_call_part(getattr(item, "call_id", None), getattr(item, "name", None), arguments))
        elif kind == "reasoning":
            parts.append({"type": "reasoning", "content": "".join(
                getattr(entry, "text", "") or "" for entry in getattr(item, "summary", None) or ())})
        elif kind is not None:  # built-in tools run by OpenAI (web_search_call, file_search_call, ...)
            parts.append({"type": kind, "id": getattr(item, "id", None), "status": getattr(item, "status", None)})
    return parts, asks_tool


def finish_reason(response: Any, asks_tool: bool) -> str | None:
    status = getattr(response, "status", None)
    if status == "completed":
        return "tool_calls" if asks_tool else "stop"
    if status == "incomplete":
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
        return _INCOMPLETE_REASONS.get(reason, reason or "incomplete")
    if status == "failed":
        return "error"
    return status  # cancelled; queued / in_progress for background responses


def response_failure(response: Any) -> str | None:
    """The error of a ``failed`` response (``code: message``), recorded as the span's error."""
    error = getattr(response, "error", None)
    if error is None or getattr(response, "status", None) != "failed":
        return None
    code = getattr(error, "code", None) or "response_failed"
    return f"{code}: {getattr(error, 'message', '')}"


def record_identity(attributes: dict[str, Any], response: Any) -> None:
    put(attributes, GEN_AI_RESPONSE_ID, getattr(response, "id", None))
    put(attributes, GEN_AI_RESPONSE_MODEL, getattr(response, "model", None))
    put(attributes, RESPONSE_SERVICE_TIER, getattr(response, "service_tier", None))


def record_usage(attributes: dict[str, Any], usage: Any) -> None:
    """Token usage of the Responses API (``input_tokens`` / ``output_tokens`` and their details)."""
    if usage is None:
        return
    put(attributes, GEN_AI_USAGE_INPUT_TOKENS, getattr(usage, "input_tokens", None))
    put(attributes, GEN_AI_USAGE_OUTPUT_TOKENS, getattr(usage, "output_tokens", None))
    put(attributes, GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None))
    put(attributes, GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None))


def record_responses_response(attributes: dict[str, Any], response: Any, policy: ContentPolicy,
                              parts: tuple[list[dict[str, Any]], bool] | None = None) -> str | None:
    record_identity(attributes, response)
    content, asks_tool = parts if parts is not None else output_parts(getattr(response, "output", None))
    reason = finish_reason(response, asks_tool)
    if reason:
        attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    record_usage(attributes, getattr(response, "usage", None))
    if policy.capture:
        put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text([genai.message("assistant", content, reason)]))
    failure = response_failure(response)
    if failure is not None:
        attributes[ERROR_TYPE] = getattr(getattr(response, "error", None), "code", None) or "response_failed"
    return failure


class ResponsesStreamAccumulator:
    """Follows Responses stream events: text and argument deltas, finished items, and the final response."""

    __slots__ = ("chunks", "first_chunk_ns", "snapshot", "final", "texts", "calls", "done_items", "error")

    def __init__(self) -> None:
        self.chunks = 0
        self.first_chunk_ns = 0
        self.snapshot: Any = None  # the latest lifecycle response (created / in_progress)
        self.final: Any = None  # completed / incomplete / failed
        self.texts: dict[int, list[str]] = {}  # output_index -> text and refusal pieces
        self.calls: dict[int, list[Any]] = {}  # output_index -> [call_id, name, [argument pieces]]
        self.done_items: dict[int, Any] = {}
        self.error: Any = None

    def add(self, event: Any) -> None:
        self.chunks += 1
        if self.chunks == 1:
            self.first_chunk_ns = time.time_ns()
        kind = getattr(event, "type", None)
        if kind == "response.output_text.delta" or kind == "response.refusal.delta":
            self.texts.setdefault(getattr(event, "output_index", 0), []).append(getattr(event, "delta", ""))
        elif kind == "response.function_call_arguments.delta":
            self._call(getattr(event, "output_index", 0))[2].append(getattr(event, "delta", ""))
        elif kind == "response.output_item.added":
            item = getattr(event, "item", None)
            if getattr(item, "type", None) in _TOOL_CALL_ITEMS:
                call = self._call(getattr(event, "output_index", 0))
                call[0], call[1] = getattr(item, "call_id", None), getattr(item, "name", None)
        elif kind == "response.output_item.done":
            self.done_items[getattr(event, "output_index", 0)] = getattr(event, "item", None)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = getattr(event, "response", None)
        elif kind in ("response.created", "response.in_progress", "response.queued"):
            self.snapshot = getattr(event, "response", None)
        elif kind == "error":
            self.error = event

    def _call(self, index: int) -> list[Any]:
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = [None, None, []]
        return call

    def _assembled_parts(self) -> tuple[list[dict[str, Any]], bool]:
        """Output parts from finished items, else from the deltas seen so far (a cut stream)."""
        parts: list[dict[str, Any]] = []
        asks_tool = False
        for index in sorted(set(self.done_items) | set(self.texts) | set(self.calls)):
            if index in self.done_items:
                item_parts, item_asks_tool = output_parts([self.done_items[index]])
                parts.extend(item_parts)
                asks_tool = asks_tool or item_asks_tool
            elif index in self.calls:
                call_id, name, arguments = self.calls[index]
                parts.append(genai.tool_call_part(call_id, name, "".join(arguments)))
                asks_tool = True
            else:
                parts.append(genai.text_part("".join(self.texts[index])))
        return parts, asks_tool

    def record(self, attributes: dict[str, Any], policy: ContentPolicy) -> str | None:
        response = self.final if self.final is not None else self.snapshot
        output = getattr(self.final, "output", None)
        # Recent SDKs may deliver a final response without its output; the items seen on the way are the truth.
        parts = output_parts(output) if output else self._assembled_parts()
        failure = None
        if response is not None:
            if self.final is None:  # cut before the end: no status, so no finish reason either
                record_identity(attributes, response)
                if policy.capture and parts[0]:
                    put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text([genai.message("assistant", parts[0])]))
            else:
                failure = record_responses_response(attributes, response, policy, parts)
        elif policy.capture and parts[0]:
            put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text([genai.message("assistant", parts[0])]))
        if self.error is not None and failure is None:
            code = getattr(self.error, "code", None) or "stream_error"
            attributes[ERROR_TYPE] = code
            failure = f"{code}: {getattr(self.error, 'message', '')}"
        return failure


RESPONSES = Endpoint("chat", "llm", responses_request_attributes, record_responses_response,
                     ResponsesStreamAccumulator)
