"""OpenAI quickstart: one line of setup, then a chat call, a streamed call and a tool call, all traced.

Run it:

    python examples/openai_quickstart.py                         # the scripted local model server answers
    OPENAI_API_KEY=sk-... python examples/openai_quickstart.py   # the real OpenAI API answers

It prints the answers and the trace ID; the spans are in the local store
(``./.valiqor/traces.db``), so you can look at them again with
``valiqor traces show <trace id>``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import textwrap
from collections.abc import Iterator

import openai

import valiqor_trace

MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def get_weather(city: str) -> str:
    return f"18°C and sunny in {city}"


@contextlib.contextmanager
def openai_client() -> Iterator[openai.OpenAI]:
    """The real API with OPENAI_API_KEY, else a client of the scripted local model server."""
    if os.environ.get("OPENAI_API_KEY"):
        yield openai.OpenAI()
        return
    from valiqor_trace.testing import ModelServer, Reply

    script = [
        Reply("Paris is the capital of France."),
        Reply("Light travels about 300,000 km every second.", chunks=8),
        Reply.tool_call("get_weather", {"city": "Paris"}),
        Reply("It is 18°C and sunny in Paris right now."),
    ]
    with ModelServer(script) as server:
        yield server.client()


def ask_with_tools(client: openai.OpenAI, question: str) -> str:
    """One tool round trip: the model asks for the tool, we run it, the model answers with the result."""
    messages: list = [{"role": "user", "content": question}]
    reply = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL]).choices[0].message
    if not reply.tool_calls:
        return reply.content or ""
    messages.append(reply)
    for call in reply.tool_calls:
        arguments = json.loads(call.function.arguments)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": get_weather(**arguments)})
    return client.chat.completions.create(model=MODEL, messages=messages).choices[0].message.content or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="openai-quickstart", home=args.home)  # the one line
    with openai_client() as client, valiqor_trace.trace_workflow("openai-quickstart") as workflow:
        answer = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "What is the capital of France?"}])
        print("chat:     ", answer.choices[0].message.content)

        print("streamed: ", end="", flush=True)
        stream = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "How fast is light, in one sentence?"}],
            stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()

        print("tool:     ", ask_with_tools(client, "What's the weather in Paris?"))
    handle.force_flush()

    spans = handle.store.get_trace(workflow.trace_id)
    print(f"\ntrace id: {workflow.trace_id} ({len(spans)} spans)")
    print(textwrap.indent(valiqor_trace.format_trace(spans), "  "))
    print(f"\nshow it again with: valiqor traces show {workflow.trace_id}")
    handle.shutdown()


if __name__ == "__main__":
    main()
