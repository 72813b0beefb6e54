"""Added cost per LangChain RAG chain call, and trace correctness: valiqor-trace vs the other LangChain tracers.

Run it::

    python benchmarks/langchain_overhead.py             # ~1 minute on 2 cores
    python benchmarks/langchain_overhead.py --quick     # smaller, noisier
    python benchmarks/langchain_overhead.py --json out.json

The app is the RAG chain of the tests (``{context: retriever | format, question} | prompt |
ChatOpenAI | StrOutputParser``: 10 LangChain runs per call), with the real ``langchain-openai``
client on an ``httpx2.MockTransport`` answering at once, so only LangChain, the SDK and the
instrumentation are measured. Every variant (and an uninstrumented baseline) runs in fresh
processes on the same setup, an SDK provider with a ``BatchSpanProcessor`` to a no-op exporter
plus an in-memory exporter for the correctness columns; the variants take turns, one process
each per round, so load from elsewhere hits them alike. Peers' uninstrument/re-instrument is not
clean (wrappers stack, contexts leak), so no variant is switched off and on inside a process:
the added cost is the variant's median call minus the baseline's.

Correctness columns, from the same process: how many traces 50 concurrent ``ainvoke`` calls
produce (one per call is right; fewer means requests glued together, more means split), and
whether the retriever's span holds both retrieved documents' text.

Peers are not dependencies of valiqor-trace (``pip install 'valiqor-trace[peers]'``); a missing
one gets a row that says so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BASELINE = "no instrumentation"
VARIANTS = [BASELINE, "valiqor-trace", "valiqor-trace (capture_content=False)",
            "openinference-instrumentation-langchain", "opentelemetry-instrumentation-langchain (OpenLLMetry)"]
INSTRUMENTORS: list[Any] = []  # ours, to switch off again for the in-process A/B measurement
DOCS = ["The Eiffel Tower is 330 metres tall.", "The tower was completed in 1889."]


# --- the worker: one variant, one process ---------------------------------------------------------------


def _chain() -> Any:
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
    return {"context": Docs() | format_docs, "question": RunnablePassthrough()} | prompt | model | StrOutputParser()


def _provider() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    class NoOp(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NoOp(), max_queue_size=65536))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _instrument(variant: str, provider: Any) -> str:
    """Turn ``variant`` on in this process (the baseline turns nothing on); returns the variant's content mode."""
    if variant == BASELINE:
        return "-"
    if variant.startswith("valiqor-trace"):
        from valiqor_trace.instrumentors.langchain import LangChainInstrumentor
        from valiqor_trace._content import ContentPolicy, set_content_policy

        capture = "capture_content=False" not in variant
        set_content_policy(ContentPolicy(capture=capture))
        INSTRUMENTORS.append(LangChainInstrumentor())
        INSTRUMENTORS[-1].instrument(tracer_provider=provider)
        return "yes" if capture else "no"
    if variant.startswith("openinference"):
        from openinference.instrumentation.langchain import LangChainInstrumentor as OpenInference
        OpenInference().instrument(tracer_provider=provider)
        return "yes"
    from opentelemetry.instrumentation.langchain import LangchainInstrumentor as OpenLLMetry
    OpenLLMetry().instrument(tracer_provider=provider)
    return "yes (TRACELOOP_TRACE_CONTENT)"


def _timed(chain: Any, samples: list[float], calls: int) -> None:
    for index in range(calls):
        start = time.perf_counter_ns()
        chain.invoke(f"How tall is it? ({index})")
        samples.append((time.perf_counter_ns() - start) / 1000)


def _correctness(chain: Any, memory: Any) -> dict[str, Any]:
    memory.clear()

    async def burst() -> None:
        await asyncio.gather(*(chain.ainvoke(f"question {i}") for i in range(50)))

    asyncio.run(burst())
    spans = memory.get_finished_spans()
    retrievers = [s for s in spans if "retriev" in s.name.lower() or "Docs" in s.name]
    with_docs = [s for s in retrievers if all(any(doc in str(v) for v in s.attributes.values()) for doc in DOCS)]
    return {"traces_for_50": len({s.context.trace_id for s in spans}),
            "docs_on_retriever": f"{len(with_docs)}/{len(retrievers)}"}


def _measure(variant: str, calls: int) -> dict[str, Any]:
    provider, memory = _provider()
    chain = _chain()
    content = _instrument(variant, provider)
    _timed(chain, [], 30)  # warm up
    memory.clear()
    samples: list[float] = []
    _timed(chain, samples, calls)
    result = {"median_us": statistics.median(samples), "spans_per_call": len(memory.get_finished_spans()) / calls,
              "content": content, **_correctness(chain, memory)}
    if variant.startswith("valiqor-trace"):
        INSTRUMENTORS.pop().uninstrument()
        result["ab_added_us"] = _in_process_added(chain, provider, calls)
    provider.shutdown()
    return result


def _in_process_added(chain: Any, provider: Any, calls: int) -> float:
    """Our uninstrument/instrument round trip is clean, so ours is also measured A/B in one process:
    blocks alternate off/on, and the added cost is the median "on" call minus the median "off" call."""
    from valiqor_trace.instrumentors.langchain import LangChainInstrumentor

    instrumentor = LangChainInstrumentor()
    samples: dict[str, list[float]] = {"off": [], "on": []}
    block = max(calls // 10, 5)
    for index in range(20):
        state = ("on", "off")[index % 2]
        if state == "on":
            instrumentor.instrument(tracer_provider=provider)
        _timed(chain, samples[state], block)
        if state == "on":
            instrumentor.uninstrument()
    return statistics.median(samples["on"]) - statistics.median(samples["off"])


# --- the driver -------------------------------------------------------------------------------------------


def _version(variant: str) -> str:
    import importlib.metadata

    if variant == BASELINE:
        return "-"
    try:
        return importlib.metadata.version(variant.split(" ")[0])
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _env() -> dict[str, str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_", "TRACELOOP_"))}
    return {**clean, "TRACELOOP_TRACE_CONTENT": "true", "PYTHONPATH": str(REPO_ROOT)}


def _run_once(variant: str, calls: int) -> dict[str, Any]:
    process = subprocess.run([sys.executable, __file__, "--worker", variant, "--calls", str(calls)],
                             capture_output=True, text=True, cwd=REPO_ROOT, env=_env(), timeout=900)
    if process.returncode != 0:
        return {"error": (process.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(process.stdout.strip().splitlines()[-1])


def _collect(calls: int, rounds: int) -> dict[str, list[dict[str, Any]]]:
    """Every variant once per round, in turn, so drift and other processes' load hit all of them alike."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS if _version(v) != "not installed"}
    for _ in range(rounds):
        for variant in runs:
            runs[variant].append(_run_once(variant, calls))
    return runs


def _print_table(runs: dict[str, list[dict[str, Any]]], calls: int, rounds: int) -> dict[str, Any]:
    medians = {v: statistics.median(r["median_us"] for r in rs) for v, rs in runs.items()
               if all("error" not in r for r in rs)}
    baseline = medians.get(BASELINE)
    header = (f"{'instrumentation':<54} {'version':<8} {'call':>8} {'added':>8} {'A/B':>8} {'spans/call':>10} "
              f"{'traces, 50 concurrent':>21} {'retriever spans with both docs':>30}  content")
    print(header)
    print("-" * len(header))
    table: dict[str, Any] = {}
    for variant in VARIANTS:
        rows = runs.get(variant)
        if rows is None or variant not in medians:
            error = "not installed" if rows is None else next(r["error"] for r in rows if "error" in r)
            print(f"{variant:<54} {_version(variant):<8} {error}")
            table[variant] = {"error": error}
            continue
        last = rows[-1]
        added = medians[variant] - baseline if baseline is not None else float("nan")
        traces = sorted({r["traces_for_50"] for r in rows})
        print(f"{variant:<54} {_version(variant):<8} {medians[variant] / 1000:>6.2f}ms "
              f"{added / 1000 if variant != BASELINE else 0:>6.2f}ms {_ab(rows):>8} {last['spans_per_call']:>10.1f} "
              f"{'/'.join(map(str, traces)):>21} {last['docs_on_retriever']:>30}  {last['content']}")
        table[variant] = {"median_us": medians[variant], "added_us": added, "runs": rows}
    print(f"\ncall = median over {rounds} processes of the median of {calls} sequential invokes; "
          f"added = call - '{BASELINE}' call.\nA/B = ours switched off and on in blocks inside one process "
          "(median on - median off): less noisy; peers' switch-off is not clean, so they have none.")
    return table


def _ab(rows: list[dict[str, Any]]) -> str:
    values = [r["ab_added_us"] for r in rows if "ab_added_us" in r]
    return f"{statistics.median(values) / 1000:.2f}ms" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(args.worker, args.calls)))
        return
    calls, rounds = (60, 2) if args.quick else (args.calls, 5)
    table = _print_table(_collect(calls, rounds), calls, rounds)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
