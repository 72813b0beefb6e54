"""``client.traces``: import, read and reconstruct traces from the local store and other sources.

Example:
    traces = TracesAPI(SpanStore(".valiqor/traces.db"), sources=[JaegerSource("http://jaeger:16686")])
    traces.import_file("collector-export.jsonl")
    item = traces.reconstruct("4bf92f3577b34da6a3ce929d0e0e4736")
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from valiqor_trace.errors import (AuthenticationError, NotFoundError, RateLimitError, SourceError, TraceIncompleteError,
                             ValidationError)
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.reconstruct import build_tree, has_root, reconstruct_item, reconstruct_turns
from valiqor_trace.analyzer.sources import ImportResult, KnowsArrival, LocalStoreSource, TraceSource, import_file
from valiqor_trace.internal import normalize_trace_id
from valiqor_trace.store import SpanRecord, SpanStore, TraceSummary

DEFAULT_TIMEOUT_S = 5.0
# How long after a span ends it may still reach a backend: the batch processor's delay (5 s by default)
# plus an exporter's timeout and retries. Only for sources that do not record when spans arrived.
_EXPORT_DELAY_S = 30.0
_SPLITS = (None, "turns")
_SOURCE_FAILURES = (SourceError, AuthenticationError, RateLimitError)


class TracesAPI:
    """Traces across sources: the local store first, then each extra source in order.

    Reading never creates the local store: with no file at its path, look-ups
    find nothing there and say so. ``import_file`` creates it.

    Args:
        store: the local span store (where ``init()`` writes and ``import_file`` imports to),
            or its path (opened when first needed).
        sources: further places to look for a trace (``JaegerSource``, ``TempoSource``, ``FileSource``, ...).
        poll_interval_s: first wait between looks while a trace is incomplete; it doubles up to 1 s.
        sleep: injectable for tests.
        clock: seconds since the epoch, injectable for tests; compared with when spans arrived.
    """

    def __init__(self, store: SpanStore | str | os.PathLike[str], sources: Sequence[TraceSource] = (), *,
                 poll_interval_s: float = 0.05, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self._local = LocalStoreSource(store)
        self._sources: builtins.list[TraceSource] = [self._local, *sources]
        self._poll_interval_s = poll_interval_s
        self._sleep = sleep
        self._clock = clock

    @property
    def store(self) -> SpanStore:
        """The local store, created empty if missing (a write path: reads go through the sources)."""
        return self._local.writable_store()

    @property
    def sources(self) -> builtins.list[TraceSource]:
        """The sources looked at, in order (the local store first)."""
        return builtins.list(self._sources)

    def add_source(self, source: TraceSource) -> None:
        """Look in ``source`` too, after the ones already configured."""
        if not isinstance(source, TraceSource):
            raise ValidationError(f"add_source needs a TraceSource (description + get_trace), got {source!r}")
        self._sources.append(source)

    def import_file(self, path: str | os.PathLike[str]) -> ImportResult:
        """Load a trace file into the local store (created if missing); importing it again stores nothing twice.

        Raises:
            ImportFormatError: the file is not a readable trace file (nothing from it is stored).
            FileNotFoundError: there is no such file.
        """
        return import_file(self.store, path)

    def get(self, trace_id: str, *, timeout_s: float = 0.0) -> builtins.list[SpanRecord]:
        """Every span of the trace from the first source that has it (waiting up to ``timeout_s``).

        Raises:
            ValidationError: ``trace_id`` is not a W3C trace id.
            NotFoundError: no source has it; the message names each source tried.
        """
        tid = _normalized(trace_id)
        return self._poll(tid, timeout_s, need_root=False)

    def reconstruct(self, trace_id: str, *, split: str | None = None,
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> FAItem | builtins.list[FAItem]:
        """The FA item of a trace (or one per turn with ``split="turns"``).

        Waits up to ``timeout_s`` for the trace's root span, which ends last and
        so is exported last. A trace that will get no more spans is rebuilt from
        the spans there are, with ``metadata["root_missing"] = True`` when its root
        is not among them: one imported from a file, or one whose spans stopped
        arriving longer than ``timeout_s`` before this call (the root lived in
        another service, or the exporter dropped it).

        Raises:
            ValidationError: bad ``trace_id`` or ``split``.
            NotFoundError: no source has the trace; the message names each source tried.
            TraceIncompleteError: spans were still arriving, but not the root span, within ``timeout_s``.
        """
        if split not in _SPLITS:
            raise ValidationError(f"split must be None or 'turns', got {split!r}")
        if timeout_s < 0:
            raise ValidationError(f"timeout_s must be >= 0, got {timeout_s!r}")
        tid = _normalized(trace_id)
        tree = build_tree(self._poll(tid, timeout_s, need_root=True))
        return reconstruct_turns(tree) if split == "turns" else reconstruct_item(tree)

    def list(self, *, project_name: str | None = None, start_ns: int | None = None, end_ns: int | None = None,
             has_error: bool | None = None, limit: int = 50, offset: int = 0,
             include_verdicts: bool = True) -> builtins.list[TraceSummary]:
        """Traces in the local store, newest first (see :meth:`SpanStore.list_traces`); [] without a store.

        ``include_verdicts=False`` leaves out the ``fa.verdict`` traces the production monitor records.
        """
        if limit < 0 or offset < 0:
            raise ValidationError(f"limit and offset must be >= 0, got limit={limit}, offset={offset}")
        store = self._local.existing_store()
        if store is None:
            return []
        return store.list_traces(project_name=project_name, start_ns=start_ns, end_ns=end_ns,
                                 has_error=has_error, limit=limit, offset=offset, include_verdicts=include_verdicts)

    def close(self) -> None:
        """Close the local store if this API opened it from a path (it reopens on the next use)."""
        self._local.close()

    # -- looking ------------------------------------------------------------------

    def _poll(self, tid: str, timeout_s: float, *, need_root: bool) -> builtins.list[SpanRecord]:
        started = self._clock()
        settled_before_ns = int((started - timeout_s) * 1e9)  # no arrival since then: nothing more is coming
        interval = self._poll_interval_s
        while True:
            found = self._look(tid, need_root=need_root)
            if found.spans and (not need_root or found.rooted or _settled(found, tid, settled_before_ns)):
                return found.spans
            remaining = started + timeout_s - self._clock()
            if remaining <= 0:
                break
            self._sleep(min(interval, remaining))
            interval = min(interval * 2, 1.0)
        if not found.spans:
            tried = [s.description + (f" (failed: {found.failures[s.description]})"
                                      if s.description in found.failures else "") for s in self._sources]
            raise NotFoundError(f"trace {tid} not found; looked in: {'; '.join(tried)}"
                                + (f" (waited {timeout_s:g}s)" if timeout_s else "")
                                + ". Check the id, flush the exporter (valiqor_trace.force_flush()), "
                                  "import the file (valiqor traces import FILE) or add the backend as a source.",
                                trace_id=tid, sources=tried)
        raise TraceIncompleteError(
            f"trace {tid} is incomplete: {len(found.spans)} span(s) arrived in {found.where} but not the root span "
            f"within {timeout_s:g}s, and spans were still arriving. The app may still be running; wait and retry "
            f"(once no span has arrived for timeout_s, the trace is analyzed without its root), "
            f"or pass a larger timeout_s.",
            trace_id=tid, span_count=len(found.spans), timeout_s=timeout_s)

    def _look(self, tid: str, *, need_root: bool) -> _Found:
        """The best spans any source has now: the first with a root, else the largest partial set."""
        best = _Found()
        for source in self._sources:
            try:
                spans = source.get_trace(tid)
            except _SOURCE_FAILURES as exc:
                best.failures[source.description] = str(exc)
                continue
            if spans and (not need_root or has_root(spans)):
                return _Found(spans, source, rooted=True, failures=best.failures)
            if len(spans) > len(best.spans):
                best.spans, best.source = spans, source
        return best


@dataclass
class _Found:
    """What one look at the sources found."""

    spans: builtins.list[SpanRecord] = field(default_factory=builtins.list)
    source: TraceSource | None = None
    rooted: bool = False
    failures: dict[str, str] = field(default_factory=dict)  # description -> why that source failed

    @property
    def where(self) -> str:
        return self.source.description if self.source is not None else ""


def _settled(found: _Found, tid: str, settled_before_ns: int) -> bool:
    """True when no more spans of the trace can be expected: it was read from a file, or its last
    span arrived before ``settled_before_ns``.

    A source that records no arrivals (a tracing backend) is judged by its newest span's end plus
    ``_EXPORT_DELAY_S``: a span reaches a backend some time after it ends, and taking the end alone
    would call a trace settled while its root is still on its way.
    """
    arrival = found.source.trace_arrival(tid) if isinstance(found.source, KnowsArrival) else None
    if arrival is not None and arrival.imported:
        return True
    last_ns = arrival.last_arrival_ns if arrival is not None else None
    if last_ns is None:
        newest_end = max(span.end_time_unix_nano or span.start_time_unix_nano for span in found.spans)
        last_ns = newest_end + int(_EXPORT_DELAY_S * 1e9)
    return last_ns <= settled_before_ns


def _normalized(trace_id: str) -> str:
    try:
        return normalize_trace_id(trace_id)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
