"""Anthropic: a chat, a streamed answer and a tool call, traced by init() and analyzed by trace ID.

Run it (``pip install 'valiqor-trace[anthropic]'``):

    python examples/anthropic_app.py                            # a local fake of the Messages API answers
    ANTHROPIC_API_KEY=sk-ant-... python examples/anthropic_app.py   # the real API answers

``init()`` switches on the official OpenTelemetry instrumentation for the ``anthropic`` SDK (installed by
the extra) when the app imports it; its spans nest under the workflow, go through the same content policy as
ours, and Failure Analysis reads them back by trace ID.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import anthropic

import valiqor_trace

sys.path.insert(0, str(Path(__file__).resolve().parent))
MODEL = os.environ.get("ANTHROPIC_MODEL", "claude-sonnet-4-5")
WEATHER_TOOL = {"name": "get_weather", "description": "Current weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@valiqor_trace.tool("get_weather")
def get_weather(city: str) -> str:
    return f"18°C and sunny in {city}"


@contextlib.contextmanager
def anthropic_client() -> Iterator[anthropic.Anthropic]:
    """The real API with ANTHROPIC_API_KEY, else a client of a local fake that answers as the script says."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        yield anthropic.Anthropic()
        return
    from fake_providers import ScriptedServer, anthropic_stream, anthropic_text, anthropic_tool_use

    script = [
        anthropic_text(MODEL, "Paris is the capital of France."),
        anthropic_stream(MODEL, "Light travels about 300,000 km every second."),
        anthropic_tool_use(MODEL, "get_weather", {"city": "Paris"}),
        anthropic_text(MODEL, "It is 18°C and sunny in Paris right now."),
    ]
    with ScriptedServer(script) as server:
        yield anthropic.Anthropic(base_url=server.url, api_key="sk-ant-local", max_retries=0)


def ask_with_tools(client: anthropic.Anthropic, question: str) -> str:
    """One tool round trip: the model asks for the tool, we run it, the model answers with the result."""
    messages: list = [{"role": "user", "content": question}]
    reply = client.messages.create(model=MODEL, max_tokens=300, messages=messages, tools=[WEATHER_TOOL])
    calls = [block for block in reply.content if block.type == "tool_use"]
    if not calls:
        return "".join(block.text for block in reply.content if block.type == "text")
    messages.append({"role": "assistant", "content": reply.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call.id, "content": get_weather(**call.input)} for call in calls]})
    final = client.messages.create(model=MODEL, max_tokens=300, messages=messages, tools=[WEATHER_TOOL])
    return "".join(block.text for block in final.content if block.type == "text")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="anthropic-example", home=args.home)  # the one line
    with anthropic_client() as client:
        with valiqor_trace.trace_workflow("anthropic-chat") as chat:
            answer = client.messages.create(model=MODEL, max_tokens=300, messages=[
                {"role": "user", "content": "What is the capital of France?"}])
            print("chat:     ", answer.content[0].text)
        with valiqor_trace.trace_workflow("anthropic-stream") as streamed:
            print("streamed: ", end="", flush=True)
            with client.messages.stream(model=MODEL, max_tokens=300, messages=[
                    {"role": "user", "content": "How fast is light, in one sentence?"}]) as stream:
                for text in stream.text_stream:
                    print(text, end="", flush=True)
            print()
        with valiqor_trace.trace_workflow("anthropic-tools") as tools:
            print("tool:     ", ask_with_tools(client, "What's the weather in Paris?"))
    handle.force_flush()

    from valiqor_trace import ValiqorClient

    fa = ValiqorClient(project_name="anthropic-example", home=args.home)
    for name, workflow in (("chat", chat), ("streamed", streamed), ("tool", tools)):
        item = fa.traces.reconstruct(workflow.trace_id)
        result = fa.failure_analysis.run(trace_id=workflow.trace_id)
        print(f"{name:9s} trace {workflow.trace_id}  input {item.input!r}  output {item.output!r}  "
              f"tool calls {[call.name for call in item.tool_calls]}  "
              f"failures {result.summary.total_failures_detected}")
    handle.shutdown()


if __name__ == "__main__":
    main()
