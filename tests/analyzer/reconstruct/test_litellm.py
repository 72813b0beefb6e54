"""LiteLLM's OpenTelemetry callback spans (recorded: tests/fixtures/litellm) reconstruct to what the app saw:
from its raw-request spans (Python repr, read with ast.literal_eval), and from its GenAI attributes alone when
those are missing or unreadable (its latest-semconv mode, a capped text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.analyzer.sources import read_trace_file
from valiqor_trace.store import SpanRecord

FIXTURES = Path(__file__).parents[2] / "fixtures" / "litellm"
TRUTH = json.loads((FIXTURES / "litellm-otel.truth.json").read_text())
RAW = "raw_gen_ai_request"


def _spans() -> list[SpanRecord]:
    return read_trace_file(FIXTURES / "litellm-otel.jsonl").spans


def _item(spans: list[SpanRecord], app: str) -> FAItem:
    return reconstruct_item([span for span in spans if span.trace_id == TRUTH[app]["trace_id"]])


def _capped(span: SpanRecord) -> SpanRecord:
    """A raw-request span whose texts were cut by max_content_length: no longer Python literals."""
    if span.name != RAW:
        return span
    return span.model_copy(update={"attributes": {key: value[:40] + "...[truncated 99 chars]"
                                                  if isinstance(value, str) and key.startswith("llm.") else value
                                                  for key, value in span.attributes.items()}})


VARIANTS = {
    "recorded": lambda spans: spans,
    "without raw spans": lambda spans: [span for span in spans if span.name != RAW],
    "raw texts capped": lambda spans: [_capped(span) for span in spans],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("app", ["chat", "stream", "tools"])
def test_litellm_trace_reconstructs_to_what_the_app_saw(app: str, variant: str) -> None:
    spans = VARIANTS[variant](_spans())
    if variant == "without raw spans":
        assert RAW not in {span.name for span in spans}
    item, truth = _item(spans, app), TRUTH[app]
    assert (item.input, item.output) == (truth["question"], truth["answer"])
    assert item.metadata[TraceFacts.LLM_CALL_COUNT] == (2 if app == "tools" else 1)
    calls: list[dict[str, Any]] = [{"id": call.id, "name": call.name, "arguments": call.arguments,
                                    "output": call.output} for call in item.tool_calls]
    assert calls == truth["tool_calls"]
    assert all(call.executed for call in item.tool_calls)
    if "system_prompt" in truth:
        assert item.metadata[TraceFacts.SYSTEM_PROMPT] == truth["system_prompt"]


def test_the_recording_has_what_the_reader_is_for() -> None:
    """The fixture still shows LiteLLM's gaps: else the test above would pass without the reader."""
    spans = _spans()
    tools = [span for span in spans if span.trace_id == TRUTH["tools"]["trace_id"]]
    first = min((span for span in tools if span.name == "litellm_request"), key=lambda span: span.start_time_unix_nano)
    assert '"parts": []' in first.attributes["gen_ai.output.messages"]  # the tool call is not in it
    [raw] = [span for span in tools if span.name == RAW and span.parent_span_id == first.span_id]
    assert raw.attributes["llm.openai.choices"].startswith("[{'")  # Python repr, not JSON
