"""Chat Completions (``chat.completions.create`` / ``parse`` / ``stream``): request, response, and stream assembly."""

from __future__ import annotations

import inspect
import time
from typing import Any

from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.openai._call import Endpoint
from valiqor_trace.instrumentors.openai._common import SENTINELS, base_attributes, field, given, put, stop_sequences
from valiqor_trace.instrumentors.openai._messages import (
    chat_input_messages_json,
    chat_output_messages_json,
    refusal_part,
    text_message_json,
    tool_definitions,
)
from valiqor_trace.internal import ContentPolicy, to_json
from valiqor_trace.attributes import (
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_OUTPUT_TYPE,
    GEN_AI_REQUEST_CHOICE_COUNT,
    GEN_AI_REQUEST_FREQUENCY_PENALTY,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_PRESENCE_PENALTY,
    GEN_AI_REQUEST_SEED,
    GEN_AI_REQUEST_STOP_SEQUENCES,
    GEN_AI_REQUEST_STREAM,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_REQUEST_TOP_P,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    REQUEST_RESPONSE_FORMAT,
    REQUEST_TOOL_CHOICE,
    SPAN_KIND,
)

API_TYPE = "openai.api.type"
REQUEST_SERVICE_TIER = "openai.request.service_tier"
RESPONSE_SERVICE_TIER = "openai.response.service_tier"
RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"

# (argument, attribute) read the same way for chat and legacy completions; the first given wins per attribute.
_PARAMETERS = (
    ("model", GEN_AI_REQUEST_MODEL),
    ("temperature", GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", GEN_AI_REQUEST_TOP_P),
    ("max_completion_tokens", GEN_AI_REQUEST_MAX_TOKENS),
    ("max_tokens", GEN_AI_REQUEST_MAX_TOKENS),
    ("frequency_penalty", GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", GEN_AI_REQUEST_SEED),
    ("service_tier", REQUEST_SERVICE_TIER),
)

# (attribute, field) read from a response or its usage.
_IDENTITY_FIELDS = (
    (GEN_AI_RESPONSE_ID, "id"),
    (GEN_AI_RESPONSE_MODEL, "model"),
    (RESPONSE_SERVICE_TIER, "service_tier"),
    (RESPONSE_SYSTEM_FINGERPRINT, "system_fingerprint"),
)
_USAGE_FIELDS = ((GEN_AI_USAGE_INPUT_TOKENS, "prompt_tokens"), (GEN_AI_USAGE_OUTPUT_TOKENS, "completion_tokens"))


def common_request_attributes(resource: Any, kwargs: dict[str, Any], operation: str,
                              span_kind: str) -> dict[str, Any]:
    """Attributes shared by chat and legacy completions: model and sampling parameters."""
    attributes = base_attributes(resource, operation)
    attributes[SPAN_KIND] = span_kind
    for key, attribute in _PARAMETERS:  # a plain loop: this runs on every call
        value = kwargs.get(key)
        if value is not None and attribute not in attributes and not isinstance(value, SENTINELS):
            attributes[attribute] = value
    if "stop" in kwargs:
        put(attributes, GEN_AI_REQUEST_STOP_SEQUENCES, stop_sequences(given(kwargs, "stop")))
    choices = kwargs.get("n")
    if isinstance(choices, int) and choices != 1:
        attributes[GEN_AI_REQUEST_CHOICE_COUNT] = choices
    if kwargs.get("stream") is True:
        attributes[GEN_AI_REQUEST_STREAM] = True
    return attributes


def chat_request_attributes(resource: Any, kwargs: dict[str, Any], policy: ContentPolicy) -> dict[str, Any]:
    attributes = common_request_attributes(resource, kwargs, "chat", "llm")
    attributes[API_TYPE] = "chat_completions"
    # Optional arguments are looked at only when passed: every call pays for this function.
    tool_choice = given(kwargs, "tool_choice") if "tool_choice" in kwargs else None
    if tool_choice is not None:
        attributes[REQUEST_TOOL_CHOICE] = tool_choice if isinstance(tool_choice, str) else to_json(tool_choice)
    response_format = given(kwargs, "response_format") if "response_format" in kwargs else None
    if response_format is not None:
        response_format = response_format_param(response_format)
        put(attributes, GEN_AI_OUTPUT_TYPE, output_type(response_format))
    if policy.capture:
        put(attributes, GEN_AI_INPUT_MESSAGES, policy.text(chat_input_messages_json(given(kwargs, "messages"))))
        if "tools" in kwargs or "functions" in kwargs:
            put(attributes, GEN_AI_TOOL_DEFINITIONS,
                policy.text(tool_definitions(given(kwargs, "tools"), given(kwargs, "functions"))))
        if response_format is not None:
            put(attributes, REQUEST_RESPONSE_FORMAT, policy.text(response_format))
    return attributes


def response_format_param(response_format: Any) -> Any:
    """The wire form of ``response_format``; ``parse()`` accepts a pydantic class and converts it the same way."""
    if not inspect.isclass(response_format):
        return response_format
    try:
        from openai.lib._parsing._completions import type_to_response_format_param

        return type_to_response_format_param(response_format)
    except Exception:  # an SDK without the helper, or a class it cannot convert: name it at least
        return {"type": "json_schema", "json_schema": {"name": getattr(response_format, "__name__", "?")}}


def output_type(response_format: Any) -> str | None:
    """``gen_ai.output.type`` for a chat ``response_format`` or a Responses ``text.format``."""
    kind = response_format.get("type") if isinstance(response_format, dict) else getattr(response_format, "type", None)
    if kind in ("json_object", "json_schema"):
        return "json"
    if kind == "text":
        return "text"
    return None


def record_usage(attributes: dict[str, Any], usage: Any) -> None:
    """Token usage of Chat Completions / legacy Completions (``prompt_tokens`` / ``completion_tokens``)."""
    if usage is None:
        return
    for attribute, name in _USAGE_FIELDS:  # a loop, not put(): a response never holds the SDK's sentinels
        value = getattr(usage, name, None)
        if value is not None:
            attributes[attribute] = value
    # Known fields are read as such: a missing attribute on a pydantic model costs an exception.
    # field(): an SDK that predates these fields (openai 1.40, say) keeps them as plain dicts.
    details = getattr(usage, "prompt_tokens_details", None)
    if details is not None:
        put(attributes, GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, field(details, "cached_tokens"))
    details = getattr(usage, "completion_tokens_details", None)
    if details is not None:
        put(attributes, GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, field(details, "reasoning_tokens"))


def record_response_identity(attributes: dict[str, Any], response: Any) -> None:
    for attribute, name in _IDENTITY_FIELDS:  # as in record_usage
        value = getattr(response, name, None)
        if value is not None:
            attributes[attribute] = value


def record_chat_response(attributes: dict[str, Any], response: Any, policy: ContentPolicy) -> None:
    record_response_identity(attributes, response)
    choices = getattr(response, "choices", None) or ()
    attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [getattr(choice, "finish_reason", None) or "" for choice in choices]
    record_usage(attributes, getattr(response, "usage", None))
    if policy.capture:
        put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text(chat_output_messages_json(choices)))


class _ChoiceState:
    """One choice of a streamed reply, assembled from deltas."""

    __slots__ = ("role", "text", "refusal", "tool_calls", "finish_reason")

    def __init__(self) -> None:
        self.role: str | None = None
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int | None, list[Any]] = {}  # index -> [id, name, [argument pieces]]
        self.finish_reason: str | None = None

    def add_tool_call(self, delta: Any) -> None:
        index = getattr(delta, "index", None)
        state = self.tool_calls.get(index)
        if state is None:
            state = self.tool_calls[index] = [None, "", []]
        call_id = getattr(delta, "id", None)
        if call_id and state[0] is None:
            state[0] = call_id
        function = getattr(delta, "function", None)
        arguments_key = "arguments"
        if function is None:  # custom tools stream free-form ``input`` instead of JSON arguments
            function, arguments_key = getattr(delta, "custom", None), "input"
        if function is not None:
            name = getattr(function, "name", None)
            if name:  # the SDK's own accumulator concatenates name pieces too
                state[1] += name
            arguments = getattr(function, arguments_key, None)
            if arguments:
                state[2].append(arguments)

    def output_json(self) -> str:
        if self.text and not self.refusal and not self.tool_calls:
            return text_message_json(self.role or "assistant", "".join(self.text), self.finish_reason)
        return to_json(self.output_message())

    def output_message(self) -> dict[str, Any]:
        parts = [genai.text_part("".join(self.text))] if self.text else []
        if self.refusal:
            parts.append(refusal_part("".join(self.refusal)))
        for index in sorted(self.tool_calls, key=lambda key: key if isinstance(key, int) else -1):
            call_id, name, arguments = self.tool_calls[index]
            parts.append(genai.tool_call_part(call_id, name, "".join(arguments)))
        return genai.message(self.role or "assistant", parts, self.finish_reason)


class ChatStreamAccumulator:
    """Assembles ``ChatCompletionChunk`` deltas: text, refusals, tool calls across chunks, finish, usage."""

    __slots__ = ("chunks", "first_chunk_ns", "first", "usage", "choices")

    def __init__(self) -> None:
        self.chunks = 0
        self.first_chunk_ns = 0
        self.first: Any = None  # the first chunk carries id, model, service tier, fingerprint
        self.usage: Any = None
        self.choices: dict[int, _ChoiceState] = {}

    def add(self, chunk: Any) -> None:
        # One flat function: this runs for every chunk of every stream.
        self.chunks += 1
        if self.first is None:
            self.first = chunk
            self.first_chunk_ns = time.time_ns()
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            index = getattr(choice, "index", 0)
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _ChoiceState()
            delta = getattr(choice, "delta", None)
            if delta is not None:
                content = getattr(delta, "content", None)
                if content:
                    state.text.append(content)
                if state.role is None:
                    state.role = getattr(delta, "role", None)
                tool_calls = getattr(delta, "tool_calls", None)
                if tool_calls:
                    for tool_call in tool_calls:
                        state.add_tool_call(tool_call)
                refusal = getattr(delta, "refusal", None)
                if refusal:
                    state.refusal.append(refusal)
                function_call = getattr(delta, "function_call", None)
                if function_call is not None:  # the pre-tools API streams one call without an index
                    state.add_tool_call(_LegacyFunctionDelta(function_call))
            finish_reason = getattr(choice, "finish_reason", None)
            if finish_reason:
                state.finish_reason = finish_reason

    def record(self, attributes: dict[str, Any], policy: ContentPolicy) -> None:
        if self.first is not None:
            record_response_identity(attributes, self.first)
        finish_reasons, messages = [], []
        for index in sorted(self.choices):  # one loop over the (usually single) choice
            state = self.choices[index]
            if state.finish_reason:
                finish_reasons.append(state.finish_reason)
            if policy.capture:
                messages.append(state.output_json())
        if finish_reasons:
            attributes[GEN_AI_RESPONSE_FINISH_REASONS] = finish_reasons
        record_usage(attributes, self.usage)
        if messages:
            put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text(f"[{', '.join(messages)}]"))


class _LegacyFunctionDelta:
    __slots__ = ("index", "id", "function")

    def __init__(self, function_call: Any) -> None:
        self.index = -1
        self.id = None
        self.function = function_call


CHAT = Endpoint("chat", "llm", chat_request_attributes, record_chat_response, ChatStreamAccumulator)
