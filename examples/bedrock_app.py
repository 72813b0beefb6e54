"""Amazon Bedrock (Converse API via boto3): a chat, a streamed answer and a tool call, traced and analyzed.

Run it (``pip install 'valiqor-trace[bedrock]'``):

    python examples/bedrock_app.py                       # a local fake of the Bedrock Runtime API answers
    BEDROCK_REAL=1 python examples/bedrock_app.py        # your AWS credentials and region, the real service

``init()`` switches on the official OpenTelemetry instrumentation for Bedrock (installed by the extra) when
the app imports ``boto3``; its spans nest under the workflow and go through the same content policy as ours.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

import valiqor_trace

sys.path.insert(0, str(Path(__file__).resolve().parent))
MODEL = os.environ.get("BEDROCK_MODEL", "anthropic.claude-3-5-haiku-20241022-v1:0")
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Current weather for a city", "inputSchema": {
    "json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}]}


@valiqor_trace.tool("get_weather")
def get_weather(city: str) -> str:
    return f"18°C and sunny in {city}"


@contextlib.contextmanager
def bedrock_client() -> Iterator[Any]:
    """The real service with BEDROCK_REAL=1, else a client of a local fake that answers as the script says."""
    if os.environ.get("BEDROCK_REAL"):
        yield boto3.client("bedrock-runtime")
        return
    from fake_providers import ScriptedServer, bedrock_stream, bedrock_text, bedrock_tool_use

    script = [
        bedrock_text("Paris is the capital of France."),
        bedrock_stream("Light travels about 300,000 km every second."),
        bedrock_tool_use("get_weather", {"city": "Paris"}),
        bedrock_text("It is 18°C and sunny in Paris right now."),
    ]
    with ScriptedServer(script) as server:
        yield boto3.client("bedrock-runtime", endpoint_url=server.url, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")


def text_of(message: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in message["content"])


def ask_with_tools(client: Any, question: str) -> str:
    """One tool round trip: the model asks for the tool, we run it, the model answers with the result."""
    messages: list = [{"role": "user", "content": [{"text": question}]}]
    reply = client.converse(modelId=MODEL, messages=messages, toolConfig=TOOLS)["output"]["message"]
    calls = [block["toolUse"] for block in reply["content"] if "toolUse" in block]
    if not calls:
        return text_of(reply)
    messages.append(reply)
    messages.append({"role": "user", "content": [
        {"toolResult": {"toolUseId": call["toolUseId"], "content": [{"text": get_weather(**call["input"])}]}}
        for call in calls]})
    return text_of(client.converse(modelId=MODEL, messages=messages, toolConfig=TOOLS)["output"]["message"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="bedrock-example", home=args.home)  # the one line
    with bedrock_client() as client:
        with valiqor_trace.trace_workflow("bedrock-chat") as chat:
            answer = client.converse(modelId=MODEL, messages=[
                {"role": "user", "content": [{"text": "What is the capital of France?"}]}])
            print("chat:     ", text_of(answer["output"]["message"]))
        with valiqor_trace.trace_workflow("bedrock-stream") as streamed:
            print("streamed: ", end="", flush=True)
            response = client.converse_stream(modelId=MODEL, messages=[
                {"role": "user", "content": [{"text": "How fast is light, in one sentence?"}]}])
            for event in response["stream"]:
                print(event.get("contentBlockDelta", {}).get("delta", {}).get("text", ""), end="", flush=True)
            print()
        with valiqor_trace.trace_workflow("bedrock-tools") as tools:
            print("tool:     ", ask_with_tools(client, "What's the weather in Paris?"))
    handle.force_flush()

    from valiqor_trace import ValiqorClient

    fa = ValiqorClient(project_name="bedrock-example", home=args.home)
    for name, workflow in (("chat", chat), ("streamed", streamed), ("tool", tools)):
        item = fa.traces.reconstruct(workflow.trace_id)
        result = fa.failure_analysis.run(trace_id=workflow.trace_id)
        print(f"{name:9s} trace {workflow.trace_id}  input {item.input!r}  output {item.output!r}  "
              f"tool calls {[call.name for call in item.tool_calls]}  "
              f"failures {result.summary.total_failures_detected}")
    handle.shutdown()


if __name__ == "__main__":
    main()
