"""What init() does for LiteLLM's own OpenTelemetry callback, and which of its span keys are content (no
litellm needed: the live app runs in tests/instrumentors/providers/test_litellm_live.py)."""

from __future__ import annotations

import os

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from valiqor_trace._processors import without_content
from valiqor_trace.instrumentors import _official
from valiqor_trace.attributes import is_litellm_content_key
from valiqor_trace.instrumentors.litellm import REQUEST_SPAN_ENV, LiteLLMCallbackSetup


def test_a_request_gets_its_own_span_unless_the_app_chose_and_shutdown_puts_it_back(monkeypatch) -> None:
    monkeypatch.delenv(REQUEST_SPAN_ENV, raising=False)
    monkeypatch.delenv(_official.CAPTURE_MESSAGE_CONTENT_ENV, raising=False)  # instrument() sets it (capture on)
    monkeypatch.setattr(_official, "_app_choice", None)
    setup = LiteLLMCallbackSetup()
    assert setup.instrument()
    assert os.environ[REQUEST_SPAN_ENV] == "true"
    setup.uninstrument()
    assert REQUEST_SPAN_ENV not in os.environ

    monkeypatch.setenv(REQUEST_SPAN_ENV, "false")  # the app's own choice
    setup.instrument()
    setup.uninstrument()
    assert os.environ[REQUEST_SPAN_ENV] == "false"


@pytest.mark.parametrize(("key", "content"), [
    ("llm.openai.messages", True), ("llm.anthropic.system", True), ("llm.openai.choices", True),
    ("llm.request.functions.0.parameters", True), ("gen_ai.input.messages", True),
    ("llm.request.type", False), ("llm.is_streaming", False), ("gen_ai.request.model", False),
    ("litellm.call_id", False),
])
def test_every_raw_request_field_of_a_litellm_span_is_content(key: str, content: bool) -> None:
    assert is_litellm_content_key(key) is content


def test_capture_off_strips_raw_fields_from_litellm_spans_only() -> None:
    attributes = {"llm.openai.messages": "[{'role': 'user', 'content': 'hi'}]", "llm.request.type": "completion"}
    theirs = ReadableSpan(name="raw_gen_ai_request", attributes=attributes,
                          instrumentation_scope=InstrumentationScope("litellm"))
    other = ReadableSpan(name="x", attributes=attributes, instrumentation_scope=InstrumentationScope("someone"))
    assert dict(without_content(theirs).attributes or {}) == {"llm.request.type": "completion"}
    assert dict(without_content(other).attributes or {}) == attributes  # another library's llm.* keys are its own
