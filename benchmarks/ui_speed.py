"""Web UI speed: the trace list with 100,000 traces in the store, and a trace of 2,000 spans.

Fills a fresh data directory (100,000 traces of 3 spans: a workflow, a chat call with token usage, a tool,
one in ten failing; 200 of them analyzed by FA; plus one trace of 2,000 spans), then times the pages through
the app in this process: the server's own time (the `Server-Timing` header: reading the stores and rendering)
and the whole request. Targets (issue 18): the list < 300 ms server time, the 2,000-span trace < 1 s.

    python benchmarks/ui_speed.py            # ~2 minutes, most of it filling the store; --traces N for fewer
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from valiqor_trace import attributes
from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.server import ServerConfig, create_app
from valiqor_trace.store import SpanRecord, SpanStore, record_row

_BATCH = 2_000


def _trace(index: int, start_ns: int) -> list[SpanRecord]:
    trace_id = f"{index:032x}"
    root, chat, tool = f"{index:015x}1", f"{index:015x}2", f"{index:015x}3"
    failing = index % 10 == 0
    return [
        SpanRecord(trace_id=trace_id, span_id=root, name=f"checkout-{index % 97}", start_time_unix_nano=start_ns,
                   end_time_unix_nano=start_ns + 90_000_000, attributes={attributes.PROJECT_NAME: f"shop-{index % 5}"}),
        SpanRecord(trace_id=trace_id, span_id=chat, parent_span_id=root, name="chat gpt-4o-mini",
                   start_time_unix_nano=start_ns + 1_000_000, end_time_unix_nano=start_ns + 60_000_000,
                   attributes={attributes.GEN_AI_OPERATION_NAME: "chat", attributes.GEN_AI_USAGE_INPUT_TOKENS: 120,
                               attributes.GEN_AI_USAGE_OUTPUT_TOKENS: 30,
                               attributes.GEN_AI_INPUT_MESSAGES: '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
                               attributes.GEN_AI_OUTPUT_MESSAGES: '[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]'}),
        SpanRecord(trace_id=trace_id, span_id=tool, parent_span_id=root, name="execute_tool lookup",
                   start_time_unix_nano=start_ns + 61_000_000, end_time_unix_nano=start_ns + 80_000_000,
                   status_code="ERROR" if failing else "OK",
                   attributes={attributes.GEN_AI_OPERATION_NAME: "execute_tool", attributes.GEN_AI_TOOL_NAME: "lookup"}),
    ]


def _big_trace(spans: int, start_ns: int) -> list[SpanRecord]:
    """A workflow with 20 agents, each running chat calls and tools: a 2,000-span tree four levels deep."""
    trace_id = "f" * 32
    out = [SpanRecord(trace_id=trace_id, span_id="f" * 16, name="big-workflow", start_time_unix_nano=start_ns,
                      end_time_unix_nano=start_ns + 20_000_000_000)]
    agents = 20
    for agent in range(agents):
        agent_id = f"a{agent:015x}"
        begin = start_ns + agent * 1_000_000_000
        out.append(SpanRecord(trace_id=trace_id, span_id=agent_id, parent_span_id="f" * 16, name=f"agent {agent}",
                              start_time_unix_nano=begin, end_time_unix_nano=begin + 950_000_000))
        for step in range((spans - 1) // agents - 1):
            at = begin + step * 9_000_000
            out.append(SpanRecord(
                trace_id=trace_id, span_id=f"b{agent:05x}{step:010x}", parent_span_id=agent_id,
                name="chat gpt-4o-mini" if step % 2 == 0 else "execute_tool search", start_time_unix_nano=at,
                end_time_unix_nano=at + 8_000_000, status_code="ERROR" if step % 37 == 0 else "OK",
                attributes={attributes.GEN_AI_OPERATION_NAME: "chat" if step % 2 == 0 else "execute_tool"}))
    return out[:spans]


def fill(home: Path, traces: int, big_spans: int) -> str:
    store = SpanStore(home / "traces.db")
    now = time.time_ns()
    rows = []
    for index in range(traces):
        rows.extend(record_row(span) for span in _trace(index, now - (traces - index) * 1_000_000_000))
        if len(rows) >= _BATCH * 3:
            store.write_rows(rows)
            rows = []
    big = _big_trace(big_spans, now - 30_000_000_000)
    store.write_rows([*rows, *(record_row(span) for span in big)])
    store.close()
    client = ValiqorClient(home=str(home), project_name="shop-0")
    for index in range(traces - 1, max(traces - 2001, -1), -10):  # 200 of the newest traces analyzed
        client.failure_analysis.run(trace_id=f"{index:032x}")
    client.close()
    return big[0].trace_id


def _time(client: TestClient, path: str, repeat: int) -> tuple[float, float, int]:
    """(median server ms, median request ms, response bytes)."""
    server, whole, size = [], [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        whole.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        match = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
        server.append(float(match.group(1)) if match else whole[-1])
        size = len(response.content)
    return statistics.median(server), statistics.median(whole), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--big-spans", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="valiqor-ui-bench-") as folder:
        home = Path(folder)
        started = time.perf_counter()
        big = fill(home, args.traces, args.big_spans)
        print(f"filled {args.traces:,} traces + one of {args.big_spans:,} spans in {time.perf_counter() - started:.0f} s")
        app = create_app(ServerConfig(data_dir=str(home)))
        with TestClient(app) as client:
            client.get("/traces")  # warm the SQLite page cache and the templates once
            pages = [
                ("trace list, first page", "/traces"),
                ("trace list, page 1,000", "/traces?page=1000"),
                ("trace list, text search", "/traces?q=checkout-42"),
                ("trace list, project + errors + last 24 h", "/traces?project=shop-0&status=error&range=24h"),
                ("trace list, has FA failures", "/traces?failures=1"),
                ("API /api/v1/traces/search", "/api/v1/traces/search"),
                (f"trace page, {args.big_spans:,} spans", f"/traces/{big}"),
                ("span detail fragment", f"/traces/{big}/spans/{'f' * 16}"),
            ]
            print("\n| page | server ms (median) | request ms (median) | HTML/JSON kB |\n|---|---:|---:|---:|")
            for name, path in pages:
                server_ms, whole_ms, size = _time(client, path, args.repeat)
                print(f"| {name} | {server_ms:.1f} | {whole_ms:.1f} | {size / 1024:.0f} |")
        app.state.server.close()


if __name__ == "__main__":
    main()
