"""The :class:`TraceSource` interface, and the two sources that need no network."""

from __future__ import annotations

import os
from typing import Protocol, runtime_checkable

from analyzer.sources._files import TraceFile, read_trace_file
from valiqor_trace._ids import normalize_trace_id
from valiqor_trace.store import SpanRecord, SpanStore


@runtime_checkable
class TraceSource(Protocol):
    """Somewhere spans of a trace can be read from.

    ``description`` names the source in error messages ("local store
    ./.valiqor/traces.db", "Jaeger at http://localhost:16686").
    ``get_trace`` returns every span it has of the trace (normalized 32-hex
    id), ``[]`` when it has none; it raises :class:`analyzer.errors.SourceError`
    (or a subclass) when the source itself fails.
    """

    description: str

    def get_trace(self, trace_id: str) -> list[SpanRecord]: ...


class LocalStoreSource:
    """The embedded SQLite span store.

    Args:
        store: an open store, or the path of one.
    """

    def __init__(self, store: SpanStore | str | os.PathLike[str]) -> None:
        self.store = store if isinstance(store, SpanStore) else SpanStore(store)
        self.description = f"local store {self.store.path}"

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        return self.store.get_trace(normalize_trace_id(trace_id))


class FileSource:
    """A trace file (any format :func:`read_trace_file` reads), read once on first use.

    Args:
        path: the file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.description = f"file {self.path}"
        self._file: TraceFile | None = None

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        if self._file is None:
            self._file = read_trace_file(self.path)
        tid = normalize_trace_id(trace_id)
        return [span for span in self._file.spans if span.trace_id == tid]
