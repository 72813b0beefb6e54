"""LlamaIndex: a chat, a streamed answer, an agent's tool call and a RAG query, traced and analyzed by trace ID.

Run it (``pip install 'valiqor-trace[llama-index,google-genai]' llama-index-llms-google-genai``):

    python examples/llama_index_app.py                          # a local fake of the Gemini API answers
    GOOGLE_API_KEY=... python examples/llama_index_app.py       # the real API answers

``init()`` switches on three instrumentations when the app imports LlamaIndex and its LLM's SDK: the official
one for LlamaIndex (agents and their tools), the official one for the provider SDK the LLM class calls (here
``google-genai``: every model call), and ours for retrievers (the query and the documents' text). Each request
is one tree, which Failure Analysis reads back by trace ID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from google.genai import types
from llama_index.core import SummaryIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import ChatMessage
from llama_index.core.schema import TextNode
from llama_index.llms.google_genai import GoogleGenAI

import valiqor_trace

sys.path.insert(0, str(Path(__file__).resolve().parent))
MODEL = os.environ.get("GEMINI_MODEL", "gemini-2.5-flash")
HANDBOOK = [
    "Refunds are paid within 14 days of the return reaching our warehouse.",
    "Returns are free for orders over 50 euros; otherwise the label costs 4 euros.",
]


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"18°C and sunny in {city}"


@contextlib.contextmanager
def gemini_llm() -> Iterator[GoogleGenAI]:
    """The real API with GOOGLE_API_KEY, else an LLM of a local fake that answers as the script says."""
    if os.environ.get("GOOGLE_API_KEY"):
        yield GoogleGenAI(model=MODEL)
        return
    from fake_providers import ScriptedServer, gemini_function_call, gemini_stream, gemini_text

    script = [
        gemini_text(MODEL, "Paris is the capital of France."),
        gemini_stream(MODEL, "Light travels about 300,000 km every second."),
        gemini_function_call(MODEL, "get_weather", {"city": "Paris"}),
        gemini_text(MODEL, "It is 18°C and sunny in Paris right now."),
        gemini_text(MODEL, "Refunds are paid within 14 days of the return reaching the warehouse."),
    ]
    with ScriptedServer(script) as server:
        # max_tokens and context_window given: the class asks the API for them otherwise (a call the fake skips)
        yield GoogleGenAI(model=MODEL, api_key="local", http_options=types.HttpOptions(base_url=server.url),
                          max_tokens=1024, context_window=1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="llama-index-example", home=args.home)  # the one line
    with gemini_llm() as llm:
        with valiqor_trace.trace_workflow("llama-chat") as chat:
            answer = llm.chat([ChatMessage(role="user", content="What is the capital of France?")])
            print("chat:     ", answer.message.content)
        with valiqor_trace.trace_workflow("llama-stream") as streamed:
            print("streamed: ", end="", flush=True)
            for chunk in llm.stream_chat([ChatMessage(role="user", content="How fast is light, in one sentence?")]):
                print(chunk.delta, end="", flush=True)
            print()
        agent = FunctionAgent(tools=[get_weather], llm=llm, streaming=False,
                              system_prompt="Use the tool for weather questions.")

        async def ask_agent() -> str:
            with valiqor_trace.trace_workflow("llama-agent") as workflow:
                print("tool:     ", await agent.run("What's the weather in Paris?"))
            return workflow.trace_id

        tools_trace = asyncio.run(ask_agent())
        engine = SummaryIndex([TextNode(text=text) for text in HANDBOOK]).as_query_engine(llm=llm)
        with valiqor_trace.trace_workflow("llama-rag") as rag:
            question = "How long do refunds take?"
            rag.set_input(question)  # a query engine records no input of its own: the model only sees the prompt
            answer = str(engine.query(question))
            rag.set_output(answer)
            print("rag:      ", answer)
    handle.force_flush()

    from valiqor_trace import ValiqorClient

    fa = ValiqorClient(project_name="llama-index-example", home=args.home)
    traces = (("chat", chat.trace_id), ("streamed", streamed.trace_id), ("tool", tools_trace), ("rag", rag.trace_id))
    for name, trace_id in traces:
        item = fa.traces.reconstruct(trace_id)
        result = fa.failure_analysis.run(trace_id=trace_id)
        print(f"{name:9s} trace {trace_id}  input {item.input!r}  output {item.output!r}  "
              f"tool calls {[call.name for call in item.tool_calls]}  "
              f"failures {result.summary.total_failures_detected}")
    handle.shutdown()


if __name__ == "__main__":
    main()
