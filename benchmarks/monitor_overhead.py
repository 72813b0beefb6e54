"""Latency a request pays for sampled production monitoring: monitoring on (10% sampled, deterministic FA) vs off.

Run it::

    python benchmarks/monitor_overhead.py            # ~1 minute on 2 cores
    python benchmarks/monitor_overhead.py --quick    # smaller, noisier
    python benchmarks/monitor_overhead.py --json out.json

One process. A request is what a small LLM app does: a ``trace_workflow`` root, one
chat completion through the real ``openai`` SDK (instrumented; the network is an
``httpx2.MockTransport`` returning prebuilt bytes) and one tool span, so three spans.
Both configurations use the same ``TracerProvider`` setup with a ``BatchSpanProcessor``
to a no-op exporter; "on" adds ``init(monitor=...)`` with ``sample_rate=0.1``: the
monitor's span processor on the request path, and in the background the worker
reconstructing the sampled traces, running deterministic FA, storing the runs in
SQLite and emitting verdict spans (it competes with requests for the GIL: that cost is
included); "on, process" runs the FA in a child process instead (``executor="process"``). Blocks of requests alternate between off and on so drift cancels out; the
first block of each is a discarded warm-up (the worker imports the analyzer then).
Each block starts with 20 untimed requests, flushed through the monitor, so that
the analysis (and, for the process executor, its child process) is up before timing.
Every request is timed on its own; "added" is on minus off at the same percentile.

A second measure isolates the request-path code: the time spent inside the monitor's
``on_end`` per request (the sum over its three spans), timed around the call.
No peer ships open-source sampled monitoring to compare with (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "Your order 1234 ships on Monday from Lyon."}}],
    "usage": {"prompt_tokens": 40, "completion_tokens": 11, "total_tokens": 51},
}).encode()


class _NoopExporter:
    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _client() -> Any:
    import httpx2
    import openai

    def handler(request: Any) -> Any:
        return httpx2.Response(200, content=COMPLETION, headers={"content-type": "application/json"})

    return openai.OpenAI(api_key="sk-bench", base_url="http://bench.invalid/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


def _request(client: Any, tracer: Any, index: int) -> None:
    import valiqor_trace

    with valiqor_trace.trace_workflow("handle_order_question") as root:
        question = f"When does order {1000 + index} ship?"
        root.set_input(question)
        with tracer.start_as_current_span("execute_tool order_lookup") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "order_lookup")
        reply = client.chat.completions.create(model="gpt-4o-mini",
                                               messages=[{"role": "user", "content": question}])
        root.set_output(reply.choices[0].message.content)


def _block(monitor: dict[str, Any] | None, count: int, home: str, *, time_on_end: bool = False) -> dict[str, Any]:
    from opentelemetry.sdk.trace import TracerProvider

    import valiqor_trace

    provider = TracerProvider()
    handle = valiqor_trace.init(project_name="bench", tracer_provider=provider, exporters=[_NoopExporter()],
                                instrument=["openai"], home=home, monitor=monitor)
    on_end_ns: list[int] = []
    if time_on_end and handle.monitor is not None:
        _time_on_end(handle.monitor, on_end_ns)
    client, tracer = _client(), provider.get_tracer("bench-app")
    for index in range(20):  # untimed: the monitor's first analysis starts its threads (or child process)
        _request(client, tracer, index)
    if handle.monitor is not None:
        handle.monitor.force_flush(30_000)
    durations, on_end_per_request = [], []
    for index in range(count):
        before = len(on_end_ns)
        started = time.perf_counter_ns()
        _request(client, tracer, index)
        durations.append(time.perf_counter_ns() - started)
        on_end_per_request.append(sum(on_end_ns[before:]))
    stats = handle.monitor.stats.as_dict() if handle.monitor is not None else {}
    handle.shutdown()
    provider.shutdown()
    if handle.monitor is not None:
        stats = handle.monitor.stats.as_dict()
    return {"durations": durations, "stats": stats, "on_end_per_request": on_end_per_request}


def _time_on_end(processor: Any, sink: list[int]) -> None:
    original = processor.on_end
    request_thread = threading.get_ident()

    def timed(span: Any) -> None:
        started = time.perf_counter_ns()
        original(span)
        if threading.get_ident() == request_thread:  # not the verdict spans the worker emits
            sink.append(time.perf_counter_ns() - started)

    processor.on_end = timed  # the provider calls the instance attribute


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


def run(blocks: int, per_block: int) -> dict[str, Any]:
    monitor = {"sample_rate": 0.1, "max_per_minute": None, "grace_period_s": 0.05}
    configs = {"off": None, "on": monitor, "on_process": {**monitor, "executor": "process"}}
    samples: dict[str, list[int]] = {name: [] for name in configs}
    totals: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as home:
        for name, config in configs.items():  # warm-up, discarded
            _block(config, per_block, home)
        for _ in range(blocks):
            for name, config in configs.items():
                result = _block(config, per_block, home)
                samples[name] += result["durations"]
                for key, value in result["stats"].items():
                    totals[f"{name}.{key}"] = totals.get(f"{name}.{key}", 0) + value
        on_end = _block(monitor, per_block * 2, home, time_on_end=True)["on_end_per_request"]
    return {"samples": samples, "monitor_stats": totals, "on_end": on_end, "blocks": blocks, "per_block": per_block}


def table(result: dict[str, Any]) -> str:
    qs = (0.5, 0.9, 0.99)
    off = result["samples"]["off"]
    base = [_percentile(off, q) for q in qs]
    rows = [("monitoring off", len(off), base, ["", "", ""])]
    for name, label in (("on", "monitoring on (10%, deterministic FA in a thread)"),
                        ("on_process", "monitoring on (10%, deterministic FA, executor=\"process\")")):
        values = [_percentile(result["samples"][name], q) for q in qs]
        rows.append((label, len(result["samples"][name]), values, [f"{v - b:+.1f}" for v, b in zip(values, base)]))
    on_end = result["on_end"]
    values = [_percentile(on_end, q) for q in qs]
    rows.append(("monitor on_end alone, per request (3 spans)", len(on_end), values, [f"{v:+.1f}" for v in values]))
    lines = ["| configuration | requests | p50 µs | p90 µs | p99 µs | added p50 µs | added p90 µs | added p99 µs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {n} | " + " | ".join(f"{v:.1f}" for v in values) + " | " + " | ".join(added) + " |"
              for name, n, values, added in rows]
    stats = result["monitor_stats"]
    lines.append("")
    for name in ("on", "on_process"):
        lines.append(f"{name}: sampled={stats.get(name + '.sampled', 0)} analyzed={stats.get(name + '.analyzed', 0)} "
                     f"dropped={stats.get(name + '.dropped', 0)} failed={stats.get(name + '.failed', 0)}; mean "
                     f"request {statistics.fmean(result['samples'][name]) / 1000:.1f} µs (off: "
                     f"{statistics.fmean(off) / 1000:.1f} µs)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (noisier)")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args()
    blocks, per_block = (4, 250) if args.quick else (10, 500)
    result = run(blocks, per_block)
    print(f"python {sys.version.split()[0]}; {blocks} alternating blocks of {per_block} requests per configuration")
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
