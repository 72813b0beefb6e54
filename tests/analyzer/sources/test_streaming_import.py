"""Large trace files are read in batches (memory follows the batch, not the file) and still stored all or nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from valiqor_trace.errors import ImportFormatError
from valiqor_trace.analyzer.sources import import_file, iter_trace_batches
from valiqor_trace.store import SpanStore

LINES = 40


def _trace(document: dict[str, Any], number: int) -> dict[str, Any]:
    """``document`` as trace number ``number``: the same spans under a trace id of their own."""
    copy = json.loads(json.dumps(document))
    for span in copy["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        span["traceId"] = f"{number + 1:032x}"
    return copy


def _collector_file(path: Path, document: dict[str, Any], lines: int = LINES, bad_line: int | None = None) -> Path:
    with open(path, "w") as out:
        for number in range(lines):
            line = _trace(document, number)
            if number + 1 == bad_line:
                line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "not-an-id"
            out.write(json.dumps(line) + "\n")
    return path


def test_a_collector_file_is_read_in_batches_of_bounded_size(tmp_path: Path, otlp_json_document: dict,
                                                             records: list) -> None:
    path = _collector_file(tmp_path / "export.jsonl", otlp_json_document)
    batches = list(iter_trace_batches(path, batch_records=10))
    per_line = len(records)
    assert len(batches) >= LINES * per_line // (10 + per_line)
    # a batch is handed on as soon as it reaches the size: it never holds a whole line more than that
    assert all(len(batch.spans) + len(batch.logs) < 10 + per_line for batch in batches)
    assert sum(len(batch.spans) for batch in batches) == LINES * per_line
    assert {batch.format for batch in batches} == {"otlp-json"}


def test_length_prefixed_protobuf_is_read_message_by_message(tmp_path: Path, otlp_request: Any,
                                                              records: list) -> None:
    path = tmp_path / "export.binpb"
    body = otlp_request.SerializeToString()
    path.write_bytes((len(body).to_bytes(4, "big") + body) * 5)
    batches = list(iter_trace_batches(path, batch_records=1))
    assert [len(batch.spans) for batch in batches] == [len(records)] * 5


def test_a_protobuf_file_cut_short_names_the_message_and_stores_nothing(tmp_path: Path, otlp_request: Any) -> None:
    path = tmp_path / "export.binpb"
    body = otlp_request.SerializeToString()
    path.write_bytes((len(body).to_bytes(4, "big") + body) * 3 + len(body).to_bytes(4, "big") + body[:10])
    store = SpanStore(tmp_path / "traces.db")
    with pytest.raises(ImportFormatError, match=r"export\.binpb, record 4: .*past the end of the file"):
        import_file(store, path, batch_records=1)
    assert store.count_spans() == 0


def test_a_bad_line_after_many_batches_stores_nothing_and_names_the_line(tmp_path: Path, otlp_json_document: dict,
                                                                         records: list) -> None:
    store = SpanStore(tmp_path / "traces.db")
    bad = _collector_file(tmp_path / "export.jsonl", otlp_json_document, bad_line=LINES - 3)
    with pytest.raises(ImportFormatError) as caught:
        import_file(store, bad, batch_records=5)
    message = str(caught.value)
    assert f"line {LINES - 3}" in message and "spanId" in message
    assert (store.count_spans(), store.count_logs(), store.list_traces()) == (0, 0, [])
    fixed = _collector_file(tmp_path / "fixed.jsonl", otlp_json_document)
    result = import_file(store, fixed, batch_records=5)
    assert (result.spans_read, result.spans_new, len(result.trace_ids)) == (LINES * len(records),) * 2 + (LINES,)
    assert store.count_spans() == LINES * len(records)
    assert import_file(store, fixed, batch_records=5).spans_new == 0


def test_other_writers_are_not_locked_out_while_a_file_is_read(tmp_path: Path, otlp_json_document: dict) -> None:
    # Reading a large file takes long; an app writing spans to the same store meanwhile must not wait for it.
    db = tmp_path / "traces.db"
    store = SpanStore(db)
    path = _collector_file(tmp_path / "export.jsonl", otlp_json_document)
    writes: list[str] = []

    def reading(handle: BinaryIO, size: int) -> BinaryIO:
        class Probe:
            def __getattr__(self, name: str) -> Any:
                return getattr(handle, name)

            def __iter__(self) -> Any:
                for number, line in enumerate(handle):
                    if number == LINES // 2:  # batches have been read and staged by now
                        other = sqlite3.connect(db, timeout=0.2, isolation_level=None)
                        other.execute("BEGIN IMMEDIATE")
                        other.execute("ROLLBACK")
                        other.close()
                        writes.append("written")
                    yield line

        return Probe()  # type: ignore[return-value]

    import_file(store, path, reading=reading, batch_records=5)
    assert writes == ["written"]
