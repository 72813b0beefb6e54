"""Retention of the trace store: ``SpanStore.prune`` deletes whole traces last active before a cutoff, on
both engines, and a new SQLite store gives the space back."""

from __future__ import annotations

import os
import time
from pathlib import Path

from valiqor_trace.store import LogRecord, SpanRecord, SpanStore

DAY_NS = 86_400 * 10**9
NOW_NS = time.time_ns()
OLD_NS = NOW_NS - 40 * DAY_NS  # past a 30-day retention
CUTOFF_NS = NOW_NS - 30 * DAY_NS


def _span(trace_id: str, span_id: str, start_ns: int, *, parent: str | None = None,
          text: str = "") -> SpanRecord:
    return SpanRecord(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name="chat gpt-4o",
                      kind="CLIENT", start_time_unix_nano=start_ns, end_time_unix_nano=start_ns + 10**9,
                      status_code="OK", attributes={"gen_ai.completion": text} if text else {})


def _log(trace_id: str, span_id: str, time_ns: int) -> LogRecord:
    return LogRecord(trace_id=trace_id, span_id=span_id, time_unix_nano=time_ns, event_name="gen_ai.user.message",
                     body={"content": "Where is Ada?"})


def _store(tmp_path: Path, database_url: str | None, *, at_ns: int = NOW_NS) -> SpanStore:
    """The test's store, with spans arriving at ``at_ns`` (what retention counts from, with their end)."""
    return SpanStore(database_url or tmp_path / "traces.db", clock=lambda: at_ns)


def _trace_id(number: int) -> str:
    return f"{number:032x}"


def test_prune_deletes_whole_old_traces_and_keeps_new_ones_and_late_arrivals(
        tmp_path: Path, database_url: str | None) -> None:
    old = _store(tmp_path, database_url, at_ns=OLD_NS)
    old.write_spans([_span(_trace_id(1), "a" * 16, OLD_NS), _span(_trace_id(1), "b" * 16, OLD_NS, parent="a" * 16)],
                    logs=[_log(_trace_id(1), "a" * 16, OLD_NS)])
    old.write_spans([_span(_trace_id(2), "c" * 16, OLD_NS)])
    old.write_spans([_span(_trace_id(3), "d" * 16, OLD_NS)])  # a long trace: its late span comes below
    old.write_logs([_log(_trace_id(9), "e" * 16, OLD_NS)])  # a log whose span never came (sampled out)
    old.close()
    store = _store(tmp_path, database_url)
    store.write_spans([_span(_trace_id(3), "f" * 16, NOW_NS - DAY_NS, parent="d" * 16)])
    store.write_spans([_span(_trace_id(4), "1" * 16, NOW_NS)], logs=[_log(_trace_id(4), "1" * 16, NOW_NS)])

    planned = store.prune(CUTOFF_NS, dry_run=True)
    assert planned.dry_run and planned.rows == {"traces": 2, "spans": 3, "logs": 2}
    assert len(store.list_traces()) == 4  # a dry run deletes nothing

    pruned = store.prune(CUTOFF_NS, batch=1)  # one trace per transaction
    assert pruned.rows == {"traces": 2, "spans": 3, "logs": 2}
    assert {t.trace_id for t in store.list_traces()} == {_trace_id(3), _trace_id(4)}
    assert store.get_trace(_trace_id(1)) == [] and store.get_logs(_trace_id(1)) == []
    assert store.get_logs(_trace_id(9)) == []
    assert [s.span_id for s in store.get_trace(_trace_id(3))] == ["d" * 16, "f" * 16]  # whole, old start kept
    assert len(store.get_logs(_trace_id(4))) == 1
    assert store.count_spans() == 3
    assert store.prune(CUTOFF_NS).total == 0  # nothing more to do
    store.close()


def test_a_trace_is_judged_by_its_last_arrival_so_an_import_of_old_spans_stays(
        tmp_path: Path, database_url: str | None) -> None:
    store = _store(tmp_path, database_url)  # the spans are old, but they arrived now
    store.write_spans([_span(_trace_id(5), "a" * 16, OLD_NS)], imported=True)
    assert store.prune(CUTOFF_NS).total == 0
    assert store.prune(NOW_NS + 1).rows == {"traces": 1, "spans": 1, "logs": 0}
    store.close()


def test_a_new_sqlite_store_shrinks_after_a_prune_and_an_old_one_after_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    store = SpanStore(path, clock=lambda: OLD_NS)
    text = "x" * 2000
    for number in range(40):  # about 8 MB of old spans
        store.write_spans([_span(_trace_id(number), f"{n:016x}", OLD_NS, text=text) for n in range(1, 101)])
    store.write_spans([_span(_trace_id(999), "a" * 16, NOW_NS)])
    store.checkpoint()
    full = os.path.getsize(path)
    assert full > 8_000_000

    assert store.prune(CUTOFF_NS).rows["traces"] == 40
    assert os.path.getsize(path) < full / 10  # the freed pages went back to the file system
    assert [t.trace_id for t in store.list_traces()] == [_trace_id(999)]
    store.close()


def test_a_store_made_without_auto_vacuum_keeps_working_and_vacuum_converts_it(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    sqlite3.connect(path).execute("CREATE TABLE made_by_an_older_release (x)").connection.close()
    store = SpanStore(path, clock=lambda: OLD_NS)
    assert store._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0  # NONE: too late to change in place
    for number in range(10):
        store.write_spans([_span(_trace_id(number), f"{n:016x}", OLD_NS, text="y" * 2000) for n in range(1, 101)])
    store.checkpoint()
    full = os.path.getsize(path)
    assert store.prune(CUTOFF_NS).rows["traces"] == 10
    assert os.path.getsize(path) >= full * 0.9  # freed pages stay in the file, for reuse
    store.vacuum()
    assert os.path.getsize(path) < full / 10
    assert store._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL from now on
    store.close()


def test_init_with_retention_days_prunes_its_store_off_the_app_threads(tmp_path: Path,
                                                                       database_url: str | None) -> None:
    import valiqor_trace

    target = database_url or str(tmp_path / "traces.db")
    old = SpanStore(target, clock=lambda: OLD_NS)
    old.write_spans([_span(_trace_id(1), "a" * 16, OLD_NS)])
    old.close()
    handle = valiqor_trace.init("shop", store_path=None if database_url else target, database_url=database_url,
                                retention_days=30, instrument=False, schedule_delay_ms=10)
    with handle.tracer_provider.get_tracer("app").start_as_current_span("workflow") as span:
        new_trace = f"{span.get_span_context().trace_id:032x}"
    handle.force_flush()  # the export that finds a prune due starts one
    store = SpanStore(target)
    deadline = time.monotonic() + 10
    while store.get_trace(_trace_id(1)):
        assert time.monotonic() < deadline, "the old trace was not pruned"
        time.sleep(0.05)
    assert [t.trace_id for t in store.list_traces()] == [new_trace]
    handle.shutdown()
    store.close()
