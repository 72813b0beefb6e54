"""``valiqor demo``: trace a small app into the embedded store and show what was recorded."""

from __future__ import annotations

import argparse
import os

import valiqor_trace
from valiqor_trace.cli._output import span_tree_lines

_DOCUMENTS = {
    "refund": "Refunds are issued within 14 days of purchase to the original payment method.",
    "shipping": "Standard shipping takes 3-5 business days; express shipping takes 1 day.",
}


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    demo = cli.command("demo", "trace a small example app into the local store and print its trace")
    demo.add_argument("--home", help="data directory (default: $VALIQOR_HOME or ./.valiqor)")
    demo.add_argument("--question", default="How long do refunds take?")
    demo.set_defaults(func=run_demo)


@valiqor_trace.trace_function("retrieve")
def retrieve(question: str) -> list[str]:
    words = set(question.lower().replace("?", "").split())
    return [text for key, text in _DOCUMENTS.items() if key in words or key.rstrip("s") + "s" in words]


@valiqor_trace.trace_function("answer")
def answer(question: str, documents: list[str]) -> str:
    if not documents:
        return "I could not find that in our policies."
    return f"According to our policy: {documents[0]}"


def run_demo(args: argparse.Namespace) -> int:
    handle = valiqor_trace.init(project_name="valiqor-demo", home=args.home, instrument=False)
    with valiqor_trace.trace_workflow("support-question") as wf:
        wf.set_input(args.question)
        documents = retrieve(args.question)
        reply = answer(args.question, documents)
        wf.set_output(reply)
    handle.force_flush()
    spans = handle.store.get_trace(wf.trace_id)
    print(f"question: {args.question}\nanswer:   {reply}\n")
    print(f"trace id: {wf.trace_id}  ({len(spans)} spans in {os.path.relpath(handle.store_path)})")
    for line in span_tree_lines(spans):
        print("  " + line)
    print(f"\nshow it again with: valiqor traces show {wf.trace_id}")
    handle.shutdown()
    return 0
