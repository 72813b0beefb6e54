"""``ValiqorClient``: one object for traces and Failure Analysis, embedded (in-process) by default."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from valiqor_trace.analyzer.client._config import ClientConfig, resolve_client_config
from valiqor_trace.errors import ValidationError
from valiqor_trace.internal import without_password

if TYPE_CHECKING:
    import httpx

    from valiqor_trace.analyzer.client._protocols import FailureAnalysis, Traces
    from typing import TypeAlias

    from valiqor_trace.analyzer.sources import TraceSource

    SourceSpec: TypeAlias = "str | TraceSource"


class ValiqorClient:
    """Analyze traces and datasets.

    With no ``base_url`` the engine runs in this process on the local stores
    (``$VALIQOR_HOME/traces.db`` and ``runs.db``): no server, no key.

    Args:
        api_key: key of a ``valiqor serve`` server (remote mode); never stored or logged.
        project_name: default project of runs and queries.
        base_url: URL of a ``valiqor serve`` server.
        transport: remote mode only: the ``httpx`` transport to send with (default: the network;
            ``httpx.MockTransport`` in tests).
        trace_source: embedded mode only: where else to look for a trace after the local store, as a URL or
            path (``clickhouse://...``, ``chdb:///DIR``, ``jaeger://HOST:PORT``, ``tempo://HOST:PORT``, a trace
            file; docs/trace-sources.md), a ``TraceSource``, or a list of them, looked at in order.
        **settings: any other client setting (see the README): ``home``, ``store_path``,
            ``run_store_path``, ``database_url`` (PostgreSQL, for both stores), ``retention_days`` (prune the
            run store), ``openai_api_key``, ``judge_model``, ``judge_base_url``, ``trace_timeout_s``,
            ``max_field_chars``.

    Example:
        client = ValiqorClient(project_name="my-app")
        result = client.failure_analysis.run(dataset=[{"input": "...", "output": "..."}])
    """

    # sources after the local store, and those of them this client built (and closes); empty for a subclass
    # that sets itself up without __init__ (the server's own client)
    _trace_sources: tuple[Any, ...] = ()
    _owned_sources: tuple[Any, ...] = ()

    def __init__(self, api_key: str | None = None, project_name: str | None = None, base_url: str | None = None,
                 *, clock: Callable[[], float] = time.time, transport: httpx.BaseTransport | None = None,
                 trace_source: SourceSpec | Sequence[SourceSpec] | None = None, **settings: Any) -> None:
        try:
            self.config: ClientConfig = resolve_client_config(
                {"api_key": api_key, "project_name": project_name, "base_url": base_url, **settings})
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        self._clock = clock
        self._remote: Any = None
        self._retention: Any = None  # the run store's RetentionSchedule, while it is open
        if self.config.base_url and trace_source:
            raise ValidationError("trace_source= is for the embedded client; with base_url the server reads "
                                  "its own store (run `valiqor serve` where the traces are, or leave out base_url)")
        self._trace_sources, self._owned_sources = _trace_sources(trace_source)
        if self.config.base_url:  # remote mode: the same namespaces, over HTTP (analyzer/client/_remote)
            from valiqor_trace.analyzer.client._remote import RemoteSession

            self._remote = RemoteSession(self.config.base_url, self.config.api_key, transport=transport)

    @functools.cached_property
    def run_store(self) -> Any:
        """The run store (SQLite or PostgreSQL) of this client; with ``retention_days``, pruned on a daemon
        thread from now on, hourly, until :meth:`close`."""
        from valiqor_trace.analyzer.runs import RunStore

        store = RunStore(self.config.run_store_file)
        days = self.config.retention_days
        if days is not None:
            from valiqor_trace.internal import RetentionSchedule

            def prune(stop: Callable[[], bool]) -> Any:
                return store.prune(int(self._clock() * 1e9) - int(days * 86_400e9), stop=stop)

            self._retention = RetentionSchedule(prune, describe=f"the run store (older than {days:g} days)",
                                                first_after_s=0)
            self._retention.start()
        return store

    @functools.cached_property
    def trace_store(self) -> Any:
        """The trace store ``init()`` writes to, created empty if missing: for writing (``traces`` reads
        through its own opener, which never creates the file)."""
        from valiqor_trace.store import SpanStore

        return SpanStore(self.config.trace_store_file)

    @functools.cached_property
    def traces(self) -> Traces:
        """Traces: ``import_file``, ``get``, ``list``, ``reconstruct`` (embedded: ``TracesAPI``, remote:
        ``RemoteTracesAPI``; both are checked to satisfy :class:`~valiqor_trace.analyzer.client.Traces`)."""
        if self._remote is not None:
            from valiqor_trace.analyzer.client._remote import RemoteTracesAPI

            return RemoteTracesAPI(self._remote)
        from valiqor_trace.analyzer.traces_api import TracesAPI

        # Share the store when it is already open for writing (the server's); else a path, opened
        # when read only if its file exists, so a look-up from the wrong directory creates nothing.
        opened = self.__dict__.get("trace_store")
        return TracesAPI(opened if opened is not None else self.config.trace_store_file, self._trace_sources)

    @functools.cached_property
    def failure_analysis(self) -> FailureAnalysis:
        """Failure Analysis: ``run``, ``run_async``, taxonomy, history, insights, playground (embedded:
        ``FailureAnalysisAPI``, remote: ``RemoteFailureAnalysisAPI``; both are checked to satisfy
        :class:`~valiqor_trace.analyzer.client.FailureAnalysis`)."""
        if self._remote is not None:
            from valiqor_trace.analyzer.client._remote import RemoteFailureAnalysisAPI

            return RemoteFailureAnalysisAPI(self._remote, self.config.project_name)
        from valiqor_trace.analyzer.client._failure_analysis import FailureAnalysisAPI

        return FailureAnalysisAPI(self, clock=self._clock)

    def _judge(self, openai_api_key: str | None) -> Any:
        """The LLM judge for a run, or None when none is configured (its detectors are then skipped).

        A per-call ``openai_api_key`` overrides the configured key; with a ``judge_base_url`` and no
        key, a local server is asked without one. Verdicts are cached in this client's run store.
        """
        from valiqor_trace.analyzer.judge import build_judge

        config = self.config
        key: str | None
        source: str | None
        if openai_api_key:
            key, source = openai_api_key, "argument"
        else:
            key, source = config.openai_api_key, config.sources.get("openai_api_key")
        if not key and not config.judge_base_url:
            return None
        return build_judge(api_key=key, key_source=source, model=config.judge_model, base_url=config.judge_base_url,
                           cache=self.run_store, timeout_s=config.judge_timeout_s,
                           max_retries=config.judge_max_retries, concurrency=config.judge_concurrency,
                           token_budget=config.judge_token_budget)

    def close(self) -> None:
        """Close the local stores (the client can be used again; they reopen on demand) or the HTTP session."""
        if self._remote is not None:
            self._remote.close()
        if self._retention is not None:
            self._retention.stop()
            self._retention = None
        for name in ("run_store", "trace_store", "traces"):
            opened = self.__dict__.pop(name, None)
            if opened is not None and hasattr(opened, "close"):  # remote traces hold nothing to close
                opened.close()
        for source in self._owned_sources:  # the ones built here from a URL; they reconnect on the next read
            source.close()

    def __enter__(self) -> ValiqorClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"ValiqorClient(project_name={self.config.project_name!r}, "
                + (f"base_url={without_password(self.config.base_url or '')!r}, mode='remote')" if self._remote is not None else
                   f"home={os.path.relpath(self.config.home)!r}, mode='embedded')"))


def _trace_sources(given: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(the sources ``trace_source=`` names, in order; those built here from a URL or path, which the client
    closes). A bad URL or a missing extra fails here, before anything is read."""
    if not given:
        return (), ()
    from valiqor_trace.analyzer.sources import TraceSource, trace_source

    sources, owned = [], []
    for item in [given] if isinstance(given, (str, TraceSource)) else list(given):
        if isinstance(item, str):
            source = trace_source(item)
            sources.append(source)
            if hasattr(source, "close"):
                owned.append(source)
        elif isinstance(item, TraceSource):
            sources.append(item)
        else:
            raise ValidationError(f"trace_source must be a URL, a path or a TraceSource (description + get_trace), "
                                  f"got {type(item).__name__}")
    return tuple(sources), tuple(owned)
