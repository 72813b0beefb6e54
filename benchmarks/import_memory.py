"""Peak memory and speed of ``valiqor traces import`` on large OTLP JSON lines files. Prints a table.

    python benchmarks/import_memory.py [--mb 250] [--small-mb 25] [--before DIR]

Writes two files in a temporary directory (``--mb`` and ``--small-mb`` megabytes) of synthetic
GenAI agent traces as the Collector's ``file`` exporter writes them: one ``resourceSpans`` request a
line, each an agent run (an ``invoke_agent`` root, two chat calls with their messages' content, a tool
call). Each file is imported into a new store by a child process; the table gives its wall and CPU
seconds, spans a second (of wall and of CPU time: on a shared machine the CPU figure is the steady
one), and peak RSS (``ru_maxrss`` of that child alone, from ``os.wait4``). A row
"no file" is the child's fixed cost (interpreter, imports, an empty store). ``--before DIR``: also
import with the code in DIR (e.g. ``git archive COMMIT | tar -x -C DIR``), for a before/after table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from typing import Any

from valiqor_trace import attributes as attr

_CHILD = """
import json, sys, time
from valiqor_trace.analyzer.sources import import_file
from valiqor_trace.store import SpanStore
store = SpanStore(sys.argv[1])
spans = 0
if len(sys.argv) > 2:
    spans = import_file(store, sys.argv[2]).spans_read
print(json.dumps({"spans": spans}))
"""
_WORDS = ("the order shipped late because the warehouse ran out of boxes and the carrier missed "
          "its pickup window so the customer asked for a refund and a discount on the next order").split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"intValue": str(value)}
    return {"stringValue": value}


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: int, start: int,
          attributes: dict[str, Any]) -> dict[str, Any]:
    span = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": kind,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 900_000_000),
            "attributes": [{"key": key, "value": _value(value)} for key, value in attributes.items()],
            "status": {}}
    if parent:
        span["parentSpanId"] = parent
    return span


def _request(rng: random.Random, number: int) -> dict[str, Any]:
    """One agent run: root, two chat calls (messages as content), one tool call."""
    trace_id = f"{rng.getrandbits(128):032x}"
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(4)]
    start = 1_700_000_000_000_000_000 + number * 10_000_000_000
    question = _text(rng, 40)
    history = [{"role": "system", "parts": [{"type": "text", "content": _text(rng, 120)}]},
               {"role": "user", "parts": [{"type": "text", "content": question}]}]
    tool_call = {"type": "tool_call", "id": f"call_{number}", "name": "lookup_order",
                 "arguments": {"order_id": number}}
    result = _text(rng, 80)
    answer = _text(rng, 90)
    chat = {attr.GEN_AI_OPERATION_NAME: "chat", attr.GEN_AI_PROVIDER_NAME: "openai",
            attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", attr.GEN_AI_USAGE_INPUT_TOKENS: 420,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: 60}
    spans = [
        _span(trace_id, ids[0], None, "invoke_agent support", 1, start,
              {attr.GEN_AI_OPERATION_NAME: "invoke_agent", attr.GEN_AI_AGENT_NAME: "support"}),
        _span(trace_id, ids[1], ids[0], "chat gpt-4o-mini", 3, start + 1, {
            **chat, attr.GEN_AI_INPUT_MESSAGES: json.dumps(history),
            attr.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [tool_call],
                                                      "finish_reason": "tool_call"}])}),
        _span(trace_id, ids[2], ids[0], "execute_tool lookup_order", 1, start + 2, {
            attr.GEN_AI_OPERATION_NAME: "execute_tool", attr.GEN_AI_TOOL_NAME: "lookup_order",
            attr.GEN_AI_TOOL_CALL_ID: f"call_{number}", attr.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps({"order_id": number}),
            attr.GEN_AI_TOOL_CALL_RESULT: result}),
        _span(trace_id, ids[3], ids[0], "chat gpt-4o-mini", 3, start + 3, {
            **chat, attr.GEN_AI_INPUT_MESSAGES: json.dumps(history + [
                {"role": "assistant", "parts": [tool_call]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": f"call_{number}", "response": result}]}]),
            attr.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}],
                                                      "finish_reason": "stop"}])}),
    ]
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "support-agent"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}


def write_file(path: str, megabytes: float) -> int:
    """Write about ``megabytes`` MB of OTLP JSON lines to ``path``; return how many spans."""
    rng, size, spans, number = random.Random(17), 0, 0, 0
    with open(path, "w", encoding="utf-8") as handle:
        while size < megabytes * 1e6:
            line = json.dumps(_request(rng, number), separators=(",", ":")) + "\n"
            handle.write(line)
            size += len(line.encode())
            spans += 4
            number += 1
    return spans


def measure(code: str, folder: str, trace_file: str | None) -> dict[str, Any]:
    """Import ``trace_file`` (None: nothing) into a new store in a child running ``code``."""
    store = tempfile.mktemp(suffix=".db", dir=folder)
    env = {**os.environ, "PYTHONPATH": code}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", _CHILD, store, *([trace_file] if trace_file else [])],
                             env=env, stdout=subprocess.PIPE, cwd=folder)
    output = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"the import failed (exit {child.returncode}) with the code in {code}")
    spans = json.loads(output)["spans"]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(store + suffix):
            os.remove(store + suffix)
    cpu = usage.ru_utime + usage.ru_stime
    return {"spans": spans, "wall": wall, "cpu": cpu, "rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=250, help="size of the large file (default 250 MB)")
    parser.add_argument("--small-mb", type=float, default=25, help="size of the small file (default 25 MB)")
    parser.add_argument("--before", metavar="DIR", help="also import with the code in DIR")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    codes = [("before", os.path.abspath(args.before))] if args.before else []
    codes.append(("after", here))
    with tempfile.TemporaryDirectory(prefix="valiqor-import-bench-") as folder:
        files = []
        for megabytes in (args.small_mb, args.mb):
            path = os.path.join(folder, f"traces-{megabytes:g}mb.jsonl")
            write_file(path, megabytes)
            files.append(path)
        print("| code | file | spans | wall s | CPU s | spans/s (wall) | spans/CPU s | peak RSS MB |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for label, code in codes:
            for path in (None, *files):
                row = measure(code, folder, path)
                size = f"{os.path.getsize(path) / 1e6:.0f} MB" if path else "no file"
                rates = [f"{row['spans'] / row[key]:,.0f}" if row["spans"] else "" for key in ("wall", "cpu")]
                print(f"| {label} | {size} | {row['spans']:,} | {row['wall']:.1f} | {row['cpu']:.1f} | "
                      f"{' | '.join(rates)} | {row['rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
