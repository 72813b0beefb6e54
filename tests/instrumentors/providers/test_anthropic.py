"""Anthropic through its official OpenTelemetry instrumentation, switched on by init(): the content policy on
its spans, and its place in the request's tree (the example runs in test_provider_examples.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_python

pytest.importorskip("anthropic")
pytest.importorskip("opentelemetry.instrumentation.genai.anthropic")

import valiqor_trace  # noqa: E402
from valiqor_trace.store import SpanStore  # noqa: E402

from fake_providers import ScriptedServer, anthropic_stream, anthropic_text, anthropic_tool_use  # noqa: E402

MODEL = "claude-sonnet-4-5"


SECRET = "card-4111-1111-1111-1111"
POLICY_APP = """
import sys
sys.path.insert(0, {examples!r})
import anthropic, valiqor_trace
from fake_providers import ScriptedServer, anthropic_text
handle = valiqor_trace.init(capture_content={capture}, redact=lambda text: text.replace({secret!r}, "[CARD]"),
                            max_content_length={cap})
with ScriptedServer([anthropic_text("m", "Your card {secret} is charged. " + "x" * 300)]) as server:
    client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    with valiqor_trace.trace_workflow("pay") as wf:
        client.messages.create(model="m", max_tokens=50, system="Never repeat {secret}",
                               messages=[{{"role": "user", "content": "Charge {secret} please"}}])
handle.shutdown()
print(wf.trace_id)
"""


def _run_policy_app(tmp_path: Path, *, capture: bool, cap: int = 100000) -> tuple[bytes, list]:
    out = run_python(POLICY_APP.format(examples=str(REPO_ROOT / "examples"), capture=capture, secret=SECRET,
                                       cap=cap), cwd=tmp_path)
    trace_id = out.strip().splitlines()[-1]
    raw = b"".join(p.read_bytes() for p in (tmp_path / ".valiqor").glob("traces.db*"))
    return raw, SpanStore(tmp_path / ".valiqor" / "traces.db").get_trace(trace_id)


def test_redact_reaches_the_official_instrumentations_spans_before_the_store(tmp_path: Path) -> None:
    raw, spans = _run_policy_app(tmp_path, capture=True)
    assert SECRET.encode() not in raw
    [chat] = [s for s in spans if s.name == "chat m"]
    assert "Charge [CARD] please" in chat.attributes["gen_ai.input.messages"]
    assert "Your card [CARD] is charged" in chat.attributes["gen_ai.output.messages"]
    assert "Never repeat [CARD]" in chat.attributes["gen_ai.system_instructions"]


def test_max_content_length_caps_their_content_attributes(tmp_path: Path) -> None:
    _, spans = _run_policy_app(tmp_path, capture=True, cap=120)
    [chat] = [s for s in spans if s.name == "chat m"]
    output = chat.attributes["gen_ai.output.messages"]
    assert output.startswith('[{"role":"assistant"') and re.search(r"\.\.\.\[truncated \d+ chars\]$", output)
    assert len(output) < 120 + 40


def test_capture_off_stores_no_content_of_theirs(tmp_path: Path) -> None:
    raw, spans = _run_policy_app(tmp_path, capture=False)
    for text in (b"card-4111", b"Charge", b"is charged", b"Never repeat"):
        assert text not in raw
    [chat] = [s for s in spans if s.name == "chat m"]  # the call is still there, with its model and tokens
    assert chat.attributes["gen_ai.request.model"] == "m" and chat.attributes["gen_ai.usage.output_tokens"] == 12
    assert not any(key in chat.attributes for key in ("gen_ai.input.messages", "gen_ai.output.messages"))


def test_a_call_inside_a_workflow_and_a_langchain_run_is_a_child_in_the_same_trace(tracer_provider,
                                                                                     span_exporter) -> None:
    langchain_core = pytest.importorskip("langchain_core.runnables")
    import anthropic

    handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none")
    assert "anthropic" in handle.instrumented and "langchain" in handle.instrumented
    with ScriptedServer([anthropic_text(MODEL, "first"), anthropic_text(MODEL, "second")]) as server:
        client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)

        def ask(question: str) -> str:
            reply = client.messages.create(model=MODEL, max_tokens=20, messages=[{"role": "user", "content": question}])
            return reply.content[0].text

        chain = langchain_core.RunnableLambda(ask, name="ask-claude")
        with valiqor_trace.trace_workflow("request") as wf:
            assert ask("direct?") == "first"
            assert chain.invoke("through langchain?") == "second"
    spans = {span.context.span_id: span for span in span_exporter.get_finished_spans()}
    assert {span.context.trace_id for span in spans.values()} == {int(wf.trace_id, 16)}
    chats = [span for span in spans.values() if span.name == f"chat {MODEL}"]
    assert len(chats) == 2
    parents = sorted(spans[chat.parent.span_id].name for chat in chats)
    assert parents == ["chain ask-claude", "request"]
    [lc] = [span for span in spans.values() if span.name == "chain ask-claude"]
    assert spans[lc.parent.span_id].name == "request"


def test_shutdown_turns_it_off_and_an_app_instrumentation_is_left_alone(tracer_provider) -> None:
    from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor

    import anthropic  # noqa: F401 - imported: instrumented at once

    handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=["anthropic"])
    assert handle.instrumented == ["anthropic"]
    assert AnthropicInstrumentor().is_instrumented_by_opentelemetry
    handle.shutdown()
    assert not AnthropicInstrumentor().is_instrumented_by_opentelemetry

    AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)  # the app's own setup
    try:
        handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=["anthropic"])
        assert handle.instrumented == []
        handle.shutdown()
        assert AnthropicInstrumentor().is_instrumented_by_opentelemetry  # still the app's
    finally:
        AnthropicInstrumentor().uninstrument()
