"""How long ClickHouseSource takes to read one trace and to list recent ones, on chDB, by table size, with and
without the exporter's ``<table>_trace_id_ts`` lookup table.

The tables are the OTel Collector ClickHouse exporter's (tests/fixtures/clickhouse/otel_traces.sql), filled with
synthetic exporter-shaped rows: traces of 8 spans (a workflow, a retrieval, a tool call and chat calls with GenAI
attributes as text) spread evenly over the last 7 days, so a read the lookup table narrows touches one day's
partition. chDB opens the directory for every query (about 40 ms of CPU a query: the "SELECT 1" column).

    python benchmarks/clickhouse_read.py            # ~1 minute on 2 cores; --quick for smaller tables
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from chdb import session  # noqa: E402 - after the path: the benchmark runs from a checkout

from valiqor_trace import ClickHouseSource  # noqa: E402
from valiqor_trace.analyzer.sources._sql import ChdbSession  # noqa: E402 - the seam measured on its own

SCHEMA = REPO / "tests" / "fixtures" / "clickhouse" / "otel_traces.sql"
SPANS_PER_TRACE = 8
DAY_NS = 86_400 * 10**9


def _statements() -> tuple[list[str], str]:
    text = "\n".join(line for line in SCHEMA.read_text().splitlines() if not line.startswith("--"))
    parts = [part.strip().replace("{database}", "otel").replace("{table}", "otel_traces")
             for part in text.split("\n;\n")]
    return parts[:-1], parts[-1]


def _trace_rows(number: int, start_ns: int) -> list[dict[str, object]]:
    trace_id = f"{number:032x}"
    root = f"{number * 16 + 1:016x}"
    rows = []
    for index in range(SPANS_PER_TRACE):
        span_id = f"{number * 16 + index + 1:016x}"
        name = ["support_agent", "retrieval policies", "chat gpt-4o-mini", "execute_tool lookup_order",
                "chat gpt-4o-mini", "chat gpt-4o-mini", "execute_tool lookup_order", "chat gpt-4o-mini"][index]
        attributes = {"valiqor.project_name": "bench", "gen_ai.operation.name": name.split()[0]}
        if name.startswith("chat"):
            attributes.update({"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": "812",
                               "gen_ai.usage.output_tokens": "64", "gen_ai.response.finish_reasons": '["stop"]',
                               "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                                   {"type": "text", "content": "How many days do I have to return order 42?"}]}])})
        at = start_ns + index * 1_000_000
        rows.append({"Timestamp": f"{at // 10**9}.{at % 10**9:09d}", "TraceId": trace_id, "SpanId": span_id,
                     "ParentSpanId": "" if index == 0 else root, "TraceState": "", "SpanName": name,
                     "SpanKind": "Client" if name.startswith("chat") else "Internal", "ServiceName": "support",
                     "ResourceAttributes": {"service.name": "support"}, "ScopeName": "valiqor_trace",
                     "ScopeVersion": "0.1.0", "SpanAttributes": attributes, "Duration": 900_000, "StatusCode": "Unset",
                     "StatusMessage": "", "Events.Timestamp": [], "Events.Name": [], "Events.Attributes": [],
                     "Links.TraceId": [], "Links.SpanId": [], "Links.TraceState": [], "Links.Attributes": []})
    return rows


def _fill(path: Path, traces: int, *, lookup: bool) -> list[str]:
    creates, insert = _statements()
    now = time.time_ns()
    with session.Session(str(path)) as opened:
        opened.query("CREATE DATABASE IF NOT EXISTS otel")
        for statement in creates if lookup else creates[:1]:
            opened.query(statement)
        for first in range(0, traces, 2000):
            rows = [row for number in range(first, min(first + 2000, traces))
                    for row in _trace_rows(number + 1, now - 7 * DAY_NS + (number * 7 * DAY_NS) // traces)]
            opened.query(f"{insert} FORMAT JSONEachRow\n" + "\n".join(json.dumps(row) for row in rows))
    return [f"{number + 1:032x}" for number in range(traces)]


def _ms(call, repeat: int) -> str:  # noqa: ANN001
    """Median wall ms / median CPU ms of this process (chDB's threads included): the CPU figure does not move
    with the machine's load, the wall one does."""
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return f"{statistics.median(wall):.1f} / {statistics.median(cpu):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller tables, fewer repeats")
    args = parser.parse_args()
    sizes, repeat = ([1_000, 10_000], 5) if args.quick else ([1_000, 10_000, 50_000], 15)
    print("| table | rows | lookup table | get_trace ms, wall / CPU (p50) | list_traces ms, last day | "
          "SELECT 1 ms (opening chDB) |")
    print("|---|---:|---|---:|---:|---:|")
    for traces in sizes:
        for lookup in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                ids = _fill(Path(tmp), traces, lookup=lookup)
                source = ClickHouseSource(f"chdb://{tmp}?database=otel")
                assert len(source.get_trace(ids[len(ids) // 2])) == SPANS_PER_TRACE  # schema read, then timed
                picks = iter(ids[i * len(ids) // (repeat + 1)] for i in range(1, repeat + 10))
                read = _ms(lambda: source.get_trace(next(picks)), repeat)
                listed = _ms(lambda: source.list_traces(limit=20), repeat)
                ping = _ms(lambda: ChdbSession(tmp).rows("SELECT 1", {}), repeat)
                print(f"| {traces:,} traces | {traces * SPANS_PER_TRACE:,} | {'yes' if lookup else 'no'} | "
                      f"{read} | {listed} | {ping} |")


if __name__ == "__main__":
    main()
