"""A LangChain tool-calling agent, traced: the model asks for tools, the tools run, the model answers.

Run it:

    python examples/langchain_agent.py                    # a scripted local model drives the loop (no key)
    OPENAI_API_KEY=sk-... python examples/langchain_agent.py   # the real OpenAI API decides

The trace shows each model call with the tool calls it requested, each
``execute_tool`` span with the real arguments and result, and the refund tool
failing (an error span; the agent reports the failure to the model and goes on).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import textwrap
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

import valiqor_trace

ORDERS = {"A-1001": {"status": "delivered", "item": "Final-sale jacket", "final_sale": True}}


@tool
def get_order(order_id: str) -> dict[str, Any]:
    """Look up an order's status and item by its id (like A-1001)."""
    if order_id not in ORDERS:
        raise KeyError(f"no order {order_id}")
    return {"order_id": order_id, **ORDERS[order_id]}


@tool
def request_refund(order_id: str) -> str:
    """Refund an order by its id."""
    if ORDERS.get(order_id, {}).get("final_sale"):
        raise PermissionError(f"order {order_id} is a final-sale item and cannot be refunded")
    return f"refund for {order_id} issued"


TOOLS = {t.name: t for t in (get_order, request_refund)}


def run_agent(model: Any, question: str, max_steps: int = 5) -> str:
    """The loop: call the model; run every tool it asks for; send the results back; stop at an answer."""
    llm = model.bind_tools(list(TOOLS.values()))
    messages: list[BaseMessage] = [SystemMessage("You are a support agent. Use the tools."), HumanMessage(question)]
    for _ in range(max_steps):
        reply = llm.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            try:
                messages.append(TOOLS[call["name"]].invoke(call))
            except Exception as exc:  # the tool failed: tell the model, as agents do
                messages.append(ToolMessage(f"error: {exc}", tool_call_id=call["id"], status="error"))
    return "I could not finish this request."


@contextlib.contextmanager
def chat_model() -> Iterator[ChatOpenAI]:
    """The real model with OPENAI_API_KEY, else one backed by the scripted local model server."""
    if os.environ.get("OPENAI_API_KEY"):
        yield ChatOpenAI(model="gpt-4o-mini", temperature=0)
        return
    from valiqor_trace.testing import ModelServer, Reply

    script = [
        Reply.tool_call("get_order", {"order_id": "A-1001"}),
        Reply.tool_call("request_refund", {"order_id": "A-1001"}),
        Reply("Order A-1001 (a final-sale jacket) was delivered. I tried to refund it, but final-sale items "
              "cannot be refunded."),
    ]
    with ModelServer(script) as server:
        yield ChatOpenAI(model="gpt-4o-mini", base_url=server.base_url, api_key="local-model-server", max_retries=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default="Please refund my order A-1001.")
    parser.add_argument("--home", help="where the local trace store lives (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()

    handle = valiqor_trace.init(project_name="langchain-agent", home=args.home)  # instruments LangChain and OpenAI
    with chat_model() as model:
        with valiqor_trace.trace_workflow("support-agent") as workflow:
            workflow.set_input(args.question)
            answer = run_agent(model, args.question)
            workflow.set_output(answer)
    handle.force_flush()

    spans = handle.store.get_trace(workflow.trace_id)
    print(f"question: {args.question}\nanswer:   {answer}\n")
    print(f"trace {workflow.trace_id} ({len(spans)} spans):")
    print(textwrap.indent(valiqor_trace.format_trace(spans), "  "))
    for span in spans:
        if span.attributes.get("gen_ai.operation.name") == "execute_tool":
            outcome = span.status_message if span.status_code == "ERROR" else span.attributes.get(
                "gen_ai.tool.call.result")
            print(f"\n{span.name}({span.attributes.get('gen_ai.tool.call.arguments')}) -> {outcome}")
    print(f"\nshow it again with: valiqor traces show {workflow.trace_id}")
    handle.shutdown()


if __name__ == "__main__":
    main()
