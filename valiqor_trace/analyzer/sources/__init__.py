"""Where traces come from: the local store, trace files, HTTP trace backends, and ClickHouse tables.

Every source implements :class:`TraceSource` (``description`` and
``get_trace(trace_id) -> list[SpanRecord]``). Files can also be imported into
the local store with :func:`import_file`, or read in batches with :func:`iter_trace_batches`.
"""

from __future__ import annotations

from valiqor_trace.analyzer.sources._base import FileSource, KnowsArrival, ListsTraces, LocalStoreSource, TraceSource
from valiqor_trace.analyzer.sources._clickhouse import ClickHouseSource
from valiqor_trace.analyzer.sources._files import TraceBatch, TraceFile, iter_trace_batches, read_trace_file
from valiqor_trace.analyzer.sources._http import JaegerSource, TempoSource
from valiqor_trace.analyzer.sources._import import ImportResult, import_file
from valiqor_trace.analyzer.sources._spec import trace_source

__all__ = [
    "ClickHouseSource",
    "FileSource",
    "ImportResult",
    "JaegerSource",
    "KnowsArrival",
    "ListsTraces",
    "LocalStoreSource",
    "TempoSource",
    "TraceBatch",
    "TraceFile",
    "TraceSource",
    "import_file",
    "iter_trace_batches",
    "read_trace_file",
    "trace_source",
]
