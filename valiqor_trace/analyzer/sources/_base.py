"""The :class:`TraceSource` interface, and the two sources that need no network."""

from __future__ import annotations

import os
import threading
from typing import Protocol, runtime_checkable

from valiqor_trace.analyzer.sources._files import TraceFile, read_trace_file
from valiqor_trace.internal import describe_store, is_database_url, normalize_trace_id
from valiqor_trace.store import SpanRecord, SpanStore, TraceArrival, TraceSummary


@runtime_checkable
class TraceSource(Protocol):
    """Somewhere spans of a trace can be read from.

    ``description`` names the source in error messages ("local store
    ./.valiqor/traces.db", "Jaeger at http://localhost:16686").
    ``get_trace`` returns every span it has of the trace (normalized 32-hex
    id), ``[]`` when it has none; it raises :class:`valiqor_trace.errors.SourceError`
    (or a subclass) when the source itself fails.
    """

    @property
    def description(self) -> str: ...  # read-only: a plain attribute satisfies it too

    def get_trace(self, trace_id: str) -> list[SpanRecord]: ...


@runtime_checkable
class KnowsArrival(Protocol):
    """A source that can tell how a trace's spans came in (see :class:`TraceArrival`).

    Lets a trace whose root span will never come be analyzed without waiting for it:
    one read from a file, or one whose spans stopped arriving long ago.
    """

    def trace_arrival(self, trace_id: str) -> TraceArrival | None: ...


@runtime_checkable
class ListsTraces(Protocol):
    """A source that can list its recent traces (:class:`ClickHouseSource`; the local store lists through
    ``SpanStore.list_traces``, with the same arguments). Jaeger and Tempo are browsed in their own UIs."""

    def list_traces(self, *, project_name: str | None = None, start_ns: int | None = None,
                    end_ns: int | None = None, has_error: bool | None = None, limit: int = 50, offset: int = 0,
                    include_verdicts: bool = True) -> list[TraceSummary]: ...


class LocalStoreSource:
    """The span store: the embedded SQLite file, or PostgreSQL.

    Given a path, the store is opened on first read and only if its file exists: reading never
    creates a store (a PostgreSQL URL is opened on first read: the database is the server's to create) (``get_trace`` finds nothing, and ``description`` says there is no store there).
    :meth:`writable_store` opens it for writing, creating it when missing.

    Args:
        store: an open store, or the path of one.
    """

    def __init__(self, store: SpanStore | str | os.PathLike[str]) -> None:
        self._store = store if isinstance(store, SpanStore) else None
        self._owns_store = self._store is None  # a store handed in is its owner's to close
        self.path = store.path if isinstance(store, SpanStore) else os.fspath(store)
        self._opening = threading.Lock()

    @property
    def description(self) -> str:
        missing = "" if self.existing_store() is not None else " (no store there)"
        return f"local store {describe_store(self.path)}{missing}"

    def existing_store(self) -> SpanStore | None:
        """The store, or None (nothing created) while its file does not exist (a database always does)."""
        if self._store is None and (is_database_url(self.path) or os.path.exists(self.path)):
            with self._opening:
                if self._store is None:
                    try:
                        self._store = SpanStore(self.path, create=False)
                    except FileNotFoundError:  # removed between the check and the open
                        return None
        return self._store

    def writable_store(self) -> SpanStore:
        """The store, created (empty) if missing: for importing and writing."""
        if self._store is None:
            with self._opening:
                if self._store is None:
                    self._store = SpanStore(self.path)
        return self._store

    def close(self) -> None:
        """Close the store if this source opened it from a path (it reopens on the next use)."""
        if not self._owns_store:
            return
        with self._opening:
            store, self._store = self._store, None
        if store is not None:
            store.close()

    def get_trace(self, trace_id: str) -> list[SpanRecord]:
        store = self.existing_store()
        return store.get_trace(normalize_trace_id(trace_id)) if store is not None else []

    def trace_arrival(self, trace_id: str) -> TraceArrival | None:
        store = self.existing_store()
        return store.trace_arrival(trace_id) if store is not None else None


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

    def trace_arrival(self, trace_id: str) -> TraceArrival | None:
        """A file holds all it will ever hold of a trace."""
        return TraceArrival(imported=True)
