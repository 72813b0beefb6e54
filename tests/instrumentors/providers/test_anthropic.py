"""Anthropic through its official OpenTelemetry instrumentation, switched on by init(): its place in a tree
that LangChain runs also write to, and who turns it off (the content policy, for every provider, is in
test_content_policy.py; the example runs in test_provider_examples.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("anthropic")
pytest.importorskip("opentelemetry.instrumentation.genai.anthropic")

import valiqor_trace  # noqa: E402

from fake_providers import ScriptedServer, anthropic_text  # noqa: E402

MODEL = "claude-sonnet-4-5"


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
