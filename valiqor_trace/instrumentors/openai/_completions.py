"""Legacy Completions (``completions.create``): prompt in, text choices out, optionally streamed."""

from __future__ import annotations

import time
from typing import Any

from valiqor_trace.attributes import GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES, GEN_AI_RESPONSE_FINISH_REASONS
from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.openai._call import Endpoint
from valiqor_trace.instrumentors.openai._chat import common_request_attributes, record_response_identity, record_usage
from valiqor_trace.instrumentors.openai._common import given, put
from valiqor_trace.internal import ContentPolicy


def _prompt_messages(prompt: Any) -> list[dict[str, Any]] | None:
    """Each prompt as a user message; token-id prompts are recorded as their JSON."""
    if prompt is None:
        return None
    if isinstance(prompt, str):
        prompts: list[Any] = [prompt]
    elif isinstance(prompt, list) and prompt and all(isinstance(item, str) for item in prompt):
        prompts = prompt
    else:
        prompts = [prompt]
    return [genai.message("user", [genai.text_part(p if isinstance(p, str) else repr(p))]) for p in prompts]


def completion_request_attributes(resource: Any, kwargs: dict[str, Any], policy: ContentPolicy) -> dict[str, Any]:
    attributes = common_request_attributes(resource, kwargs, "text_completion", "llm")
    if policy.capture:
        put(attributes, GEN_AI_INPUT_MESSAGES, policy.text(_prompt_messages(given(kwargs, "prompt"))))
    return attributes


def record_completion_response(attributes: dict[str, Any], response: Any, policy: ContentPolicy) -> None:
    record_response_identity(attributes, response)
    choices = getattr(response, "choices", None) or ()
    reasons = [getattr(choice, "finish_reason", None) for choice in choices]
    attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [reason or "" for reason in reasons]
    record_usage(attributes, getattr(response, "usage", None))
    if policy.capture:
        put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text([
            genai.message("assistant", [genai.text_part(getattr(choice, "text", None) or "")], reason)
            for choice, reason in zip(choices, reasons)]))


class CompletionStreamAccumulator:
    """Joins the text of each streamed choice; keeps finish reasons and usage."""

    __slots__ = ("chunks", "first_chunk_ns", "first", "usage", "texts", "finish_reasons")

    def __init__(self) -> None:
        self.chunks = 0
        self.first_chunk_ns = 0
        self.first: Any = None
        self.usage: Any = None
        self.texts: dict[int, list[str]] = {}
        self.finish_reasons: dict[int, str] = {}

    def add(self, chunk: Any) -> None:
        self.chunks += 1
        if self.first is None:
            self.first = chunk
            self.first_chunk_ns = time.time_ns()
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            index = getattr(choice, "index", 0)
            text = getattr(choice, "text", None)
            if text:
                self.texts.setdefault(index, []).append(text)
            reason = getattr(choice, "finish_reason", None)
            if reason:
                self.finish_reasons[index] = reason

    def record(self, attributes: dict[str, Any], policy: ContentPolicy) -> None:
        if self.first is not None:
            record_response_identity(attributes, self.first)
        indexes = sorted(set(self.texts) | set(self.finish_reasons))
        reasons = [self.finish_reasons[index] for index in indexes if index in self.finish_reasons]
        if reasons:
            attributes[GEN_AI_RESPONSE_FINISH_REASONS] = reasons
        record_usage(attributes, self.usage)
        if policy.capture and indexes:
            put(attributes, GEN_AI_OUTPUT_MESSAGES, policy.text([
                genai.message("assistant", [genai.text_part("".join(self.texts.get(index, ())))],
                              self.finish_reasons.get(index))
                for index in indexes]))


COMPLETIONS = Endpoint("text_completion", "llm", completion_request_attributes, record_completion_response,
                       CompletionStreamAccumulator)
