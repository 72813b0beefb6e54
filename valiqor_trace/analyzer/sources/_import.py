"""Import trace files into the local store: whole files, idempotently."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from valiqor_trace.analyzer.sources._files import read_trace_file
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
                reading: Callable[[BinaryIO, int], BinaryIO] | None = None) -> ImportResult:
    """Read ``path`` whole, then store its spans and log records in one transaction.

    A span already stored (same trace and span id) is left alone, and so is a log
    record already stored, so importing a file twice stores nothing twice. Log records
    join their spans when the trace is read, whichever file or request brought the spans.
    A file with any bad record raises :class:`valiqor_trace.errors.ImportFormatError`
    before anything is written.
    Its traces are marked imported: a file holds all there is of them, so one
    without its root span is analyzed at once instead of waited for. ``reading``: as in
    :func:`read_trace_file` (the CLI's progress bar).
    """
    trace_file = read_trace_file(path, reading=reading)
    from valiqor_trace.store import log_row, record_row

    new, logs_new = store.write_batch([record_row(span) for span in trace_file.records],
                                      [log_row(log) for log in trace_file.logs], imported=True)
    return ImportResult(path=trace_file.path, format=trace_file.format, spans_read=len(trace_file.records),
                        spans_new=new, trace_ids=trace_file.trace_ids, logs_read=len(trace_file.logs),
                        logs_new=logs_new)
