"""Import trace files into the local store: whole files, idempotently, streamed in batches."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from valiqor_trace.analyzer.sources._files import BATCH_RECORDS, iter_trace_batches
from valiqor_trace.store import SpanStore


@dataclass
class ImportResult:
    """What importing one file did.

    Attributes:
        path: the file.
        format: otlp-json | otlp-protobuf | sdk-json | spans-json.
        spans_read: spans in the file.
        spans_new: spans not stored before (0 when the file was imported already).
        trace_ids: the traces the file holds.
        logs_read: log records in the file that name a span.
        logs_new: log records not stored before.
    """

    path: str
    format: str
    spans_read: int
    spans_new: int
    trace_ids: list[str] = field(default_factory=list)
    logs_read: int = 0
    logs_new: int = 0


def import_file(store: SpanStore, path: str | os.PathLike[str], *,
                reading: Callable[[BinaryIO, int], BinaryIO] | None = None,
                batch_records: int = BATCH_RECORDS) -> ImportResult:
    """Store the spans and log records of ``path``, all or nothing.

    The file is read as it streams, in batches of about ``batch_records`` records (see
    :func:`iter_trace_batches`), so memory follows the batch size, not the file size; the
    batches are stored in one go at the end (:meth:`SpanStore.write_batches`).
    A span already stored (same trace and span id) is left alone, and so is a log
    record already stored, so importing a file twice stores nothing twice. Log records
    join their spans when the trace is read, whichever file or request brought the spans.
    A file with any bad record raises :class:`valiqor_trace.errors.ImportFormatError`
    and nothing of it is stored.
    Its traces are marked imported: a file holds all there is of them, so one
    without its root span is analyzed at once instead of waited for. ``reading``: as in
    :func:`read_trace_file` (the CLI's progress bar).
    """
    from valiqor_trace.store import log_row, record_row

    result = ImportResult(path=os.fspath(path), format="spans-json", spans_read=0, spans_new=0)

    def rows() -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        for batch in iter_trace_batches(path, reading=reading, batch_records=batch_records):
            result.spans_read += len(batch.spans)
            result.logs_read += len(batch.logs)
            result.format = batch.format
            yield [record_row(span) for span in batch.spans], [log_row(log) for log in batch.logs]

    written = store.write_batches(rows(), imported=True)
    result.spans_new, result.logs_new, result.trace_ids = written.spans_new, written.logs_new, written.trace_ids
    return result
