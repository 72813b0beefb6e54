"""`valiqor serve` on SQLite and on PostgreSQL, with one and two replicas: ingest spans/s, the CPU each stored
span costs (the server's and, on PostgreSQL, the database's), and FA runs/s.

    python benchmarks/server_scale.py [--batches 120] [--concurrency 4] [--fa-requests 120]
                                      [--postgres postgresql://postgres@127.0.0.1:5432/test]

Each server is its own process (`python -m valiqor_trace.cli serve`), as in production; the load generator is
this process (httpx, keep-alive), on the same machine. Ingest: batches of 512 GenAI spans (8 per trace) as OTLP
protobuf with fresh trace ids; with two replicas the clients alternate between them, and each batch's traces
are split so that half of every trace's spans reach each replica (what a load balancer in front of several
services does). FA: POST /api/v1/fa/runs with a 1-item deterministic dataset (no judge).

CPU per span is the figure that does not depend on how busy the machine is: user+system time of the server
processes (less what an idle server takes to start and stop) plus, on PostgreSQL, of the database backends
that served them (read from /proc for the backends of this benchmark's own database). On a 2-core machine
shared with the load generator, rates are bounded by the cores; "N cores sustain" divides N core-seconds by
the CPU per span (server and database together), which is what N replicas on N cores (and the database on
its share of them) would reach if nothing else were the limit.

The PostgreSQL rows use a database of their own (created and dropped here), so other work on the same
PostgreSQL server does not count against them. Target (issue 19): PostgreSQL ingest CPU per span within
1.5x of SQLite's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_load import BATCH, DATASET, drive, fresh_batches, start_server, template_request  # noqa: E402

from valiqor_trace.store import SpanStore  # noqa: E402

PROTOBUF = {"content-type": "application/x-protobuf"}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_replica(data_dir: str, database_url: str | None) -> tuple[subprocess.Popen, str]:
    return start_server(data_dir, 0, extra=["--database-url", database_url] if database_url else [])


class Database:
    """A PostgreSQL database of the benchmark's own, and the CPU its backends used."""

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.admin_url = admin_url
        self.name = f"valiqor_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")
        base, _, _ = admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"
        self._seen: dict[int, float] = {}

    def backend_cpu_s(self) -> float:
        """CPU seconds of every backend connected to this database now (read before the servers stop)."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                   (self.name,))]
        total = 0.0
        for pid in pids:
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:  # on another machine, or gone: not counted
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Replicas:
    """``count`` servers on one store; their CPU (and the database backends') is measured on exit."""

    idle_cpu_s = 0.0

    def __init__(self, data_dir: str, count: int, database: Database | None) -> None:
        self.data_dir, self.count, self.database = data_dir, count, database
        self.server_cpu_s = self.database_cpu_s = 0.0

    def __enter__(self) -> list[str]:
        self._before = os.times()
        self.processes, urls = [], []
        for _ in range(self.count):
            process, url = start_replica(self.data_dir, self.database.url if self.database else None)
            self.processes.append(process)
            urls.append(url)
        self._database_before = self.database.backend_cpu_s() if self.database else 0.0
        return urls

    def __exit__(self, *exc_info: object) -> None:
        if self.database is not None:
            self.database_cpu_s = self.database.backend_cpu_s() - self._database_before
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(60)
        after = os.times()
        self.server_cpu_s = max(0.0, after.children_user - self._before.children_user + after.children_system
                                - self._before.children_system - self.count * self.idle_cpu_s)

    def stored_spans(self) -> int:
        store = SpanStore(self.database.url if self.database else os.path.join(self.data_dir, "traces.db"))
        try:
            return store.count_spans()
        finally:
            store.close()


def split_batches(batches: list[Any]) -> list[Any]:
    """Each batch as two requests holding alternate spans, so every trace's spans reach both replicas."""
    halves = []
    for batch in batches:
        for parity in (0, 1):
            half = type(batch)()
            half.CopyFrom(batch)
            spans = half.resource_spans[0].scope_spans[0].spans
            keep = [span for index, span in enumerate(spans) if index % 2 == parity]
            del spans[:]
            spans.extend(keep)
            halves.append(half)
    return halves


def drive_many(urls: list[str], path: str, bodies: list[bytes], headers: dict[str, str], concurrency: int,
               json_body: Any = None) -> dict[str, Any]:
    """``drive`` against several replicas at once: the bodies dealt out in turn, the clients shared."""
    import threading

    results: list[dict[str, Any]] = []
    shares = [bodies[index::len(urls)] for index in range(len(urls))]
    threads = [threading.Thread(target=lambda u=url, b=share: results.append(
        drive(u, path, b, headers, max(1, concurrency // len(urls)), json_body=json_body)))
        for url, share in zip(urls, shares)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies_p50 = max(result["p50_ms"] for result in results)
    return {"elapsed": elapsed, "requests": sum(r["requests"] for r in results),
            "retries": sum(r["retries"] for r in results), "p50_ms": latencies_p50}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=120, help="batches of 512 spans per ingest row")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (shared by the replicas)")
    parser.add_argument("--fa-requests", type=int, default=120, help="FA requests per FA row")
    parser.add_argument("--postgres", default=os.environ.get("VALIQOR_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                        help="a PostgreSQL server where this benchmark may create a database")
    args = parser.parse_args()

    template = template_request()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="valiqor-scale-") as tmp:
        idle = Replicas(os.path.join(tmp, "idle"), 1, None)
        with idle:
            pass
        Replicas.idle_cpu_s = idle.server_cpu_s
        for engine, count in (("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2)):
            database = Database(args.postgres) if engine == "PostgreSQL" else None
            try:
                # two replicas: whole batches dealt in turn, then every trace split across both (half batches)
                for split in ((False,) if count == 1 else (False, True)):
                    batches = fresh_batches(template, args.batches)
                    bodies = [b.SerializeToString() for b in (split_batches(batches) if split else batches)]
                    replicas = Replicas(os.path.join(tmp, f"{engine}-{count}-{split}"), count, database)
                    with replicas as urls:
                        stats = drive_many(urls, "/v1/traces", bodies, PROTOBUF, args.concurrency)
                    stored = replicas.stored_spans() - sum(row["units"] for row in rows
                                                           if row.get("database") is database and database)
                    spans = args.batches * BATCH
                    rows.append({"scenario": f"ingest  {engine}, {count} replica(s)" + (", traces split" if split
                                                                                      else ""),
                                 "stats": stats, "units": spans, "database": database,
                                 "server_cpu_s": replicas.server_cpu_s, "database_cpu_s": replicas.database_cpu_s,
                                 "check": "all stored once" if stored == spans else f"STORED {stored} OF {spans}"})
                fa = Replicas(os.path.join(tmp, f"fa-{engine}-{count}"), count, database)
                with fa as urls:
                    stats = drive_many(urls, "/api/v1/fa/runs", [b""] * args.fa_requests, {}, args.concurrency,
                                       json_body={"dataset": DATASET[:1], "project_name": "bench"})
                rows.append({"scenario": f"FA run  {engine}, {count} replica(s)", "stats": stats, "database": None,
                             "units": stats["requests"], "server_cpu_s": fa.server_cpu_s,
                             "database_cpu_s": fa.database_cpu_s, "check": ""})
            finally:
                if database is not None:
                    database.drop()
    print_table(rows)
    sqlite, postgres = rows[0], rows[2]
    ratio = _cpu_per_unit(postgres) / _cpu_per_unit(sqlite)
    print(f"\nPostgreSQL / SQLite ingest CPU per span (server + database): {ratio:.2f}x "
          f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end; "
          f"an idle server's start and stop ({Replicas.idle_cpu_s:.2f} s CPU) is taken off every row")


def _cpu_per_unit(row: dict[str, Any]) -> float:
    return (row["server_cpu_s"] + row["database_cpu_s"]) / row["units"]


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'scenario':<46} {'rate/s':>8} {'p50 ms':>7} {'503s':>5} {'server CPU':>13} {'db CPU':>12} "
          f"{'total':>12} {'1 core':>9} {'4 cores':>9}  check")
    for row in rows:
        stats, units = row["stats"], row["units"]
        unit = "span" if row["scenario"].startswith("ingest") else "run"
        scale, suffix = (1e6, "µs") if unit == "span" else (1e3, "ms")
        server = row["server_cpu_s"] / units * scale
        database = row["database_cpu_s"] / units * scale
        per_core = 1.0 / _cpu_per_unit(row)
        print(f"{row['scenario']:<46} {units / stats['elapsed']:>8,.0f} {stats['p50_ms']:>7.1f} "
              f"{stats['retries']:>5} {server:>5.0f} {suffix}/{unit:<4} {database:>4.0f} {suffix}/{unit:<4} "
              f"{server + database:>4.0f} {suffix}/{unit:<4} {per_core:>9,.0f} {4 * per_core:>9,.0f}  {row['check']}")
    print("(rate/s: spans/s for ingest, runs/s for FA; 'N core(s)': what N cores sustain at this CPU cost)")


if __name__ == "__main__":
    main()
