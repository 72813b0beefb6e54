"""Trace ID -> failure report: analyze any trace in the local store (or one you import).

    python examples/analyze_trace.py                      # makes a small traced request, then analyzes it
    python examples/analyze_trace.py TRACE_ID             # analyzes a trace already in ./.valiqor/traces.db
    python examples/analyze_trace.py TRACE_ID --import spans.jsonl   # a trace exported by another tool

The same in the shell: ``valiqor fa run --trace-id TRACE_ID``.
"""

from __future__ import annotations

import argparse

import valiqor_trace
from valiqor_trace import ValiqorClient, format_result


def make_a_trace() -> str:
    """A traced RAG request whose answer invents a number the document does not contain."""
    handle = valiqor_trace.init(project_name="analyze-trace-example")

    @valiqor_trace.retriever("policies")
    def search(query: str) -> list[str]:
        return ["Standard shipping takes 3 to 5 business days."]

    with valiqor_trace.trace_workflow("shipping-question") as workflow:
        question = "How long does standard shipping take?"
        workflow.set_input(question)
        search(question)
        workflow.set_output("Standard shipping takes 12 business days and costs $25.")
    handle.shutdown()
    return workflow.trace_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace_id", nargs="?")
    parser.add_argument("--import", dest="import_file", help="import this trace file into the local store first")
    args = parser.parse_args()

    client = ValiqorClient(project_name="analyze-trace-example")
    if args.import_file:
        print(client.traces.import_file(args.import_file))
    trace_id = args.trace_id or make_a_trace()
    item = client.traces.reconstruct(trace_id)
    print(f"input:   {item.input}\noutput:  {item.output}\ncontext: {item.context}\n")
    print(format_result(client.failure_analysis.run(trace_id=trace_id)))
    client.close()


if __name__ == "__main__":
    main()
