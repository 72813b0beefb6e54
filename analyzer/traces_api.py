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

from analyzer.errors import (AuthenticationError, NotFoundError, RateLimitError, SourceError, TraceIncompleteError,
                             ValidationError)
from analyzer.models import FAItem
from analyzer.reconstruct import build_tree, has_root, reconstruct_item, reconstruct_turns
from analyzer.sources import ImportResult, LocalStoreSource, TraceSource, import_file
from valiqor_trace._ids import normalize_trace_id
from valiqor_trace.store import SpanRecord, SpanStore, TraceSummary

DEFAULT_TIMEOUT_S = 5.0
_SPLITS = (None, "turns")
_SOURCE_FAILURES = (SourceError, AuthenticationError, RateLimitError)


class TracesAPI:
    """Traces across sources: the local store first, then each extra source in order.

    Args:
        store: the local span store (where ``init()`` writes and ``import_file`` imports to).
        sources: further places to look for a trace (``JaegerSource``, ``TempoSource``, ``FileSource``, ...).
        poll_interval_s: first wait between looks while a trace is incomplete; it doubles up to 1 s.
        sleep: injectable for tests.
    """

    def __init__(self, store: SpanStore, sources: Sequence[TraceSource] = (), *, poll_interval_s: float = 0.05,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self._sources: builtins.list[TraceSource] = [LocalStoreSource(store), *sources]
        self._poll_interval_s = poll_interval_s
        self._sleep = sleep

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
        """Load a trace file into the local store; importing it again stores nothing twice.

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
        spans, _ = self._poll(tid, timeout_s, need_root=False)
        return spans

    def reconstruct(self, trace_id: str, *, split: str | None = None,
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> FAItem | builtins.list[FAItem]:
        """The FA item of a trace (or one per turn with ``split="turns"``).

        Waits up to ``timeout_s`` for the trace's root span, which ends last and
        so is exported last.

        Raises:
            ValidationError: bad ``trace_id`` or ``split``.
            NotFoundError: no source has the trace; the message names each source tried.
            TraceIncompleteError: spans arrived but not the root span, within ``timeout_s``.
        """
        if split not in _SPLITS:
            raise ValidationError(f"split must be None or 'turns', got {split!r}")
        if timeout_s < 0:
            raise ValidationError(f"timeout_s must be >= 0, got {timeout_s!r}")
        tid = _normalized(trace_id)
        spans, _ = self._poll(tid, timeout_s, need_root=True)
        tree = build_tree(spans)
        return reconstruct_turns(tree) if split == "turns" else reconstruct_item(tree)

    def list(self, *, project_name: str | None = None, start_ns: int | None = None, end_ns: int | None = None,
             has_error: bool | None = None, limit: int = 50, offset: int = 0) -> builtins.list[TraceSummary]:
        """Traces in the local store, newest first (see :meth:`SpanStore.list_traces`)."""
        if limit < 0 or offset < 0:
            raise ValidationError(f"limit and offset must be >= 0, got limit={limit}, offset={offset}")
        return self.store.list_traces(project_name=project_name, start_ns=start_ns, end_ns=end_ns,
                                      has_error=has_error, limit=limit, offset=offset)

    # -- looking ------------------------------------------------------------------

    def _poll(self, tid: str, timeout_s: float, *, need_root: bool) -> tuple[builtins.list[SpanRecord], str]:
        deadline = time.monotonic() + timeout_s
        interval = self._poll_interval_s
        while True:
            spans, where, failures = self._look(tid, need_root=need_root)
            if spans and (not need_root or has_root(spans)):
                return spans, where
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._sleep(min(interval, remaining))
            interval = min(interval * 2, 1.0)
        if not spans:
            tried = [s.description + (f" (failed: {failures[s.description]})" if s.description in failures else "")
                     for s in self._sources]
            raise NotFoundError(f"trace {tid} not found; looked in: {'; '.join(tried)}"
                                + (f" (waited {timeout_s:g}s)" if timeout_s else "")
                                + ". Check the id, flush the exporter (valiqor_trace.force_flush()), "
                                  "import the file (valiqor traces import FILE) or add the backend as a source.",
                                trace_id=tid, sources=tried)
        raise TraceIncompleteError(
            f"trace {tid} is incomplete: {len(spans)} span(s) arrived in {where} but not the root span "
            f"within {timeout_s:g}s. The app may still be running; wait and retry, or pass a larger timeout_s.",
            trace_id=tid, span_count=len(spans), timeout_s=timeout_s)

    def _look(self, tid: str, *, need_root: bool) -> tuple[builtins.list[SpanRecord], str, dict[str, str]]:
        """The best spans any source has now: the first with a root, else the largest partial set."""
        best: builtins.list[SpanRecord] = []
        best_where = ""
        failures: dict[str, str] = {}
        for source in self._sources:
            try:
                spans = source.get_trace(tid)
            except _SOURCE_FAILURES as exc:
                failures[source.description] = str(exc)
                continue
            if spans and (not need_root or has_root(spans)):
                return spans, source.description, failures
            if len(spans) > len(best):
                best, best_where = spans, source.description
        return best, best_where, failures


def _normalized(trace_id: str) -> str:
    try:
        return normalize_trace_id(trace_id)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
