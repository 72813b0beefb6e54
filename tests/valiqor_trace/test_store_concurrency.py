"""Several processes writing one store lose nothing; writes are idempotent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT
from valiqor_trace.store import SpanStore

WRITER = """
import sys, valiqor_trace
target = {"database_url" if sys.argv[1].startswith("postgresql://") else "store_path": sys.argv[1]}
handle = valiqor_trace.init(**target, schedule_delay_ms=1, max_queue_size=100000)
for i in range(int(sys.argv[2])):
    with valiqor_trace.trace_workflow(f"w{i}"):
        with valiqor_trace.trace_workflow("child"):
            pass
handle.shutdown()
assert handle.stats["store"].failed == 0 and handle.stats["store"].dropped == 0, handle.stats
"""


def test_two_processes_writing_concurrently_lose_no_span(tmp_path: Path, database_url: str | None) -> None:
    db = database_url or tmp_path / "shared" / "traces.db"
    per_process = 1500
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(per_process)], env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = SpanStore(db)
    assert store.count_spans() == 2 * per_process * 2
    assert len(store.list_traces(limit=10_000)) == 2 * per_process


def test_writing_the_same_spans_twice_stores_them_once(tmp_path: Path, database_url: str | None) -> None:
    from valiqor_trace.store import SpanRecord

    store = SpanStore(database_url or tmp_path / "t.db")
    spans = [SpanRecord(trace_id="ab" * 16, span_id=f"{i:016x}", parent_span_id=None if i == 0 else f"{0:016x}",
                        name=f"s{i}", start_time_unix_nano=i, end_time_unix_nano=i + 1) for i in range(5)]
    assert store.write_spans(spans) == 5
    assert store.write_spans(spans) == 0
    assert [s.name for s in store.get_trace("ab" * 16)] == [f"s{i}" for i in range(5)]
    [summary] = store.list_traces()
    assert summary.span_count == 5 and summary.root_name == "s0"
    store.close()


def test_writers_of_the_same_traces_at_once_leave_every_summary_whole(tmp_path: Path,
                                                                      database_url: str | None) -> None:
    """Spans of one trace reaching two writers (two servers behind a load balancer) at the same moment: each
    span is stored once and the trace's summary counts every span, whichever writer commits last."""
    import threading

    from valiqor_trace.store import SpanRecord

    target = database_url or tmp_path / "t.db"
    traces = [f"{n:032x}" for n in range(1, 41)]

    def spans(trace_id: str, half: int) -> list[SpanRecord]:
        return [SpanRecord(trace_id=trace_id, span_id=f"{i + 1:016x}", parent_span_id=None if i == 0 else f"{1:016x}",
                           name=f"s{i}", start_time_unix_nano=100 + i, end_time_unix_nano=200 + i,
                           status_code="ERROR" if i == 7 else "UNSET")
                for i in range(10) if i % 2 == half]

    stores = [SpanStore(target), SpanStore(target)]
    start = threading.Barrier(2)

    def write(half: int) -> None:
        start.wait()
        for trace_id in traces:
            stores[half].write_spans(spans(trace_id, half))
            stores[half].write_spans(spans(trace_id, 1 - half)[:2])  # a retry of a few of the other half's

    threads = [threading.Thread(target=write, args=(half,)) for half in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert stores[0].count_spans() == 10 * len(traces)
    summaries = stores[1].list_traces(limit=100)
    assert sorted(s.trace_id for s in summaries) == traces
    assert {(s.span_count, s.error_count, s.root_name, s.start_time_unix_nano, s.end_time_unix_nano)
            for s in summaries} == {(10, 1, "s0", 100, 209)}
    for store in stores:
        store.close()


def test_span_record_matches_what_the_store_returns(tmp_path: Path, tracer_provider, span_exporter) -> None:
    import valiqor_trace
    from valiqor_trace.store import StoreSpanExporter, span_record

    handle = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=False)
    with valiqor_trace.trace_workflow("w", attributes={"tags": ("a", "b"), "n": 3}) as wf:
        wf.set_input({"q": 1})
    handle.shutdown()
    [sdk_span] = span_exporter.get_finished_spans()
    exporter = StoreSpanExporter(str(tmp_path / "r.db"))
    exporter.export([sdk_span])
    [stored] = exporter.store.get_trace(wf.trace_id)
    assert span_record(sdk_span) == stored


def test_a_span_whose_text_holds_a_nul_is_stored_on_every_engine(tmp_path: Path, database_url: str | None) -> None:
    """PostgreSQL text cannot hold NUL: an imported span carrying one is stored (NUL shown as U+FFFD there),
    not refused with the whole batch it came in."""
    from valiqor_trace.store import SpanRecord

    store = SpanStore(database_url or tmp_path / "t.db")
    spans = [SpanRecord(trace_id="ef" * 16, span_id=f"{i + 1:016x}", name=name, start_time_unix_nano=i,
                        end_time_unix_nano=i + 1, attributes={"note": "a\0b"})
             for i, name in enumerate(("plain", "nul\0inside"))]
    assert store.write_spans(spans) == 2
    names = [span.name for span in store.get_trace("ef" * 16)]
    assert names[0] == "plain" and names[1] in ("nul\0inside", "nul\ufffdinside")
    assert {span.attributes["note"] for span in store.get_trace("ef" * 16)} == {"a\0b"}
    store.close()
