"""OpenAI Agents SDK: an agent's answer, a streamed run and a tool-using run, traced and analyzed by trace ID.

Run it (``pip install 'valiqor-trace[openai-agents]'``):

    python examples/openai_agents_app.py                         # the scripted local model server answers
    OPENAI_API_KEY=sk-... python examples/openai_agents_app.py   # the real OpenAI API answers

``init()`` switches on the official OpenTelemetry instrumentation of the Agents SDK (workflow, agent and tool
spans, installed by the extra) and our own OpenAI instrumentation (the model calls under them): one tree per
run, read back by Failure Analysis by trace ID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Iterator

import agents
from agents import Agent, Runner, function_tool

import valiqor_trace

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"18°C and sunny in {city}"


@contextlib.contextmanager
def model_server() -> Iterator[None]:
    """The real API with OPENAI_API_KEY, else the scripted local model server (Responses API) as the default client."""
    if os.environ.get("OPENAI_API_KEY"):
        yield
        return
    from valiqor_trace.testing import ModelServer, Reply

    script = [
        Reply("Paris is the capital of France."),
        Reply("Light travels about 300,000 km every second.", chunks=8),
        Reply.tool_call("get_weather", {"city": "Paris"}),
        Reply("It is 18°C and sunny in Paris right now."),
    ]
    with ModelServer(script) as server:
        # use_for_tracing=False: the SDK's own upload of its traces to OpenAI needs a real key; offline it is skipped
        agents.set_default_openai_client(server.async_client(), use_for_tracing=False)
        yield


async def run_streamed(agent: Agent, question: str) -> str:
    result = Runner.run_streamed(agent, question)
    async for event in result.stream_events():
        if event.type == "raw_response_event" and getattr(event.data, "type", "") == "response.output_text.delta":
            print(event.data.delta, end="", flush=True)
    print()
    return str(result.final_output)


async def run_all(assistant: Agent, weather: Agent) -> tuple[object, object, object]:
    with valiqor_trace.trace_workflow("agents-chat") as chat:
        print("chat:     ", (await Runner.run(assistant, "What is the capital of France?")).final_output)
    with valiqor_trace.trace_workflow("agents-stream") as streamed:
        print("streamed: ", end="", flush=True)
        await run_streamed(assistant, "How fast is light, in one sentence?")
    with valiqor_trace.trace_workflow("agents-tools") as tools:
        print("tool:     ", (await Runner.run(weather, "What's the weather in Paris?")).final_output)
    return chat, streamed, tools


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="openai-agents-example", home=args.home)  # the one line
    assistant = Agent(name="assistant", instructions="Answer in one sentence.", model=MODEL)
    weather = Agent(name="weather", instructions="Use the tool for weather questions.", model=MODEL,
                    tools=[get_weather])
    with model_server():  # one event loop for every run: the SDK's async client is bound to the loop it met first
        chat, streamed, tools = asyncio.run(run_all(assistant, weather))
    handle.force_flush()

    from valiqor_trace import ValiqorClient

    fa = ValiqorClient(project_name="openai-agents-example", home=args.home)
    for name, workflow in (("chat", chat), ("streamed", streamed), ("tool", tools)):
        item = fa.traces.reconstruct(workflow.trace_id)
        result = fa.failure_analysis.run(trace_id=workflow.trace_id)
        print(f"{name:9s} trace {workflow.trace_id}  input {item.input!r}  output {item.output!r}  "
              f"tool calls {[call.name for call in item.tool_calls]}  "
              f"failures {result.summary.total_failures_detected}")
    handle.shutdown()


if __name__ == "__main__":
    main()
