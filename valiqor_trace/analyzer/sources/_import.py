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
        format: otlp-json | otlp-protobuf | spans-json.
        spans_read: spans in the file.
        spans_new: spans not stored before (0 when the file was imported already).
        trace_ids: the traces the file holds.
    """

    path: str
    format: str
    spans_read: int
    spans_new: int
    trace_ids: list[str] = field(default_factory=list)


def import_file(store: SpanStore, path: str | os.PathLike[str], *,
                reading: Callable[[BinaryIO, int], BinaryIO] | None = None) -> ImportResult:
    """Read ``path`` whole, then store its spans in one transaction.

    A span already stored (same trace and span id) is left alone, so importing
    a file twice stores nothing twice. A file with any bad record raises
    :class:`valiqor_trace.errors.ImportFormatError` before anything is written.
    Its traces are marked imported: a file holds all there is of them, so one
    without its root span is analyzed at once instead of waited for. ``reading``: as in
    :func:`read_trace_file` (the CLI's progress bar).
    """
    trace_file = read_trace_file(path, reading=reading)
    new = store.write_spans(trace_file.spans, imported=True)
    return ImportResult(path=trace_file.path, format=trace_file.format, spans_read=len(trace_file.spans),
                        spans_new=new, trace_ids=trace_file.trace_ids)
