"""Each provider example runs offline (the real SDK against a local fake), and its three traces (a chat, a
streamed answer, a tool call; LlamaIndex's also a RAG query) are rebuilt and analyzed by trace ID as a user
would read them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_python
from valiqor_trace import ValiqorClient

# example -> the modules it needs (the SDK and its instrumentation, from the provider's extra)
EXAMPLES = {
    "anthropic_app.py": ("anthropic", "opentelemetry.instrumentation.genai.anthropic"),
    "bedrock_app.py": ("boto3", "opentelemetry.instrumentation.genai.bedrock"),
    "google_genai_app.py": ("google.genai", "opentelemetry.instrumentation.google_genai"),
    "openai_agents_app.py": ("agents", "opentelemetry.instrumentation.genai.openai_agents"),
    "llama_index_app.py": ("llama_index.llms.google_genai", "opentelemetry.instrumentation.genai.llama_index",
                           "opentelemetry.instrumentation.google_genai"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_traces_are_rebuilt_and_analyzed_by_trace_id(example: str, tmp_path: Path) -> None:
    missing = [module for module in EXAMPLES[example] if not _installed(module)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (the provider's extra)")
    output = run_python(f"import runpy; runpy.run_path({str(REPO_ROOT / 'examples' / example)!r}, "
                        "run_name='__main__')", cwd=tmp_path,
                        env={"BEDROCK_REAL": "", "ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": "", "GOOGLE_API_KEY": "", "GEMINI_API_KEY": ""},
                        timeout=180)
    assert "chat:      Paris is the capital of France." in output
    assert "streamed: Light travels about 300,000 km every second." in output
    assert "tool:      It is 18°C and sunny in Paris right now." in output
    traces = dict(re.findall(r"^(chat|streamed|tool|rag)\s+trace ([0-9a-f]{32})", output, flags=re.M))
    assert set(traces) == {"chat", "streamed", "tool"} | ({"rag"} if example == "llama_index_app.py" else set())

    client = ValiqorClient(home=str(tmp_path / ".valiqor"))
    chat = client.traces.reconstruct(traces["chat"])
    assert (chat.input, chat.output, chat.tool_calls) == ("What is the capital of France?",
                                                         "Paris is the capital of France.", [])
    streamed = client.traces.reconstruct(traces["streamed"])
    assert streamed.input == "How fast is light, in one sentence?"
    assert streamed.output == "Light travels about 300,000 km every second."  # the chunks, joined
    tools = client.traces.reconstruct(traces["tool"])
    assert tools.input == "What's the weather in Paris?"
    assert tools.output == "It is 18°C and sunny in Paris right now."
    [call] = tools.tool_calls
    assert (call.name, call.arguments, call.output, call.executed) == (
        "get_weather", {"city": "Paris"}, "18°C and sunny in Paris", True)
    assert call.id  # the model's call id, joined with the execution
    assert tools.metadata["user_turns"] == ["What's the weather in Paris?"]  # the tool result is no user turn
    assert tools.metadata["llm_call_count"] == 2
    if "rag" in traces:
        _check_rag(client, traces["rag"])
    for trace_id in traces.values():
        result = client.failure_analysis.run(trace_id=trace_id)
        assert result.status == "completed" and result.summary.total_items == 1
        assert result.summary.total_failures_detected == 0, [t.subcategory_id for t in result.failures()]


def _check_rag(client: ValiqorClient, trace_id: str) -> None:
    """The query engine's retrieval is one span (ours, with the documents' text), read back as the context."""
    rag = client.traces.reconstruct(trace_id)
    assert rag.input == "How long do refunds take?"
    assert rag.output == "Refunds are paid within 14 days of the return reaching the warehouse."
    assert rag.context == ["Refunds are paid within 14 days of the return reaching our warehouse.",
                           "Returns are free for orders over 50 euros; otherwise the label costs 4 euros."]
    retrievals = [span.name for span in client.traces.get(trace_id)
                  if span.attributes.get("gen_ai.operation.name") == "retrieval"]
    assert retrievals == ["retrieval SummaryIndexRetriever"]  # the official instrumentation's is not started
