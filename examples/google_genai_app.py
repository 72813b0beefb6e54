"""Google GenAI (Gemini): a chat, a streamed answer and a tool call, traced by init() and analyzed by trace ID.

Run it (``pip install 'valiqor-trace[google-genai]'``):

    python examples/google_genai_app.py                          # a local fake of the Gemini API answers
    GOOGLE_API_KEY=... python examples/google_genai_app.py       # the real API answers

``init()`` switches on the official OpenTelemetry instrumentation for ``google-genai`` (installed by the extra)
when the app imports it; its spans nest under the workflow and go through the same content policy as ours.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from google import genai
from google.genai import types

import valiqor_trace

sys.path.insert(0, str(Path(__file__).resolve().parent))
MODEL = os.environ.get("GEMINI_MODEL", "gemini-2.5-flash")
WEATHER_TOOL = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="Current weather for a city",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})])


@valiqor_trace.tool("get_weather")
def get_weather(city: str) -> str:
    return f"18°C and sunny in {city}"


@contextlib.contextmanager
def gemini_client() -> Iterator[genai.Client]:
    """The real API with GOOGLE_API_KEY, else a client of a local fake that answers as the script says."""
    if os.environ.get("GOOGLE_API_KEY"):
        yield genai.Client()
        return
    from fake_providers import ScriptedServer, gemini_function_call, gemini_stream, gemini_text

    script = [
        gemini_text(MODEL, "Paris is the capital of France."),
        gemini_stream(MODEL, "Light travels about 300,000 km every second."),
        gemini_function_call(MODEL, "get_weather", {"city": "Paris"}),
        gemini_text(MODEL, "It is 18°C and sunny in Paris right now."),
    ]
    with ScriptedServer(script) as server:
        yield genai.Client(api_key="local", http_options=types.HttpOptions(base_url=server.url))


def ask_with_tools(client: genai.Client, question: str) -> str:
    """One tool round trip: the model asks for the tool, we run it, the model answers with the result."""
    config = types.GenerateContentConfig(tools=[WEATHER_TOOL])
    contents: list = [types.Content(role="user", parts=[types.Part.from_text(text=question)])]
    reply = client.models.generate_content(model=MODEL, contents=contents, config=config)
    calls = reply.function_calls or []
    if not calls:
        return reply.text or ""
    contents.append(reply.candidates[0].content)
    contents.append(types.Content(role="user", parts=[
        types.Part.from_function_response(name=call.name, response={"result": get_weather(**(call.args or {}))})
        for call in calls]))
    return client.models.generate_content(model=MODEL, contents=contents, config=config).text or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="google-genai-example", home=args.home)  # the one line
    with gemini_client() as client:
        with valiqor_trace.trace_workflow("gemini-chat") as chat:
            answer = client.models.generate_content(model=MODEL, contents="What is the capital of France?")
            print("chat:     ", answer.text)
        with valiqor_trace.trace_workflow("gemini-stream") as streamed:
            print("streamed: ", end="", flush=True)
            for chunk in client.models.generate_content_stream(model=MODEL,
                                                               contents="How fast is light, in one sentence?"):
                print(chunk.text or "", end="", flush=True)
            print()
        with valiqor_trace.trace_workflow("gemini-tools") as tools:
            print("tool:     ", ask_with_tools(client, "What's the weather in Paris?"))
    handle.force_flush()

    from valiqor_trace import ValiqorClient

    fa = ValiqorClient(project_name="google-genai-example", home=args.home)
    for name, workflow in (("chat", chat), ("streamed", streamed), ("tool", tools)):
        item = fa.traces.reconstruct(workflow.trace_id)
        result = fa.failure_analysis.run(trace_id=workflow.trace_id)
        print(f"{name:9s} trace {workflow.trace_id}  input {item.input!r}  output {item.output!r}  "
              f"tool calls {[call.name for call in item.tool_calls]}  "
              f"failures {result.summary.total_failures_detected}")
    handle.shutdown()


if __name__ == "__main__":
    main()
