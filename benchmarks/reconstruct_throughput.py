"""Reconstruction and import throughput on large agent traces (spans/s). Prints a table.

    python benchmarks/reconstruct_throughput.py [--spans 10000] [--repeat 3]

Traces are synthetic agent runs in three conventions (GenAI as our instrumentors
write it, OpenInference, OpenLLMetry's indexed attributes): per step one LLM call
with the full growing message history, a tool request and its tool span, and a
retrieval every fifth step. Also measured: the real TRAIL traces, and importing
an OTLP JSON lines file into the SQLite store. Best of ``--repeat`` runs, one core.
Target: a 10k-span trace reconstructed in under 1 s.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from valiqor_trace._cost import Pricing, set_default_pricing
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.analyzer.sources import import_file, read_trace_file
from valiqor_trace.store import SpanRecord, SpanStore

TRACE_ID = "5b8efff798038103d269b633813fc60c"
HISTORY_CAP = 6  # messages of history kept per call (real agents trim their context too)


def _llm_attributes(convention: str, step: int, history: list[dict[str, Any]]) -> dict[str, Any]:
    call = {"id": f"call_{step}", "name": "search", "arguments": {"q": f"query {step}"}}
    if convention == "genai":
        return {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.input.messages": json.dumps([{"role": m["role"], "parts": [{"type": "text",
                                                      "content": m["content"]}]} for m in history]),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [dict(type="tool_call", **call)],
                                                       "finish_reason": "tool_call"}]),
                "gen_ai.usage.input_tokens": 100 + step, "gen_ai.usage.output_tokens": 10}
    if convention == "openinference":
        attrs: dict[str, Any] = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
                                 "llm.token_count.prompt": 100 + step, "llm.token_count.completion": 10}
        for i, m in enumerate(history):
            attrs[f"llm.input_messages.{i}.message.role"] = m["role"]
            attrs[f"llm.input_messages.{i}.message.content"] = m["content"]
        prefix = "llm.output_messages.0.message.tool_calls.0.tool_call."
        attrs.update({"llm.output_messages.0.message.role": "assistant", prefix + "id": call["id"],
                      prefix + "function.name": "search", prefix + "function.arguments": json.dumps(call["arguments"])})
        return attrs
    attrs = {"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.prompt_tokens": 100 + step}
    for i, m in enumerate(history):
        attrs[f"gen_ai.prompt.{i}.role"] = m["role"]
        attrs[f"gen_ai.prompt.{i}.content"] = m["content"]
    attrs.update({"gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.tool_calls.0.id": call["id"],
                  "gen_ai.completion.0.tool_calls.0.name": "search",
                  "gen_ai.completion.0.tool_calls.0.arguments": json.dumps(call["arguments"])})
    return attrs


def _tool_attributes(convention: str, step: int) -> dict[str, Any]:
    output = f"result {step}: " + "lorem ipsum " * 20
    if convention == "openinference":
        return {"openinference.span.kind": "TOOL", "tool.name": "search", "input.value": json.dumps({"q": f"query {step}"}),
                "output.value": output}
    if convention == "openllmetry":
        return {"traceloop.span.kind": "tool", "traceloop.entity.name": "search",
                "traceloop.entity.input": json.dumps({"q": f"query {step}"}), "traceloop.entity.output": output}
    return {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search", "gen_ai.tool.call.id": f"call_{step}",
            "gen_ai.tool.call.arguments": json.dumps({"q": f"query {step}"}), "gen_ai.tool.call.result": output}


def synthetic_trace(convention: str, span_count: int) -> list[SpanRecord]:
    """An agent run of about ``span_count`` spans in ``convention``."""
    spans = [SpanRecord(trace_id=TRACE_ID, span_id=f"{1:016x}", name="agent", start_time_unix_nano=0,
                        end_time_unix_nano=10**12, attributes={"valiqor.span.kind": "agent",
                                                               "valiqor.input": json.dumps({"task": "find it"}),
                                                               "valiqor.output": "found"})]
    history = [{"role": "system", "content": "You are an agent."}, {"role": "user", "content": "find it"}]
    step = 0
    while len(spans) < span_count:
        step += 1
        base = len(spans)
        kinds = [("llm", _llm_attributes(convention, step, history[-HISTORY_CAP:])),
                 ("tool", _tool_attributes(convention, step))]
        if step % 5 == 0:
            kinds.append(("retrieval", {"valiqor.span.kind": "retrieval", "valiqor.retrieval.documents": json.dumps(
                [{"id": f"d{step}-{i}", "content": f"document {step}-{i} " + "text " * 30} for i in range(3)])}))
        for offset, (name, attributes) in enumerate(kinds):
            spans.append(SpanRecord(trace_id=TRACE_ID, span_id=f"{base + offset + 1:016x}", parent_span_id=f"{1:016x}",
                                    name=f"{name} {step}", start_time_unix_nano=step * 1000 + offset * 10,
                                    end_time_unix_nano=step * 1000 + offset * 10 + 5, attributes=attributes))
        history.append({"role": "assistant", "content": f"calling search {step}"})
        history.append({"role": "user", "content": f"observation {step}: " + "data " * 10})
    return spans[:span_count]


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _otlp_lines(spans: list[SpanRecord], path: str) -> None:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        return {"stringValue": str(v)}
    with open(path, "w") as out:
        for chunk in range(0, len(spans), 512):  # batches, as an exporter would send them
            out.write(json.dumps({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {
                "name": "bench"}, "spans": [{"traceId": s.trace_id, "spanId": s.span_id,
                                            "parentSpanId": s.parent_span_id or "", "name": s.name, "kind": 1,
                                            "startTimeUnixNano": str(s.start_time_unix_nano),
                                            "endTimeUnixNano": str(s.end_time_unix_nano),
                                            "attributes": [{"key": k, "value": value(v)}
                                                           for k, v in s.attributes.items()]}
                                           for s in spans[chunk:chunk + 512]]}]}]}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: list[tuple[str, int, float]] = []
    for convention in ("genai", "openinference", "openllmetry"):
        spans = synthetic_trace(convention, args.spans)
        item = reconstruct_item(spans)
        assert item.output == "found" and len(item.tool_calls) > args.spans // 3, "benchmark trace misread"
        rows.append((f"reconstruct {convention}", len(spans), best_of(args.repeat, lambda: reconstruct_item(spans))))
        if convention == "genai":  # what pricing each LLM call costs (docs/cost.md): the same trace with no table
            installed = set_default_pricing(Pricing(None, available=False))
            rows.append(("reconstruct genai, no price table", len(spans),
                         best_of(args.repeat, lambda: reconstruct_item(spans))))
            set_default_pricing(installed)
    trail = [read_trace_file(path).spans for path in sorted(glob.glob(os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "data", "trail", "traces", "*.json")))]
    if trail:
        rows.append((f"reconstruct TRAIL ({len(trail)} real traces)", sum(map(len, trail)),
                     best_of(args.repeat, lambda: [reconstruct_item(t) for t in trail])))
    with tempfile.TemporaryDirectory() as tmp:
        spans = synthetic_trace("openinference", args.spans)
        path = os.path.join(tmp, "export.jsonl")
        _otlp_lines(spans, path)
        rows.append(("read OTLP JSON lines file", len(spans), best_of(args.repeat, lambda: read_trace_file(path))))
        counter = iter(range(10**6))
        rows.append(("import file -> new SQLite store", len(spans), best_of(args.repeat, lambda: import_file(
            SpanStore(os.path.join(tmp, f"s{next(counter)}.db")), path))))
        store = SpanStore(os.path.join(tmp, "read.db"))
        import_file(store, path)
        rows.append(("store.get_trace + reconstruct", len(spans),
                     best_of(args.repeat, lambda: reconstruct_item(store.get_trace(TRACE_ID)))))
    print(f"{'what':40} {'spans':>7} {'seconds':>8} {'spans/s':>10}")
    for name, count, seconds in rows:
        print(f"{name:40} {count:>7} {seconds:>8.3f} {count / seconds:>10,.0f}")


if __name__ == "__main__":
    main()
