"""Added CPU per LangChain request, recorded and not sampled: valiqor-trace vs the other tracers, and the span floor.

Run it::

    python benchmarks/langchain_overhead.py              # ~5 minutes on 2 cores
    python benchmarks/langchain_overhead.py --quick      # smaller, noisier
    python benchmarks/langchain_overhead.py --only valiqor --json out.json

Two request shapes, on the real ``langchain-openai`` client over an ``httpx2.MockTransport``
that answers at once (only LangChain, the SDK and the instrumentation are measured):

- *invoke*: ``ChatOpenAI.invoke`` (a LangChain chat run; with the OpenAI client instrumented
  too, a nested client span);
- *RAG chain*: ``{context: retriever | format, question} | prompt | ChatOpenAI |
  StrOutputParser`` (10 LangChain runs).

Each row (an instrumentation, or a pair that records the full tree: LangChain and OpenAI) runs
in its own processes, the rows taking turns round by round. In a process: the shapes are timed
uninstrumented, then the *span floor* (one SDK span with 10 attributes started and ended right
after each uninstrumented request, timed alone), then the row is instrumented and blocks
alternate between *recorded* and *not sampled* (a ``ParentBased`` sampler whose root decision
is switched between ALWAYS_ON and ALWAYS_OFF: the same process, the same wrappers). Our own
rows switch off cleanly (``uninstrument()``), so for them *uninstrumented* and *floor* blocks
take turns with the other two all along; the peers' baseline is the one measured before
instrumenting. Every request (and every floor span) is timed on its own in process CPU time
(every thread: the RAG chain's parallel branches run in a thread pool), so other jobs on a
shared machine add little, and a state's cost is the median request: the odd request slowed by
a neighbour does not move it. Added cost = median request (instrumented) - median request
(uninstrumented); the ratio divides the recorded cost by spans per request x the floor of that
process. The provider has a ``BatchSpanProcessor`` to a no-op exporter.

Correctness columns, from the same process after the timing: how many traces 50 concurrent
``ainvoke`` calls of the RAG chain produce (one per call is right), and whether the retriever's
span holds both documents' text. Peers are not dependencies of valiqor-trace; a missing one
gets a row that says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = ["The Eiffel Tower is 330 metres tall.", "The tower was completed in 1889."]
SHAPES = ("invoke", "rag")
SHAPE_NAMES = {"invoke": "LangChain invoke", "rag": "LCEL RAG chain"}
FLOOR_ATTRIBUTES = {
    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.2, "gen_ai.request.max_tokens": 64, "server.address": "bench.test",
    "gen_ai.response.id": "chatcmpl-bench", "gen_ai.response.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 8,
}
OFFICIAL_CONTENT = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
                    "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}

# row -> (what it instruments, distributions for the version column, extra environment)
ROWS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, str]]] = {
    "valiqor-trace (langchain + openai)": (("valiqor:langchain", "valiqor:openai"), ("valiqor-trace",), {}),
    "valiqor-trace (langchain)": (("valiqor:langchain",), ("valiqor-trace",), {}),
    "openinference (langchain + openai)": (
        ("openinference:langchain", "openinference:openai"),
        ("openinference-instrumentation-langchain", "openinference-instrumentation-openai"), {}),
    "openinference (langchain)": (("openinference:langchain",), ("openinference-instrumentation-langchain",), {}),
    "OpenLLMetry (langchain + openai)": (
        ("openllmetry:langchain", "openllmetry:openai"),
        ("opentelemetry-instrumentation-langchain", "opentelemetry-instrumentation-openai"),
        {"TRACELOOP_TRACE_CONTENT": "true"}),
    "OpenLLMetry (langchain)": (("openllmetry:langchain",), ("opentelemetry-instrumentation-langchain",),
                                {"TRACELOOP_TRACE_CONTENT": "true"}),
    "official genai (langchain + openai)": (
        ("official:langchain", "official:openai"),
        ("opentelemetry-instrumentation-genai-langchain", "opentelemetry-instrumentation-genai-openai"),
        OFFICIAL_CONTENT),
    "official genai (langchain)": (("official:langchain",), ("opentelemetry-instrumentation-genai-langchain",),
                                   OFFICIAL_CONTENT),
}


# --- the worker: one row, one process -------------------------------------------------------------------


def _model_and_chain() -> tuple[Any, Any]:
    import httpx2
    from langchain_core.documents import Document
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import RunnablePassthrough
    from langchain_openai import ChatOpenAI

    body = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "It is 330 metres tall."}}],
                       "usage": {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}}).encode()

    def handler(request: Any) -> Any:
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body)

    class Docs(BaseRetriever):
        def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Any]:
            return [Document(page_content=DOCS[0], id="d1"), Document(page_content=DOCS[1], id="d2")]

    transport = httpx2.MockTransport(handler)
    model = ChatOpenAI(model="gpt-4o-mini", api_key="sk-bench", max_retries=0,
                       http_client=httpx2.Client(transport=transport),
                       http_async_client=httpx2.AsyncClient(transport=transport))
    prompt = ChatPromptTemplate.from_messages([("system", "Context:\n{context}"), ("human", "{question}")])
    format_docs = (lambda docs: "\n".join(d.page_content for d in docs))  # noqa: E731
    chain = {"context": Docs() | format_docs, "question": RunnablePassthrough()} | prompt | model | StrOutputParser()
    return model, chain


class _Switch:
    """The root decision of a ``ParentBased`` sampler, switched between recording and dropping."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

        self.on, self.off = ALWAYS_ON, ALWAYS_OFF
        self.sampled = True

    def should_sample(self, *args: Any, **kwargs: Any) -> Any:
        return (self.on if self.sampled else self.off).should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "bench switch"


class _Counter:
    """Counts ended spans (spans per request)."""

    def __init__(self) -> None:
        self.ended = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        pass

    def _on_ending(self, span: Any) -> None:
        pass

    def on_end(self, span: Any) -> None:
        self.ended += 1

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _provider() -> tuple[Any, _Switch, _Counter]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased

    class NoOp(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    switch, counter = _Switch(), _Counter()
    provider = TracerProvider(sampler=ParentBased(switch))  # type: ignore[arg-type]
    provider.add_span_processor(BatchSpanProcessor(NoOp(), max_queue_size=65536))
    provider.add_span_processor(counter)  # type: ignore[arg-type]
    return provider, switch, counter


def _instrument(part: str, provider: Any) -> Any:
    """Instrument ``part``; ours is returned (it can be switched off and on again), a peer's is not."""
    library, _, target = part.partition(":")
    if library == "valiqor":
        if target == "langchain":
            from valiqor_trace.instrumentors.langchain import LangChainInstrumentor as Ours
        else:
            from valiqor_trace.instrumentors.openai import OpenAIInstrumentor as Ours  # type: ignore[assignment]
        ours = Ours()
        ours.instrument(tracer_provider=provider)
        return ours
    elif library == "openinference":
        if target == "langchain":
            from openinference.instrumentation.langchain import LangChainInstrumentor as OpenInference
        else:
            from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference
        OpenInference().instrument(tracer_provider=provider)
    elif library == "openllmetry":
        if target == "langchain":
            from opentelemetry.instrumentation.langchain import LangchainInstrumentor as OpenLLMetry
        else:
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetry
        OpenLLMetry().instrument(tracer_provider=provider)
    else:
        if target == "langchain":
            from opentelemetry.instrumentation.genai.langchain import LangChainInstrumentor as Official
        else:
            from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as Official
        Official().instrument(tracer_provider=provider)
    return None


def _block(request: Any, calls: int) -> list[float]:
    """Process-CPU µs of each of ``calls`` requests (medians of single requests shrug off the odd slow one)."""
    times = []
    for _ in range(calls):
        start = time.process_time_ns()
        request()
        times.append((time.process_time_ns() - start) / 1000)
    return times


def _floor_block(request: Any, tracer: Any, calls: int) -> list[float]:
    """One bare span right after each request, only the span timed: what a span costs in such a process."""
    times = []
    for _ in range(calls):
        request()
        start = time.process_time_ns()
        tracer.start_span("chat gpt-4o-mini", attributes=FLOOR_ATTRIBUTES).end()
        times.append((time.process_time_ns() - start) / 1000)
    return times


def _correctness(chain: Any, provider: Any) -> dict[str, Any]:
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))

    async def burst() -> None:
        await asyncio.gather(*(chain.ainvoke(f"question {i}") for i in range(50)))

    asyncio.run(burst())
    spans = memory.get_finished_spans()
    retrievers = [s for s in spans if "retriev" in s.name.lower() or "Docs" in s.name]
    with_docs = [s for s in retrievers if all(any(doc in str(v) for v in s.attributes.values()) for doc in DOCS)]
    return {"traces_for_50": len({s.context.trace_id for s in spans}),
            "docs_on_retriever": f"{len(with_docs)}/{len(retrievers)}"}


def _requests() -> dict[str, Any]:
    model, chain = _model_and_chain()
    return {"invoke": lambda: model.invoke("How tall is it?"), "rag": lambda: chain.invoke("How tall is it?"),
            "chain": chain}


def _measure(row: str, calls: int, blocks: int) -> dict[str, Any]:
    from valiqor_trace._content import ContentPolicy, set_content_policy

    set_content_policy(ContentPolicy(capture=True))
    provider, switch, counter = _provider()
    requests = _requests()
    tracer = provider.get_tracer("bench-floor")
    result: dict[str, Any] = {}
    for shape in SHAPES:
        request = requests[shape]
        _block(request, calls * 2)  # warm up
        result[shape] = {"off": [t for _ in range(blocks) for t in _block(request, calls)],
                         "floor": [t for _ in range(blocks) for t in _floor_block(request, tracer, calls)]}
    instrumentors = [_instrument(part, provider) for part in ROWS[row][0]]
    # Ours switch off and on cleanly: uninstrumented and floor blocks take turns with the others all along,
    # and each cycle's instrumented blocks are compared with that cycle's uninstrumented one.
    switchable = all(instrumentors)
    states = ("recorded", "not_sampled", "off", "floor") if switchable else ("recorded", "not_sampled")
    # New clients after every switch: the OpenAI SDK binds ``create`` into ``with_raw_response`` on first
    # use, so a client used before a switch would keep the instrumentation state it was first used in.
    instrumented = True

    def switch_to(state: str) -> Any:
        nonlocal instrumented
        if (state not in ("off", "floor")) != instrumented:
            for instrumentor in instrumentors:
                if instrumented:
                    instrumentor.uninstrument()
                else:
                    instrumentor.instrument(tracer_provider=provider)
            instrumented = not instrumented
        switch.sampled = state != "not_sampled"  # the floor's span is a recorded one
        return _requests()

    for shape in SHAPES:
        samples = result[shape]
        if switchable:
            samples["off"], samples["floor"] = [], []
        samples["recorded"], samples["not_sampled"] = [], []
        request = switch_to("recorded")[shape]
        _block(request, calls * 2)
        before = counter.ended
        request()
        samples["spans"] = counter.ended - before
        for index in range(blocks * len(states)):
            state = states[index % len(states)]
            request = switch_to(state)[shape]
            request()  # the first request after a switch is not timed
            ended = counter.ended
            samples[state].extend(_floor_block(request, tracer, calls) if state == "floor" else _block(request, calls))
            if state == "not_sampled":
                samples["spans_not_sampled"] = samples.get("spans_not_sampled", 0) + counter.ended - ended
        for key in ("off", "floor", "recorded", "not_sampled"):
            samples[key] = statistics.median(samples[key])
    requests = switch_to("recorded")
    switch.sampled = True
    result.update(_correctness(requests["chain"], provider))
    provider.shutdown()
    return result


# --- the driver: every row in its own processes, taking turns ---------------------------------------------


def _version(distribution: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _env(row: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_", "TRACELOOP_"))}
    return {**clean, **ROWS[row][2], "PYTHONPATH": str(REPO_ROOT)}


def _run_once(row: str, calls: int, blocks: int) -> dict[str, Any]:
    process = subprocess.run([sys.executable, __file__, "--worker", row, "--calls", str(calls),
                              "--blocks", str(blocks)],
                             capture_output=True, text=True, cwd=REPO_ROOT, env=_env(row), timeout=1800)
    if process.returncode != 0:
        return {"error": (process.stderr.strip().splitlines() or ["failed"])[-1][:100]}
    return json.loads(process.stdout.strip().splitlines()[-1])


def _collect(rows: list[str], calls: int, blocks: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in rows
                                             if all(_version(d) != "not installed" for d in ROWS[r][1])}
    for index in range(rounds):
        for row in runs:
            print(f"round {index + 1}/{rounds}: {row} ...", file=sys.stderr, flush=True)
            runs[row].append(_run_once(row, calls, blocks))
    return runs


def _summary(rows: list[dict[str, Any]], shape: str) -> dict[str, float]:
    """Per process: added = instrumented - uninstrumented; then the median over processes."""
    added = [r[shape]["recorded"] - r[shape]["off"] for r in rows]
    dropped = [r[shape]["not_sampled"] - r[shape]["off"] for r in rows]
    floors = [r[shape]["floor"] for r in rows]
    ratios = [cost / (r[shape]["spans"] * r[shape]["floor"]) for cost, r in zip(added, rows) if r[shape]["spans"]]
    return {"recorded": statistics.median(added), "not_sampled": statistics.median(dropped),
            "floor": statistics.median(floors), "spans": rows[-1][shape]["spans"],
            "spans_not_sampled": rows[-1][shape].get("spans_not_sampled", 0),
            "ratio": statistics.median(ratios) if ratios else float("nan"),
            "off": statistics.median(r[shape]["off"] for r in rows)}


def _print_table(runs: dict[str, list[dict[str, Any]]], rows: list[str]) -> dict[str, Any]:
    print("| instrumentation | versions | shape | spans/request | recorded µs | ÷ (spans × floor) | "
          "not sampled µs | not sampled ÷ recorded | traces of 50 concurrent | retriever spans with both docs |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    table: dict[str, Any] = {}
    for row in rows:
        versions = "/".join(_version(d) for d in ROWS[row][1])
        results = runs.get(row)
        if results is None or any("error" in r for r in results):
            error = "not installed" if results is None else next(r["error"] for r in results if "error" in r)
            print(f"| {row} | {versions} | - | - | - | - | - | - | - | {error} |")
            table[row] = {"error": error}
            continue
        table[row] = {"runs": results}
        for shape in SHAPES:
            s = _summary(results, shape)
            table[row][shape] = s
            traces = "/".join(map(str, sorted({r["traces_for_50"] for r in results}))) if shape == "rag" else ""
            docs = results[-1]["docs_on_retriever"] if shape == "rag" else ""
            dropped_spans = f" ({s['spans_not_sampled']} spans!)" if s["spans_not_sampled"] else ""
            print(f"| {row} | {versions} | {SHAPE_NAMES[shape]} | {s['spans']} | {s['recorded']:.0f} | "
                  f"{s['ratio']:.1f}x | {s['not_sampled']:.0f}{dropped_spans} | "
                  f"{100 * s['not_sampled'] / s['recorded']:.0f}% | {traces} | {docs} |")
    return table


def _floors(runs: dict[str, list[dict[str, Any]]]) -> str:
    values = {shape: [r[shape]["floor"] for rs in runs.values() for r in rs if "error" not in r] for shape in SHAPES}
    off = {shape: [r[shape]["off"] for rs in runs.values() for r in rs if "error" not in r] for shape in SHAPES}
    return "; ".join(f"{SHAPE_NAMES[s]}: uninstrumented {statistics.median(off[s]):.0f} µs, span floor "
                     f"{statistics.median(values[s]):.0f} µs ({min(values[s]):.0f}-{max(values[s]):.0f})"
                     for s in SHAPES if values[s])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, fewer blocks: faster, noisier")
    parser.add_argument("--rounds", type=int, default=3, help="processes per row (default 3)")
    parser.add_argument("--only", action="append", help="only rows whose name contains this")
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=10, help="requests per timed block (default 10)")
    parser.add_argument("--blocks", type=int, default=15, help="timed blocks per state (default 15)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(args.worker, args.calls, args.blocks)))
        return
    if args.quick:
        args.rounds, args.blocks = 1, 8
    rows = [r for r in ROWS if not args.only or any(part in r for part in args.only)]
    load_before = os.getloadavg()[0]
    runs = _collect(rows, args.calls, args.blocks, args.rounds)
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load_before:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; "
          f"{args.rounds} processes per row, {args.blocks} blocks of {args.calls} requests per state")
    print(_floors(runs) + "\n")
    table = _print_table(runs, rows)
    print("\nrecorded / not sampled = added process-CPU µs per request: per process, the median request "
          "instrumented minus the median request uninstrumented (for valiqor-trace, uninstrumented blocks taking "
          "turns with the others), then the median over processes; ÷ (spans × floor) divides the recorded cost "
          "by spans per request times one bare span's cost in the same process.")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
