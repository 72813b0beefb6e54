"""How fast ``SpanStore.prune`` deletes old traces, and how long a writer waits for it meanwhile.

A store gets N old traces of 10 spans (about 1 KB of attributes each) and keeps receiving new ones: a writer
thread stores one 10-span trace after another for as long as the prune runs. The table gives spans deleted per
second and the writer's write latency (p50, max) during the prune, against the same writes with no prune:
the batches (one short transaction each) are what keep the max small. SQLite, and PostgreSQL when reachable.

    python benchmarks/retention_prune.py            # 20,000 old traces; --traces N for another size
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from valiqor_trace.store import SpanRecord, SpanStore  # noqa: E402

DAY_NS = 86_400 * 10**9
PG_URL = os.environ.get("VALIQOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _trace(start_ns: int) -> list[SpanRecord]:
    trace_id = uuid.uuid4().hex
    return [SpanRecord(trace_id=trace_id, span_id=f"{n:016x}", name="chat gpt-4o", kind="CLIENT",
                       start_time_unix_nano=start_ns, end_time_unix_nano=start_ns + 1, status_code="OK",
                       attributes={"gen_ai.completion": "x" * 1000}) for n in range(1, 11)]


def _write_latencies(store: SpanStore, until: threading.Event) -> list[float]:
    latencies: list[float] = []
    while not until.is_set():
        spans = _trace(time.time_ns())
        started = time.perf_counter()
        store.write_spans(spans)
        latencies.append((time.perf_counter() - started) * 1e3)
    return latencies


def measure(target: str, traces: int) -> tuple[str, int, float, float, float, float, float]:
    old_ns = time.time_ns() - 40 * DAY_NS
    seeding = SpanStore(target, clock=lambda: old_ns)
    for _ in range(traces // 100):
        seeding.write_spans([span for _ in range(100) for span in _trace(old_ns)])
    if seeding.dialect == "postgresql":  # the statistics autovacuum would gather by itself, a while later
        seeding.vacuum()
    seeding.close()
    store = SpanStore(target)
    quiet = threading.Event()
    threading.Timer(2.0, quiet.set).start()
    baseline = _write_latencies(store, quiet)
    done = threading.Event()
    during: list[float] = []
    writer = threading.Thread(target=lambda: during.extend(_write_latencies(store, done)))
    writer.start()
    started = time.perf_counter()
    pruned = store.prune(time.time_ns() - 30 * DAY_NS)
    seconds = time.perf_counter() - started
    done.set()
    writer.join()
    store.close()
    assert pruned.rows["traces"] == traces
    return (store.dialect, pruned.rows["spans"], pruned.rows["spans"] / seconds, statistics.median(baseline),
            max(baseline), statistics.median(during), max(during))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=20_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows.append(measure(os.path.join(folder, "traces.db"), args.traces))
    try:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        try:
            rows.append(measure(f"{PG_URL}?options=-csearch_path%3D{schema}", args.traces))
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    except Exception as exc:  # noqa: BLE001 - a benchmark: say why PostgreSQL is missing and go on
        print(f"(PostgreSQL skipped: {exc})")
    print("| engine | spans deleted | spans/s | write p50 ms, no prune | write max ms, no prune "
          "| write p50 ms, during prune | write max ms, during prune |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for engine, spans, rate, p50, worst, p50_during, worst_during in rows:
        print(f"| {engine} | {spans} | {rate:,.0f} | {p50:.2f} | {worst:.1f} | {p50_during:.2f} | {worst_during:.1f} |")


if __name__ == "__main__":
    main()
