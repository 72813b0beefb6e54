"""Several processes writing one store lose nothing; writes are idempotent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT
from valiqor_trace.store import SpanStore

WRITER = """
import sys, valiqor_trace
handle = valiqor_trace.init(store_path=sys.argv[1], schedule_delay_ms=1, max_queue_size=100000)
for i in range(int(sys.argv[2])):
    with valiqor_trace.trace_workflow(f"w{i}"):
        with valiqor_trace.trace_workflow("child"):
            pass
handle.shutdown()
assert handle.stats["store"].failed == 0 and handle.stats["store"].dropped == 0, handle.stats
"""


def test_two_processes_writing_concurrently_lose_no_span(tmp_path: Path) -> None:
    db = tmp_path / "shared" / "traces.db"
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


def test_writing_the_same_spans_twice_stores_them_once(tmp_path: Path) -> None:
    from valiqor_trace.store import SpanRecord

    store = SpanStore(tmp_path / "t.db")
    spans = [SpanRecord(trace_id="ab" * 16, span_id=f"{i:016x}", parent_span_id=None if i == 0 else f"{0:016x}",
                        name=f"s{i}", start_time_unix_nano=i, end_time_unix_nano=i + 1) for i in range(5)]
    assert store.write_spans(spans) == 5
    assert store.write_spans(spans) == 0
    assert [s.name for s in store.get_trace("ab" * 16)] == [f"s{i}" for i in range(5)]
    [summary] = store.list_traces()
    assert summary.span_count == 5 and summary.root_name == "s0"


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
